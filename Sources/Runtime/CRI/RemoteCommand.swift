import Dispatch
import Foundation
import Runtime
import SystemCore

/// How a streaming exec or attach ended: the Kubernetes `Status` the v4/v5 protocols carry on
/// the error stream.
enum RemoteCommandStatus: Sendable, Equatable {
    case success
    case failure(message: String, exitCode: Int32?)

    /// The `Status` object as JSON (reason NonZeroExitCode with an ExitCode cause, as kubectl
    /// reads it).
    var json: String {
        switch self {
        case .success:
            return #"{"metadata":{},"status":"Success"}"#
        case .failure(let message, let exitCode):
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
    }

    /// The plain message the v1–v3 protocols write on the error stream (nothing on success).
    var message: String? {
        if case .failure(let message, _) = self { return message }
        return nil
    }
}

/// Where a remote command's output goes: WebSocket channel frames or SPDY streams. Called from
/// any thread; `finish` once, after the last `write`.
protocol RemoteCommandOutput: AnyObject, Sendable {
    /// Output of the command: stream 1 stdout, 2 stderr. Returns once the bytes are written to
    /// the connection (back-pressure); never called on an event loop.
    func write(_ stream: UInt8, _ bytes: ArraySlice<UInt8>)
    func finish(_ status: RemoteCommandStatus)
}

/// The process side of a streaming exec or attach, whatever carries it. Thread-safe.
protocol RemoteCommandBackend: AnyObject, Sendable {
    func start(output: RemoteCommandOutput)
    func input(_ bytes: [UInt8])
    /// The client's stdin ended.
    func closeInput()
    func resize(width: UInt16, height: UInt16)
    /// The client went away.
    func connectionLost()
}

/// A resize message: `{"Width": columns, "Height": rows}`.
struct TerminalSize: Decodable, Equatable {
    var Width: UInt16
    var Height: UInt16

    /// Every complete JSON object at the front of `buffer` (consumed); SPDY's resize stream is a
    /// sequence of objects, split anywhere by frames.
    static func drain(_ buffer: inout [UInt8]) -> [TerminalSize] {
        var sizes: [TerminalSize] = []
        var depth = 0
        var start: Int?
        var consumed = 0
        var inString = false
        var escaped = false
        for (index, byte) in buffer.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"):
                if depth == 0 { start = index }
                depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0, let s = start {
                    if let size = try? JSONDecoder().decode(TerminalSize.self, from: Data(buffer[s...index])) { sizes.append(size) }
                    consumed = index + 1
                    start = nil
                }
                if depth < 0 { depth = 0; consumed = index + 1 }
            default:
                if depth == 0 { consumed = index + 1 }
            }
        }
        buffer.removeFirst(consumed)
        return sizes
    }
}

/// Reads `fd` until EOF on a thread of its own (a blocking read must not hold one of the few
/// threads of GCD's pool or of Swift's cooperative pool).
func readUntilEOF(_ fd: Int32, name: String, closeWhenDone: Bool, _ body: @escaping @Sendable (ArraySlice<UInt8>) -> Void, done: @escaping @Sendable () -> Void) {
    BlockingThread.run(name: name) {
        var chunk = [UInt8](repeating: 0, count: 32768)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            body(chunk[0..<n])
        }
        if closeWhenDone { close(fd) }
        done()
    }
}

/// A thread for one blocking job (a read until EOF, a waitpid). GCD's global queue on Linux adds
/// threads slowly when its workers block, so a hundred blocking waits there serialize.
enum BlockingThread {
    static func run(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { body() }
        thread.name = name
        thread.stackSize = 256 << 10
        thread.start()
    }
}

/// A streaming exec: `<runtime> exec` with pipes (or a terminal), its output relayed, its exit
/// status reported.
final class ExecProcess: RemoteCommandBackend, @unchecked Sendable {
    let request: StreamingServer.Pending
    let spawn: @Sendable (StreamingServer.Pending, Int32?, Int32, Int32) async throws -> StreamingServer.Process
    private let lock = NSLock()
    private var stdinFD: Int32 = -1
    private var masterFD: Int32 = -1
    private var started = false
    /// Input, a resize and an end of input that came before the process existed.
    private var earlyInput: [[UInt8]] = []
    private var earlyResize: TerminalSize?
    private var earlyClose = false
    private let inputQueue = DispatchQueue(label: "cri.exec.input")

    init(request: StreamingServer.Pending, spawn: @escaping @Sendable (StreamingServer.Pending, Int32?, Int32, Int32) async throws -> StreamingServer.Process) {
        self.request = request
        self.spawn = spawn
    }

