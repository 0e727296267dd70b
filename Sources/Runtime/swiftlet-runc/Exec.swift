import ArgumentParser
import Runtime
import SystemCore

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a new process inside a running container.")
    @OptionGroup var globals: GlobalOptions
    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the pty master.") var consoleSocket: String?
    @Option(help: "Working directory inside the container.") var cwd: String?
    @Option(name: [.short, .long], help: "Set an environment variable (NAME=value).") var env: [String] = []
    @Flag(name: [.short, .long], help: "Allocate a pty.") var tty = false
    @Option(name: [.short, .long], help: "uid[:gid] to run as.") var user: String?
    @Option(name: [.customShort("g"), .customLong("additional-gids")], help: "Additional group ids.") var additionalGids: [UInt32] = []
    @Option(name: [.short, .long], help: "process.json to run (instead of the command line).") var process: String?
    @Flag(name: [.short, .long], help: "Do not wait for the process.") var detach = false
    @Option(name: .customLong("pid-file"), help: "Write the process's pid here.") var pidFile: String?
    @Option(name: [.customShort("c"), .customLong("cap")], help: "Add a capability.") var caps: [String] = []
    @Flag(name: .customLong("no-new-privs"), help: "Set no_new_privs.") var noNewPrivs = false
    @Flag(name: .customLong("ignore-paused"), help: "Accepted for compatibility.") var ignorePaused = false
    @Option(name: .customLong("preserve-fds"), help: "Pass this many fds after stdio to the process.") var preserveFDs = 0
    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func run() throws {
        var code: Int32 = 0
        try globals.perform { (runtime) throws(RuntimeError) in
            let (spec, field) = try processSpec(runtime)
            code = try runtime.exec(id, process: spec, field: field, ExecOptions(
                consoleSocket: consoleSocket, pidFile: pidFile, detach: detach, preserveFDs: preserveFDs))
        }
        if code != 0 { throw ExitCode(code) }
    }

    /// The process to run: the --process file as is, or the container's own process with the
    /// command line's changes.
    func processSpec(_ runtime: ContainerRuntime) throws(RuntimeError) -> (Spec.Process, String) {
        if let path = process {
            let bytes: [UInt8]
            do {
                bytes = try FileSystem.readBytes(path)
            } catch {
                throw .invalidArgument(name: "--process", reason: "cannot read \(path): \(error.errno)")
            }
            return (try Spec.Process.decode(bytes, file: path), "process")
        }
        guard !command.isEmpty else { throw .invalidArgument(name: "command", reason: "exec needs a command (or --process)") }
        try StateStore.validate(id: id)
        var spec = try runtime.store.loadConfig(id).process ?? Spec.Process()
        spec.args = command
        spec.terminal = tty
        spec.consoleSize = nil
        spec.oomScoreAdj = nil
        var environment = spec.env ?? []
        for entry in env {
            let name = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            environment.removeAll { $0.hasPrefix(name + "=") }
            environment.append(entry)
        }
        spec.env = environment
        if let cwd { spec.cwd = cwd }
        if let user {
            let parts = user.split(separator: ":", maxSplits: 1)
            guard let uid = parts.first.flatMap({ UInt32($0) }), parts.count == 1 || UInt32(parts[1]) != nil else {
                throw .invalidArgument(name: "--user", reason: "want uid[:gid] as numbers, got \"\(user)\"")
            }
            spec.user.uid = uid
            spec.user.gid = parts.count == 2 ? UInt32(parts[1]) ?? 0 : 0
        }
        if !additionalGids.isEmpty { spec.user.additionalGids = additionalGids }
        if !caps.isEmpty {
            var sets = spec.capabilities ?? Spec.Capabilities()
            sets.bounding = (sets.bounding ?? []) + caps
            sets.effective = (sets.effective ?? []) + caps
            sets.permitted = (sets.permitted ?? []) + caps
            spec.capabilities = sets
        }
        if noNewPrivs { spec.noNewPrivileges = true }
        return (spec, "process")
    }
}
