import NIOCore

/// Relays raw bytes from its channel to a peer channel and closes the peer when its own channel
/// closes. On a server connection it sits behind the HTTP codec and passes HTTP parts on until
/// `startRelaying`; on a backend connection it relays from the start (buffering until it has a
/// peer). State is touched on its channel's event loop only.
public final class RelayHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    private var relaying: Bool
    private var peer: Channel?
    private var pending: [ByteBuffer] = []
    private var closed = false

    public init(relaying: Bool) { self.relaying = relaying }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard relaying else { context.fireChannelRead(data); return }
        let buffer = unwrapInboundIn(data)
        guard let peer else { pending.append(buffer); return }
        peer.writeAndFlush(buffer, promise: nil)
        // Flow control: stop reading while the peer cannot take more; its relay resumes us
        // (channelWritabilityChanged) once its outbound buffer drained.
        if !peer.isWritable { context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if relaying, let peer, context.channel.isWritable {
            peer.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if relaying, let peer { Self.close(peer) }
        context.fireChannelInactive()
    }

    /// Closes the peer once what was written to it went out (a plain close fails queued writes:
    /// the last bytes, e.g. an error answer, would be lost).
    static func close(_ peer: Channel) {
        peer.writeAndFlush(ByteBuffer()).whenComplete { _ in peer.close(promise: nil) }
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        if relaying { context.close(promise: nil) } else { context.fireErrorCaught(error) }
    }

    /// From now on bytes read go to `peer` (earlier ones, buffered, first).
    public func startRelaying(to peer: Channel) {
        relaying = true
        self.peer = peer
        for buffer in pending { peer.write(buffer, promise: nil) }
        pending = []
        peer.flush()
        if closed { Self.close(peer) }
    }
}