    func start(output: RemoteCommandOutput) {
        var inPipe: (Int32, Int32)? = nil
        let out: (Int32, Int32)
        let err: (Int32, Int32)
        do {
            if request.stdin && !request.tty { inPipe = try Spawn.pipe() }
            out = try Spawn.pipe()
            do { err = try Spawn.pipe() } catch {
                close(out.0)
                close(out.1)
                throw error
            }
        } catch {
            if let inPipe { close(inPipe.0); close(inPipe.1) }
            output.finish(.failure(message: "\(error)", exitCode: nil))
            return
        }
        let request = self.request
        let spawn = self.spawn
        Task {
            let process: StreamingServer.Process
            do {
                process = try await spawn(request, inPipe?.0, out.1, err.1)
            } catch {
                for fd in [inPipe?.0, inPipe?.1, out.0, out.1, err.0, err.1].compactMap({ $0 }) { close(fd) }
                output.finish(.failure(message: "\(error)", exitCode: nil))
                return
            }
            if let inPipe { close(inPipe.0) }
            close(out.1)
            close(err.1)
            self.attach(stdin: inPipe?.1, master: process.master)
            let group = DispatchGroup()
            var readers = [(out.0, UInt8(1), request.stdout, true), (err.0, UInt8(2), request.stderr, true)]
            // The terminal carries both output streams (the master is closed below, once the
            // process is gone).
            if let master = process.master { readers.append((master, UInt8(1), true, false)) }
            for (fd, stream, wanted, closeFD) in readers {
                group.enter()
                readUntilEOF(fd, name: "cri-exec-out", closeWhenDone: closeFD, { bytes in
                    if wanted { output.write(stream, bytes) }
                }, done: { group.leave() })
            }
            BlockingThread.run(name: "cri-exec-wait") {
                let status = (try? Spawn.wait(process.pid)) ?? .exited(255)
                process.cleanup()
                if process.master != nil {
                    // A terminal's master reads EIO once every slave is closed; a background
                    // child that keeps the slave open must not keep the session open.
                    _ = group.wait(timeout: .now() + 2)
                } else {
                    group.wait()
                }
                self.detach()
                output.finish(status.code == 0 ? .success : .failure(
                    message: "command terminated with non-zero exit code: \(status)", exitCode: status.code))
            }
        }
    }

    private func attach(stdin: Int32?, master: Int32?) {
        let (input, resize, closeNow): ([[UInt8]], TerminalSize?, Bool) = lock.withLock {
            stdinFD = stdin ?? -1
            masterFD = master ?? -1
            started = true
            defer { earlyInput = []; earlyResize = nil }
            return (earlyInput, earlyResize, earlyClose)
        }
        if let resize { self.resize(width: resize.Width, height: resize.Height) }
        for bytes in input { self.input(bytes) }
        if closeNow { closeInput() }
    }

    private func detach() {
        let (stdin, master) = lock.withLock {
            defer { stdinFD = -1; masterFD = -1 }
            return (stdinFD, masterFD)
        }
        inputQueue.async {
            if stdin >= 0 { close(stdin) }
            if master >= 0 { close(master) }
        }
    }

    func input(_ bytes: [UInt8]) {
        let fd: Int32? = lock.withLock {
            guard started else {
                earlyInput.append(bytes)
                return nil
            }
            return masterFD >= 0 ? masterFD : stdinFD
        }
        guard let fd, fd >= 0 else { return }
        // Writes happen in order on one queue; the fd is closed on the same queue.
        inputQueue.async { Self.writeAll(fd, bytes) }
    }

    func closeInput() {
        let fd: Int32 = lock.withLock {
            guard started else {
                earlyClose = true
                return -1
            }
            defer { stdinFD = -1 }
            return stdinFD
        }
        if fd >= 0 { inputQueue.async { close(fd) } }
    }

    func resize(width: UInt16, height: UInt16) {
        lock.withLock {
            guard started else {
                earlyResize = TerminalSize(Width: width, Height: height)
                return
            }
            if masterFD >= 0 { try? ConsoleSocket.resize(masterFD, rows: height, columns: width) }
        }
    }

