#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import Synchronization
import SystemCore

/// Why the kubelet cannot manage its cgroups.
public enum PodCgroupError: Error, Sendable, CustomStringConvertible, Equatable {
    /// cgroupsPerQOS is on but no cgroup2 filesystem is mounted.
    case noCgroup2
    /// cgroupsPerQOS is on but the v2 hierarchy does not offer these controllers.
    case missingControllers(mountPoint: String, missing: [String], available: [String])
    /// A cgroupfs call failed (the `SystemCallError` names the call and the file).
    case system(context: String, SystemCallError)
    /// Processes were still in a pod cgroup after it was killed.
    case busy(cgroup: String, processes: Int)

    public var description: String {
        switch self {
        case .noCgroup2:
            return "cgroupsPerQOS: no cgroup2 filesystem is mounted, so the kubelet cannot create the kubepods QoS cgroups; "
                + "boot with cgroup v2 or set cgroupsPerQOS: false to run pods without kubelet-managed pod cgroups"
        case .missingControllers(let mountPoint, let missing, let available):
            let offered = available.isEmpty ? "none" : available.joined(separator: " ")
            return "cgroupsPerQOS: the cgroup v2 hierarchy at \(mountPoint) lacks the \(missing.joined(separator: ", ")) "
                + "controller\(missing.count == 1 ? "" : "s") (\(mountPoint)/cgroup.controllers offers: \(offered)), so the kubelet "
                + "cannot create the kubepods QoS cgroups; use a host with a pure cgroup v2 hierarchy "
                + "(systemd.unified_cgroup_hierarchy=1) or set cgroupsPerQOS: false to run pods without kubelet-managed pod cgroups"
        case .system(let context, let error):
            return "\(context): \(error)"
        case .busy(let cgroup, let processes):
            return "removing pod cgroup \(cgroup): \(processes) process(es) still present after cgroup.kill"
        }
    }
}

/// What node allocatable enforcement puts on `kubepods` (`enforceNodeAllocatable: [pods]`):
/// capacity minus kubeReserved and systemReserved, like upstream's top-level cgroup (admission
/// also subtracts the hard eviction threshold; the cgroup does not).
public struct KubepodsLimits: Sendable, Hashable {
    public var milliCPU: Int64
    public var memoryBytes: Int64
    public var pids: Int64?

    public init(milliCPU: Int64, memoryBytes: Int64, pids: Int64?) {
        self.milliCPU = milliCPU
        self.memoryBytes = memoryBytes
        self.pids = pids
    }

    /// This machine's (online CPUs, MemTotal, the smaller of pid_max and threads-max) minus the
    /// reservations; nil when `enforceNodeAllocatable` does not list `pods`.
    public static func host(config: KubeletConfiguration) -> KubepodsLimits? {
        guard config.enforceNodeAllocatable.contains("pods") else { return nil }
        func reserved(_ resource: String) -> Quantity? {
            [config.kubeReserved[resource], config.systemReserved[resource]].compactMap { $0 }
                .compactMap { try? Quantity(parsing: $0) }.reduce(nil) { sum, q in sum.map { $0 + q } ?? q }
        }
        func number(_ path: String) -> Int64? {
            (try? FileSystem.readString(path)).flatMap { Int64($0.split(separator: "\n").first ?? "") }
        }
        let capacity = NodeResources.machineCapacity()
        let pids = [number("/proc/sys/kernel/pid_max"), number("/proc/sys/kernel/threads-max")].compactMap { $0 }.min()
        return KubepodsLimits(milliCPU: max(capacity.cpuMillis - (reserved("cpu")?.milliValue ?? 0), 0),
                              memoryBytes: max(capacity.memoryBytes - (reserved("memory")?.value ?? 0), 0),
                              pids: pids.map { max($0 - (reserved("pid")?.value ?? 0), 1) })
    }
}

