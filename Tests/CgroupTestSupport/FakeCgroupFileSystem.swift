#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import SystemCore
import SystemPackage

/// A temp directory that behaves like cgroupfs for the operations the runtime's `ContainerCgroup`
/// and the kubelet's `PodCgroups` perform, so their real logic runs in unit tests without root:
///
/// - mkdir creates the core files (`cgroup.controllers`, `cgroup.subtree_control`,
///   `cgroup.procs`, `cgroup.freeze`, `cpu.stat`, and `cgroup.kill` unless `hasKill` is false)
///   and the interface files of the controllers the parent enabled, with the values a fresh
///   cgroup reads on a real kernel (`cpu.weight` 100, `cpu.max` "max 100000", `memory.max` "max",
///   `io.weight` "default 100", ...); except that `*.current` read 4096 and `cpu.stat` a usage of
///   1234 µs, so a test can tell a figure read from the file from a default of 0;
/// - writes never create files (a missing file is ENOENT, as a missing controller shows);
/// - `cgroup.subtree_control` accepts only controllers listed in `cgroup.controllers` (else
///   ENOENT, like the kernel) and makes their files appear in existing children at once;
/// - a pid written to `cgroup.procs` is added to it; `cgroup.kill` empties `cgroup.procs` in the
///   tree below, kill(2) removes the pid from every `cgroup.procs`;
/// - rmdir answers ENOENT for a missing cgroup and EBUSY for one with child cgroups or
///   processes, like the kernel's cgroup_rmdir (not ENOTEMPTY: interface files do not count).
///
/// Every successful write through the protocol is logged (`writes`), writes to a file name can be
/// made to fail (`failWrites`), signals are recorded (`signals`) and `pause` returns at once.
/// The directory is removed when the fake is released.
public final class FakeCgroupFileSystem: CgroupFileSystem {
    public struct Write: Equatable, Sendable, CustomStringConvertible {
        /// Relative to the root, e.g. "kubepods/cpu.weight".
        public var path: String
        public var value: String
        public var description: String { "\(path)=\(value)" }

        public init(path: String, value: String) {
            self.path = path
            self.value = value
        }
    }

    private struct State {
        var writes: [Write] = []
        var failures: [String: Errno] = [:]  // file name → errno
        var signals: [Int32] = []
    }

    /// The fake hierarchy's root (a fresh temp directory), standing in for the cgroup2 mount point.
    public let root: String
    /// Whether cgroups get `cgroup.kill` (Linux 5.14 and later).
    public let hasKill: Bool
    /// Whether the memory controller has `memory.swap.max` (swap accounting on).
    public let hasSwap: Bool
    /// Whether the io controller has `io.bfq.weight` (the BFQ scheduler).
    public let hasBFQ: Bool
    private let state = Mutex(State())

    /// Each controller's interface files and the value a new cgroup reads from them.
    public static let interfaceFiles: [String: [(file: String, initial: String)]] = [
        "cpu": [("cpu.weight", "100"), ("cpu.max", "max 100000"), ("cpu.max.burst", "0"), ("cpu.idle", "0")],
        "memory": [
            ("memory.max", "max"), ("memory.low", "0"), ("memory.high", "max"), ("memory.swap.max", "max"),
            ("memory.current", "4096"), ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
        ],
        "pids": [("pids.max", "max"), ("pids.current", "4096")],
        "io": [("io.weight", "default 100"), ("io.max", "")],
        "cpuset": [("cpuset.cpus", ""), ("cpuset.mems", "")],
        "hugetlb": [("hugetlb.2MB.max", "max"), ("hugetlb.1GB.max", "max")],
    ]

