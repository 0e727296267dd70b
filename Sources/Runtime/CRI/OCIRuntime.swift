import Foundation
import SystemCore

/// The OCI runtime binary, driven through the runc command line. The daemon never creates
/// namespaces itself: `create` runs under the container's monitor, the rest directly.
struct OCIRuntime: Sendable {
    let path: String
    let globalArguments: [String]
    let monitorPath: String
    let scratch: String

    /// The runtime's view of a container (`<runtime> state`).
    struct State: Decodable {
        var id: String
        var pid: Int32?
        var status: String
    }

    /// Starts the container's monitor, which runs `create` and returns once it is done.
    func create(id: String, bundle: String, monitorDir: String, logPath: String, stdin: Bool, stdinOnce: Bool = false, tty: Bool) async throws {
        var args = ["--runtime", path]
        for arg in globalArguments { args += ["--runtime-arg", arg] }
        args += ["--bundle", bundle, "--id", id, "--log", logPath, "--dir", monitorDir]
        if stdin { args.append("--stdin") }
        if stdin && stdinOnce { args.append("--stdin-once") }
        if tty { args.append("--tty") }
        let result = try await Command.run(monitorPath, args, scratch: scratch, timeout: 120, newSession: true)
        guard result.status == .exited(0) else {
            throw CRIError.runtime("create \(id): \(result.stderrText.isEmpty ? result.status.description : result.stderrText)")
        }
    }

    func start(id: String) async throws {
        try await check(["start", id], "start \(id)")
    }

    /// Signals the init process; a container already gone is not an error.
    func kill(id: String, signal: String) async throws {
        let result = try await invoke(["kill", id, signal])
        if result.status != .exited(0) {
            let text = result.stderrText
            if text.contains("not running") || text.contains("does not exist") || text.contains("not found")
                || text.contains("No such process") || text.contains("stopped") || text.contains("process already finished") {
                return
            }
            throw CRIError.runtime("kill \(id) \(signal): \(text)")
        }
    }

    /// Deletes the container (forcibly); an unknown ID is not an error.
    func delete(id: String) async throws {
        let result = try await invoke(["delete", "--force", id])
        if result.status != .exited(0) {
            let text = result.stderrText
            if text.contains("does not exist") || text.contains("not found") || text.contains("No such file") { return }
            throw CRIError.runtime("delete \(id): \(text)")
        }
    }

    func state(id: String) async throws -> State? {
        let result = try await invoke(["state", id])
        guard result.status == .exited(0) else { return nil }
        return try? JSONDecoder().decode(State.self, from: Data(result.stdout))
    }

    /// Runs a process in the container with `exec --process`; output captured.
    func exec(id: String, processJSON: [UInt8], timeout: Double) async throws -> CommandResult {
        let file = "\(scratch)/exec-\(newID().prefix(16)).json"
        do { try FileSystem.writeAtomically(file, processJSON, durable: false) } catch {
            throw CRIError.system(context: "writing \(file)", error)
        }
        defer { unlink(file) }
        return try await Command.run(path, globalArguments + ["exec", "--process", file, id], scratch: scratch, timeout: timeout)
    }

    private func invoke(_ args: [String]) async throws -> CommandResult {
        try await Command.run(path, globalArguments + args, scratch: scratch, timeout: 60)
    }

    private func check(_ args: [String], _ what: String) async throws {
        let result = try await invoke(args)
        guard result.status == .exited(0) else {
            throw CRIError.runtime("\(what): \(result.stderrText.isEmpty ? result.status.description : result.stderrText)")
        }
    }
}