/// The kubelet's cgroup tree on cgroup v2 (cgroupfs driver), made and owned by the kubelet:
///
///     <cgroupRoot>/kubepods                 node allocatable (cpu.weight, memory.max, pids.max)
///     <cgroupRoot>/kubepods/pod<uid>        Guaranteed pods
///     <cgroupRoot>/kubepods/burstable       cpu.weight from the sum of its pods' cpu requests
///     <cgroupRoot>/kubepods/burstable/pod<uid>
///     <cgroupRoot>/kubepods/besteffort      cpu.weight 1
///     <cgroupRoot>/kubepods/besteffort/pod<uid>
///
/// Each pod cgroup gets cpu.weight, cpu.max and memory.max from the pod's effective resources
/// (limits only when every container has one) and pids.max from podPidsLimit, before its sandbox
/// is created; the runtime makes the sandbox's and containers' cgroups beneath it. After the
/// sandbox is gone the pod cgroup is emptied (cgroup.kill) and removed.
///
/// Owner: this object owns the set of pods it has made cgroups for (`State`); the directories are
/// re-read on start (a restarted kubelet adopts existing pod cgroups without rewriting them).
public final class PodCgroups: Sendable {
    /// The cgroup2 mount point (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a hybrid host).
    public let mountPoint: String
    public let layout: CgroupLayout
    public let podPidsLimit: Int64
    public let allocatable: KubepodsLimits?
    let files: any CgroupFileSystem
    let logger: Logger

    /// The controllers whose files the kubelet writes: start-up fails without them.
    public static let requiredControllers = ["cpu", "memory", "pids"]
    /// Enabled too where the hierarchy offers them, so runtimes can limit and account with them.
    public static let optionalControllers = ["cpuset", "hugetlb", "io"]

    struct Member: Sendable, Hashable {
        var qos: QOSClass
        var requestMilliCPU: Int64
    }

    struct State: Sendable {
        /// uid → what the QoS tiers need to know about the pod.
        var pods: [String: Member] = [:]
    }

    private let state = Mutex(State())

    /// - Parameter allocatable: the limits for `kubepods`; nil leaves it unlimited (node
    ///   allocatable not enforced).
    public init(mountPoint: String, layout: CgroupLayout, podPidsLimit: Int64 = -1, allocatable: KubepodsLimits?,
                files: any CgroupFileSystem = HostCgroupFileSystem(), logger: Logger) {
        var trimmed = mountPoint
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.mountPoint = trimmed
        self.layout = layout
        self.podPidsLimit = podPidsLimit
        self.allocatable = allocatable
        self.files = files
        self.logger = logger
    }

    /// Start-up (the one call in `Kubelet`): nil when `cgroupsPerQOS` is false (pods then get no
    /// cgroup parent, like upstream); otherwise finds the cgroup v2 mount the way the runtime
    /// does, checks its controllers and creates the QoS tiers. Fails with an error naming
    /// `cgroupsPerQOS` on a host that cannot host them.
    public static func start(config: KubeletConfiguration, logger: Logger, mountInfoPath: String = "/proc/self/mountinfo",
                             files: any CgroupFileSystem = HostCgroupFileSystem()) throws(PodCgroupError) -> PodCgroups? {
        guard config.cgroupsPerQOS else { return nil }
        let text: String
        do { text = try FileSystem.readString(mountInfoPath) } catch {
            throw .system(context: "cgroupsPerQOS: reading the mount table", error)
        }
        guard let mountPoint = Cgroup2Mounts.preferred(Cgroup2Mounts.mountPoints(inMountInfo: text)) else { throw .noCgroup2 }
        let cgroups = PodCgroups(mountPoint: mountPoint, layout: CgroupLayout(cgroupRoot: config.cgroupRoot),
                                 podPidsLimit: config.podPidsLimit, allocatable: .host(config: config), files: files, logger: logger)
        try cgroups.setUpQOS()
        return cgroups
    }

    /// Whether this is a pure cgroup v2 host (the hierarchy at /sys/fs/cgroup): upstream then
    /// asks runtimes for `memory.oom.group` so an OOM kills the whole container.
    public var isUnifiedHierarchy: Bool { mountPoint == "/sys/fs/cgroup" }

    // MARK: paths

    func directory(_ cgroup: String) -> String {
        let trimmed = cgroup.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
        return trimmed.isEmpty ? mountPoint : mountPoint + "/" + trimmed
    }

    /// Every cgroup from the hierarchy root down to `cgroup` itself, as relative paths.
    static func chain(_ cgroup: String) -> [String] {
        let parts = cgroup.split(separator: "/")
        return (0...parts.count).map { "/" + parts[0..<$0].joined(separator: "/") }
    }