    func connectionLost() {
        closeInput()
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

/// A streaming attach: a client of the container's monitor (attach.sock). The monitor sends
/// frames of stream (1 byte), length (4 bytes, big endian), bytes; what is written to the
/// socket is the container's stdin; resizes go to the monitor's ctl FIFO.
final class AttachClient: RemoteCommandBackend, @unchecked Sendable {
    let request: StreamingServer.PendingAttach
    private let lock = NSLock()
    private var socketFD: Int32 = -1
    private let inputQueue = DispatchQueue(label: "cri.attach.input")

    init(request: StreamingServer.PendingAttach) {
        self.request = request
    }

    func start(output: RemoteCommandOutput) {
        let fd: Int32
        do { fd = try UnixSocket.connect(directory: request.monitorDir, name: "attach.sock") } catch {
            output.finish(.failure(message: "attaching: \(error)", exitCode: nil))
            return
        }
        lock.withLock { socketFD = fd }
        let reader = dup(fd)
        let pending = Box()
        let wanted = (stdout: request.stdout, stderr: request.stderr)
        readUntilEOF(reader, name: "cri-attach-out", closeWhenDone: true, { bytes in
            pending.bytes.append(contentsOf: bytes)
            while pending.bytes.count >= 5 {
                let b = pending.bytes
                let length = Int(b[1]) << 24 | Int(b[2]) << 16 | Int(b[3]) << 8 | Int(b[4])
                guard b.count >= 5 + length else { break }
                if b[0] == 1 ? wanted.stdout : wanted.stderr { output.write(b[0], b[5..<(5 + length)]) }
                pending.bytes.removeFirst(5 + length)
            }
        }, done: {
            output.finish(.success)
        })
    }

    private final class Box: @unchecked Sendable { var bytes: [UInt8] = [] }

    func input(_ bytes: [UInt8]) {
        guard request.stdin else { return }
        let fd = lock.withLock { socketFD }
        guard fd >= 0 else { return }
        inputQueue.async { ExecProcess.writeAll(fd, bytes) }
    }

    func closeInput() {
        let fd = lock.withLock { socketFD }
        if fd >= 0 { inputQueue.async { shutdown(fd, Int32(SHUT_WR)) } }
    }

    func resize(width: UInt16, height: UInt16) {
        guard request.tty else { return }
        let ctl = "\(request.monitorDir)/ctl"
        inputQueue.async {
            let fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { return }
            let line = "resize \(height) \(width)\n"
            _ = line.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
    }

    func connectionLost() {
        let fd = lock.withLock {
            defer { socketFD = -1 }
            return socketFD
        }
        if fd >= 0 { inputQueue.async { close(fd) } }
    }
}

/// One forwarded connection to a port in the pod: `swiftlet-pause --forward` connects inside
/// the pod's network namespace and relays its stdin/stdout to the socket; its stderr says why a
/// connection failed.
final class PortRelay: @unchecked Sendable {
    private let lock = NSLock()
    private var inputFD: Int32 = -1
    private let inputQueue = DispatchQueue(label: "cri.portforward.input")

    /// Starts the helper. `data` gets what the pod sent, `failure` the helper's error text;
    /// `done` runs once both ended and the helper exited.
    init(helper: String, netns: String?, port: Int32,
         data: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
         failure: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
         done: @escaping @Sendable () -> Void) throws {
        let input = try Spawn.pipe()
        let output = try Spawn.pipe()
        let errors = try Spawn.pipe()
        let pid: pid_t
        do {
            pid = try Spawn.start(helper, arguments: [helper, "--forward", netns ?? "-", "\(port)"],
                                  stdin: input.0, stdout: output.1, stderr: errors.1)
        } catch {
            for fd in [input.0, input.1, output.0, output.1, errors.0, errors.1] { close(fd) }
            throw error
        }
        close(input.0)
        close(output.1)
        close(errors.1)
        inputFD = input.1
        let group = DispatchGroup()
        group.enter()
        readUntilEOF(output.0, name: "cri-forward-out", closeWhenDone: true, data, done: { group.leave() })
        group.enter()
        readUntilEOF(errors.0, name: "cri-forward-err", closeWhenDone: true, failure, done: { group.leave() })
        BlockingThread.run(name: "cri-forward-wait") {
            _ = try? Spawn.wait(pid)
            group.wait()
            self.closeInput()
            done()
        }
    }

    func input(_ bytes: [UInt8]) {
        let fd = lock.withLock { inputFD }
        guard fd >= 0 else { return }
        inputQueue.async { ExecProcess.writeAll(fd, bytes) }
    }

    /// No more data from the client: the helper shuts the socket's write side.
    func closeInput() {
        let fd = lock.withLock {
            defer { inputFD = -1 }
            return inputFD
        }
        if fd >= 0 { inputQueue.async { close(fd) } }
    }
}
