import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

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
        guard let nodeName = pod.value(at: ["spec", "nodeName"])?.stringValue, !nodeName.isEmpty else {
            throw APIError.badRequest("pod \(name) does not have a host assigned")
        }
        guard let nodeStored = try await store.get(ResourceCatalog.nodes.key(namespace: nil, name: nodeName)) else {
            throw APIError.notFound(ResourceCatalog.nodes, nodeName)
        }
        guard let (host, port) = KubeletClient.endpoint(node: try decode(nodeStored)) else {
            throw APIError.internalError("node \(nodeName) has no address (status.addresses)")
        }
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
