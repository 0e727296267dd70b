import NIOCore

/// What a SPDY connection's streams are used for (a remote command, a port forward). Called on
/// the connection's event loop, in frame order.
protocol SPDYStreamDelegate: AnyObject, Sendable {
    /// The connection is upgraded (called once, before any stream).
    func connected(_ connection: SPDYConnection)
    /// A stream the client opened (the server has replied already).
    func opened(_ id: UInt32, headers: [SPDYHeader], connection: SPDYConnection)
    func received(_ bytes: [UInt8], on id: UInt32)
    /// The client half-closed the stream (FIN): it sends no more on it.
    func remoteFinished(_ id: UInt32)
    /// The client reset the stream: nothing more is to be sent on it either.
    func reset(_ id: UInt32)
    /// The connection is gone (GOAWAY, EOF or an error).
    func connectionClosed()
}

extension Array where Element == SPDYHeader {
    /// The value of a header, by case-insensitive name.
    subscript(name: String) -> String? {
        first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// Sends on one SPDY connection from any thread: each call becomes frames written, in call
/// order, on the connection's event loop.
struct SPDYConnection: Sendable {
    let channel: Channel

    /// Data on a stream; `fin` half-closes it after the bytes. Large writes are split into
    /// frames of at most 32 KiB.
    func send(_ bytes: [UInt8], on id: UInt32, fin: Bool = false) {
        var offset = 0
        repeat {
            let end = min(offset + 32768, bytes.count)
            let last = end == bytes.count
            channel.write(SPDYFrame.data(streamID: id, fin: fin && last, payload: Array(bytes[offset..<end])), promise: nil)
            offset = end
        } while offset < bytes.count
        channel.flush()
    }

    /// Data, then completion of the write (back-pressure for relays).
    func sendAndWait(_ bytes: [UInt8], on id: UInt32) -> EventLoopFuture<Void> {
        channel.writeAndFlush(SPDYFrame.data(streamID: id, fin: false, payload: bytes))
    }

    /// Half-closes a stream from the server's side.
    func finish(_ id: UInt32) {
        channel.writeAndFlush(SPDYFrame.data(streamID: id, fin: true, payload: []), promise: nil)
    }

    func reset(_ id: UInt32, status: UInt32 = SPDYFrame.ResetStatus.cancel) {
        channel.writeAndFlush(SPDYFrame.rstStream(streamID: id, status: status), promise: nil)
    }

    /// GOAWAY, then closes the connection once everything before it is written.
    func close() {
        let channel = self.channel
        channel.writeAndFlush(SPDYFrame.goAway(lastGoodStreamID: 0, status: SPDYFrame.GoAwayStatus.ok)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

/// The server side of a SPDY/3.1 connection after the HTTP upgrade: decodes frames, answers
/// PINGs, replies to every SYN_STREAM and hands streams to the delegate; encodes the frames the
/// delegate sends.
///
/// Flow control: the peers that speak SPDY to a CRI streaming server (the Kubernetes clients,
/// through moby/spdystream) neither send WINDOW_UPDATE nor honour windows, so this side does
/// not stop sending at the window either; it does acknowledge what it received with
/// WINDOW_UPDATE, so a strict SPDY/3.1 client is never blocked by this side.
final class SPDYConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = SPDYFrame
    typealias OutboundOut = ByteBuffer

    private let codec: SPDYFrameCodec
    private let delegate: SPDYStreamDelegate
    private var pending: ByteBuffer?
    /// Streams the client opened and has not finished or reset.
    private var open: Set<UInt32> = []
    private var lastStreamID: UInt32 = 0
    private var closed = false

    init(delegate: SPDYStreamDelegate) throws {
        codec = try SPDYFrameCodec()
        self.delegate = delegate
    }

    func handlerAdded(context: ChannelHandlerContext) {
        delegate.connected(SPDYConnection(channel: context.channel))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var buffer = pending {
            pending = nil  // one owner, so the append does not copy
            buffer.writeBuffer(&incoming)
            pending = buffer
        } else {
            pending = incoming
        }
        do {
            while var buffer = pending, let frame = try codec.decode(&buffer) {
                pending = buffer
                handle(frame, context: context)
                if closed { return }
            }
            if let buffer = pending, buffer.readableBytes == 0 { pending = nil } else { pending?.discardReadBytes() }
        } catch {
            // A frame that cannot be read leaves the compression contexts out of step: the
            // connection cannot go on.
            context.writeAndFlush(wrapOutboundOut(encoded(.goAway(lastGoodStreamID: lastStreamID, status: SPDYFrame.GoAwayStatus.protocolError), context: context)), promise: nil)
            shutdown(context: context)
        }
    }

    private func handle(_ frame: SPDYFrame, context: ChannelHandlerContext) {
        switch frame {
        case .synStream(let id, _, _, let fin, _, let headers):
            // Client streams have odd IDs, increasing.
            guard id % 2 == 1, id > lastStreamID else {
                write(.rstStream(streamID: id, status: SPDYFrame.ResetStatus.protocolError), context: context)
                return
            }
            lastStreamID = id
            open.insert(id)
            write(.synReply(streamID: id, fin: false, headers: []), context: context)
            context.flush()
            delegate.opened(id, headers: headers, connection: SPDYConnection(channel: context.channel))
            if fin {
                open.remove(id)
                delegate.remoteFinished(id)
            }
        case .data(let id, let fin, let payload):
            guard open.contains(id) else {
                if id != 0 && !payload.isEmpty {
                    write(.rstStream(streamID: id, status: SPDYFrame.ResetStatus.invalidStream), context: context)
                    context.flush()
                }
                return
            }
            if !payload.isEmpty {
                delegate.received(payload, on: id)
                write(.windowUpdate(streamID: id, delta: UInt32(payload.count)), context: context)
                context.flush()
            }
            if fin {
                open.remove(id)
                delegate.remoteFinished(id)
            }
        case .headers(let id, let fin, _):
            if fin, open.remove(id) != nil { delegate.remoteFinished(id) }
        case .rstStream(let id, _):
            open.remove(id)
            delegate.reset(id)
        case .ping(let id):
            // Client pings have odd IDs; echo them. (This side sends none.)
            if id % 2 == 1 {
                write(.ping(id: id), context: context)
                context.flush()
            }
        case .goAway:
            shutdown(context: context)
        case .synReply, .settings, .windowUpdate, .unknown:
            break
        }
    }

    private func encoded(_ frame: SPDYFrame, context: ChannelHandlerContext) -> ByteBuffer {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        try? codec.encode(frame, into: &buffer)
        return buffer
    }

    private func write(_ frame: SPDYFrame, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(encoded(frame, context: context)), promise: nil)
    }

    private func shutdown(context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        open.removeAll()
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: 64)
        do {
            try codec.encode(frame, into: &buffer)
        } catch {
            promise?.fail(error)
            return
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        open.removeAll()
        delegate.connectionClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        shutdown(context: context)
    }
}
