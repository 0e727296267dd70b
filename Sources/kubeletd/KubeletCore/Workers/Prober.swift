import CRIProto
import Dispatch
import Foundation
import GRPCCore
import GRPCHealthProto
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SystemCore

/// The outcome of one probe attempt. `warning` counts as success (upstream: an httpGet probe
/// whose redirect leads to another host stops there and succeeds with a warning).
public enum ProbeResult: Sendable, Equatable {
    case success
    case warning(String)
    case failure(String)

    public var succeeded: Bool {
        if case .failure = self { return false }
        return true
    }
}

/// Per (container, probe kind) state: consecutive results and the current verdict. Owned by the
/// pod worker.
public struct ProbeState: Sendable {
    public var lastRun: Double = 0
    public var successes: Int32 = 0
    public var failures: Int32 = 0
    /// nil until the first verdict.
    public var healthy: Bool?

    public init() {}

    /// Applies one result with the probe's thresholds; returns true when the verdict changed.
    @discardableResult
    public mutating func record(_ result: ProbeResult, probe: Probe) -> Bool {
        let before = healthy
        if result.succeeded {
            successes += 1
            failures = 0
            if successes >= probe.effectiveSuccessThreshold { healthy = true }
        } else {
            failures += 1
            successes = 0
            if failures >= probe.effectiveFailureThreshold { healthy = false }
        }
        return before != healthy
    }
}

/// Runs one probe attempt, like the upstream kubelet's prober: exec through CRI ExecSync,
/// tcpSocket and httpGet (HTTP or HTTPS without certificate verification) from the node to the pod
/// IP (or `host`), and grpc (`grpc.health.v1.Health/Check`, plaintext) to the pod IP.
public enum Prober {
    /// `kube-probe/<major>.<minor>`: the User-Agent upstream sends (servers match on it).
    public static let userAgent = "kube-probe/1.32"
    /// Upstream reads at most 10 KiB of a probe's response body.
    static let maxBodyBytes = 10 * 1024
    /// Upstream stops following redirects after 10.
    static let maxRedirects = 10
    static let logger = Logger(label: "kubeletd.prober")

    static func resolvePort(_ port: IntOrString, _ container: Container) -> Int? {
        switch port {
        case .int(let n): return n
        case .string(let name): return container.ports?.first { $0.name == name }?.containerPort
        }
    }

    static func offPool<T: Sendable>(_ body: @Sendable @escaping () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }

    public static func run(_ probe: Probe, container: Container, containerID: String, podIP: String?,
                           cri: CRIClient) async -> ProbeResult {
        let timeout = probe.effectiveTimeoutSeconds
        if let exec = probe.exec {
            do {
                let response = try await cri.execSync(containerID, command: exec.command ?? [], timeout: Int64(timeout))
                return response.exitCode == 0 ? .success : .failure("exit code \(response.exitCode)")
            } catch {
                return .failure("exec: \(error)")
            }
        }
        if let grpc = probe.grpc {
            guard let ip = podIP, !ip.isEmpty else { return .failure("no pod IP yet") }
            return await grpcCheck(host: ip, port: grpc.port, service: grpc.service ?? "", timeoutSeconds: timeout)
        }
        let host = probe.httpGet?.host ?? probe.tcpSocket?.host ?? podIP ?? ""
        if host.isEmpty { return .failure("no pod IP yet") }
        if let tcp = probe.tcpSocket {
            guard let port = resolvePort(tcp.port, container), let p = UInt16(exactly: port) else {
                return .failure("unknown port \(tcp.port)")
            }
            return await offPool {
                do {
                    _ = try TCPConnection(host: host, port: p, timeoutMilliseconds: timeout * 1000)
                    return .success
                } catch {
                    return .failure("\(error)")
                }
            }
        }
        if let http = probe.httpGet {
            guard let port = resolvePort(http.port, container), UInt16(exactly: port) != nil else {
                return .failure("unknown port \(http.port)")
            }
            guard let request = HTTPProbeRequest(http, host: host, port: port) else {
                return .failure("unsupported scheme \"\(http.scheme ?? "")\" (want HTTP or HTTPS)")
            }
            return await httpGet(request, timeoutSeconds: timeout)
        }
        return .failure("probe has no handler")
    }

    // MARK: - httpGet

    /// Runs an httpGet probe: follows redirects on the same host (up to 10), stops at a redirect
    /// to another host (success with a warning), 200–399 is success.
    static func httpGet(_ first: HTTPProbeRequest, timeoutSeconds: Int32) async -> ProbeResult {
        let deadline = NIODeadline.now() + .seconds(Int64(max(timeoutSeconds, 1)))
        var request = first
        var redirects = 0
        while true {
            let response: HTTPProbeResponse
            do {
                response = try await HTTPProbeClient.get(request, deadline: deadline)
            } catch {
                return .failure("Get \"\(request.url)\": \(error)")
            }
            switch HTTPProbeRequest.next(after: request, original: first, response: response, redirects: redirects) {
            case .follow(let next):
                request = next
                redirects += 1
            case .tooManyRedirects:
                return .failure("Get \"\(request.url)\": stopped after \(maxRedirects) redirects")
            case .done:
                return verdict(response, url: request.url)
            }
        }
    }

