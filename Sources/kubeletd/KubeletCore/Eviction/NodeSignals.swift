import CRIProto
import Foundation
import SystemCore

/// Reads the eviction signals of this node: memory from /proc/meminfo (and the kubepods cgroup
/// when it has a memory limit), nodefs from the file system of --root-dir, imagefs and
/// containerfs from CRI ImageFsInfo, pids from the kernel's task limits and count.
public struct NodeSignals: Sendable {
    public let rootDirectory: String
    /// The kubepods cgroup's directory (on the cgroup v2 mount `PodCgroups` found); nil when the
    /// kubelet makes no QoS cgroups (cgroupsPerQOS: false), so there is no limit to read.
    public let kubepodsDirectory: String?

    /// - Parameter podCgroups: the kubelet's pod cgroups (nil with cgroupsPerQOS: false): the
    ///   kubepods cgroup is read where they made it, on the mount they found.
    public init(rootDirectory: String, podCgroups: PodCgroups?) {
        self.init(rootDirectory: rootDirectory, kubepodsDirectory: podCgroups.map { $0.directory($0.layout.kubepods) })
    }

    public init(rootDirectory: String, kubepodsDirectory: String?) {
        self.rootDirectory = rootDirectory
        self.kubepodsDirectory = kubepodsDirectory
    }

    /// Observes the signals asked for; a signal that cannot be read is left out (and logged by the caller).
    public func observe(_ wanted: Set<EvictionSignal>, cri: CRIClient) async -> [EvictionSignal: SignalObservation] {
        var out: [EvictionSignal: SignalObservation] = [:]
        if wanted.contains(.memoryAvailable), let memory = memory() { out[.memoryAvailable] = memory }
        if wanted.contains(.pidAvailable), let pids = pids() { out[.pidAvailable] = pids }
        if wanted.contains(.nodeFsAvailable) || wanted.contains(.nodeFsInodesFree),
           let fs = NodeSignals.filesystem(rootDirectory) {
            out[.nodeFsAvailable] = fs.bytes
            out[.nodeFsInodesFree] = fs.inodes
        }
        let imageSignals: Set<EvictionSignal> = [.imageFsAvailable, .imageFsInodesFree, .containerFsAvailable, .containerFsInodesFree]
        if !wanted.isDisjoint(with: imageSignals), let info = try? await cri.imageFsInfo(timeout: .seconds(10)) {
            if let mount = info.imageFilesystems.first?.fsID.mountpoint, let fs = NodeSignals.filesystem(mount) {
                out[.imageFsAvailable] = fs.bytes
                out[.imageFsInodesFree] = fs.inodes
            }
            let container = info.containerFilesystems.first?.fsID.mountpoint ?? info.imageFilesystems.first?.fsID.mountpoint
            if let mount = container, let fs = NodeSignals.filesystem(mount) {
                out[.containerFsAvailable] = fs.bytes
                out[.containerFsInodesFree] = fs.inodes
            }
        }
        return out.filter { wanted.contains($0.key) }
    }

    // MARK: memory

    /// memory.available: MemAvailable of MemTotal, or less when the kubepods cgroup has a memory
    /// limit and less than that is left under it (limit minus working set).
    func memory() -> SignalObservation? {
        guard let text = try? FileSystem.readString("/proc/meminfo"), var node = NodeSignals.meminfo(text) else { return nil }
        if let pods = kubepodsMemory() { node.available = min(node.available, pods) }
        return node
    }

    /// MemAvailable and MemTotal (kB in the file) in bytes.
    public static func meminfo(_ text: String) -> SignalObservation? {
        var total: Double?, available: Double?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kb = Double(fields[1]) else { continue }
            if fields[0] == "MemTotal:" { total = kb * 1024 }
            if fields[0] == "MemAvailable:" { available = kb * 1024 }
        }
        guard let total, let available else { return nil }
        return SignalObservation(available: available, capacity: total)
    }

    /// What is left under the kubepods cgroup's memory limit (cgroup v2: the kubelet makes its
    /// QoS cgroups only there), nil without one ("max" is no limit).
    func kubepodsMemory() -> Double? {
        func number(_ path: String) -> Double? {
            (try? FileSystem.readString(path)).flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        func stat(_ path: String, _ key: String) -> Double {
            guard let text = try? FileSystem.readString(path) else { return 0 }
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, parts[0] == key { return Double(parts[1]) ?? 0 }
            }
            return 0
        }
        guard let dir = kubepodsDirectory,
              let limit = number("\(dir)/memory.max"), let usage = number("\(dir)/memory.current") else { return nil }
        let workingSet = max(usage - stat("\(dir)/memory.stat", "inactive_file"), 0)
        return max(limit - workingSet, 0)
    }

    // MARK: pids

    /// pid.available like upstream: min(kernel.pid_max, kernel.threads-max) minus the tasks that
    /// exist (the total in /proc/loadavg's fourth field).
    func pids() -> SignalObservation? {
        guard let pidMax = try? FileSystem.readString("/proc/sys/kernel/pid_max"),
              let threadsMax = try? FileSystem.readString("/proc/sys/kernel/threads-max"),
              let loadavg = try? FileSystem.readString("/proc/loadavg") else { return nil }
        return NodeSignals.pids(pidMax: pidMax, threadsMax: threadsMax, loadavg: loadavg)
    }

    public static func pids(pidMax: String, threadsMax: String, loadavg: String) -> SignalObservation? {
        guard let a = Double(pidMax.trimmingCharacters(in: .whitespacesAndNewlines)),
              let b = Double(threadsMax.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        let fields = loadavg.split(separator: " ")
        guard fields.count >= 4, let total = fields[3].split(separator: "/").last.flatMap({ Double($0) }) else { return nil }
        let capacity = min(a, b)
        return SignalObservation(available: max(capacity - total, 0), capacity: capacity)
    }

    // MARK: file systems

    /// Bytes available to unprivileged users and free inodes of the file system holding `path`.
    public static func filesystem(_ path: String) -> (bytes: SignalObservation, inodes: SignalObservation)? {
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: path),
              let size = (attributes[.systemSize] as? NSNumber)?.doubleValue,
              let free = (attributes[.systemFreeSize] as? NSNumber)?.doubleValue,
              let nodes = (attributes[.systemNodes] as? NSNumber)?.doubleValue,
              let freeNodes = (attributes[.systemFreeNodes] as? NSNumber)?.doubleValue else { return nil }
        return (SignalObservation(available: free, capacity: size), SignalObservation(available: freeNodes, capacity: nodes))
    }

    /// Bytes and inodes used under `path` (files not followed through symlinks or mount points).
    public static func usage(_ path: String) -> (bytes: Double, inodes: Double) {
        guard let device = (try? FileManager.default.attributesOfItem(atPath: path))?[.systemNumber] as? NSNumber,
              let walker = FileManager.default.enumerator(atPath: path) else { return (0, 0) }
        var bytes = 0.0, inodes = 1.0
        while let relative = walker.nextObject() as? String {
            let full = "\(path)/\(relative)"
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: full) else { continue }
            if (attributes[.systemNumber] as? NSNumber) != device {
                walker.skipDescendants()
                continue
            }
            inodes += 1
            if attributes[.type] as? FileAttributeType == .typeRegular {
                bytes += (attributes[.size] as? NSNumber)?.doubleValue ?? 0
            }
        }
        return (bytes, inodes)
    }
}
