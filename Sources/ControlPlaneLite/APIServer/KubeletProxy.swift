import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import StreamRelay

/// The apiserver's client to kubelets (`pods/log` today): HTTPS with the apiserver's kubelet
/// client certificate, to the node's address and `daemonEndpoints.kubeletEndpoint.Port`.
public struct KubeletClient: Sendable {
    let tls: NIOSSLContext
    /// Address types in preference order (kubeadm's --kubelet-preferred-address-types).
    public static let preferredAddressTypes = ["InternalIP", "ExternalIP", "Hostname"]

    /// `caFile`: verify the kubelet's serving certificate against it (chain only; the name is not
    /// checked, kubelets' certificates rarely carry their IPs). Without it the kubelet is not
    /// verified, as kube-apiserver without --kubelet-certificate-authority.
    public static func make(certFile: String, keyFile: String, caFile: String?) throws -> KubeletClient {
        let chain: [NIOSSLCertificateSource]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) } } catch {
            throw ConfigError("--kubelet-client-certificate \(certFile): \(error)")
        }
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw ConfigError("--kubelet-client-key \(keyFile): not a PEM private key (\(error))")
        }
        var config = TLSConfiguration.makeClientConfiguration()
        config.certificateChain = chain
        config.privateKey = .privateKey(key)
        config.minimumTLSVersion = .tlsv12
        if let caFile {
            config.trustRoots = .file(caFile)
            config.certificateVerification = .noHostnameVerification
        } else {
            config.certificateVerification = .none
        }
        return KubeletClient(tls: try NIOSSLContext(configuration: config))
    }

    /// The kubelet endpoint of a Node object: (host, port).
    public static func endpoint(node: JSONValue) -> (String, Int)? {
        let addresses = node.value(at: ["status", "addresses"])?.arrayValue ?? []
        var host: String?
        for type in preferredAddressTypes {
            if let a = addresses.first(where: { $0["type"]?.stringValue == type })?["address"]?.stringValue, !a.isEmpty { host = a; break }
        }
        guard let host else { return nil }
        let port = node.value(at: ["status", "daemonEndpoints", "kubeletEndpoint", "Port"])?.intValue ?? 0
        return (host, port > 0 && port < 65536 ? Int(port) : 10250)
    }

    /// GET `path` on the kubelet; the answer's status and body (streamed as it arrives).
    func get(host: String, port: Int, path: String) async throws -> APIResponse {
        let tls = self.tls
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        head.headers.add(name: "Connection", value: "close")
        let request = head
        let (body, bodyContinuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
        let response: HTTPResponseHead = try await withCheckedThrowingContinuation { headContinuation in
            let task = Task {
                var headSent = false
                do {
                    try await channel.executeThenClose { inbound, outbound in
                        try await outbound.write(.head(request))
                        try await outbound.write(.end(nil))
                        for try await part in inbound {
                            switch part {
                            case .head(let h):
                                if !headSent { headSent = true; headContinuation.resume(returning: h) }
                            case .body(let buffer):
                                bodyContinuation.yield(Array(buffer: buffer))
                            case .end:
                                return
                            }
                        }
                    }
                    if !headSent { headContinuation.resume(throwing: ConfigError("the kubelet closed the connection without an answer")) }
                    bodyContinuation.finish()
                } catch NIOSSLError.uncleanShutdown where headSent {
                    // A body that ends at connection close, from a peer that skips close_notify.
                    bodyContinuation.finish()
                } catch {
                    if !headSent { headContinuation.resume(throwing: error) }
                    bodyContinuation.finish(throwing: error)
                }
            }
            bodyContinuation.onTermination = { _ in task.cancel() }
        }
        var out = APIResponse(status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type") ?? "text/plain", body: .stream(body))
        if response.status.code != 200 {
            // An error answer is short: pass it whole, so the client sees the kubelet's message.
            var bytes: [UInt8] = []
            for try await chunk in body { bytes += chunk; if bytes.count > 1 << 20 { break } }
            out.body = .bytes(bytes)
        }
        return out
    }
}

extension APIServer {
    /// The kubelet endpoint (host, port) of the node a pod is bound to.
    func kubeletEndpoint(of pod: JSONValue, named name: String) async throws -> (String, Int) {
        guard let nodeName = pod.value(at: ["spec", "nodeName"])?.stringValue, !nodeName.isEmpty else {
            throw APIError.badRequest("pod \(name) does not have a host assigned")
        }
        guard let nodeStored = try await store.get(ResourceCatalog.nodes.key(namespace: nil, name: nodeName)) else {
            throw APIError.notFound(ResourceCatalog.nodes, nodeName)
        }
        guard let endpoint = KubeletClient.endpoint(node: try decode(nodeStored)) else {
            throw APIError.internalError("node \(nodeName) has no address (status.addresses)")
        }
        return endpoint
    }

    static let logQueryParameters: [(name: String, kind: String)] = [
        ("follow", "bool"), ("previous", "bool"), ("timestamps", "bool"), ("sinceSeconds", "int"), ("tailLines", "int"),
        ("limitBytes", "int"), ("sinceTime", "time"),
    ]

    /// `GET pods/<name>/log`, proxied to the kubelet of the pod's node (`/containerLogs/...`).
    func podLog(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        guard let kubelet = config.kubeletClient else {
            throw APIError.unavailable("pods/log: no kubelet client certificate configured (--kubelet-client-certificate, --kubelet-client-key)")
        }
        let pod = try await get(target)
        let name = target.name ?? ""
        let containers = (pod.value(at: ["spec", "containers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let container: String
        if let c = request.query["container"], !c.isEmpty {
            let all = containers + (pod.value(at: ["spec", "initContainers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
                + (pod.value(at: ["spec", "ephemeralContainers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            guard all.contains(c) else {
                throw APIError.badRequest("container \(c) is not valid for pod \(name)")
            }
            container = c
        } else if containers.count == 1 {
            container = containers[0]
        } else {
            throw APIError.badRequest("a container name must be specified for pod \(name), choose one of: [\(containers.joined(separator: " "))]")
        }
        var query: [String] = []
        for (param, kind) in Self.logQueryParameters {
            guard let value = request.query[param] else { continue }
            switch kind {
            case "bool":
                guard ["true", "false", "1", "0"].contains(value) else { throw APIError.badRequest("\(param): invalid value \"\(value)\": expected true or false") }
            case "int":
                guard let n = Int64(value), n >= (param == "sinceSeconds" || param == "limitBytes" ? 1 : 0) else {
                    throw APIError.badRequest("\(param): invalid value \"\(value)\": must be a \(param == "tailLines" ? "non-negative" : "positive") integer")
                }
            default:
                guard ISO8601DateFormatter().date(from: value) != nil else { throw APIError.badRequest("\(param): invalid value \"\(value)\": expected an RFC 3339 time") }
            }
            query.append("\(param)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)")
        }
        let (host, port) = try await kubeletEndpoint(of: pod, named: name)
        func segment(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? s }
        let path = "/containerLogs/\(segment(target.namespace ?? ""))/\(segment(name))/\(segment(container))" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        do {
            return try await kubelet.get(host: host, port: port, path: path)
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError.internalError("Get \"https://\(host):\(port)\(path)\": \(error)")
        }
    }
}

/// What `pods/exec`, `pods/attach` and `pods/portforward` were asked for, from the raw query
/// (repeated `command` and `ports`), with upstream's defaults (stdout and stderr on) and checks.
public struct PodStreamOptions: Sendable, Equatable {
    public var container: String?
    public var command: [String] = []
    public var stdin = false
    public var stdout = true
    public var stderr = true
    public var tty = false
    public var ports: [Int] = []

    public static func queryPairs(_ uri: String) -> [(String, String)] {
        guard let q = uri.firstIndex(of: "?") else { return [] }
        return uri[uri.index(after: q)...].split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(kv[0]).formDecoded, kv.count > 1 ? String(kv[1]).formDecoded : "")
        }
    }

    public static func parse(subresource: String, query: [(String, String)]) throws(APIError) -> PodStreamOptions {
        var options = PodStreamOptions()
        for (name, value) in query {
            switch name {
            case "container": options.container = value.isEmpty ? nil : value
            case "command": options.command.append(value)
            case "stdin", "stdout", "stderr", "tty":
                let on: Bool
                switch value {
                case "true", "1", "": on = true
                case "false", "0": on = false
                default: throw APIError.badRequest("\(name): invalid value \"\(value)\": expected true or false")
                }
                switch name {
                case "stdin": options.stdin = on
                case "stdout": options.stdout = on
                case "stderr": options.stderr = on
                default: options.tty = on
                }
            case "ports":
                for item in value.split(separator: ",") {
                    guard let port = Int(item.trimmingCharacters(in: .whitespaces)), (1...65535).contains(port) else {
                        throw APIError.badRequest("ports: invalid port \"\(item)\": must be between 1 and 65535")
                    }
                    options.ports.append(port)
                }
            default: continue
            }
        }
        if subresource == "exec" && (options.command.isEmpty || options.command[0].isEmpty) {
            throw APIError.badRequest("you must specify at least one command for the container")
        }
        if subresource != "portforward" && !options.stdin && !options.stdout && !options.stderr {
            throw APIError.badRequest("you must specify at least 1 of stdin, stdout, stderr")
        }
        return options
    }

    /// The kubelet's path and query (upstream's parameter names: input, output, error, tty).
    public func kubeletPath(subresource: String, namespace: String, pod: String, container: String) -> String {
        func segment(_ s: String) -> String {
            s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? s
        }
        func value(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }
        if subresource == "portforward" {
            let query = ports.map { "port=\($0)" }
            return "/portForward/\(segment(namespace))/\(segment(pod))" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        }
        var query = command.map { "command=\(value($0))" }
        if stdin { query.append("input=1") }
        if stdout { query.append("output=1") }
        if stderr && !tty { query.append("error=1") }
        if tty { query.append("tty=1") }
        return "/\(subresource)/\(segment(namespace))/\(segment(pod))/\(segment(container))?" + query.joined(separator: "&")
    }
}

extension KubeletClient {
    /// Headers not passed to the kubelet besides the credentials `UpgradeProxy` always drops.
    static let impersonationHeaders: Set<String> = ["impersonate-user", "impersonate-group", "impersonate-uid"]

    /// Proxies an upgrade request (exec, attach, portforward) to the kubelet over TLS (see
    /// `UpgradeProxy`). Takes the client connection over.
    func stream(host: String, port: Int, path: String, method: String, headers: [(String, String)], client: ClientConnection) async throws {
        let request = UpgradeProxy.requestBytes(method: method, path: path, host: host, port: port, headers: headers,
                                                alsoDropping: Self.impersonationHeaders)
        let backend = try await UpgradeProxy.connect(host: host, port: port, tls: tls, request: request)
        client.markHijacked()
        try await UpgradeProxy.splice(client: client.channel, removing: ClientConnection.httpHandlerNames, backend: backend)
    }
}

extension APIServer {
    /// `pods/exec`, `pods/attach` (GET and POST) and `pods/portforward`, proxied to the kubelet of
    /// the pod's node over TLS with the apiserver's kubelet client certificate.
    func podStream(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        let sub = target.subresource ?? ""
        guard let kubelet = config.kubeletClient else {
            throw APIError.unavailable("pods/\(sub): no kubelet client certificate configured (--kubelet-client-certificate, --kubelet-client-key)")
        }
        guard let client = ClientConnection.current else {
            throw APIError.internalError("pods/\(sub): no client connection to take over")
        }
        let upgrade = request.header("Upgrade") ?? ""
        guard !upgrade.isEmpty, (request.header("Connection") ?? "").lowercased().contains("upgrade") else {
            throw APIError.badRequest("Upgrade request required")
        }
        // Upstream 1.32 (AuthorizePodWebsocketUpgradeCreatePermission): a GET upgrade (WebSocket)
        // needs `create` as well as `get`, so read-only roles cannot exec.
        if request.method == "GET" {
            try await authorizer.authorize(user: request.user, verb: "create", target: target)
        }
        let options = try PodStreamOptions.parse(subresource: sub, query: PodStreamOptions.queryPairs(client.uri))
        let pod = try await get(target)
        let name = target.name ?? ""
        var container = ""
        if sub != "portforward" {
            let containers = (pod.value(at: ["spec", "containers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            if let c = options.container {
                let all = containers + (pod.value(at: ["spec", "initContainers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
                    + (pod.value(at: ["spec", "ephemeralContainers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
                guard all.contains(c) else { throw APIError.badRequest("container \(c) is not valid for pod \(name)") }
                container = c
            } else if containers.count == 1 {
                container = containers[0]
            } else {
                throw APIError.badRequest("a container name must be specified for pod \(name), choose one of: [\(containers.joined(separator: " "))]")
            }
        }
        let (host, port) = try await kubeletEndpoint(of: pod, named: name)
        let path = options.kubeletPath(subresource: sub, namespace: target.namespace ?? "", pod: name, container: container)
        do {
            try await kubelet.stream(host: host, port: port, path: path, method: request.method, headers: request.headers, client: client)
        } catch {
            if client.isHijacked {
                logger.warning("pods/\(sub) stream failed", metadata: ["pod": "\(target.namespace ?? "")/\(name)", "error": "\(error)"])
                return .text("")
            }
            throw APIError(code: 500, reason: "InternalError", message: "error dialing backend: \(error)")
        }
        return .text("")
    }
}