    // MARK: start-up

    /// The controllers to enable below kubepods: the required ones and the optional ones offered.
    func controllersToEnable() throws(PodCgroupError) -> [String] {
        let file = directory("/") + "/cgroup.controllers"
        let available: Set<String>
        do {
            available = Set(try files.read(file).split(whereSeparator: \.isWhitespace).map(String.init))
        } catch {
            throw .system(context: "cgroupsPerQOS: reading the available cgroup controllers", error)
        }
        let missing = Self.requiredControllers.filter { !available.contains($0) }
        if !missing.isEmpty {
            throw .missingControllers(mountPoint: mountPoint, missing: missing, available: available.sorted())
        }
        return (Self.requiredControllers + Self.optionalControllers.filter(available.contains)).sorted()
    }

    /// Creates `kubepods` (with node allocatable limits), `kubepods/burstable` and
    /// `kubepods/besteffort`, enabling the controllers in `cgroup.subtree_control` from the root down.
    public func setUpQOS() throws(PodCgroupError) {
        let controllers = try controllersToEnable()
        for cgroup in Self.chain(layout.kubepods) { try makeCgroup(cgroup, enabling: controllers) }
        for qos in [QOSClass.burstable, .bestEffort] { try makeCgroup(layout.qosParent(qos), enabling: controllers) }
        if let allocatable {
            let shares = CgroupResources.shares(milliCPU: allocatable.milliCPU)
            try write(layout.kubepods, "cpu.weight", String(CgroupResources.weight(shares: shares)), "node allocatable cpu")
            try write(layout.kubepods, "memory.max", String(allocatable.memoryBytes), "node allocatable memory")
            if let pids = allocatable.pids { try write(layout.kubepods, "pids.max", String(pids), "node allocatable pids") }
        }
        try state.withLock { (s: inout State) throws(PodCgroupError) in try updateQOSTiers(s) }
        logger.info("QoS cgroups ready", metadata: ["kubepods": "\(directory(layout.kubepods))", "controllers": "\(controllers.joined(separator: " "))"])
    }

    /// mkdir (if missing) and enable `controllers` for the cgroup's children.
    func makeCgroup(_ cgroup: String, enabling controllers: [String]) throws(PodCgroupError) {
        let dir = directory(cgroup)
        if !files.exists(dir) {
            do { try files.makeDirectory(dir) } catch {
                if error.errno != .fileExists { throw .system(context: "creating cgroup \(cgroup)", error) }
            }
        }
        let control = dir + "/cgroup.subtree_control"
        let enabled: Set<String>
        do {
            enabled = Set(try files.read(control).split(whereSeparator: \.isWhitespace).map(String.init))
        } catch {
            throw .system(context: "reading the enabled controllers of cgroup \(cgroup)", error)
        }
        let wanted = controllers.filter { !enabled.contains($0) }
        guard !wanted.isEmpty else { return }
        do {
            try files.write(control, wanted.map { "+" + $0 }.joined(separator: " "))
        } catch {
            throw .system(context: "enabling the \(wanted.joined(separator: ", ")) controllers for the children of cgroup \(cgroup)", error)
        }
    }

    func write(_ cgroup: String, _ file: String, _ value: String, _ what: String) throws(PodCgroupError) {
        do {
            try files.write(directory(cgroup) + "/" + file, value)
        } catch {
            throw .system(context: "setting \(what) (\(file) = \(value)) of cgroup \(cgroup)", error)
        }
    }

    /// Upstream's QoS tier values: besteffort gets the minimum weight, burstable the weight of the
    /// summed cpu requests of its pods.
    func updateQOSTiers(_ s: State) throws(PodCgroupError) {
        let burstable = s.pods.values.filter { $0.qos == .burstable }.reduce(Int64(0)) { $0 + $1.requestMilliCPU }
        let minimum = CgroupResources.weight(shares: CgroupResources.shares(milliCPU: 0))
        try write(layout.qosParent(.bestEffort), "cpu.weight", String(minimum), "the besteffort tier's cpu weight")
        let weight = CgroupResources.weight(shares: CgroupResources.shares(milliCPU: burstable))
        try write(layout.qosParent(.burstable), "cpu.weight", String(weight), "the burstable tier's cpu weight")
    }

    // MARK: pods