    /// Upstream's classification of the final response.
    static func verdict(_ response: HTTPProbeResponse, url: String) -> ProbeResult {
        let code = Int(response.status)
        guard (200..<400).contains(code) else { return .failure("HTTP probe failed with statuscode: \(code)") }
        if code >= 300 {
            let body = String(decoding: response.body, as: UTF8.self)
            logger.warning("probe terminated redirects", metadata: [
                "url": "\(url)", "status": "\(code)", "location": "\(response.location ?? "")"])
            return .warning("Probe terminated redirects, Response body: \(body)")
        }
        return .success
    }

    // MARK: - grpc

    /// `grpc.health.v1.Health/Check` over plaintext HTTP/2; SERVING is success, anything else
    /// (another status, an RPC error, the timeout) a failure with upstream's wording.
    static func grpcCheck(host: String, port: Int, service: String, timeoutSeconds: Int32) async -> ProbeResult {
        let timeout = Duration.seconds(Int64(max(timeoutSeconds, 1)))
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        do {
            let target: any ResolvableTarget = host.contains(":")
                ? ResolvableTargets.IPv6(addresses: [.init(host: host, port: port)])
                : ResolvableTargets.IPv4(addresses: [.init(host: host, port: port)])
            var config = HTTP2ClientTransport.Posix.Config.defaults
            config.connection.maxIdleTime = nil
            let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext, config: config)
            return try await withGRPCClient(transport: transport) { client in
                let health = Grpc_Health_V1_Health.Client(wrapping: client)
                var request = Grpc_Health_V1_HealthCheckRequest()
                request.service = service
                var options = CallOptions.defaults
                options.timeout = timeout
                options.waitForReady = false
                var metadata = Metadata()
                metadata.addString(userAgent, forKey: "user-agent")
                do {
                    let response = try await health.check(request: ClientRequest(message: request, metadata: metadata),
                                                          options: options) { try $0.message }
                    return grpcVerdict(response.status)
                } catch let error as RPCError {
                    return grpcFailure(error, address: address, timeout: timeoutSeconds)
                }
            }
        } catch let error as RPCError {
            return grpcFailure(error, address: address, timeout: timeoutSeconds)
        } catch {
            return .failure("error: failed to connect service at \"\(address)\": \(error)")
        }
    }

    static func grpcVerdict(_ status: Grpc_Health_V1_HealthCheckResponse.ServingStatus) -> ProbeResult {
        if status == .serving { return .success }
        return .failure("service unhealthy (responded with \"\(grpcStatusName(status))\")")
    }

    static func grpcStatusName(_ status: Grpc_Health_V1_HealthCheckResponse.ServingStatus) -> String {
        switch status {
        case .unknown: return "UNKNOWN"
        case .serving: return "SERVING"
        case .notServing: return "NOT_SERVING"
        case .serviceUnknown: return "SERVICE_UNKNOWN"
        case .UNRECOGNIZED(let n): return "\(n)"
        }
    }

    static func grpcFailure(_ error: RPCError, address: String, timeout: Int32) -> ProbeResult {
        switch error.code {
        case .unimplemented:
            return .failure("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): \(error.message)")
        case .deadlineExceeded:
            return .failure("timeout: health rpc did not complete within \(timeout)s")
        case .unavailable:
            return .failure("error: failed to connect service at \"\(address)\": \(error.message)")
        default:
            return .failure("error: health rpc probe failed: \(error.code): \(error.message)")
        }
    }
}

// MARK: - The HTTP(S) probe request and its redirect policy

/// One GET of an httpGet probe or hook: where, and the headers upstream sends.
public struct HTTPProbeRequest: Sendable, Equatable {
    public var https: Bool
    public var host: String
    public var port: Int
    /// Path plus query, starting with `/`.
    public var target: String
    /// In order; `Host` set here overrides the request's host header (upstream's rule).
    public var headers: [(name: String, value: String)]

    public static func == (a: HTTPProbeRequest, b: HTTPProbeRequest) -> Bool {
        a.https == b.https && a.host == b.host && a.port == b.port && a.target == b.target
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }

    public init(https: Bool, host: String, port: Int, target: String, headers: [(name: String, value: String)]) {
        self.https = https
        self.host = host
        self.port = port
        self.target = target
        self.headers = headers
    }

