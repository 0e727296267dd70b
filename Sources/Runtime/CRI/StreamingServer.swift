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
/// `Status` JSON), 4 resizes the tty (`{"Width":W,"Height":H}`), 255 (v5) closes stdin.
final class StreamingServer: @unchecked Sendable {
    struct Pending: Sendable {
        var containerID: String
        var cmd: [String]
        var stdin: Bool
        var stdout: Bool
        var stderr: Bool
        var tty: Bool
        var created: Date
    }

    /// A started exec: its pid, the pty master with a tty, and what to clean once it exited.
    struct Process: Sendable {
        var pid: pid_t
        var master: Int32?
        var cleanup: @Sendable () -> Void
    }

    /// An Attach request: the monitor's state directory (attach.sock, ctl).
    struct PendingAttach: Sendable {
        var monitorDir: String
        var stdin: Bool
        var tty: Bool
        var created: Date
    }

    /// A PortForward request: the pod's network namespace (nil: the node's) and its ports.
    struct PendingForward: Sendable {
        var netns: String?
        var ports: [Int32]
        var created: Date
    }

    private let lock = NSLock()
    private var pending: [String: Pending] = [:]
    private var forwards: [String: PendingForward] = [:]
    private var attaches: [String: PendingAttach] = [:]
    /// swiftlet-pause, which relays one port inside a pod's network namespace.
    var forwardHelper = ""
    private var channel: Channel?
    private(set) var baseURL = ""
    let logger: Logger
    /// Builds the process JSON and runs `<runtime> exec` with the given stdio.
    /// Starts `<runtime> exec` for a request: with a tty through a console socket (the pipes are
    /// then unused), otherwise on the given stdin/stdout/stderr.
    let spawnExec: @Sendable (Pending, Int32?, Int32, Int32) async throws -> Process

    init(logger: Logger, spawnExec: @escaping @Sendable (Pending, Int32?, Int32, Int32) async throws -> Process) {
        self.logger = logger
        self.spawnExec = spawnExec
    }

    func start(host: String, port: Int) async throws {
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20,
            shouldUpgrade: { [self] channel, head in
                let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
                let token = path.split(separator: "/").last.map(String.init) ?? ""
                let offered = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                let known: Bool
                let protocols: [String]
                if path.hasPrefix("/exec/") {
                    known = self.peek(token) != nil
                    protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
                } else if path.hasPrefix("/attach/") {
                    known = self.lock.withLock { self.attaches[token] != nil }
                    protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
                } else if path.hasPrefix("/portforward/") {
                    known = self.lock.withLock { self.forwards[token] != nil }
                    protocols = ["v4.channel.k8s.io", "portforward.k8s.io"]
                } else {
                    known = false
                    protocols = []
                }
                guard known, let chosen = protocols.first(where: offered.contains) else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                var headers = HTTPHeaders()
                headers.add(name: "Sec-WebSocket-Protocol", value: chosen)
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { [self] channel, head in
                let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
                let token = path.split(separator: "/").last.map(String.init) ?? ""
                if path.hasPrefix("/attach/") {
                    guard let request = self.lock.withLock({ self.attaches.removeValue(forKey: token) }) else { return channel.close() }
                    let v5 = head.headers["Sec-WebSocket-Protocol"].joined(separator: ",").contains("v5.channel.k8s.io")
                    return channel.pipeline.removeHandler(name: "cri-not-found").flatMap {
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(AttachSession(request: request, v5: v5))
                        }
                    }
                }
                if path.hasPrefix("/portforward/") {
                    guard let request = self.lock.withLock({ self.forwards.removeValue(forKey: token) }) else { return channel.close() }
                    // Ports may also come in the query (?port=80&port=8080), as kubectl sends them.
                    let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
                    let queried = query.split(separator: "&").compactMap { item -> Int32? in
                        let kv = item.split(separator: "=", maxSplits: 1)
                        return kv.count == 2 && kv[0] == "port" ? Int32(kv[1]) : nil
                    }
                    let ports = queried.isEmpty ? request.ports : queried
                    let helper = self.forwardHelper
                    return channel.pipeline.removeHandler(name: "cri-not-found").flatMap {
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                ForwardSession(helper: helper, netns: request.netns, ports: ports))
                        }
                    }
                }
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

    /// Registers an attach and returns its URL (valid once, for a minute).
    func register(_ request: PendingAttach) -> String {
        let token = String(newID().prefix(32))
        lock.withLock {
            attaches = attaches.filter { Date().timeIntervalSince($0.value.created) < 60 }
            attaches[token] = request
        }
        return "\(baseURL)/attach/\(token)"
    }

