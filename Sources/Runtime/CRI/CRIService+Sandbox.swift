import CRIProto
import Foundation
import Runtime
import SystemCore

/// Pod sandboxes: a pinned network namespace with the CNI attachment, and an infra container
/// (swiftlet-pause) whose IPC/UTS/PID namespaces the pod's containers join.
extension CRIService {
    /// Undo steps of a half-made sandbox, run in reverse on failure.
    private final class Rollback: @unchecked Sendable {
        var steps: [(String, () async throws -> Void)] = []
        func add(_ what: String, _ step: @escaping () async throws -> Void) { steps.append((what, step)) }
    }

    func runPodSandbox(_ request: Runtime_V1_RunPodSandboxRequest) async throws -> String {
        let config = request.config
        let meta = config.metadata
        for (field, value) in [("name", meta.name), ("namespace", meta.namespace), ("uid", meta.uid)] where value.isEmpty {
            throw CRIError.invalidArgument(field: "config.metadata.\(field)", reason: "must not be empty")
        }
        if !request.runtimeHandler.isEmpty && request.runtimeHandler != "runc" && request.runtimeHandler != "swiftlet" {
            throw CRIError.invalidArgument(field: "runtime_handler", reason: "unknown runtime handler \"\(request.runtimeHandler)\"")
        }
        for (index, port) in config.portMappings.enumerated() {
            guard (0...65535).contains(port.containerPort), (0...65535).contains(port.hostPort) else {
                throw CRIError.invalidArgument(field: "config.port_mappings[\(index)]", reason: "ports must be in 0...65535")
            }
        }
        let nsOptions = config.linux.securityContext.namespaceOptions
        let hostNetwork = nsOptions.network == .node
        let id = newID()
        let key = SandboxKey.key(for: meta)
        try await state.reserve(key, for: id, kind: "sandbox")
        let rollback = Rollback()
        rollback.add("name") { await self.state.release(key) }
        let clock = ContinuousClock()
        var mark = clock.now
        var timings: [String] = []
        func step(_ name: String) {
            let now = clock.now
            timings.append("\(name)=\((now - mark).components.attoseconds / 1_000_000_000_000_000 + (now - mark).components.seconds * 1000)ms")
            mark = now
        }
        do {
            let dir = await state.sandboxDir(id)
            let run = sandboxStateDir(id)
            for d in [dir, run, "\(run)/rootfs"] {
                do { try FileSystem.createDirectories(d, mode: 0o755) } catch { throw CRIError.system(context: "creating \(d)", error) }
            }
            rollback.add("directories") {
                try? FileSystem.removeTree(dir)
                try? FileSystem.removeTree(run)
            }
            try writeEtcFiles(config: config, dir: dir, hostNetwork: hostNetwork)

            var record = SandboxRecord(
                id: id, config: try config.serializedBytes(), state: .notReady, createdAt: nowNanos(),
                runtimeHandler: request.runtimeHandler, netnsPath: nil, ips: [], cniConfList: nil, cniResult: nil,
                infraPid: nil, cgroupPath: podCgroup(id, parent: config.linux.cgroupParent))
            rollback.add("cgroup") { self.removeCgroup(record.cgroupPath) }

            if !hostNetwork {
                let netns = netnsPath(id)
                let pin = try await Command.run(pausePath, ["--pin-netns", netns], scratch: "\(self.config.stateDir)/tmp", timeout: 30)
                guard pin.status == .exited(0) else {
                    throw CRIError.system(context: "creating network namespace \(netns): \(pin.stderrText)", SystemCallError("unshare", netns, errno: .ioError))
                }
                rollback.add("netns") { self.removeNetns(netns) }
                step("netns")
                record.netnsPath = netns
                let confList = try cni.currentConfList()
                let pod = cniPod(config: config, id: id, netns: netns)
                let result = try await cni.add(pod, confList: confList)
                rollback.add("cni") { try await self.cni.del(pod, confList: confList, result: result) }
                record.cniConfList = confList
                record.cniResult = result
                record.ips = CNIClient.ips(from: result)
                step("cni")
            }

            // The infra container.
            let bundle = run
            let spec = infraSpec(config: config, record: record, rootfs: "\(run)/rootfs", etcDir: dir)
            do { try FileSystem.touch("\(run)/rootfs/pause", mode: 0o755) } catch { throw CRIError.system(context: "creating the infra rootfs", error) }
            for link in [("usr/lib", "lib"), ("usr/lib64", "lib64")] {
                try? FileSystem.symlink(link.0, at: "\(run)/rootfs/\(link.1)")
            }
            let bytes = try JSONEncoder().encode(spec)
            do { try FileSystem.writeAtomically("\(bundle)/config.json", Array(bytes), durable: false) } catch {
                throw CRIError.system(context: "writing \(bundle)/config.json", error)
            }
            let mdir = monitorDir(id)
            do { try FileSystem.createDirectories(mdir, mode: 0o700) } catch { throw CRIError.system(context: "creating \(mdir)", error) }
            rollback.add("monitor dir") { try? FileSystem.removeTree(mdir) }
            rollback.add("infra container") {
                try? await self.runtime.kill(id: id, signal: "KILL")
                try await self.runtime.delete(id: id)
            }
            step("bundle")
            try await runtime.create(id: id, bundle: bundle, monitorDir: mdir, logPath: "/dev/null", stdin: false, tty: false)
            step("create")
            try await runtime.start(id: id)
            step("start")
            record.infraPid = Int32((try? FileSystem.readString("\(mdir)/init.pid"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
            record.state = .ready
            try await state.save(record)
            logger.info("sandbox ready", metadata: ["id": "\(id)", "pod": "\(meta.namespace)/\(meta.name)", "ips": "\(record.ips)", "timings": "\(timings.joined(separator: " "))"])
            return id
        } catch {
            for (what, step) in rollback.steps.reversed() {
                do { try await step() } catch {
                    logger.error("rollback step failed", metadata: ["sandbox": "\(id)", "step": "\(what)", "error": "\(error)"])
                }
            }
            throw error
        }
    }

    func cniPod(config: Runtime_V1_PodSandboxConfig, id: String, netns: String) -> CNIClient.Pod {
        CNIClient.Pod(
            name: config.metadata.name, namespace: config.metadata.namespace, uid: config.metadata.uid, sandboxID: id,
            netns: netns,
            portMappings: config.portMappings.filter { $0.hostPort > 0 }.map {
                CNIClient.PortMap(
                    hostPort: Int($0.hostPort), containerPort: Int($0.containerPort),
                    proto: $0.protocol == .udp ? "udp" : ($0.protocol == .sctp ? "sctp" : "tcp"), hostIP: $0.hostIp)
            })
    }

    /// /etc/hosts, /etc/resolv.conf and /etc/hostname for the pod's containers.
    private func writeEtcFiles(config: Runtime_V1_PodSandboxConfig, dir: String, hostNetwork: Bool) throws {
        let hostname = config.hostname.isEmpty ? config.metadata.name : config.hostname
        var hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
        if hostNetwork, let host = try? FileSystem.readString("/etc/hosts") { hosts = host }
        var resolv = ""
        if config.hasDnsConfig {
            let dns = config.dnsConfig
            for server in dns.servers { resolv += "nameserver \(server)\n" }
            if !dns.searches.isEmpty { resolv += "search \(dns.searches.joined(separator: " "))\n" }
            if !dns.options.isEmpty { resolv += "options \(dns.options.joined(separator: " "))\n" }
        } else {
            resolv = (try? FileSystem.readString("/etc/resolv.conf")) ?? ""
        }
        for (name, text) in [("hosts", hosts), ("resolv.conf", resolv), ("hostname", hostname + "\n")] {
            do { try FileSystem.writeAtomically("\(dir)/\(name)", Array(text.utf8), mode: 0o644, durable: false) } catch {
                throw CRIError.system(context: "writing \(dir)/\(name)", error)
            }
        }
    }

    /// The infra container: swiftlet-pause, read-only, no capabilities, RuntimeDefault seccomp.
    private func infraSpec(config: Runtime_V1_PodSandboxConfig, record: SandboxRecord, rootfs: String, etcDir: String) -> Spec {
        var spec = Spec.defaultConfig()
        let ns = config.linux.securityContext.namespaceOptions
        spec.process = Spec.Process(
            terminal: false, user: Spec.User(uid: 65535, gid: 65535), args: ["/pause"],
            env: [SpecBuilder.defaultPath], cwd: "/",
            capabilities: Spec.Capabilities(bounding: [], effective: [], inheritable: nil, permitted: [], ambient: nil),
            rlimits: nil, noNewPrivileges: true)
        spec.root = Spec.Root(path: rootfs, readonly: true)
        spec.hostname = ns.network == .node ? nil : (config.hostname.isEmpty ? config.metadata.name : config.hostname)
        spec.mounts = [
            Spec.Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
            Spec.Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            Spec.Mount(destination: "/pause", type: "bind", source: pausePath, options: ["bind", "ro", "nosuid", "nodev"]),
            Spec.Mount(destination: "/usr", type: "bind", source: "/usr", options: ["rbind", "ro", "nosuid", "nodev"]),
        ] + pauseLibraries.map {
            Spec.Mount(destination: $0, type: "bind", source: $0, options: ["bind", "ro", "nosuid", "nodev"])
        }
        var linux = spec.linux ?? Spec.Linux()
        var namespaces = [Spec.Namespace(type: "mount")]
        if let netns = record.netnsPath { namespaces.append(Spec.Namespace(type: "network", path: netns)) }
        if ns.ipc != .node { namespaces.append(Spec.Namespace(type: "ipc")) }
        if ns.network != .node { namespaces.append(Spec.Namespace(type: "uts")) }
        if ns.pid != .node { namespaces.append(Spec.Namespace(type: "pid")) }
        namespaces.append(Spec.Namespace(type: "cgroup"))
        linux.namespaces = namespaces
        linux.cgroupsPath = "\(record.cgroupPath)/pause"
        linux.seccomp = Spec.Seccomp.runtimeDefault(capabilities: [])
        if !config.linux.sysctls.isEmpty { linux.sysctl = config.linux.sysctls }
        spec.linux = linux
        return spec
    }

    func removeNetns(_ path: String) {
        do {
            try FileSystem.unmount(path)
            try FileSystem.removeEntry(path)
        } catch {
            logger.error("removing network namespace", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    /// Removes the pod cgroup directory and any child left (the runtime removes its own).
    func removeCgroup(_ path: String) {
        let full = "\(cgroupRoot)\(path)"
        for child in (try? FileSystem.listDirectory(full)) ?? [] where FileSystem.isDirectory("\(full)/\(child)") {
            try? FileSystem.removeEntry("\(full)/\(child)")
        }
        try? FileSystem.removeEntry(full)
    }

    func stopPodSandbox(_ id: String) async throws {
        guard let found = try await state.sandbox(id) else { return }  // idempotent
        let started = ContinuousClock.now
        try await locks.with(found.id) { try await stopPodSandboxLocked(found.id) }
        logger.info("sandbox stopped", metadata: ["id": "\(found.id)", "took": "\(ContinuousClock.now - started)"])
    }

    /// Stops the containers (all at once), the infra process, then CNI DEL and the netns.
    private func stopPodSandboxLocked(_ id: String) async throws {
        guard var record = try await state.sandbox(id) else { return }  // removed meanwhile
        let containers = await state.containers(inSandbox: record.id)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for container in containers {
                group.addTask { try await self.stopContainer(container.id, timeout: 0) }
            }
            try await group.waitForAll()
        }
        if exitRecord(record.id) == nil {
            // The infra process: through its monitor, else the runtime; a monitor already gone
            // (nothing will write an exit file) is not an error here.
            var exited = false
            if signalThroughMonitor(record.id, number: SIGKILL) { exited = await waitForExit(record.id, seconds: 2) }
            if !exited {
                try await runtime.kill(id: record.id, signal: "KILL")
                _ = await waitForExit(record.id, seconds: 10)
            }
        }
        if let netns = record.netnsPath {
            if let confList = record.cniConfList {
                let config = try Runtime_V1_PodSandboxConfig(serializedBytes: record.config)
                try await cni.del(cniPod(config: config, id: record.id, netns: netns), confList: confList, result: record.cniResult)
            }
            removeNetns(netns)
            record.cniConfList = nil
            record.cniResult = nil
        }
        if record.state != .notReady || record.netnsPath != nil {
            record.state = .notReady
            try await state.save(record)
        }
    }

    func removePodSandbox(_ id: String) async throws {
        guard let found = try await state.sandbox(id) else { return }  // idempotent
        let started = ContinuousClock.now
        try await locks.with(found.id) { try await removePodSandboxLocked(found.id) }
        logger.info("sandbox removed", metadata: ["id": "\(found.id)", "took": "\(ContinuousClock.now - started)"])
    }

    private func removePodSandboxLocked(_ id: String) async throws {
        guard let record = try await state.sandbox(id) else { return }  // removed meanwhile
        try await stopPodSandboxLocked(record.id)
        let containers = await state.containers(inSandbox: record.id)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for container in containers {
                group.addTask { try await self.removeContainer(container.id) }
            }
            try await group.waitForAll()
        }
        await state.beginRemoval(record.id)
        do { try await runtime.delete(id: record.id) } catch {
            await state.abortRemoval(record.id)
            throw error
        }
        removeCgroup(record.cgroupPath)
        try? FileSystem.removeTree(monitorDir(record.id))
        try? FileSystem.removeTree(sandboxStateDir(record.id))
        try? FileSystem.removeTree(await state.sandboxDir(record.id))
        if let key = try? SandboxKey.key(for: record) { await state.release(key) }
        await state.forgetSandbox(record.id)
    }

    func sandboxStatus(_ record: SandboxRecord, verbose: Bool) throws -> Runtime_V1_PodSandboxStatusResponse {
        let config = try Runtime_V1_PodSandboxConfig(serializedBytes: record.config)
        var status = Runtime_V1_PodSandboxStatus()
        status.id = record.id
        status.metadata = config.metadata
        status.state = record.state == .ready ? .sandboxReady : .sandboxNotready
        status.createdAt = record.createdAt
        if record.state == .ready, let first = record.ips.first {
            status.network.ip = first
            status.network.additionalIps = record.ips.dropFirst().map { ip in
                var pod = Runtime_V1_PodIP()
                pod.ip = ip
                return pod
            }
        }
        status.linux.namespaces.options = config.linux.securityContext.namespaceOptions
        status.labels = config.labels
        status.annotations = config.annotations
        status.runtimeHandler = record.runtimeHandler
        var response = Runtime_V1_PodSandboxStatusResponse()
        response.status = status
        if verbose {
            var info: [String: Any] = ["pid": record.infraPid ?? 0, "netns": record.netnsPath ?? "", "cgroup": record.cgroupPath]
            if let result = record.cniResult, let object = try? JSONSerialization.jsonObject(with: result) { info["cniResult"] = object }
            if let data = try? JSONSerialization.data(withJSONObject: info, options: [.sortedKeys]) {
                response.info = ["info": String(decoding: data, as: UTF8.self)]
            }
        }
        return response
    }
}
