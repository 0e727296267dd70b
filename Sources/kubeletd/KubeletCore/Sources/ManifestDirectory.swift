import SystemCore

/// A change the static pod source reports.
public enum PodSourceEvent: Sendable {
    case added(Pod)
    /// The manifest changed: stop `old`, start `new` (a new UID).
    case replaced(old: Pod, new: Pod)
    case removed(Pod)
    /// A manifest could not be used; the pod it held before (if any) keeps running.
    case invalid(ManifestError)
}

/// The desired set of static pods read from one directory, and the diff between two reads.
///
/// Owned by the static pod source's watcher loop.
public struct ManifestDirectory: Sendable {
    public let path: String
    public let nodeName: String
    /// file path → pod it defines.
    public private(set) var pods: [String: Pod] = [:]
    /// file path → contents last reported as invalid (so a resync does not repeat the report).
    private var reportedInvalid: [String: [UInt8]] = [:]
    /// file path → contents that produced `pods[file]` (unchanged files are not re-parsed).
    private var loaded: [String: [UInt8]] = [:]

    public init(path: String, nodeName: String) {
        self.path = path
        self.nodeName = nodeName
    }

    /// Manifest files: regular files whose names do not start with '.' (like upstream), sorted.
    public static func manifestFiles(in directory: String) throws(SystemCallError) -> [String] {
        try FileSystem.listDirectory(directory).filter { !$0.hasPrefix(".") }.sorted()
            .map { directory.hasSuffix("/") ? directory + $0 : "\(directory)/\($0)" }
            .filter { FileSystem.exists($0) && !FileSystem.isDirectory($0) }
    }

    /// Re-reads the directory and returns what changed since the last call. A missing directory
    /// counts as empty (upstream waits for it to appear).
    public mutating func resync() -> [PodSourceEvent] {
        var files: [String: [UInt8]] = [:]
        var events: [PodSourceEvent] = []
        if FileSystem.isDirectory(path) {
            do {
                for file in try ManifestDirectory.manifestFiles(in: path) {
                    do { files[file] = try FileSystem.readBytes(file) } catch {
                        // Vanished between list and read: treat as gone.
                        continue
                    }
                }
            } catch {
                events.append(.invalid(ManifestError(source: path, message: "cannot list manifest directory: \(error)")))
                return events
            }
        }
        return apply(files: files, events: events)
    }

    /// The diff logic, separate from the file system for unit tests.
    public mutating func apply(files: [String: [UInt8]], events initial: [PodSourceEvent] = []) -> [PodSourceEvent] {
        var events = initial
        var seenNames: [String: String] = [:]
        for (file, bytes) in files.sorted(by: { $0.key < $1.key }) {
            if let current = pods[file], loaded[file] == bytes {
                seenNames[current.fullName] = file
                continue
            }
            let pod: Pod
            do {
                pod = try StaticPod.load(bytes, source: file, nodeName: nodeName)
            } catch {
                if reportedInvalid[file] != bytes {
                    reportedInvalid[file] = bytes
                    events.append(.invalid(error))
                }
                continue
            }
            let key = pod.fullName
            if let other = seenNames[key] {
                let error = ManifestError(source: file, message: "metadata.name: Duplicate value: \"\(pod.metadata.name ?? "")\": already defined by \(other)")
                if reportedInvalid[file] != bytes {
                    reportedInvalid[file] = bytes
                    events.append(.invalid(error))
                }
                continue
            }
            seenNames[key] = file
            reportedInvalid[file] = nil
            loaded[file] = bytes
            if let old = pods[file] {
                if old.metadata.uid != pod.metadata.uid {
                    pods[file] = pod
                    events.append(.replaced(old: old, new: pod))
                }
            } else {
                pods[file] = pod
                events.append(.added(pod))
            }
        }
        for (file, pod) in pods.sorted(by: { $0.key < $1.key }) where files[file] == nil {
            pods[file] = nil
            loaded[file] = nil
            events.append(.removed(pod))
        }
        for file in reportedInvalid.keys where files[file] == nil { reportedInvalid[file] = nil }
        return events
    }
}
