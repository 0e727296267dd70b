import ArgumentParser
import Runtime

#if canImport(Glibc)
import Glibc
#endif

struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the container's processes.")
    @OptionGroup var globals: GlobalOptions
    @Option(name: [.short, .long], help: "table or json") var format: String = "table"
    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "ps(1) options (default -ef).") var psArguments: [String] = []

    func run() throws {
        try globals.perform { (runtime) throws(RuntimeError) in
            let pids = try runtime.processes(id)
            switch format {
            case "json":
                printJSON(pids, pretty: false)
            case "table":
                try printTable(pids)
            default:
                throw .invalidArgument(name: "--format", reason: "must be table or json, got \"\(format)\"")
            }
        }
    }

    /// Runs ps(1) and keeps the header and the container's rows, as runc does.
    func printTable(_ pids: [Int32]) throws(RuntimeError) {
        let arguments = psArguments.isEmpty ? ["-ef"] : psArguments
        // Each argument single-quoted for popen's shell ('\'' closes, escapes and reopens a quote).
        let command = (["ps"] + arguments).map { argument in
            "'" + argument.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
        }.joined(separator: " ")
        guard let pipe = popen(command, "r") else {
            throw .unsupported("cannot run ps(1)")
        }
        var lines: [String] = []
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            lines.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        pclose(pipe)
        guard let header = lines.first else { return }
        let columns = header.split(separator: " ")
        guard let pidColumn = columns.firstIndex(of: "PID") else {
            throw .invalidArgument(name: "ps options", reason: "the output has no PID column")
        }
        let wanted = Set(pids)
        print(header, terminator: "")
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ")
            if fields.count > pidColumn, let pid = Int32(fields[pidColumn]), wanted.contains(pid) {
                print(line, terminator: "")
            }
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List containers.")
    @OptionGroup var globals: GlobalOptions
    @Option(name: [.short, .long], help: "table or json") var format: String = "table"
    @Flag(name: [.short, .long], help: "Only ids.") var quiet = false

    func run() throws {
        try globals.perform { (runtime) throws(RuntimeError) in
            let containers = try runtime.list()
            if quiet {
                containers.forEach { print($0.id) }
                return
            }
            switch format {
            case "json":
                printJSON(containers, pretty: false)
            case "table":
                let rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
                    + containers.map { [$0.id, String($0.pid), $0.status.rawValue, $0.bundle, $0.created, $0.owner.isEmpty ? "root" : $0.owner] }
                let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
                for row in rows {
                    print(row.enumerated().map { index, cell in
                        index == 5 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 3)
                    }.joined())
                }
            default:
                throw .invalidArgument(name: "--format", reason: "must be table or json, got \"\(format)\"")
            }
        }
    }
}

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print what this runtime supports (runtime-spec features.md).")

    func run() throws {
        printJSON(RuntimeFeatures.current())
    }
}

struct SpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spec", abstract: "Write a default config.json into the bundle.")
    @Option(name: [.short, .long], help: "Bundle directory.") var bundle: String = "."
    @Flag(help: "Not supported.") var rootless = false

    func run() throws {
        let path = bundle + "/config.json"
        if access(path, F_OK) == 0 {
            printError("File \(path) exists. Remove it first")
            throw ExitCode(1)
        }
        guard let text = try? JSONText.encode(Spec.defaultConfig()), let file = fopen(path, "w") else {
            printError("cannot write \(path)")
            throw ExitCode(1)
        }
        fputs(text + "\n", file)
        fclose(file)
    }
}

enum Signals {
    static let names: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT,
        "IOT": SIGIOT, "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV,
        "USR2": SIGUSR2, "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM, "STKFLT": SIGSTKFLT,
        "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP, "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU,
        "URG": SIGURG, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM, "PROF": SIGPROF,
        "WINCH": SIGWINCH, "IO": SIGIO, "POLL": SIGPOLL, "PWR": SIGPWR, "SYS": SIGSYS,
    ]

    static func parse(_ text: String) throws(RuntimeError) -> Int32 {
        if let number = Int32(text) {
            guard number >= 0 && number < 65 else { throw .invalidArgument(name: "signal", reason: "\(number) is not a signal number (0-64)") }
            return number
        }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if name.hasPrefix("RTMIN") || name.hasPrefix("RTMAX") {
            let base = name.hasPrefix("RTMIN") ? 34 : 64
            let offset = Int32(name.dropFirst(5)) ?? 0
            return Int32(base) + offset
        }
        guard let number = names[name] else { throw .invalidArgument(name: "signal", reason: "unknown signal \"\(text)\"") }
        return number
    }
}
