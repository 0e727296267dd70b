import Logging
import NIOCore

/// Failing accepts (EMFILE, ENFILE, ENOBUFS) on a listening socket must not end the accept loop.
/// Like Go's http.Server: accepting pauses 5 ms, doubling to 1 s while it keeps failing, and the
/// failure is logged at most once a second (with how many were not logged). NIO keeps the
/// listening socket open for these errors; they stop here. Add it to the server channel's
/// pipeline; its state lives on that channel's loop.
public final class AcceptErrorLogger: ChannelInboundHandler {
    public typealias InboundIn = Any
    let logger: Logger
    private var delay: Int64 = 0
    private var lastLog: NIODeadline?
    private var unlogged = 0

    public init(logger: Logger) { self.logger = logger }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        delay = 0
        context.fireChannelRead(data)
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        delay = delay == 0 ? 5_000_000 : min(delay * 2, 1_000_000_000)
        let now = NIODeadline.now()
        if let lastLog, now - lastLog < .seconds(1) {
            unlogged += 1
        } else {
            logger.warning("accept failed; still listening", metadata: [
                "error": "\(error)", "retry_in_ms": "\(delay / 1_000_000)", "failures_not_logged": "\(unlogged)"])
            lastLog = now
            unlogged = 0
        }
        let channel = context.channel
        channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        context.eventLoop.scheduleTask(in: .nanoseconds(delay)) {
            channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            channel.read()
        }
    }
}
