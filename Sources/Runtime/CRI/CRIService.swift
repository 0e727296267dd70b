import CRIProto
import Foundation
import ImageStore
import Logging
import Runtime
import SystemCore

/// The CRI runtime engine behind both gRPC services: sandboxes (netns + CNI + infra
/// container), containers (OCI bundle + monitor + runtime), images (the image store).
public final class CRIService: Sendable {
    public let config: CRIConfig
    let logger: Logger
    let state: CRIState
    let runtime: OCIRuntime
    let cni: CNIClient
    let images: ImageStore
    let pausePath: String
    let cgroupRoot: String
    let events: EventHub
    /// Shared libraries swiftlet-pause needs from outside /usr (SwiftPM links the Swift runtime
    /// into C executables): bind-mounted read-only into every infra container.
    let pauseLibraries: [String]
    /// Exec URLs (the kubelet's streaming flow).
    let streaming: StreamingServer
    /// One operation at a time per container or sandbox ID.
    let locks = OperationLocks()

    /// Opens the state directories, the image store and the records on disk. `binDir` is where
    /// swiftlet-runc, swiftlet-monitor and swiftlet-pause are looked up by default.
    public init(config: CRIConfig, binDir: String, logger: Logger) throws {
        self.config = config
        self.logger = logger
        for dir in [config.rootDir, config.stateDir, "\(config.stateDir)/containers", "\(config.stateDir)/sandboxes", "\(config.stateDir)/tmp", config.netnsDir] {
            do { try FileSystem.createDirectories(dir, mode: 0o711) } catch {
                throw CRIError.system(context: "creating \(dir)", error)
            }
        }
        func binary(_ configured: String, _ name: String, _ key: String) throws -> String {
            let path = configured.isEmpty ? "\(binDir)/\(name)" : configured
            guard access(path, X_OK) == 0 else {
                throw CRIError.invalidArgument(field: "config \(key)", reason: "\(path) is not an executable")
            }
            return path
        }
        let scratch = "\(config.stateDir)/tmp"
        runtime = OCIRuntime(
            path: try binary(config.runtimePath, "swiftlet-runc", "runtime_path"),
            globalArguments: config.runtimeGlobalArguments,
            monitorPath: try binary(config.monitorPath, "swiftlet-monitor", "monitor_path"), scratch: scratch)
        pausePath = try binary(config.pausePath, "swiftlet-pause", "pause_path")
        cni = CNIClient(confDir: config.cniConfDir, binDirs: config.cniBinDirs, scratch: scratch)
        let registries = config.registryConfig.isEmpty ? RegistryConfiguration.empty : try RegistryConfiguration.load(path: config.registryConfig)
        images = try ImageStore(root: config.imageDir, registries: registries, logger: logger)
        state = CRIState(rootDir: config.rootDir)
        cgroupRoot = FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified"
        events = EventHub()
        pauseLibraries = Self.librariesOutsideUsr(of: pausePath)
        let runtime = self.runtime
        let scratchDir = scratch
        streaming = StreamingServer(logger: logger) { request, stdin, stdout, stderr in
            try await Self.startExec(request, runtime: runtime, rootDir: config.rootDir, scratch: scratchDir,
                                     stdin: stdin, stdout: stdout, stderr: stderr)
        }
        streaming.forwardHelper = pausePath
    }

    /// The `ldd` view of a binary's libraries that live outside /usr (and /lib*, its aliases).
    static func librariesOutsideUsr(of binary: String) -> [String] {
        guard let result = try? Command.runBlocking(
            "/usr/bin/ldd", [binary], environment: nil, input: nil, scratch: "/tmp", timeout: 10, newSession: false),
            result.status == .exited(0) else { return [] }
        return result.stdoutText.split(separator: "\n").compactMap { line -> String? in
            guard let arrow = line.range(of: "=> ") else { return nil }
            let path = line[arrow.upperBound...].split(separator: " ").first.map(String.init) ?? ""
            guard path.hasPrefix("/"), !path.hasPrefix("/usr/"), !path.hasPrefix("/lib") else { return nil }
            return path
        }
    }

    /// Loads the records and reconciles them with the monitors' exit files (after a restart,
    /// containers that ended meanwhile show as exited with their real status).
    public func recover() async throws {
        let counts = try await state.load()
        for container in await state.allContainers { _ = try? await refresh(container) }
        for sandbox in await state.allSandboxes { _ = try? await refresh(sandbox) }
        logger.info("state recovered", metadata: ["sandboxes": "\(counts.sandboxes)", "containers": "\(counts.containers)"])
    }

