#if canImport(Glibc)
import Glibc
#endif
import CRuntimeShim
import SystemCore

/// What `exec` takes besides the id and the process.
public struct ExecOptions: Sendable {
    public var consoleSocket: String?
    public var pidFile: String?
    public var detach = false
    public var preserveFDs = 0

    public init(consoleSocket: String? = nil, pidFile: String? = nil, detach: Bool = false, preserveFDs: Int = 0) {
        self.consoleSocket = consoleSocket
        self.pidFile = pidFile
        self.detach = detach
        self.preserveFDs = preserveFDs
    }
}

extension ContainerRuntime {
    /// Runs `process` inside the container's namespaces and cgroup. Without `detach` it waits
    /// and returns the process's exit code (128+signal when killed).
    public func exec(_ id: String, process: Spec.Process, field: String, _ options: ExecOptions) throws(RuntimeError) -> Int32 {
        try StateStore.validate(id: id)
        let record = try store.load(id)
        let status = store.status(of: record)
        guard status == .created || status == .running else {
            throw .wrongState(id: id, state: status.rawValue, operation: "exec into")
        }
        let spec = try store.loadConfig(id)
        var plan = try ProcessPlan(process, field: field, spec: spec)
        try clampOOMScoreAdj(&plan)
        var internalConsole: (parent: Int32, child: Int32)?
        var consoleFD: Int32 = -1
        var openFDs: [Int32] = []
        defer { openFDs.forEach { close($0) } }
        if plan.terminal {
            if let path = options.consoleSocket {
                consoleFD = try Self.connectUnixSocket(path)
                openFDs.append(consoleFD)
            } else if options.detach {
                throw .invalidArgument(name: "--console-socket", reason: "a detached exec with a terminal needs a console socket")
            } else {
                let pair = try Self.socketPair()
                internalConsole = pair
                openFDs.append(pair.parent)
                openFDs.append(pair.child)
                consoleFD = pair.child
            }
        }

        // Join every namespace the container has, through its init process.
        var joins: [(NamespaceKind, Int32)] = []
        for namespace in spec.linux?.namespaces ?? [] {
            guard let kind = NamespaceKind(rawValue: namespace.type) else { continue }
            let path = "/proc/\(record.pid)/ns/\(kind.procName)"
            if kind == .user && Self.sameNamespace(path, "/proc/self/ns/user") { continue }
            let fd = try RuntimeError.wrap("opening the container's \(kind.rawValue) namespace") { () throws(SystemCallError) in
                try sys("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
            }
            openFDs.append(fd)
            joins.append((kind, fd))
        }
        guard ProcessTable.isAlive(record.pid, startTime: record.initStartTime) else {
            throw .wrongState(id: id, state: "stopped", operation: "exec into")
        }

        let config = CConfig()
        config.config.is_exec = 1
        config.config.deathsig = SIGKILL
        config.config.exec_fifo_dirfd = -1
        config.setProcess(plan, consoleSocket: consoleFD, preserveFDs: options.preserveFDs)
        config.setJoins(joins)
        let foreground = ForegroundProcess(forward: !options.detach)
        let spawner = InitSpawner(cgroupDirectory: record.cgroupPath.flatMap { FileSystem.isDirectory($0) ? $0 : nil }, isExec: true)
        let pid = try spawner.spawn(config)
        if let pidFile = options.pidFile { try writePIDFile(pidFile, pid) }
        if options.detach { return 0 }
        var master: Int32 = -1
        if let internalConsole {
            close(internalConsole.child)
            openFDs.removeAll { $0 == internalConsole.child }
            master = sl_recv_fd(internalConsole.parent)
        }
        return foreground.wait(pid, master: master)
    }

    /// Creates, starts and (unless `detach`) waits for the container, then deletes it.
    public func run(_ id: String, _ options: CreateOptions, detach: Bool) throws(RuntimeError) -> Int32 {
        let foreground = ForegroundProcess(forward: !detach)
        var pair: (parent: Int32, child: Int32)?
        if !detach && options.consoleSocket == nil {
            pair = try Self.socketPair()
        }
        defer {
            if let pair {
                close(pair.parent)
                close(pair.child)
            }
        }
        let pid: Int32
        do {
            pid = try create(id, options, internalConsole: pair?.child)
            try start(id)
        } catch {
            if case .containerExists = error { throw error }
            try? delete(id, force: true)
            throw error
        }
        if detach { return 0 }
        var master: Int32 = -1
        if let pair, (try? store.loadConfig(id))?.process?.terminal == true {
            master = sl_recv_fd(pair.parent)
        }
        let code = foreground.wait(pid, master: master)
        try delete(id, force: true)
        return code
    }

    static func socketPair() throws(RuntimeError) -> (parent: Int32, child: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try RuntimeError.wrap("creating a console socket pair") { () throws(SystemCallError) in
            try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        }
        return (fds[0], fds[1])
    }

    static func sameNamespace(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev
    }
}
