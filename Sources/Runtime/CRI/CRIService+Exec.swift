import Dispatch
import Foundation
import Runtime
import SystemCore

/// Starting the process of a streaming exec: `<runtime> exec --process` with the container's
/// process settings, through a console socket when a tty is asked for.
extension CRIService {
    static func startExec(
        _ request: StreamingServer.Pending, runtime: OCIRuntime, rootDir: String, scratch: String,
        stdin: Int32?, stdout: Int32, stderr: Int32
    ) async throws -> StreamingServer.Process {
        let spec: Spec
        do { spec = try Spec.load(bundle: "\(rootDir)/containers/\(request.containerID)") } catch {
            throw CRIError.runtime("reading the bundle of \(request.containerID): \(error)")
        }
        guard var process = spec.process else { throw CRIError.runtime("bundle of \(request.containerID) has no process") }
        process.args = request.cmd
        process.terminal = request.tty
        process.consoleSize = nil
        let name = "exec-\(newID().prefix(16))"
        let file = "\(scratch)/\(name).json"
        do { try FileSystem.writeAtomically(file, Array(try JSONEncoder().encode(process)), durable: false) } catch let error as SystemCallError {
            throw CRIError.system(context: "writing \(file)", error)
        }
        let base = [runtime.path] + runtime.globalArguments + ["exec", "--process", file]
        guard request.tty else {
            do {
                let pid = try Spawn.start(runtime.path, arguments: base + [request.containerID], stdin: stdin, stdout: stdout, stderr: stderr)
                return StreamingServer.Process(pid: pid, master: nil, cleanup: { unlink(file) })
            } catch {
                unlink(file)
                throw CRIError.wrap("running \(runtime.path) exec", error)
            }
        }
        // With a tty the runtime sends the pty master over a console socket; wait on a GCD thread.
        let socketPath = "\(scratch)/\(name).sock"
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let console = try ConsoleSocket(path: socketPath)
                    let pid = try Spawn.start(
                        runtime.path, arguments: base + ["--tty", "--console-socket", socketPath, request.containerID],
                        stdin: nil, stdout: nil, stderr: nil)
                    do {
                        let master = try console.receiveMaster(timeoutMilliseconds: 10_000)
                        continuation.resume(returning: StreamingServer.Process(pid: pid, master: master, cleanup: { unlink(file) }))
                    } catch {
                        kill(pid, SIGKILL)
                        _ = try? Spawn.wait(pid)
                        unlink(file)
                        continuation.resume(throwing: CRIError.wrap("receiving the exec's terminal", error))
                    }
                } catch {
                    unlink(file)
                    continuation.resume(throwing: CRIError.wrap("starting \(runtime.path) exec --tty", error))
                }
            }
        }
    }
}