    /// Registers a port forward and returns its URL (valid once, for a minute).
    func register(_ request: PendingForward) -> String {
        let token = String(newID().prefix(32))
        lock.withLock {
            forwards = forwards.filter { Date().timeIntervalSince($0.value.created) < 60 }
            forwards[token] = request
        }
        return "\(baseURL)/portforward/\(token)"
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
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
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
    private var masterFD: Int32 = -1
    /// Input and a resize that came before the terminal existed.
    private var earlyInput: [[UInt8]] = []
    private var earlyResize: TerminalSize?
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
                let process: StreamingServer.Process
                do {
                    process = try await server.spawnExec(request, inPipe?.0, out.1, err.1)
                } catch {
                    for fd in [inPipe?.0, inPipe?.1, out.0, out.1, err.0, err.1].compactMap({ $0 }) { close(fd) }
                    Self.finish(channel, status: Self.failure("\(error)", exitCode: nil))
                    return
                }
                if let inPipe { close(inPipe.0) }
                close(out.1)
                close(err.1)
                let group = DispatchGroup()
                var readers = [(out.0, UInt8(1), request.stdout), (err.0, UInt8(2), request.stderr)]
                if let master = process.master {
                    // The terminal carries both streams; stdin goes to it as well.
                    channel.eventLoop.execute { self.attachTerminal(master) }
                    readers.append((master, UInt8(1), true))
                }
                for (fd, stream, wanted) in readers {
                    group.enter()
                    DispatchQueue.global().async {
                        Self.relay(fd: fd, stream: stream, forward: wanted, channel: channel, closeWhenDone: fd != process.master)
                        group.leave()
                    }
                }
                DispatchQueue.global().async {
                    let status = (try? Spawn.wait(process.pid)) ?? .exited(255)
                    process.cleanup()
                    group.wait()
                    if let master = process.master { channel.eventLoop.execute { self.closeTerminal(master) } }
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
            if request.tty, masterFD < 0, stream == 0 || stream == 4 {
                if stream == 0 { earlyInput.append(Array(payload.readableBytesView)) }
                if stream == 4 { earlyResize = try? JSONDecoder().decode(TerminalSize.self, from: Data(payload.readableBytesView)) }
            } else if stream == 0, stdinFD >= 0 || masterFD >= 0 {
                let bytes = Array(payload.readableBytesView)
                let fd = masterFD >= 0 ? masterFD : stdinFD
                stdinQueue.async { _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
            } else if stream == 4, masterFD >= 0 {
                // Resize: {"Width": columns, "Height": rows}.
                let text = Data(payload.readableBytesView)
                if let size = try? JSONDecoder().decode(TerminalSize.self, from: text) {
                    try? ConsoleSocket.resize(masterFD, rows: size.Height, columns: size.Width)
                }
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

    private struct TerminalSize: Decodable {
        var Width: UInt16
        var Height: UInt16
    }

    private func attachTerminal(_ fd: Int32) {
        masterFD = fd
        if let size = earlyResize { try? ConsoleSocket.resize(fd, rows: size.Height, columns: size.Width) }
        let input = earlyInput
        earlyInput = []
        stdinQueue.async { for bytes in input { _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } } }
    }

    private func closeTerminal(_ fd: Int32) {
        masterFD = -1
        stdinQueue.async { close(fd) }
    }

    private func closeStdin() {
        let fd = stdinFD
        stdinFD = -1
        if fd >= 0 { stdinQueue.async { close(fd) } }
    }

    static func relay(fd: Int32, stream: UInt8, forward: Bool, channel: Channel, closeWhenDone: Bool) {
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
        if closeWhenDone { close(fd) }
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

/// One port-forward WebSocket: per port i, channel 2i carries data and 2i+1 errors; each
/// channel's first frame is the port number (uint16, little endian). One helper process
/// (`swiftlet-pause --forward`) per port connects inside the pod's network namespace.
private final class ForwardSession: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let helper: String
    let netns: String?
    let ports: [Int32]
    private var inputs: [Int32] = []
    private let inputQueue = DispatchQueue(label: "cri.portforward.input")

    init(helper: String, netns: String?, ports: [Int32]) {
        self.helper = helper
        self.netns = netns
        self.ports = ports
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let group = DispatchGroup()
        for (index, port) in ports.enumerated() {
            for ch in [UInt8(2 * index), UInt8(2 * index + 1)] {
                var buffer = channel.allocator.buffer(capacity: 3)
                buffer.writeInteger(ch)
                buffer.writeInteger(UInt16(truncatingIfNeeded: port), endianness: .little)
                context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: buffer)), promise: nil)
            }
            do {
                let input = try Spawn.pipe()
                let output = try Spawn.pipe()
                let errors = try Spawn.pipe()
                let pid = try Spawn.start(
                    helper, arguments: [helper, "--forward", netns ?? "-", "\(port)"],
                    stdin: input.0, stdout: output.1, stderr: errors.1)
                close(input.0)
                close(output.1)
                close(errors.1)
                inputs.append(input.1)
                for (fd, ch) in [(output.0, UInt8(2 * index)), (errors.0, UInt8(2 * index + 1))] {
                    group.enter()
                    DispatchQueue.global().async {
                        ExecSession.relay(fd: fd, stream: ch, forward: true, channel: channel, closeWhenDone: true)
                        group.leave()
                    }
                }
                group.enter()
                DispatchQueue.global().async {
                    _ = try? Spawn.wait(pid)
                    group.leave()
                }
            } catch {
                inputs.append(-1)
                var buffer = channel.allocator.buffer(capacity: 64)
                buffer.writeInteger(UInt8(2 * index + 1))
                buffer.writeString("\(error)")
                context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: buffer)), promise: nil)
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
            closeInputs()
            context.close(promise: nil)
        case .binary, .text, .continuation:
            var payload = frame.unmaskedData
            guard let ch = payload.readInteger(as: UInt8.self), ch % 2 == 0, Int(ch / 2) < inputs.count else { return }
            let fd = inputs[Int(ch / 2)]
            guard fd >= 0, payload.readableBytes > 0 else { return }
            let bytes = Array(payload.readableBytesView)
            inputQueue.async { _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeInputs()
    }

    private func closeInputs() {
        let fds = inputs
        inputs = inputs.map { _ in -1 }
        inputQueue.async { for fd in fds where fd >= 0 { close(fd) } }
    }
}

/// One attach over one WebSocket: a client of the container's monitor (attach.sock). Output
/// frames from the monitor become channel 1/2 frames; channel 0 goes to the container's stdin;
/// channel 4 resizes the tty through the monitor's ctl FIFO; 255 (v5) ends stdin.
private final class AttachSession: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let request: StreamingServer.PendingAttach
    let v5: Bool
    private var socketFD: Int32 = -1
    private let inputQueue = DispatchQueue(label: "cri.attach.input")

