import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The SPDY/3.1 upgrade of a streaming URL: negotiates `X-Stream-Protocol-Version`, answers
/// 101 with the chosen version, then runs the connection's session.
struct SPDYUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let server: StreamingServer
    let supportedProtocol = "SPDY/3.1"
    let requiredUpgradeHeaders: [String] = []
    static let versionHeader = "X-Stream-Protocol-Version"

    func buildUpgradeResponse(channel: Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        guard let (kind, token, _) = StreamingServer.Kind.parse(upgradeRequest.uri), server.isKnown(kind, token) else {
            return channel.eventLoop.makeFailedFuture(StreamingUpgradeError.unknownToken)
        }
        guard let chosen = RemoteCommandProtocol.negotiate(
            offered: upgradeRequest.headers[Self.versionHeader], supported: kind.spdyProtocols) else {
            return channel.eventLoop.makeFailedFuture(StreamingUpgradeError.noProtocol)
        }
        var headers = initialResponseHeaders
        headers.add(name: Self.versionHeader, value: chosen)
        return channel.eventLoop.makeSucceededFuture(headers)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        guard let (kind, token, query) = StreamingServer.Kind.parse(upgradeRequest.uri),
              let chosen = RemoteCommandProtocol.negotiate(offered: upgradeRequest.headers[Self.versionHeader], supported: kind.spdyProtocols)
        else { return channel.close() }
        let delegate: SPDYStreamDelegate
        if kind == .portForward {
            guard let request = server.takeForward(token, query: query) else { return channel.close() }
            delegate = SPDYPortForwardSession(helper: server.forwardHelper, netns: request.netns, ports: request.ports)
        } else {
            guard let command = server.takeCommand(kind, token) else { return channel.close() }
            let version = RemoteCommandProtocol.spdy.first { $0.name == chosen }?.version ?? 1
            delegate = SPDYCommandSession(
                backend: command.0, version: version, stdin: command.stdin, stdout: command.stdout,
                stderr: command.stderr, tty: command.tty)
        }
        return channel.pipeline.removeHandler(name: "cri-not-found").flatMap {
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(SPDYConnectionHandler(delegate: delegate))
            }
        }
    }
}

enum StreamingUpgradeError: Error {
    case unknownToken, noProtocol
}

