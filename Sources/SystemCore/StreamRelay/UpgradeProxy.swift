import NIOCore
import NIOPosix
import NIOSSL

/// An HTTP upgrade (exec, attach, port-forward) proxied to a backend, like upstream's
/// UpgradeAwareHandler: the request line and headers go to the backend as they came (minus
/// credentials), its answer (101 or an error) comes back as it is, and after that bytes are
/// spliced both ways until either side closes. The apiserver proxies to kubelets this way, and
/// the kubelet to its runtime's streaming server.
///
/// The client connection's pipeline must hold a `RelayHandler(relaying: false)` behind its HTTP
/// handlers, added when the connection was accepted.
public enum UpgradeProxy {
    /// Headers never passed to a backend: the client's credentials and what the proxy sets itself.
    public static let droppedHeaders: Set<String> = ["host", "authorization", "content-length", "transfer-encoding", "proxy-authorization"]

    /// The request the backend gets: `method path`, a Host header for the backend, and the
    /// client's headers except `droppedHeaders` and `alsoDropping` (lower-case names).
    public static func requestBytes(method: String, path: String, host: String, port: Int, headers: [(String, String)],
                                    alsoDropping extra: Set<String> = []) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n"
        for (name, value) in headers where !droppedHeaders.contains(name.lowercased()) && !extra.contains(name.lowercased()) {
            text += "\(name): \(value)\r\n"
        }
        return Array((text + "\r\n").utf8)
    }

    /// A connected backend and its relay (kept here: when the backend answers and closes at once,
    /// its pipeline is gone before the splice starts, but the answer waits in the relay).
    public struct Backend: Sendable {
        public let channel: Channel
        let relay: NIOLoopBound<RelayHandler>
    }

    /// Connects to the backend (TLS when `tls` is given) and sends the request; its answer waits
    /// in the backend's relay until `splice`.
    public static func connect(host: String, port: Int, tls: NIOSSLContext?, request: [UInt8]) async throws -> Backend {
        let backend = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    }
                    let relay = RelayHandler(relaying: true)
                    try channel.pipeline.syncOperations.addHandler(relay)
                    return Backend(channel: channel, relay: NIOLoopBound(relay, eventLoop: channel.eventLoop))
                }
            }
        do {
            try await backend.channel.writeAndFlush(ByteBuffer(bytes: request))
        } catch {
            try? await backend.channel.close()
            throw error
        }
        return backend
    }

    /// Turns the client connection into a raw byte pipe to `backend`: the client's relay starts,
    /// the named HTTP handlers are removed (the decoder last, handing on bytes it already read),
    /// then the backend's relay starts. Returns when the client side is closed (the backend is
    /// closed then too); on failure both are closed and the error thrown.
    public static func splice(client: Channel, removing names: [String], backend connected: Backend) async throws {
        let backend = connected.channel
        do {
            try await client.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
                do {
                    try client.pipeline.syncOperations.handler(type: RelayHandler.self).startRelaying(to: backend)
                } catch {
                    return client.eventLoop.makeFailedFuture(error)
                }
                var future = client.eventLoop.makeSucceededVoidFuture()
                for name in names {
                    future = future.flatMap { client.pipeline.removeHandler(name: name).recover { _ in } }
                }
                return future.map { client.read() }
            }.get()
            try await backend.eventLoop.submit {
                connected.relay.value.startRelaying(to: client)
            }.get()
        } catch {
            try? await backend.close()
            try? await client.close()
            throw error
        }
        try? await client.closeFuture.get()
        try? await backend.close()
    }
}