    init(request: StreamingServer.PendingAttach, v5: Bool) {
        self.request = request
        self.v5 = v5
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let fd: Int32
        do { fd = try UnixSocket.connect(directory: request.monitorDir, name: "attach.sock") } catch {
            ExecSession.finish(channel, status: ExecSession.failure("attaching: \(error)", exitCode: nil))
            return
        }
        socketFD = fd
        let reader = dup(fd)
        DispatchQueue.global().async {
            // Frames: stream (1 byte), length (4 bytes, big endian), bytes.
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 32768)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                pending.append(contentsOf: chunk[0..<n])
                while pending.count >= 5 {
                    let length = Int(pending[1]) << 24 | Int(pending[2]) << 16 | Int(pending[3]) << 8 | Int(pending[4])
                    guard pending.count >= 5 + length else { break }
                    var buffer = channel.allocator.buffer(capacity: length + 1)
                    buffer.writeInteger(pending[0])
                    buffer.writeBytes(pending[5..<(5 + length)])
                    channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .binary, data: buffer), promise: nil)
                    pending.removeFirst(5 + length)
                }
            }
            close(reader)
            ExecSession.finish(channel, status: ExecSession.success)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose:
            shutdownInput()
            context.close(promise: nil)
        case .binary, .text, .continuation:
            var payload = frame.unmaskedData
            guard let stream = payload.readInteger(as: UInt8.self) else { return }
            if stream == 0, socketFD >= 0, request.stdin {
                let bytes = Array(payload.readableBytesView)
                let fd = socketFD
                inputQueue.async { _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
            } else if stream == 4, request.tty {
                struct Size: Decodable { var Width: UInt16; var Height: UInt16 }
                if let size = try? JSONDecoder().decode(Size.self, from: Data(payload.readableBytesView)) {
                    let ctl = "\(request.monitorDir)/ctl"
                    inputQueue.async {
                        let fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
                        guard fd >= 0 else { return }
                        let line = "resize \(size.Height) \(size.Width)\n"
                        _ = line.withCString { write(fd, $0, strlen($0)) }
                        close(fd)
                    }
                }
            } else if stream == 255, v5 {
                shutdownInput()
            }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let fd = socketFD
        socketFD = -1
        if fd >= 0 { inputQueue.async { close(fd) } }
    }

    private func shutdownInput() {
        let fd = socketFD
        if fd >= 0 { inputQueue.async { shutdown(fd, Int32(SHUT_WR)) } }
    }
}