/// Answers what was not upgraded: 404 for an unknown or used token, 403 naming the protocols
/// when the client offered none this server speaks (as Kubernetes' handshake does), 400 for a
/// plain request to a streaming URL.
final class NotFoundHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: StreamingServer
    private var head: HTTPRequestHead?

    init(server: StreamingServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end: respond(context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        var status = HTTPResponseStatus.notFound
        var body = "unknown or expired streaming URL\n"
        var headers = HTTPHeaders()
        if let head, let (kind, token, _) = StreamingServer.Kind.parse(head.uri), server.isKnown(kind, token) {
            let upgrade = head.headers["Upgrade"].joined(separator: ",").lowercased()
            if upgrade.contains("spdy/3.1") {
                status = .forbidden
                let offered = head.headers[SPDYUpgrader.versionHeader]
                body = "unable to upgrade: unable to negotiate protocol: client supports \(offered), server accepts \(kind.spdyProtocols)\n"
                for name in kind.spdyProtocols { headers.add(name: "X-Accepted-Stream-Protocol-Versions", value: name) }
            } else if upgrade.contains("websocket") {
                status = .forbidden
                body = "unable to upgrade: no WebSocket subprotocol in common; server accepts \(kind.webSocketProtocols)\n"
            } else {
                status = .badRequest
                body = "a streaming URL needs an upgrade to SPDY/3.1 or WebSocket\n"
            }
        }
        headers.add(name: "Content-Type", value: "text/plain")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// An exec or attach over one WebSocket: channel 0 in is stdin, 4 a resize, 255 (v5) the end of
/// stdin; output goes out on 1 and 2, the status on 3, then a close frame.
final class WebSocketCommandSession: ChannelInboundHandler, RemoteCommandOutput, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let backend: RemoteCommandBackend
    let v5: Bool
    private var channel: Channel?

    init(backend: RemoteCommandBackend, v5: Bool) {
        self.backend = backend
        self.v5 = v5
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        backend.start(output: self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose:
            backend.closeInput()
            context.close(promise: nil)
        case .binary, .text, .continuation:
            var payload = frame.unmaskedData
            guard let stream = payload.readInteger(as: UInt8.self) else { return }
            switch stream {
            case 0:
                backend.input(Array(payload.readableBytesView))
            case 4:
                var bytes = Array(payload.readableBytesView)
                for size in TerminalSize.drain(&bytes) { backend.resize(width: size.Width, height: size.Height) }
            case 255 where v5:
                backend.closeInput()
            default:
                break
            }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        backend.connectionLost()
        context.fireChannelInactive()
    }

    func write(_ stream: UInt8, _ bytes: ArraySlice<UInt8>) {
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: bytes.count + 1)
        buffer.writeInteger(stream)
        buffer.writeBytes(bytes)
        // Waits until the frame is on the socket: a slow client slows the reader, nothing piles up.
        _ = try? channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .binary, data: buffer)).wait()
    }

    func finish(_ status: RemoteCommandStatus) {
        guard let channel else { return }
        Self.finish(channel, status: status.json)
    }

    static func finish(_ channel: Channel, status: String) {
        var buffer = channel.allocator.buffer(capacity: status.utf8.count + 1)
        buffer.writeInteger(UInt8(3))
        buffer.writeString(status)
        channel.write(WebSocketFrame(fin: true, opcode: .binary, data: buffer), promise: nil)
        var code = channel.allocator.buffer(capacity: 2)
        code.write(webSocketErrorCode: .normalClosure)
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

/// Port forwarding over one WebSocket: per port i, channel 2i carries data and 2i+1 errors;
/// each channel's first frame is the port number (uint16, little endian).
final class WebSocketForwardSession: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let helper: String
    let netns: String?
    let ports: [Int32]
    private var relays: [PortRelay?] = []

    init(helper: String, netns: String?, ports: [Int32]) {
        self.helper = helper
        self.netns = netns
        self.ports = ports
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let group = DispatchGroup()
        /// From a relay thread: waits until the frame is written (back-pressure).
        @Sendable func send(_ ch: UInt8, _ bytes: ArraySlice<UInt8>) {
            _ = try? channel.writeAndFlush(frame(ch, bytes)).wait()
        }
        @Sendable func frame(_ ch: UInt8, _ bytes: ArraySlice<UInt8>) -> WebSocketFrame {
            var buffer = channel.allocator.buffer(capacity: bytes.count + 1)
            buffer.writeInteger(ch)
            buffer.writeBytes(bytes)
            return WebSocketFrame(fin: true, opcode: .binary, data: buffer)
        }
        for (index, port) in ports.enumerated() {
            let data = UInt8(2 * index), errors = UInt8(2 * index + 1)
            for ch in [data, errors] {
                var buffer = channel.allocator.buffer(capacity: 3)
                buffer.writeInteger(ch)
                buffer.writeInteger(UInt16(truncatingIfNeeded: port), endianness: .little)
                context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: buffer)), promise: nil)
            }
            group.enter()
            do {
                relays.append(try PortRelay(
                    helper: helper, netns: netns, port: port,
                    data: { send(data, $0) }, failure: { send(errors, $0) }, done: { group.leave() }))
            } catch {
                relays.append(nil)
                context.write(wrapOutboundOut(frame(errors, Array("forwarding port \(port): \(error)".utf8)[...])), promise: nil)
                group.leave()
            }
        }
        context.flush()
        group.notify(queue: .global()) {
            var code = channel.allocator.buffer(capacity: 2)
            code.write(webSocketErrorCode: .normalClosure)
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose:
            for relay in relays { relay?.closeInput() }
            context.close(promise: nil)
        case .binary, .text, .continuation:
            var payload = frame.unmaskedData
            guard let ch = payload.readInteger(as: UInt8.self), ch % 2 == 0, Int(ch / 2) < relays.count,
                  payload.readableBytes > 0 else { return }
            relays[Int(ch / 2)]?.input(Array(payload.readableBytesView))
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for relay in relays { relay?.closeInput() }
        context.fireChannelInactive()
    }
}
