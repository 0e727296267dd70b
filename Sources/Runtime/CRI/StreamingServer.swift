import CRIProto
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Runtime
import SystemCore

/// The streaming server behind Exec (the kubelet's URL flow): the Exec RPC stores the request
/// under a one-time token and returns `http://<address>/exec/<token>`; the client upgrades that
/// URL to a WebSocket with the `v5.channel.k8s.io` or `v4.channel.k8s.io` subprotocol. Frames
/// carry one channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final status (a Kubernetes
/// `Status` JSON), 255 (v5) closes stdin. Without tty only (see docs/cri.md).
final class StreamingServer: @unchecked Sendable {
    struct Pending: Sendable {
        var containerID: String
        var cmd: [String]
        var stdin: Bool
        var stdout: Bool
        var stderr: Bool
        var created: Date
    }

    private let lock = NSLock()
    private var pending: [String: Pending] = [:]
    private var channel: Channel?
    private(set) var baseURL = ""
    let logger: Logger
    /// Builds the process JSON and runs `<runtime> exec` with the given stdio.
    /// Returns the pid and a cleanup to run once it has exited.
    let spawnExec: @Sendable (String, [String], Int32?, Int32, Int32) async throws -> (pid_t, @Sendable () -> Void)

    init(logger: Logger, spawnExec: @escaping @Sendable (String, [String], Int32?, Int32, Int32) async throws -> (pid_t, @Sendable () -> Void)) {
        self.logger = logger
        self.spawnExec = spawnExec
    }

    func start(host: String, port: Int) async throws {
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20,
            shouldUpgrade: { [self] channel, head in
                let token = head.uri.split(separator: "/").last.map(String.init) ?? ""
                let offered = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                guard head.uri.hasPrefix("/exec/"), self.peek(token) != nil,
                      let chosen = ["v5.channel.k8s.io", "v4.channel.k8s.io"].first(where: offered.contains) else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                var headers = HTTPHeaders()
                headers.add(name: "Sec-WebSocket-Protocol", value: chosen)
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { [self] channel, head in
                let token = head.uri.split(separator: "/").last.map(String.init) ?? ""
                let v5 = head.headers["Sec-WebSocket-Protocol"].joined(separator: ",").contains("v5.channel.k8s.io")
                guard let request = self.take(token) else { return channel.close() }
                return channel.pipeline.removeHandler(name: "cri-not-found").flatMap {
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ExecSession(server: self, request: request, v5: v5))
                    }
                }
            })
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(NotFoundHandler(), name: "cri-not-found")
                }
            }
        let bound = try await bootstrap.bind(host: host, port: port).get()
        lock.withLock {
            channel = bound
            baseURL = "http://\(host):\(bound.localAddress?.port ?? port)"
        }
        logger.info("streaming server", metadata: ["url": "\(baseURL)"])
    }

    func stop() async {
        let c = lock.withLock { channel }
        try? await c?.close()
    }

    /// Registers an exec and returns its URL (valid once, for a minute).
    func register(_ request: Pending) -> String {
        let token = newID().prefix(32)
        lock.withLock {
            pending = pending.filter { Date().timeIntervalSince($0.value.created) < 60 }
            pending[String(token)] = request
        }
        return "\(baseURL)/exec/\(token)"
    }

    private func peek(_ token: String) -> Pending? { lock.withLock { pending[token] } }
    private func take(_ token: String) -> Pending? { lock.withLock { pending.removeValue(forKey: token) } }
}

/// Answers anything that is not a WebSocket upgrade of a known token with 404.
private final class NotFoundHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [context] _ in context.close(promise: nil) }
    }
}

/// One exec over one WebSocket: runs the process, relays stdio as channel frames, ends with
/// the status frame and a close.
private final class ExecSession: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let server: StreamingServer
    let request: StreamingServer.Pending
    let v5: Bool
    private var stdinFD: Int32 = -1
    private let stdinQueue = DispatchQueue(label: "cri.exec.stdin")

    init(server: StreamingServer, request: StreamingServer.Pending, v5: Bool) {
        self.server = server
        self.request = request
        self.v5 = v5
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        var inPipe: (Int32, Int32)? = nil
        do {
            if request.stdin { inPipe = try Spawn.pipe() }
            let out = try Spawn.pipe()
            let err = try Spawn.pipe()
            stdinFD = inPipe?.1 ?? -1
            let request = self.request
            let server = self.server
            Task {
                let pid: pid_t
                let cleanup: @Sendable () -> Void
                do {
                    (pid, cleanup) = try await server.spawnExec(request.containerID, request.cmd, inPipe?.0, out.1, err.1)
                } catch {
                    for fd in [inPipe?.0, inPipe?.1, out.0, out.1, err.0, err.1].compactMap({ $0 }) { close(fd) }
                    Self.finish(channel, status: Self.failure("\(error)", exitCode: nil))
                    return
                }
                if let inPipe { close(inPipe.0) }
                close(out.1)
                close(err.1)
                let group = DispatchGroup()
                for (fd, stream, wanted) in [(out.0, UInt8(1), request.stdout), (err.0, UInt8(2), request.stderr)] {
                    group.enter()
                    DispatchQueue.global().async {
                        Self.relay(fd: fd, stream: stream, forward: wanted, channel: channel)
                        group.leave()
                    }
                }
                DispatchQueue.global().async {
                    let status = (try? Spawn.wait(pid)) ?? .exited(255)
                    cleanup()
                    group.wait()
                    Self.finish(channel, status: status.code == 0 ? Self.success : Self.failure(
                        "command terminated with non-zero exit code: \(status)", exitCode: status.code))
                }
            }
        } catch {
            Self.finish(channel, status: Self.failure("\(error)", exitCode: nil))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose:
            closeStdin()
            context.close(promise: nil)
        case .binary, .text, .continuation:
            var payload = frame.unmaskedData
            guard let stream = payload.readInteger(as: UInt8.self) else { return }
            if stream == 0, stdinFD >= 0 {
                let bytes = Array(payload.readableBytesView)
                let fd = stdinFD
                stdinQueue.async { _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
            } else if stream == 255, v5 {
                closeStdin()
            }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeStdin()
    }

    private func closeStdin() {
        let fd = stdinFD
        stdinFD = -1
        if fd >= 0 { stdinQueue.async { close(fd) } }
    }

    static func relay(fd: Int32, stream: UInt8, forward: Bool, channel: Channel) {
        var chunk = [UInt8](repeating: 0, count: 32768)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            guard forward else { continue }
            var buffer = channel.allocator.buffer(capacity: n + 1)
            buffer.writeInteger(stream)
            buffer.writeBytes(chunk[0..<n])
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .binary, data: buffer), promise: nil)
        }
        close(fd)
    }

    static let success = #"{"metadata":{},"status":"Success"}"#

    static func failure(_ message: String, exitCode: Int32?) -> String {
        var object: [String: Any] = ["metadata": [String: Any](), "status": "Failure", "message": message]
        if let exitCode {
            object["reason"] = "NonZeroExitCode"
            object["details"] = ["causes": [["reason": "ExitCode", "message": "\(exitCode)"]]]
        } else {
            object["reason"] = "InternalError"
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
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
