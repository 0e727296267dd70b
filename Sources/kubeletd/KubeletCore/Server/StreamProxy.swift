import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Relays raw bytes from its channel to a peer channel and closes the peer when its own channel
/// closes. On a server connection it sits behind the HTTP codec and passes HTTP parts on until
/// `startRelaying`; on a backend connection it relays from the start (buffering until it has a
/// peer). State is touched on its channel's event loop only.
final class RelayHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private var relaying: Bool
    private var peer: Channel?
    private var pending: [ByteBuffer] = []
    private var closed = false

    init(relaying: Bool) { self.relaying = relaying }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard relaying else { context.fireChannelRead(data); return }
        let buffer = unwrapInboundIn(data)
        guard let peer else { pending.append(buffer); return }
        peer.writeAndFlush(buffer, promise: nil)
        // Flow control: stop reading while the peer cannot take more; its relay resumes us
        // (channelWritabilityChanged) once its outbound buffer drained.
        if !peer.isWritable { context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if relaying, let peer, context.channel.isWritable {
            peer.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if relaying, let peer { Self.close(peer) }
        context.fireChannelInactive()
    }

    /// Closes the peer once what was written to it went out (a plain close fails queued writes:
    /// the last bytes, e.g. an error answer, would be lost).
    static func close(_ peer: Channel) {
        peer.writeAndFlush(ByteBuffer()).whenComplete { _ in peer.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if relaying { context.close(promise: nil) } else { context.fireErrorCaught(error) }
    }

    /// From now on bytes read go to `peer` (earlier ones, buffered, first).
    func startRelaying(to peer: Channel) {
        relaying = true
        self.peer = peer
        for buffer in pending { peer.write(buffer, promise: nil) }
        pending = []
        peer.flush()
        if closed { Self.close(peer) }
    }
}

/// An HTTP upgrade proxied to a backend (upstream's UpgradeAwareHandler): the request line and
/// headers go to the backend as they came (minus credentials), its answer comes back as it is,
/// and after that bytes are spliced both ways until either side closes.
public enum StreamProxy {
    /// Headers not passed to the backend: credentials, and the ones the proxy sets itself.
    static let droppedHeaders: Set<String> = ["host", "authorization", "content-length", "transfer-encoding", "proxy-authorization"]

    /// The request the backend gets.
    public static func requestBytes(method: String, path: String, host: String, port: Int, headers: [(String, String)]) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n"
        for (name, value) in headers where !droppedHeaders.contains(name.lowercased()) {
            text += "\(name): \(value)\r\n"
        }
        return Array((text + "\r\n").utf8)
    }

    /// A connected backend and its relay (kept here: when the backend answers and closes at once,
    /// its pipeline is gone before the splice starts, but the answer waits in the relay).
    struct Backend: Sendable {
        let channel: Channel
        let relay: NIOLoopBound<RelayHandler>
    }

    /// Connects to the backend (TLS when `tls` is given) and sends the request; its answer waits
    /// in the backend's relay until `splice`.
    static func connect(host: String, port: Int, tls: NIOSSLContext?, request: [UInt8]) async throws -> Backend {
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

    /// Turns the client connection into a raw byte pipe to `backend`: the named HTTP handlers are
    /// removed (the decoder last, handing on bytes it already read), the client's relay starts,
    /// then the backend's. Returns when both sides are closed.
    static func splice(client: Channel, removing names: [String], backend connected: Backend) async throws {
        let backend = connected.channel
        try await client.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            do {
                let relay = try client.pipeline.syncOperations.handler(type: RelayHandler.self)
                relay.startRelaying(to: backend)
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
        try? await client.closeFuture.get()
        try? await backend.close()
    }
}
