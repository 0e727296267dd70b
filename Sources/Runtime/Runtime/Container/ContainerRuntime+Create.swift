#if canImport(Glibc)
import Glibc
#endif
import CRuntimeShim
import CSystemShim
import SystemCore

/// What `create` and `run` take besides the id.
public struct CreateOptions: Sendable {
    public var bundle: String
    public var consoleSocket: String?
    public var pidFile: String?
    public var noPivot = false
    public var preserveFDs = 0
    /// Keep the caller's session keyring instead of joining a new one (runc's --no-new-keyring).
    public var noNewKeyring = false

    public init(
        bundle: String, consoleSocket: String? = nil, pidFile: String? = nil, noPivot: Bool = false, preserveFDs: Int = 0,
        noNewKeyring: Bool = false
    ) {
        self.noNewKeyring = noNewKeyring
        self.bundle = bundle
        self.consoleSocket = consoleSocket
        self.pidFile = pidFile
        self.noPivot = noPivot
        self.preserveFDs = preserveFDs
    }
}

extension ContainerRuntime {
    /// Creates the container: its init process waits, fully set up, for `start`.
    /// Returns the init pid. `internalConsole` is the parent end of a socket pair when the
    /// caller (`run` in the foreground) receives the pty master itself.
    @discardableResult
    public func create(_ id: String, _ options: CreateOptions, internalConsole: Int32? = nil) throws(RuntimeError) -> Int32 {
        try StateStore.validate(id: id)
        guard let bundle = ContainerPlan.realPath(options.bundle), FileSystem.isDirectory(bundle) else {
            throw .invalidArgument(name: "--bundle", reason: "\(options.bundle) is not a directory")
        }
        if store.exists(id) || FileSystem.exists(store.directory(id)) { throw .containerExists(id: id) }
        if options.preserveFDs < 0 { throw .invalidArgument(name: "--preserve-fds", reason: "must not be negative") }
        let (spec, configBytes) = try Spec.loadDocument(bundle: bundle)
        var plan = try ContainerPlan(spec: spec, bundle: bundle)
        try clampOOMScoreAdj(&plan.process)
        if plan.process.terminal && options.consoleSocket == nil && internalConsole == nil {
            throw .invalidArgument(name: "--console-socket", reason: "process.terminal is true: a console socket is required to receive the pty")
        }
        if !plan.process.terminal && options.consoleSocket != nil {
            throw .invalidArgument(name: "--console-socket", reason: "only valid when process.terminal is true")
        }

        try store.reserve(id)
        var cgroup: ContainerCgroupHandle?
        var openFDs: [Int32] = []
        defer { openFDs.forEach { close($0) } }
        do {
            return try store.withLock(id) { () throws(RuntimeError) -> Int32 in
                let fifo = store.fifoPath(id)
                // 0622 (umask aside): the init may run as a user namespace's root, which is "other" here.
                if mkfifo(fifo, 0o622) != 0 || chmod(fifo, 0o622) != 0 {
                    throw .system(context: "creating the exec fifo", SystemCallError("mkfifo", fifo, errno: .init(rawValue: currentErrno())))
                }
                let dirFD = try RuntimeError.wrap("opening the state directory") { () throws(SystemCallError) in
                    try sys("open", store.directory(id)) { open(store.directory(id), SL_O_PATH | O_DIRECTORY | O_CLOEXEC) }
                }
                openFDs.append(dirFD)
                cgroup = try createCgroup(id: id, plan: plan)
                if let cgroup { plan.bindCgroupMounts(to: cgroup.path) }

                var consoleFD: Int32 = -1
                if plan.process.terminal {
                    if let internalConsole {
                        consoleFD = internalConsole
                    } else if let path = options.consoleSocket {
                        consoleFD = try Self.connectUnixSocket(path)
                        openFDs.append(consoleFD)
                    }
                }
                var joins: [(NamespaceKind, Int32)] = []
                for (kind, path) in plan.joinNamespaces {
                    let fd = try RuntimeError.wrap("opening the \(kind.rawValue) namespace to join") { () throws(SystemCallError) in
                        try sys("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
                    }
                    openFDs.append(fd)
                    joins.append((kind, fd))
                }

                let config = CConfig()
                config.setContainer(plan)
                config.setProcess(plan.process, consoleSocket: consoleFD, preserveFDs: options.preserveFDs)
                config.setJoins(joins)
                config.config.exec_fifo_dirfd = dirFD
                config.config.no_pivot = options.noPivot ? 1 : 0
                config.config.session_keyring = options.noNewKeyring ? nil : config.string("_ses." + id)
                let hooks = spec.hooks
                let needsRoundTrip = !(hooks?.prestart ?? []).isEmpty || !(hooks?.createRuntime ?? []).isEmpty
                    || !(hooks?.createContainer ?? []).isEmpty || !(hooks?.startContainer ?? []).isEmpty
                config.config.wait_hooks = needsRoundTrip ? 1 : 0

                let spawner = InitSpawner(
                    cgroupDirectory: cgroup?.path, uidMap: plan.uidMap, gidMap: plan.gidMap,
                    isExec: false,
                    onHooks: { (pid: Int32) throws(RuntimeError) -> [UInt8] in
                        let creating = hookState(id, pid: pid, status: .creating, bundle: bundle, annotations: spec.annotations)
                        try runHooks(hooks?.prestart, name: "prestart", state: creating)
                        try runHooks(hooks?.createRuntime, name: "createRuntime", state: creating)
                        let created = hookState(id, pid: pid, status: .created, bundle: bundle, annotations: spec.annotations)
                        return creating + [0] + created
                    })
                let pid = try spawner.spawn(config)
                guard let info = ProcessTable.stat(pid) else {
                    throw .containerSetup(stage: "init", message: "the container process \(pid) vanished after set-up")
                }
                let record = ContainerRecord(
                    id: id, pid: pid, initStartTime: info.startTime, bundle: bundle, rootfs: plan.rootfs,
                    created: Timestamp.now(), owner: "", cgroupPath: cgroup?.path, annotations: spec.annotations,
                    hooks: spec.hooks)
                do throws(RuntimeError) {
                    try store.saveConfig(configBytes, for: id)
                    try store.save(record)
                    if let pidFile = options.pidFile { try writePIDFile(pidFile, pid) }
                } catch {
                    Glibc.kill(pid, SIGKILL)
                    var status: Int32 = 0
                    waitpid(pid, &status, 0)
                    throw error
                }
                return pid
            }
        } catch {
            // Nothing of a failed create survives: no process (the spawner killed it), cgroup or state.
            if let cgroup { cgroup.remove() }
            try? store.remove(id)
            throw error
        }
    }

    func writePIDFile(_ path: String, _ pid: Int32) throws(RuntimeError) {
        try RuntimeError.wrap("writing --pid-file") { () throws(SystemCallError) in
            try FileSystem.writeAtomically(path, String(pid), mode: 0o644, durable: false)
        }
    }

    /// Applies --clamp-oom-score-adj: never ask for less than the runtime's own score.
    func clampOOMScoreAdj(_ process: inout ProcessPlan) throws(RuntimeError) {
        guard options.clampOOMScoreAdj, let wanted = process.oomScoreAdj,
              let own = Int((try? FileSystem.readString("/proc/self/oom_score_adj"))?.split(separator: "\n").first ?? "")
        else { return }
        if wanted < own {
            options.log.warning("process.oomScoreAdj \(wanted) clamped to the runtime's own \(own) (--clamp-oom-score-adj)")
            process.oomScoreAdj = own
        }
    }

    static func connectUnixSocket(_ path: String) throws(RuntimeError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw .system(context: "connecting to --console-socket", SystemCallError("socket", errno: .init(rawValue: currentErrno())))
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw .invalidArgument(name: "--console-socket", reason: "path is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result != 0 {
            let code = currentErrno()
            close(fd)
            throw .system(context: "connecting to --console-socket", SystemCallError("connect", path, errno: .init(rawValue: code)))
        }
        return fd
    }

    /// Lets the created container's init run its process.
    public func start(_ id: String) throws(RuntimeError) {
        try StateStore.validate(id: id)
        try store.withLock(id) { () throws(RuntimeError) in
            let record = try store.load(id)
            let status = store.status(of: record)
            guard status == .created else { throw .wrongState(id: id, state: status.rawValue, operation: "start") }
            let fifo = store.fifoPath(id)
            let fd = try RuntimeError.wrap("opening the exec fifo") { () throws(SystemCallError) in
                try sys("open", fifo) { open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
            }
            defer { close(fd) }
            // The init writes one byte, runs the startContainer hooks and execs; its end of the
            // fifo is close-on-exec, so EOF after the byte means the process is running.
            // Without startContainer or poststart hooks there is no order to keep: return once
            // the init has its go (as runc does), not after its execve.
            let hooks = record.hooks
            let waitForExec = !(hooks?.startContainer ?? []).isEmpty || !(hooks?.poststart ?? []).isEmpty
            var byte: UInt8 = 0
            var started = false
            while true {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&poller, 1, 100)
                let n = read(fd, &byte, 1)
                if n == 1 {
                    started = true
                    if !waitForExec { break }
                } else if n == 0 && started {
                    break
                } else if !ProcessTable.isAlive(record.pid, startTime: record.initStartTime) {
                    break
                }
            }
            unlink(fifo)
            guard ProcessTable.isAlive(record.pid, startTime: record.initStartTime) || started else {
                throw .containerSetup(stage: "start", message: "the container's init process exited before it was started")
            }
            if let hooks = record.hooks?.poststart, !hooks.isEmpty {
                let state = hookState(id, pid: record.pid, status: .running, bundle: record.bundle, annotations: record.annotations)
                runHooksWarning(hooks, name: "poststart", state: state)
            }
        }
    }

    /// Stops (with `force`) and removes a container: its processes, cgroup and state.
    public func delete(_ id: String, force: Bool) throws(RuntimeError) {
        try StateStore.validate(id: id)
        try store.withLock(id) { () throws(RuntimeError) in
            let record: ContainerRecord
            do throws(RuntimeError) {
                record = try store.load(id)
            } catch {
                if case .containerNotFound = error, force {
                    try? store.remove(id)
                    return
                }
                throw error
            }
            let status = store.status(of: record)
            if status == .running && !force {
                throw .wrongState(id: id, state: status.rawValue, operation: "delete (without --force)")
            }
            let cgroup = record.cgroupPath.map { ContainerCgroupHandle(path: $0) }
            if status != .stopped {
                cgroup?.killAll()
                Glibc.kill(record.pid, SIGKILL)
                try waitForExit(record)
            }
            cgroup?.remove()
            if let hooks = record.hooks?.poststop, !hooks.isEmpty {
                let state = hookState(id, pid: record.pid, status: .stopped, bundle: record.bundle, annotations: record.annotations)
                runHooksWarning(hooks, name: "poststop", state: state)
            }
            try store.remove(id)
        }
    }

    func waitForExit(_ record: ContainerRecord) throws(RuntimeError) {
        // Reap it if it is our child (run, tests); otherwise its parent does.
        var status: Int32 = 0
        for _ in 0..<10_000 {
            if waitpid(record.pid, &status, WNOHANG) == record.pid { return }
            if !ProcessTable.isAlive(record.pid, startTime: record.initStartTime) { return }
            usleep(1_000)
        }
        throw .containerSetup(stage: "delete", message: "process \(record.pid) did not exit after SIGKILL")
    }
}