    /// From a probe's httpGet: scheme HTTP (default) or HTTPS (case-insensitive), the user's
    /// headers plus `User-Agent: kube-probe/…` and `Accept: */*` unless the user set them.
    public init?(_ action: HTTPGetAction, host: String, port: Int) {
        switch (action.scheme ?? "HTTP").uppercased() {
        case "HTTP": https = false
        case "HTTPS": https = true
        default: return nil
        }
        self.host = host
        self.port = port
        let path = action.path ?? ""
        target = path.hasPrefix("/") ? path : "/" + path
        var headers = (action.httpHeaders ?? []).map { (name: $0.name, value: $0.value) }
        func has(_ name: String) -> Bool { headers.contains { $0.name.lowercased() == name.lowercased() } }
        if !has("User-Agent") { headers.append((name: "User-Agent", value: Prober.userAgent)) }
        if !has("Accept") { headers.append((name: "Accept", value: "*/*")) }
        self.headers = headers
    }

    var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    public var url: String { "\(https ? "https" : "http")://\(hostForURL):\(port)\(target)" }

    /// The Host header: the user's `Host` header if any, else host:port.
    public var hostHeader: String {
        headers.first { $0.name.lowercased() == "host" }?.value ?? "\(hostForURL):\(port)"
    }

    public enum Next: Sendable, Equatable {
        case follow(HTTPProbeRequest)
        case tooManyRedirects
        case done
    }

    /// Upstream's redirect checker for probes: a 3xx with a Location on the same host name (any
    /// port or scheme) is followed, up to 10 times; another host ends with that response.
    public static func next(after request: HTTPProbeRequest, original: HTTPProbeRequest,
                            response: HTTPProbeResponse, redirects: Int) -> Next {
        guard [301, 302, 303, 307, 308].contains(Int(response.status)), let location = response.location,
              let base = URL(string: request.url), let resolved = URL(string: location, relativeTo: base)?.absoluteURL,
              let scheme = resolved.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = resolved.host, !host.isEmpty else { return .done }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard bare.lowercased() == original.host.lowercased() else { return .done }
        if redirects >= Prober.maxRedirects { return .tooManyRedirects }
        var next = request
        next.https = scheme == "https"
        next.host = bare
        next.port = resolved.port ?? (next.https ? 443 : 80)
        var target = resolved.path.isEmpty ? "/" : resolved.path
        if let query = resolved.query { target += "?" + query }
        next.target = target
        return .follow(next)
    }
}

public struct HTTPProbeResponse: Sendable, Equatable {
    public var status: UInt
    public var location: String?
    public var body: [UInt8]
    public init(status: UInt, location: String? = nil, body: [UInt8] = []) {
        self.status = status
        self.location = location
        self.body = body
    }
}

/// One HTTP/1.1 GET over NIO (TLS through NIOSSL without certificate verification, like the
/// kubelet's probes), `Connection: close`, at most 10 KiB of body kept.
enum HTTPProbeClient {
    struct Timeout: Error, CustomStringConvertible {
        var description: String { "context deadline exceeded (Client.Timeout exceeded while awaiting headers)" }
    }
    struct Closed: Error, CustomStringConvertible {
        var description: String { "connection closed before a complete response" }
    }

    static let tlsContext: Result<NIOSSLContext, any Error> = Result {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        return try NIOSSLContext(configuration: tls)
    }

    static func get(_ request: HTTPProbeRequest, deadline: NIODeadline) async throws -> HTTPProbeResponse {
        let group = MultiThreadedEventLoopGroup.singleton
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: HTTPProbeResponse.self)
        let ssl: NIOSSLContext? = request.https ? try tlsContext.get() : nil
        let remaining = deadline - .now()
        guard remaining > .zero else { throw Timeout() }
        let sniHost: String? = IPAddress.isValid(request.host) ? nil : request.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(remaining)
            .channelInitializer { channel in
                do {
                    if let ssl {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: ssl, serverHostname: sniHost))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let timer = eventLoop.scheduleTask(deadline: deadline) { promise.fail(Timeout()) }
        defer { timer.cancel() }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: request.host, port: request.port).get()
        } catch {
            promise.fail(error)
            throw error
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: request.hostHeader)
        for header in request.headers where header.name.lowercased() != "host" {
            headers.add(name: header.name, value: header.value)
        }
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: request.target, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            let response = try await promise.futureResult.get()
            channel.close(promise: nil)
            return response
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<HTTPProbeResponse>
        var response: HTTPProbeResponse?

        init(promise: EventLoopPromise<HTTPProbeResponse>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                response = HTTPProbeResponse(status: head.status.code, location: head.headers.first(name: "Location"))
            case .body(var buffer):
                if var r = response, r.body.count < Prober.maxBodyBytes {
                    let take = min(buffer.readableBytes, Prober.maxBodyBytes - r.body.count)
                    r.body += buffer.readBytes(length: take) ?? []
                    response = r
                }
            case .end:
                if let response { promise.succeed(response) } else { promise.fail(Closed()) }
                context.close(promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A TLS peer that closes without close_notify ends a body delimited by the connection's
            // end: like Go's client, keep what arrived once the head is in.
            if let response, case NIOSSLError.uncleanShutdown = error {
                promise.succeed(response)
            } else {
                promise.fail(error)
            }
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let response { promise.succeed(response) } else { promise.fail(Closed()) }
            context.fireChannelInactive()
        }
    }
}