    /// The values a pod's cgroup gets, as (file, value) in write order.
    public func podValues(_ pod: Pod) -> [(file: String, value: String)] {
        let values = CgroupResources(pod: pod)
        var writes = [("cpu.weight", String(values.cpuWeight)), ("cpu.max", values.cpuMaxValue),
                      ("memory.max", values.memoryMaxValue)]
        if podPidsLimit > 0 { writes.append(("pids.max", String(podPidsLimit))) }
        return writes.map { (file: $0.0, value: $0.1) }
    }

    /// The pod's cgroup, relative to the hierarchy root.
    public func cgroup(of pod: Pod) -> String { layout.pod(uid: pod.metadata.uid ?? "", qos: QOSClass(pod: pod)) }

    /// Makes the pod's cgroup before its sandbox (`PodWorker`): a no-op for a pod already known;
    /// an existing directory (a restarted kubelet) is adopted as it is. On failure nothing this
    /// call made is left.
    public func ensure(_ pod: Pod) throws(PodCgroupError) {
        guard let uid = pod.metadata.uid, !uid.isEmpty else { return }
        try state.withLock { (s: inout State) throws(PodCgroupError) in
            guard s.pods[uid] == nil else { return }
            let qos = QOSClass(pod: pod)
            let member = Member(qos: qos, requestMilliCPU: PodResources(pod: pod).requestMilliCPU)
            let cgroup = layout.pod(uid: uid, qos: qos)
            let dir = directory(cgroup)
            var next = s
            next.pods[uid] = member
            if files.exists(dir) {  // a restarted kubelet adopts the pod's cgroup as it is
                if qos == .burstable { try updateQOSTiers(next) }
                s = next
                return
            }
            // The tier grows before the pod joins it (upstream updates QoS cgroups first).
            if qos == .burstable { try updateQOSTiers(next) }
            do throws(SystemCallError) {
                try files.makeDirectory(dir)
            } catch {
                if qos == .burstable { try? updateQOSTiers(s) }
                throw .system(context: "creating pod cgroup \(cgroup)", error)
            }
            do throws(PodCgroupError) {
                for (file, value) in podValues(pod) { try write(cgroup, file, value, "pod \(pod.fullName)") }
                try makeCgroup(cgroup, enabling: try controllersToEnable())
            } catch {
                try? files.removeDirectory(dir)
                if qos == .burstable { try? updateQOSTiers(s) }
                throw error
            }
            s = next
            logger.info("pod cgroup created", metadata: ["pod": "\(pod.fullName)", "cgroup": "\(dir)"])
        }
    }

    /// Removes the pod's cgroup after its sandbox is gone (`PodWorker`): kills any process left
    /// (`cgroup.kill`), removes it with whatever the runtime left beneath, and shrinks the tier.
    public func remove(_ pod: Pod) throws(PodCgroupError) {
        guard let uid = pod.metadata.uid, !uid.isEmpty else { return }
        let cgroup = self.cgroup(of: pod)
        try state.withLock { (s: inout State) throws(PodCgroupError) in
            let known = s.pods.removeValue(forKey: uid) != nil
            if known { try updateQOSTiers(s) }
        }
        try removeCgroup(cgroup)
        logger.info("pod cgroup removed", metadata: ["pod": "\(pod.fullName)", "cgroup": "\(directory(cgroup))"])
    }

    /// Pod cgroups on disk: uid → cgroup (relative path).
    func existingPods() throws(PodCgroupError) -> [String: String] {
        var found: [String: String] = [:]
        for parent in [layout.kubepods, layout.qosParent(.burstable), layout.qosParent(.bestEffort)] {
            let names: [String]
            do { names = try files.subdirectories(directory(parent)) } catch {
                if error.errno == .noSuchFileOrDirectory { continue }
                throw .system(context: "listing the pod cgroups in \(parent)", error)
            }
            for name in names where name.hasPrefix("pod") && name.count > 3 {
                found[String(name.dropFirst(3))] = parent + "/" + name
            }
        }
        return found
    }

