import ArgumentParser
import Runtime

#if canImport(Glibc)
import Glibc
#endif

/// `swiftlet-runc`: a runc-compatible OCI runtime CLI. Each verb is a thin layer over
/// `ContainerRuntime`; global flags come before the verb, as with runc.
///
/// The verbs a container engine calls for every container (create, start, state, kill,
/// delete) are parsed by `FastCommandLine` when their arguments are plain; anything else
/// (help, unusual spellings, errors) goes through ArgumentParser, whose start-up costs several
/// times the rest of a `start` (its reflection walks every protocol conformance of the binary).
@main
enum Entry {
    static func main() {
        if let verb = FastCommandLine(CommandLine.arguments) {
            exit(verb.run())
        }
        SwiftletRunc.main()
    }
}

struct SwiftletRunc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet-runc",
        abstract: "An OCI runtime with the runc command line.",
        version: "swiftlet-runc 0.1.0\nspec: \(Spec.version)",
        subcommands: [
            Create.self, Start.self, StateCommand.self, Kill.self, Delete.self, Run.self, Exec.self, Ps.self,
            List.self, Features.self, SpecCommand.self,
        ])

    @OptionGroup var globals: GlobalOptions
}

struct GlobalOptions: ParsableArguments {
    @Option(help: "Directory for container state.")
    var root: String = GlobalSettings.defaultRoot

    @Option(help: "Also write log lines to this file.")
    var log: String?

    @Option(name: .customLong("log-format"), help: "Log file format: text or json.")
    var logFormat: String = "text"

    @Flag(help: "Log debug messages.")
    var debug = false

    @Flag(name: .customLong("systemd-cgroup"), help: "Not supported: this runtime is the cgroupfs driver.")
    var systemdCgroup = false

    @Flag(name: .customLong("no-cgroup-enforcement"),
          help: "Run containers without the limits a missing cgroup v2 controller would enforce (warns per container). Also SWIFTLET_NO_CGROUP_ENFORCEMENT=1.")
    var noCgroupEnforcement = false

    @Flag(name: .customLong("clamp-oom-score-adj"),
          help: "Where oom_score_adj cannot be lowered, use the runtime's own value instead of failing. Also SWIFTLET_CLAMP_OOM_SCORE_ADJ=1.")
    var clampOOMScoreAdj = false

    var settings: GlobalSettings {
        GlobalSettings(
            root: root, log: log, logFormat: logFormat, debug: debug, systemdCgroup: systemdCgroup,
            noCgroupEnforcement: noCgroupEnforcement, clampOOMScoreAdj: clampOOMScoreAdj)
    }

    var runtimeLog: RuntimeLog { settings.runtimeLog }

    /// Runs a verb: a runtime error is one line on stderr (and in --log) and exit status 1.
    func perform(_ body: (ContainerRuntime) throws(RuntimeError) -> Void) throws {
        let status = settings.perform(body)
        if status != 0 { throw ExitCode(status) }
    }
}

/// The global flags as plain values, whichever parser read them.
struct GlobalSettings {
    static let defaultRoot = "/run/swiftlet-runc"

    var root = GlobalSettings.defaultRoot
    var log: String?
    var logFormat = "text"
    var debug = false
    var systemdCgroup = false
    var noCgroupEnforcement = false
    var clampOOMScoreAdj = false

    var runtimeLog: RuntimeLog {
        RuntimeLog(path: log, json: logFormat == "json", debug: debug)
    }

    func runtime() throws(RuntimeError) -> ContainerRuntime {
        guard logFormat == "text" || logFormat == "json" else {
            throw .invalidArgument(name: "--log-format", reason: "must be text or json, got \"\(logFormat)\"")
        }
        if systemdCgroup {
            throw .unsupported("--systemd-cgroup: swiftlet-runc manages cgroups directly (cgroupfs driver)")
        }
        let environment = { (name: String) -> Bool in getenv(name).map { String(cString: $0) == "1" } ?? false }
        return try ContainerRuntime(options: RuntimeOptions(
            root: root,
            enforceResources: !(noCgroupEnforcement || environment("SWIFTLET_NO_CGROUP_ENFORCEMENT")),
            clampOOMScoreAdj: clampOOMScoreAdj || environment("SWIFTLET_CLAMP_OOM_SCORE_ADJ"),
            log: runtimeLog))
    }

    /// Runs a verb and returns the exit status: a runtime error is one line on stderr (and in
    /// --log) and status 1.
    func perform(_ body: (ContainerRuntime) throws(RuntimeError) -> Void) -> Int32 {
        do {
            try body(try runtime())
            return 0
        } catch {
            runtimeLog.error(error.description)
            return 1
        }
    }
}

/// Prints JSON on stdout.
func printJSON<T: Encodable>(_ value: T, pretty: Bool = true) {
    if let text = try? JSONText.encode(value, pretty: pretty) { print(text) }
}

/// One line on stderr.
func printError(_ message: String) {
    let line = "swiftlet-runc: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