    // MARK: Paths

    func monitorDir(_ id: String) -> String { "\(config.stateDir)/containers/\(id)" }
    func sandboxStateDir(_ id: String) -> String { "\(config.stateDir)/sandboxes/\(id)" }
    func netnsPath(_ id: String) -> String { "\(config.netnsDir)/\(id)" }

    /// The pod cgroup (relative to the cgroup v2 root), from the sandbox's cgroup_parent.
    func podCgroup(_ sandboxID: String, parent: String) -> String {
        let base = parent.isEmpty ? config.cgroupParent : parent
        return "\(base.hasPrefix("/") ? base : "/" + base)/pod-\(sandboxID)"
    }

    // MARK: Exit files

    /// The status the monitor recorded, if the container's init has ended.
    func exitRecord(_ id: String) -> (code: Int32, at: Int64)? {
        guard let text = try? FileSystem.readString("\(monitorDir(id))/exit") else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count >= 2, let code = Int32(parts[0]), let at = Int64(parts[1]) else { return nil }
        return (code, at)
    }

    /// Waits until the monitor wrote the exit file; false at the deadline.
    func waitForExit(_ id: String, seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var delay: UInt64 = 5_000_000
        while true {
            if exitRecord(id) != nil { return true }
            if !monitorAlive(id) {
                // Monitor gone without an exit file (killed): nothing more will come.
                return exitRecord(id) != nil
            }
            if Date() >= deadline { return false }
            try? await Task.sleep(nanoseconds: delay)
            delay = min(delay * 2, 50_000_000)
        }
    }

    func monitorAlive(_ id: String) -> Bool {
        guard let text = try? FileSystem.readString("\(monitorDir(id))/monitor.pid"),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
        return Spawn.isAlive(pid) && (try? FileSystem.readString("/proc/\(pid)/cmdline"))?.contains("swiftlet-monitor") == true
    }

    /// Brings a container record up to date with its exit file. Safe beside a concurrent stop or
    /// remove: a record that is gone or being removed is returned as computed, never written.
    @discardableResult
    func refresh(_ record: ContainerRecord) async throws -> ContainerRecord {
        guard record.state != .exited else { return record }
        var updated = record
        if let exit = exitRecord(record.id) {
            updated.state = .exited
            updated.exitCode = exit.code
            updated.finishedAt = exit.at
            updated.reason = oomKilled(record) ? "OOMKilled" : (exit.code == 0 ? "Completed" : "Error")
        } else if !monitorAlive(record.id) {
            // Monitor lost (killed, or a reboot): the container cannot be running any more.
            updated.state = .exited
            updated.exitCode = 255
            updated.finishedAt = nowNanos()
            updated.reason = "Unknown"
            updated.message = "the container's monitor is gone; exit status unknown"
        } else {
            return record
        }
        let exited = updated
        let changed = Flag()
        guard let current = try await state.updateContainer(record.id, { stored in
            guard stored.state != .exited else { return false }
            stored.state = .exited
            stored.exitCode = exited.exitCode
            stored.finishedAt = exited.finishedAt
            stored.reason = exited.reason
            stored.message = exited.message
            changed.set()
            return true
        }) else { return updated }
        if changed.value { events.publish(containerID: current.id, sandboxID: current.sandboxID, type: .containerStoppedEvent) }
        return current
    }

    /// Marks a sandbox NOTREADY when its infra process has gone.
    @discardableResult
    func refresh(_ record: SandboxRecord) async throws -> SandboxRecord {
        guard record.state == .ready, exitRecord(record.id) != nil || !monitorAlive(record.id) else { return record }
        var updated = record
        updated.state = .notReady
        return try await state.updateSandbox(record.id, { stored in
            guard stored.state == .ready else { return false }
            stored.state = .notReady
            return true
        }) ?? updated
    }

    /// Whether the kernel OOM-killed something in the container's cgroup.
    func oomKilled(_ record: ContainerRecord) -> Bool {
        guard let spec = try? Spec.load(bundle: containerBundle(record.id)), let path = spec.linux?.cgroupsPath,
              let events = try? FileSystem.readString("\(cgroupRoot)\(path)/memory.events") else { return false }
        for line in events.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.split(separator: " ").last ?? "0") ?? 0 > 0
        }
        return false
    }

    func containerBundle(_ id: String) -> String { "\(config.rootDir)/containers/\(id)" }
}
