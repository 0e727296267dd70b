import CRIProto
import Foundation
import GRPCCore
import ImageStore
import Runtime
import SystemCore
import SystemPackage

/// App containers: an overlayfs snapshot of the image, an OCI bundle, a monitor that runs
/// `<runtime> create` and then owns the container's stdio, log and exit status.
extension CRIService {
    func createContainer(_ request: Runtime_V1_CreateContainerRequest) async throws -> String {
        let config = request.config
        guard !config.metadata.name.isEmpty else {
            throw CRIError.invalidArgument(field: "config.metadata.name", reason: "must not be empty")
        }
        guard !request.podSandboxID.isEmpty else {
            throw CRIError.invalidArgument(field: "pod_sandbox_id", reason: "must not be empty")
        }
        guard let sandbox = try await state.sandbox(request.podSandboxID) else {
            throw CRIError.notFound(kind: "pod sandbox", id: request.podSandboxID)
        }
        guard sandbox.state == .ready, let infraPid = sandbox.infraPid else {
            throw CRIError.failedPrecondition("pod sandbox \(sandbox.id) is not ready")
        }
        guard !config.image.image.isEmpty else {
            throw CRIError.invalidArgument(field: "config.image.image", reason: "must not be empty")
        }
        guard let image = try images.image(config.image.image) else {
            throw CRIError.notFound(kind: "image", id: config.image.image)
        }
        let imageConfig = try images.config(of: image)
        let sandboxConfig = request.hasSandboxConfig ? request.sandboxConfig : try Runtime_V1_PodSandboxConfig(serializedBytes: sandbox.config)
        let id = newID()
        let key = SandboxKey.key(for: config.metadata, in: try Runtime_V1_PodSandboxConfig(serializedBytes: sandbox.config).metadata)
        try await state.reserve(key, for: id, kind: "container")
        let bundle = containerBundle(id)
        let mdir = monitorDir(id)
        var snapshotMade = false
        do {
            for d in [bundle, mdir] {
                do { try FileSystem.createDirectories(d, mode: 0o700) } catch { throw CRIError.system(context: "creating \(d)", error) }
            }
            let snapshot = try images.prepareSnapshot(key: id, image: image, readOnly: false)
            snapshotMade = true
            let etc = await state.sandboxDir(sandbox.id)
            let environment = SpecBuilder.Environment(
                rootfs: snapshot.rootfs, netnsPath: sandbox.netnsPath, infraPid: infraPid,
                etcHosts: "\(etc)/hosts", resolvConf: "\(etc)/resolv.conf", etcHostname: "\(etc)/hostname",
                cgroupsPath: "\(sandbox.cgroupPath)/\(id)",
                passwd: try? FileSystem.readString("\(snapshot.rootfs)/etc/passwd"),
                group: try? FileSystem.readString("\(snapshot.rootfs)/etc/group"),
                readHostFile: { path in Data(try FileSystem.readBytes(path)) },
                device: { path in try FileSystem.deviceNumbers(path) })
            let spec = try SpecBuilder.build(config: config, sandbox: sandboxConfig, image: imageConfig, env: environment)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            do { try FileSystem.writeAtomically("\(bundle)/config.json", Array(try encoder.encode(spec)), durable: false) } catch let error as SystemCallError {
                throw CRIError.system(context: "writing \(bundle)/config.json", error)
            }
            // The log: <sandbox log_directory>/<log_path>, as the kubelet asks.
            var logPath = ""
            if !config.logPath.isEmpty {
                guard !config.logPath.hasPrefix("/") || sandboxConfig.logDirectory.isEmpty else {
                    throw CRIError.invalidArgument(field: "config.log_path", reason: "must be relative to the sandbox's log_directory")
                }
                // Without a log_directory only an absolute path says where the log goes (a
                // relative one would land in whatever directory the daemon runs in).
                guard config.logPath.hasPrefix("/") || !sandboxConfig.logDirectory.isEmpty else {
                    throw CRIError.invalidArgument(field: "config.log_path", reason: "is relative but the sandbox has no log_directory")
                }
                guard !config.logPath.split(separator: "/").contains("..") else {
                    throw CRIError.invalidArgument(field: "config.log_path", reason: "must not contain \"..\"")
                }
                logPath = sandboxConfig.logDirectory.isEmpty ? config.logPath : "\(sandboxConfig.logDirectory)/\(config.logPath)"
                let dir = (logPath as NSString).deletingLastPathComponent
                do { try FileSystem.createDirectories(dir, mode: 0o755) } catch { throw CRIError.system(context: "creating log directory \(dir)", error) }
            }
            var stopSignal = imageConfig.stopSignal
            if config.stopSignal != .runtimeDefault {
                stopSignal = "\(config.stopSignal)".uppercased()
            }
            let record = ContainerRecord(
                id: id, sandboxID: sandbox.id, config: try config.serializedBytes(), imageRef: config.image.image,
                imageID: image.id, createdAt: nowNanos(), state: .created, logPath: logPath, stopSignal: stopSignal,
                hasSnapshot: true)
            try await runtime.create(
                id: id, bundle: bundle, monitorDir: mdir, logPath: logPath.isEmpty ? "/dev/null" : logPath,
                stdin: config.stdin, stdinOnce: config.stdinOnce, tty: config.tty)
            var saved = record
            saved.pid = Int32((try? FileSystem.readString("\(mdir)/init.pid"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
            try await state.save(saved)
            events.publish(containerID: id, sandboxID: sandbox.id, type: .containerCreatedEvent)
            return id
        } catch {
            try? await runtime.delete(id: id)
            if snapshotMade { try? images.removeSnapshot(key: id) }
            try? FileSystem.removeTree(bundle)
            try? FileSystem.removeTree(mdir)
            await state.release(key)
            throw error
        }
    }

    func startContainer(_ id: String) async throws {
        guard let found = try await state.container(id) else { throw CRIError.notFound(kind: "container", id: id) }
        try await locks.with(found.id) {
            guard var record = try await state.container(found.id) else { throw CRIError.notFound(kind: "container", id: id) }
            record = try await refresh(record)
            guard record.state == .created else {
                throw CRIError.failedPrecondition("container \(record.id) is \(record.state.rawValue), not created")
            }
            let startedAt = nowNanos()
            try await runtime.start(id: record.id)
            record.state = .running
            record.startedAt = startedAt
            try await state.save(record)
            events.publish(containerID: record.id, sandboxID: record.sandboxID, type: .containerStartedEvent)
        }
    }

    /// The stop signal, then SIGKILL after `timeout` seconds. Stopping an exited (or unknown)
    /// container is not an error.
    func stopContainer(_ id: String, timeout: Int64) async throws {
        guard let found = try await state.container(id) else { return }
        let started = ContinuousClock.now
        let signaled = try await locks.with(found.id) { try await stopContainerLocked(found.id, timeout: timeout) }
        guard signaled else { return }
        logger.info("container stopped", metadata: ["id": "\(found.id)", "timeout": "\(timeout)", "took": "\(ContinuousClock.now - started)"])
    }

    /// `stopContainer` with the container's lock held; false when there was nothing to stop.
    @discardableResult
    private func stopContainerLocked(_ id: String, timeout: Int64) async throws -> Bool {
        guard var record = try await state.container(id) else { return false }  // removed meanwhile
        record = try await refresh(record)
        guard record.state != .exited else { return false }
        if record.state == .created {
            // Never started: its init waits for start; kill it.
            try await killInit(record.id)
            try await refresh(record)
            return true
        }
        if timeout > 0 {
            let signal = (record.stopSignal.flatMap { $0.isEmpty ? nil : $0 }) ?? "SIGTERM"
            try await send(signal, to: record.id)
            if await waitForExit(record.id, seconds: Double(timeout)) {
                try await refresh(record)
                return true
            }
        }
        try await killInit(record.id)
        try await refresh(record)
        return true
    }

    /// SIGKILL to a container's (or the infra's) init, then waits for the monitor's exit file.
    func killInit(_ id: String) async throws {
        if signalThroughMonitor(id, number: SIGKILL), await waitForExit(id, seconds: 2) { return }
        // The monitor could not (an older monitor, a full FIFO): the runtime does it.
        try await runtime.kill(id: id, signal: "KILL")
        if !(await waitForExit(id, seconds: 10)) {
            throw CRIError.runtime("container \(id) did not exit 10 s after SIGKILL")
        }
    }

    /// A signal by name (SIGTERM, TERM, 15): through the monitor when it can, else the runtime.
    func send(_ signal: String, to id: String) async throws {
        if let number = Self.signalNumber(signal), signalThroughMonitor(id, number: number) { return }
        try await runtime.kill(id: id, signal: signal)
    }

    /// Asks the container's monitor to signal its init ("kill N" on the ctl FIFO): the monitor
    /// reaps that process, so unlike a pid from a file the signal cannot reach a reused pid, and
    /// no `<runtime> kill` process is started. False when the monitor is not there to read it.
    func signalThroughMonitor(_ id: String, number: Int32) -> Bool {
        guard monitorAlive(id) else { return false }
        let ctl = "\(monitorDir(id))/ctl"
        let fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let line = "kill \(number)\n"
        let written = line.withCString { write(fd, $0, strlen($0)) }
        return written == line.utf8.count
    }

    static let signalNumbers: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ABRT": SIGABRT, "KILL": SIGKILL, "USR1": SIGUSR1,
        "USR2": SIGUSR2, "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM, "CONT": SIGCONT, "STOP": SIGSTOP,
        "TSTP": SIGTSTP, "WINCH": SIGWINCH, "PWR": SIGPWR, "SYS": SIGSYS, "URG": SIGURG, "IO": SIGIO,
    ]

    /// SIGTERM, TERM or 15 → 15; nil for what is not a known signal (the runtime then decides).
    static func signalNumber(_ name: String) -> Int32? {
        if let number = Int32(name), (1...64).contains(number) { return number }
        let upper = name.uppercased()
        return signalNumbers[upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper]
    }

    func removeContainer(_ id: String) async throws {
        guard let found = try await state.container(id) else { return }  // idempotent
        let started = ContinuousClock.now
        try await locks.with(found.id) { try await removeContainerLocked(found.id) }
        logger.info("container removed", metadata: ["id": "\(found.id)", "took": "\(ContinuousClock.now - started)"])
    }

    /// `removeContainer` with the container's lock held.
    private func removeContainerLocked(_ id: String) async throws {
        guard let record = try await state.container(id) else { return }  // removed meanwhile
        try await stopContainerLocked(record.id, timeout: 0)
        // From here on a concurrent status refresh must not write container.json back.
        await state.beginRemoval(record.id)
        do {
            try await runtime.delete(id: record.id)
            if record.hasSnapshot { try images.removeSnapshot(key: record.id) }
        } catch {
            await state.abortRemoval(record.id)
            throw error
        }
        try? FileSystem.removeTree(monitorDir(record.id))
        try? FileSystem.removeTree(containerBundle(record.id))
        if let sandbox = try await state.sandbox(record.sandboxID), let key = try? SandboxKey.key(for: record, in: sandbox) {
            await state.release(key)
        }
        await state.forgetContainer(record.id)
        events.publish(containerID: record.id, sandboxID: record.sandboxID, type: .containerDeletedEvent)
    }

    func containerStatus(_ record: ContainerRecord, verbose: Bool) throws -> Runtime_V1_ContainerStatusResponse {
        let config = try Runtime_V1_ContainerConfig(serializedBytes: record.config)
        var status = Runtime_V1_ContainerStatus()
        status.id = record.id
        status.metadata = config.metadata
        switch record.state {
        case .created: status.state = .containerCreated
        case .running: status.state = .containerRunning
        case .exited: status.state = .containerExited
        }
        status.createdAt = record.createdAt
        status.startedAt = record.startedAt
        status.finishedAt = record.finishedAt
        status.exitCode = record.exitCode
        status.image = config.image
        status.imageRef = record.imageID
        status.imageID = record.imageID
        status.reason = record.reason
        status.message = record.message
        status.labels = config.labels
        status.annotations = config.annotations
        status.mounts = config.mounts
        status.logPath = record.logPath
        if config.linux.hasResources { status.resources.linux = config.linux.resources }
        var response = Runtime_V1_ContainerStatusResponse()
        response.status = status
        if verbose {
            let info: [String: Any] = ["pid": record.pid ?? 0, "sandboxID": record.sandboxID, "bundle": containerBundle(record.id)]
            if let data = try? JSONSerialization.data(withJSONObject: info, options: [.sortedKeys]) {
                response.info = ["info": String(decoding: data, as: UTF8.self)]
            }
        }
        return response
    }

    /// Runs `cmd` in the container and returns its output and exit code.
    func execSync(_ request: Runtime_V1_ExecSyncRequest) async throws -> Runtime_V1_ExecSyncResponse {
        guard !request.cmd.isEmpty, !request.cmd[0].isEmpty else {
            throw CRIError.invalidArgument(field: "cmd", reason: "must not be empty")
        }
        guard var record = try await state.container(request.containerID) else {
            throw CRIError.notFound(kind: "container", id: request.containerID)
        }
        record = try await refresh(record)
        guard record.state == .running else {
            throw CRIError.failedPrecondition("container \(record.id) is not running")
        }
        let spec: Spec
        do { spec = try Spec.load(bundle: containerBundle(record.id)) } catch {
            throw CRIError.runtime("reading the bundle of \(record.id): \(error)")
        }
        guard var process = spec.process else { throw CRIError.runtime("bundle of \(record.id) has no process") }
        process.args = request.cmd
        process.terminal = false
        process.consoleSize = nil
        let encoder = JSONEncoder()
        let bytes = Array(try encoder.encode(process))
        let result = try await runtime.exec(id: record.id, processJSON: bytes, timeout: request.timeout > 0 ? Double(request.timeout) : 0)
        if result.timedOut {
            throw RPCError(code: .deadlineExceeded, message: "ExecSync \(request.cmd) timed out after \(request.timeout) s")
        }
        var response = Runtime_V1_ExecSyncResponse()
        response.stdout = Data(result.stdout)
        response.stderr = Data(result.stderr)
        response.exitCode = result.status.code
        return response
    }

    /// Asks the monitor to reopen the log file (after the kubelet rotated it).
    func reopenLog(_ id: String) async throws {
        guard var record = try await state.container(id) else { throw CRIError.notFound(kind: "container", id: id) }
        record = try await refresh(record)
        guard record.state == .running else { throw CRIError.failedPrecondition("container \(record.id) is not running") }
        let ctl = "\(monitorDir(record.id))/ctl"
        let fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw CRIError.system(context: "opening \(ctl)", SystemCallError("open", ctl, errno: Errno(rawValue: currentErrno())))
        }
        defer { close(fd) }
        let written = "reopen\n".withCString { write(fd, $0, 7) }
        guard written == 7 else { throw CRIError.runtime("the monitor of \(record.id) did not take the reopen request") }
        // The monitor handles it within its next poll; wait for the file to exist again.
        for _ in 0..<100 where !record.logPath.isEmpty && !FileSystem.exists(record.logPath) {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
    }
}

