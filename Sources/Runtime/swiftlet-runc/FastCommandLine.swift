import Runtime

#if canImport(Glibc)
import Glibc
#endif

/// A direct parser for the per-container verbs (create, start, state, kill, delete) in the
/// spellings container engines use. It accepts only what it fully understands and returns nil
/// for everything else, so ArgumentParser stays the one source of help text and of error
/// messages; both paths end in the same `ContainerRuntime` calls.
struct FastCommandLine {
    enum Verb {
        case create(id: String, CreateOptions)
        case start(id: String)
        case state(id: String)
        case kill(id: String, signal: String, all: Bool)
        case delete(id: String, force: Bool)
    }

    var globals = GlobalSettings()
    var verb: Verb

    init?(_ arguments: [String]) {
        var globals = GlobalSettings()
        var words = arguments.dropFirst()[...]

        /// The value of `--name value` or `--name=value` at the front of `words`, if the front is that option.
        func value(_ word: String, _ names: [String]) -> String?? {
            for name in names {
                if word == name {
                    words = words.dropFirst()
                    guard let next = words.first else { return .some(nil) }
                    words = words.dropFirst()
                    return .some(next)
                }
                if name.hasPrefix("--"), word.hasPrefix(name + "=") {
                    words = words.dropFirst()
                    return .some(String(word.dropFirst(name.count + 1)))
                }
            }
            return nil
        }

        /// Consumes one global flag at the front of `words`; false if the front is not one.
        func global() -> Bool? {
            guard let word = words.first else { return false }
            switch word {
            case "--debug": globals.debug = true
            case "--systemd-cgroup": globals.systemdCgroup = true
            case "--no-cgroup-enforcement": globals.noCgroupEnforcement = true
            case "--clamp-oom-score-adj": globals.clampOOMScoreAdj = true
            default:
                if let v = value(word, ["--root"]) { guard let v else { return nil }; globals.root = v; return true }
                if let v = value(word, ["--log"]) { guard let v else { return nil }; globals.log = v; return true }
                if let v = value(word, ["--log-format"]) { guard let v else { return nil }; globals.logFormat = v; return true }
                return false
            }
            words = words.dropFirst()
            return true
        }

        while let consumed = global(), consumed {}
        guard let name = words.first, !name.hasPrefix("-") else { return nil }
        words = words.dropFirst()

        var positionals: [String] = []
        var create = CreateOptions(bundle: ".")
        var flag = false  // --force / --all
        while let word = words.first {
            guard let consumed = global() else { return nil }
            if consumed { continue }
            if !word.hasPrefix("-") || word == "-" {
                positionals.append(word)
                words = words.dropFirst()
                continue
            }
            switch (name, word) {
            case ("create", "--no-pivot"): create.noPivot = true
            case ("create", "--no-new-keyring"): create.noNewKeyring = true
            case ("delete", "--force"), ("delete", "-f"), ("kill", "--all"), ("kill", "-a"): flag = true
            default:
                guard name == "create" else { return nil }
                if let v = value(word, ["--bundle", "-b"]) { guard let v else { return nil }; create.bundle = v; continue }
                if let v = value(word, ["--console-socket"]) { guard let v else { return nil }; create.consoleSocket = v; continue }
                if let v = value(word, ["--pid-file"]) { guard let v else { return nil }; create.pidFile = v; continue }
                if let v = value(word, ["--preserve-fds"]) {
                    guard let v, let count = Int(v), count >= 0 else { return nil }
                    create.preserveFDs = count
                    continue
                }
                return nil
            }
            words = words.dropFirst()
        }

        switch (name, positionals.count) {
        case ("create", 1): verb = .create(id: positionals[0], create)
        case ("start", 1): verb = .start(id: positionals[0])
        case ("state", 1): verb = .state(id: positionals[0])
        case ("delete", 1): verb = .delete(id: positionals[0], force: flag)
        case ("kill", 1): verb = .kill(id: positionals[0], signal: "SIGTERM", all: flag)
        case ("kill", 2): verb = .kill(id: positionals[0], signal: positionals[1], all: flag)
        default: return nil
        }
        self.globals = globals
    }

    /// Runs the verb; returns the exit status.
    func run() -> Int32 {
        globals.perform { (runtime) throws(RuntimeError) in
            switch verb {
            case .create(let id, let options): try runtime.create(id, options)
            case .start(let id): try runtime.start(id)
            case .state(let id): print(try runtime.state(id).jsonText())
            case .kill(let id, let signal, let all): try runtime.kill(id, signal: try Signals.parse(signal), all: all)
            case .delete(let id, let force): try runtime.delete(id, force: force)
            }
        }
    }
}
