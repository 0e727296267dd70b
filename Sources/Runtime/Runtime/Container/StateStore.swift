#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import SystemCore

/// The runtime's state directory (`--root`): one directory per container holding state.json,
/// the exec fifo and a lock file. Writes are atomic; commands on one container serialize on
/// its lock.
public struct StateStore: Sendable {
    public let root: String

    public init(root: String) throws(RuntimeError) {
        self.root = root
        // Every verb runs this: one mkdir when the root exists (the usual case), the full
        // mkdir -p only when it does not.
        if mkdir(root, 0o711) == 0 || currentErrno() == EEXIST && FileSystem.isDirectory(root) { return }
        try RuntimeError.wrap("creating the state directory \(root)") { () throws(SystemCallError) in
            try FileSystem.createDirectories(root, mode: 0o711)
        }
    }

    public func directory(_ id: String) -> String { root + "/" + id }
    public func fifoPath(_ id: String) -> String { directory(id) + "/exec.fifo" }

    /// Container ids are file names: letters, digits and `_+-.`, not starting with a dot.
    public static func validate(id: String) throws(RuntimeError) {
        func allowed(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."): true
            default: false
            }
        }
        guard !id.isEmpty, id.utf8.count <= 1024, !id.hasPrefix("."), id.utf8.allSatisfy(allowed) else {
            throw .invalidArgument(name: "container id", reason: "\"\(id)\" must be letters, digits and _+-. (not starting with a dot)")
        }
    }

    /// Takes the container's lock (blocking) for the duration of `body`.
    public func withLock<T>(_ id: String, _ body: () throws(RuntimeError) -> T) throws(RuntimeError) -> T {
        let lock: FileLock
        do {
            lock = try FileLock(path: root + "/." + id + ".lock")
        } catch {
            throw .system(context: "locking container \(id)", error)
        }
        let result = try body()
        _ = consume lock
        return result
    }

    /// Creates the container's directory; fails if the id is taken.
    public func reserve(_ id: String) throws(RuntimeError) {
        if mkdir(directory(id), 0o711) != 0 {
            let code = currentErrno()
            if code == EEXIST { throw .containerExists(id: id) }
            throw .system(context: "creating the container's state directory", SystemCallError("mkdir", directory(id), errno: .init(rawValue: code)))
        }
    }

    public func exists(_ id: String) -> Bool { FileSystem.exists(directory(id) + "/state.json") }

    public func save(_ record: ContainerRecord) throws(RuntimeError) {
        try RuntimeError.wrap("saving the state of \(record.id)") { () throws(SystemCallError) in
            // Atomic, not durable: the state lives as long as the processes it describes (a reboot
            // ends both), so fsync would only add latency to every create.
            try FileSystem.writeAtomically(directory(record.id) + "/state.json", record.jsonBytes(), durable: false)
        }
    }

    /// Saves the container's config beside its state (see `ContainerRecord`): the bundle's
    /// config.json bytes as read at create, so nothing is re-encoded (it decodes to the same
    /// spec, and the bundle may change or go away after create).
    public func saveConfig(_ bytes: [UInt8], for id: String) throws(RuntimeError) {
        try RuntimeError.wrap("saving the config of \(id)") { () throws(SystemCallError) in
            try FileSystem.writeAtomically(directory(id) + "/config.json", bytes, durable: false)
        }
    }

    public func loadConfig(_ id: String) throws(RuntimeError) -> Spec {
        let path = directory(id) + "/config.json"
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readBytes(path)
        } catch {
            if error.errno == .noSuchFileOrDirectory { throw .containerNotFound(id: id) }
            throw .system(context: "reading the config of \(id)", error)
        }
        return try Spec.decode(bytes, file: path)
    }

    public func load(_ id: String) throws(RuntimeError) -> ContainerRecord {
        let path = directory(id) + "/state.json"
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readBytes(path)
        } catch {
            if error.errno == .noSuchFileOrDirectory { throw .containerNotFound(id: id) }
            throw .system(context: "reading the state of \(id)", error)
        }
        if let record = ContainerRecord.fastDecode(bytes) { return record }
        return try decodeJSON(ContainerRecord.self, bytes, file: path)
    }

    /// Removes the container's directory and lock file.
    public func remove(_ id: String) throws(RuntimeError) {
        try RuntimeError.wrap("removing the state of \(id)") { () throws(SystemCallError) in
            try FileSystem.removeTree(directory(id))
        }
        unlink(root + "/." + id + ".lock")
    }

    /// Ids of all containers with a state file.
    public func ids() throws(RuntimeError) -> [String] {
        let names = try RuntimeError.wrap("listing \(root)") { () throws(SystemCallError) in try FileSystem.listDirectory(root) }
        return names.filter { !$0.hasPrefix(".") && exists($0) }.sorted()
    }

    /// The derived status of a recorded container.
    public func status(of record: ContainerRecord) -> ContainerStatus {
        guard ProcessTable.isAlive(record.pid, startTime: record.initStartTime) else { return .stopped }
        return FileSystem.exists(fifoPath(record.id)) ? .created : .running
    }

    public func document(for record: ContainerRecord) -> ContainerStateDocument {
        let status = status(of: record)
        return ContainerStateDocument(
            ociVersion: Spec.version, id: record.id, pid: status == .stopped ? 0 : record.pid, status: status,
            bundle: record.bundle, rootfs: record.rootfs, created: record.created, owner: record.owner,
            annotations: record.annotations)
    }
}
