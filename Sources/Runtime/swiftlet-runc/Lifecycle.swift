import ArgumentParser
import Runtime

/// The flags `create` and `run` share.
struct CreateFlags: ParsableArguments {
    @Option(name: [.short, .long], help: "Path to the bundle (holding config.json).") var bundle: String = "."
    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the pty master.") var consoleSocket: String?
    @Option(name: .customLong("pid-file"), help: "Write the init pid here.") var pidFile: String?
    @Flag(name: .customLong("no-pivot"), help: "Use chroot instead of pivot_root.") var noPivot = false
    @Flag(name: .customLong("no-new-keyring"), help: "Keep the caller's session keyring.") var noNewKeyring = false
    @Option(name: .customLong("preserve-fds"), help: "Pass this many fds after stdio to the container.") var preserveFDs = 0

    var options: CreateOptions {
        CreateOptions(
            bundle: bundle, consoleSocket: consoleSocket, pidFile: pidFile, noPivot: noPivot, preserveFDs: preserveFDs,
            noNewKeyring: noNewKeyring)
    }
}

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a container (its process waits for start).")
    @OptionGroup var globals: GlobalOptions
    @OptionGroup var flags: CreateFlags
    @Argument(help: "Container id.") var id: String

    func run() throws {
        try globals.perform { (runtime) throws(RuntimeError) in try runtime.create(id, flags.options) }
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the created container's process.")
    @OptionGroup var globals: GlobalOptions
    @Argument(help: "Container id.") var id: String

    func run() throws {
        try globals.perform { (runtime) throws(RuntimeError) in try runtime.start(id) }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create and start a container; wait for it unless --detach.")
    @OptionGroup var globals: GlobalOptions
    @OptionGroup var flags: CreateFlags
    @Flag(name: [.short, .long], help: "Do not wait for the container.") var detach = false
    @Flag(help: "Accepted for compatibility.") var keep = false
    @Argument(help: "Container id.") var id: String

    func run() throws {
        var code: Int32 = 0
        try globals.perform { (runtime) throws(RuntimeError) in code = try runtime.run(id, flags.options, detach: detach) }
        if code != 0 { throw ExitCode(code) }
    }
}

struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print the container's state as JSON.")
    @OptionGroup var globals: GlobalOptions
    @Argument(help: "Container id.") var id: String

    func run() throws {
        try globals.perform { (runtime) throws(RuntimeError) in print(try runtime.state(id).jsonText()) }
    }
}

struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a signal to the container's init (default SIGTERM).")
    @OptionGroup var globals: GlobalOptions
    @Flag(name: [.short, .long], help: "Signal every process of the container.") var all = false
    @Argument(help: "Container id.") var id: String
    @Argument(help: "Signal name or number.") var signal: String = "SIGTERM"

    func run() throws {
        try globals.perform { (runtime) throws(RuntimeError) in
            try runtime.kill(id, signal: try Signals.parse(signal), all: all)
        }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a container and everything it holds.")
    @OptionGroup var globals: GlobalOptions
    @Flag(name: [.short, .long], help: "Kill a running container first.") var force = false
    @Argument(help: "Container id.") var id: String

    func run() throws {
        try globals.perform { (runtime) throws(RuntimeError) in try runtime.delete(id, force: force) }
    }
}