    /// Removes the cgroups of pods this kubelet does not run (their pods were removed while it was
    /// down, or an earlier removal failed) once nothing runs in them any more; returns their uids.
    /// Periodic housekeeping, like upstream's orphaned pod cgroup cleanup.
    @discardableResult
    public func removeOrphans() -> [String] {
        let known = state.withLock { $0.pods }
        var removed: [String] = []
        guard let existing = try? existingPods() else { return [] }
        for (uid, cgroup) in existing.sorted(by: { $0.key < $1.key }) where known[uid] == nil {
            guard (try? processes(in: directory(cgroup)))?.isEmpty == true else { continue }
            do {
                try removeCgroup(cgroup)
                removed.append(uid)
                logger.info("orphaned pod cgroup removed", metadata: ["cgroup": "\(directory(cgroup))"])
            } catch {
                logger.warning("orphaned pod cgroup not removed", metadata: ["error": "\(error)"])
            }
        }
        try? state.withLock { (s: inout State) throws(PodCgroupError) in try updateQOSTiers(s) }
        return removed
    }

    /// Runs `removeOrphans` every `interval` seconds until cancelled.
    public func runHousekeeping(interval: Double = 60) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(interval))
            if Task.isCancelled { return }
            removeOrphans()
        }
    }

    // MARK: killing and removal

    func processes(in dir: String) throws(SystemCallError) -> [Int32] {
        let text: String
        do { text = try files.read(dir + "/cgroup.procs") } catch {
            if error.errno == .noSuchFileOrDirectory { return [] }
            throw error
        }
        var pids = text.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
        let children: [String]
        do { children = try files.subdirectories(dir) } catch {
            if error.errno == .noSuchFileOrDirectory { return pids }
            throw error
        }
        for child in children.sorted() { pids += try processes(in: dir + "/" + child) }
        return pids
    }

    /// SIGKILLs everything in the cgroup tree (`cgroup.kill`, or kill(2) per pid on kernels before
    /// 5.14) and removes it deepest first; a gone cgroup is fine.
    func removeCgroup(_ cgroup: String, attempts: Int = 200, intervalMilliseconds: Int = 10) throws(PodCgroupError) {
        let dir = directory(cgroup)
        guard files.exists(dir) else { return }
        let left: [Int32]
        do { left = try killAll(dir, attempts: attempts, intervalMilliseconds: intervalMilliseconds) } catch {
            throw .system(context: "killing the processes left in pod cgroup \(cgroup)", error)
        }
        if !left.isEmpty { throw .busy(cgroup: cgroup, processes: left.count) }
        do { try removeTree(dir, attempts: attempts, intervalMilliseconds: intervalMilliseconds) } catch {
            throw .system(context: "removing pod cgroup \(cgroup)", error)
        }
    }

    /// Kills until the tree is empty or `attempts` polls have passed; returns the pids left.
    private func killAll(_ dir: String, attempts: Int, intervalMilliseconds: Int) throws(SystemCallError) -> [Int32] {
        var left = try processes(in: dir)
        var attempt = 0
        while !left.isEmpty && attempt < attempts {
            if attempt % 20 == 0 {  // again now and then: a task forked meanwhile escapes one kill(2) round
                if files.exists(dir + "/cgroup.kill") {
                    try files.write(dir + "/cgroup.kill", "1")
                } else {
                    for pid in left where pid > 0 {
                        do { try files.signal(pid, SIGKILL) } catch {
                            if error.errno != .noSuchProcess { throw error }
                        }
                    }
                }
            }
            files.pause(milliseconds: intervalMilliseconds)
            left = try processes(in: dir)
            attempt += 1
        }
        return left
    }

    private func removeTree(_ dir: String, attempts: Int, intervalMilliseconds: Int) throws(SystemCallError) {
        let children: [String]
        do { children = try files.subdirectories(dir) } catch {
            if error.errno == .noSuchFileOrDirectory { return }
            throw error
        }
        for child in children { try removeTree(dir + "/" + child, attempts: attempts, intervalMilliseconds: intervalMilliseconds) }
        var attempt = 0
        while true {
            do {
                try files.removeDirectory(dir)
                return
            } catch {
                if error.errno == .noSuchFileOrDirectory { return }
                attempt += 1
                // Exiting tasks leave the cgroup asynchronously: rmdir says EBUSY until they have.
                guard error.errno == .resourceBusy, attempt < attempts else { throw error }
                files.pause(milliseconds: intervalMilliseconds)
            }
        }
    }
}