    /// Makes a fresh root offering `controllers` (like the top of a cgroup2 mount).
    public init(controllers: [String], hasKill: Bool = true, hasSwap: Bool = true, hasBFQ: Bool = false) {
        var template = Array("/tmp/swiftlet-cgroup-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        precondition(made != nil, "mkdtemp failed")
        root = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.hasKill = hasKill
        self.hasSwap = hasSwap
        self.hasBFQ = hasBFQ
        put(root + "/cgroup.controllers", controllers.joined(separator: " ") + "\n")
        put(root + "/cgroup.subtree_control", "")
        put(root + "/cgroup.procs", "")
        put(root + "/cpu.stat", "usage_usec 0\n")
    }

    deinit { try? FileSystem.removeTree(root) }

    // MARK: what tests look at and set up

    /// The writes made through the protocol, in order.
    public var writes: [Write] { state.withLock { $0.writes } }
    /// The pids `signal` was called with, in order.
    public var signals: [Int32] { state.withLock { $0.signals } }
    public func clearWrites() { state.withLock { $0.writes = [] } }

    /// Makes writes to files named `file` (e.g. "memory.max") fail with `errno`.
    public func failWrites(to file: String, errno: Errno) {
        state.withLock { $0.failures[file] = errno }
    }

    /// A file's contents (path relative to the root) as they are; nil if absent.
    public func contents(_ relative: String) -> String? {
        try? FileSystem.readString(root + "/" + relative)
    }

    /// A file's contents (path relative to the root) without trailing newlines; nil if absent.
    public func value(_ relative: String) -> String? {
        contents(relative).map { text in
            var s = text
            while s.hasSuffix("\n") { s.removeLast() }
            return s
        }
    }

    /// Whether a cgroup (path relative to the root) exists.
    public func isCgroup(_ relative: String) -> Bool { FileSystem.isDirectory(root + "/" + relative) }

    /// Creates a cgroup as someone else did (the runtime, an earlier kubelet): not logged.
    public func makeCgroup(_ relative: String) {
        try? makeDirectory(root + "/" + relative)
    }

    /// Puts pids into a cgroup's `cgroup.procs` directly, as if processes were running there.
    public func populate(_ relative: String, pids: [Int32]) {
        put(root + "/" + relative + "/cgroup.procs", pids.map(String.init).joined(separator: "\n"))
    }

    /// A mountinfo text with the fake root as the only cgroup2 mount.
    public var mountInfo: String { "30 25 0:26 / \(root) rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw\n" }

    // MARK: CgroupFileSystem

    public func read(_ path: String) throws(SystemCallError) -> String {
        try FileSystem.readString(path)
    }

    public func write(_ path: String, _ value: String) throws(SystemCallError) {
        let name = String(path.split(separator: "/").last ?? "")
        if let code = state.withLock({ $0.failures[name] }) { throw SystemCallError("write", path, errno: code) }
        guard FileSystem.exists(path) else { throw SystemCallError("open", path, errno: .noSuchFileOrDirectory) }
        let dir = String(path.dropLast(name.count + 1))
        switch name {
        case "cgroup.subtree_control":
            let available = Set(try read(dir + "/cgroup.controllers").split(whereSeparator: \.isWhitespace).map(String.init))
            var enabled = Set(try read(path).split(whereSeparator: \.isWhitespace).map(String.init))
            for token in value.split(whereSeparator: \.isWhitespace) {
                let controller = String(token.dropFirst())
                guard available.contains(controller) else { throw SystemCallError("write", path, errno: .noSuchFileOrDirectory) }
                if token.hasPrefix("+") { enabled.insert(controller) } else { enabled.remove(controller) }
            }
            put(path, enabled.sorted().joined(separator: " "))
            // The kernel makes the interface files appear in existing children at once.
            for child in try subdirectories(dir) { offer(dir + "/" + child, enabled.sorted()) }
        case "cgroup.procs":
            let old = try read(path)
            put(path, old.isEmpty ? value : old + "\n" + value)
        case "cgroup.kill":
            killTree(dir)
        default:
            put(path, value)
        }
        state.withLock { $0.writes.append(Write(path: String(path.dropFirst(root.count + 1)), value: value)) }
    }

    public func makeDirectory(_ path: String) throws(SystemCallError) {
        _ = try sys("mkdir", path) { mkdir(path, 0o755) }
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        let offered = ((try? read(parent + "/cgroup.subtree_control")) ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
        put(path + "/cgroup.subtree_control", "")
        put(path + "/cgroup.procs", "")
        put(path + "/cgroup.freeze", "0")
        put(path + "/cpu.stat", "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n")
        if hasKill { put(path + "/cgroup.kill", "") }
        offer(path, offered)
    }

    public func removeDirectory(_ path: String) throws(SystemCallError) {
        guard FileSystem.isDirectory(path) else { throw SystemCallError("rmdir", path, errno: .noSuchFileOrDirectory) }
        // cgroup_rmdir: EBUSY while the cgroup has live children or processes.
        if !(try subdirectories(path)).isEmpty { throw SystemCallError("rmdir", path, errno: .resourceBusy) }
        if !((try? read(path + "/cgroup.procs")) ?? "").isEmpty { throw SystemCallError("rmdir", path, errno: .resourceBusy) }
        try FileSystem.removeTree(path)
    }

    public func exists(_ path: String) -> Bool { FileSystem.exists(path) }

    public func subdirectories(_ path: String) throws(SystemCallError) -> [String] {
        try FileSystem.listSubdirectories(path)
    }

    public func signal(_ pid: Int32, _ signal: Int32) throws(SystemCallError) {
        state.withLock { $0.signals.append(pid) }
        removePid(pid, below: root)
    }

    public func pause(milliseconds: Int) {}

    // MARK: helpers

    /// Sets `cgroup.controllers` and creates the files of newly offered controllers.
    private func offer(_ dir: String, _ controllers: [String]) {
        put(dir + "/cgroup.controllers", controllers.joined(separator: " "))
        for controller in controllers {
            for (file, initial) in Self.interfaceFiles[controller] ?? [] where !FileSystem.exists(dir + "/" + file) {
                if file == "memory.swap.max" && !hasSwap { continue }
                put(dir + "/" + file, initial)
            }
            if controller == "io" && hasBFQ && !FileSystem.exists(dir + "/io.bfq.weight") {
                put(dir + "/io.bfq.weight", "default 100")
            }
        }
    }

    private func killTree(_ dir: String) {
        put(dir + "/cgroup.procs", "")
        for child in (try? subdirectories(dir)) ?? [] { killTree(dir + "/" + child) }
    }

    private func removePid(_ pid: Int32, below dir: String) {
        if let text = try? read(dir + "/cgroup.procs"), !text.isEmpty {
            let kept = text.split(whereSeparator: \.isWhitespace).filter { $0 != Substring(String(pid)) }
            put(dir + "/cgroup.procs", kept.joined(separator: "\n"))
        }
        for child in (try? subdirectories(dir)) ?? [] { removePid(pid, below: dir + "/" + child) }
    }

    /// Creates or replaces a file the way the kernel would show it (test set-up, not logged).
    private func put(_ path: String, _ content: String) {
        do { try FileSystem.writeAtomically(path, content, mode: 0o644, durable: false) } catch {
            preconditionFailure("FakeCgroupFileSystem cannot write \(path): \(error)")
        }
    }
}
