import Dispatch
import Foundation
import SystemCore

/// The outcome of a finished command.
struct CommandResult: Sendable {
    var status: ExitStatus
    var stdout: [UInt8]
    var stderr: [UInt8]
    var timedOut: Bool

    var stderrText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs external programs (the OCI runtime, CNI plugins, the monitor) without blocking the
/// daemon's cooperative threads: each wait happens on a thread of its own. (Not on GCD's global
/// queue: on Linux it grows slowly past the core count when its threads block, which made a
/// hundred concurrent teardowns wait for each other.)
enum Command {
    /// Runs `path` to completion; its output goes to anonymous files in `scratch` (no pipe can
    /// fill up). `timeout` (seconds, 0 = none) sends SIGKILL.
    static func run(
        _ path: String, _ arguments: [String], environment: [String]? = nil, input: [UInt8]? = nil,
        scratch: String, timeout: Double = 0, newSession: Bool = false
    ) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<CommandResult, Error>) in
            BlockingThread.run(name: "cri-command") {
                do {
                    continuation.resume(returning: try runBlocking(
                        path, arguments, environment: environment, input: input, scratch: scratch,
                        timeout: timeout, newSession: newSession))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    static func runBlocking(
        _ path: String, _ arguments: [String], environment: [String]?, input: [UInt8]?,
        scratch: String, timeout: Double, newSession: Bool
    ) throws -> CommandResult {
        do {
            return try spawnAndWait(path, arguments, environment: environment, input: input, timeout: timeout, newSession: newSession)
        } catch {
            throw CRIError.system(context: "running \(path)", error)
        }
    }

    private static func spawnAndWait(
        _ path: String, _ arguments: [String], environment: [String]?, input: [UInt8]?, timeout: Double, newSession: Bool
    ) throws(SystemCallError) -> CommandResult {
            let out = try Spawn.anonymousFile(name: "cri-command")
            defer { close(out) }
            let err = try Spawn.anonymousFile(name: "cri-command")
            defer { close(err) }
            var inFD: Int32? = nil
            if let input {
                let fd = try Spawn.anonymousFile(name: "cri-command")
                _ = input.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                lseek(fd, 0, SEEK_SET)
                inFD = fd
            }
            defer { if let inFD { close(inFD) } }
            let pid = try Spawn.start(
                path, arguments: [path] + arguments, environment: environment, stdin: inFD, stdout: out,
                stderr: err, newSession: newSession)
            let timedOut = Flag()
            var timer: DispatchWorkItem?
            if timeout > 0 {
                let item = DispatchWorkItem {
                    timedOut.set()
                    kill(pid, SIGKILL)
                }
                timer = item
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: item)
            }
            let status = try Spawn.wait(pid)
            timer?.cancel()
            return CommandResult(
                status: status, stdout: try Spawn.contents(of: out), stderr: try Spawn.contents(of: err),
                timedOut: timedOut.value)
    }
}

/// A flag set from another thread (a timer, an actor's closure).
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.withLock { flag = true } }
    var value: Bool { lock.withLock { flag } }
}
