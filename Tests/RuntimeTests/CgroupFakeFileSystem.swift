#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SystemCore
@testable import Runtime

/// A temp directory that behaves like cgroupfs for the operations `ContainerCgroup` uses:
/// mkdir creates the interface files of the controllers the parent enabled, writes never create
/// files, `cgroup.subtree_control` accepts only controllers in `cgroup.controllers`, `cgroup.kill`
/// and kill(2) empty `cgroup.procs`, rmdir refuses a populated cgroup. Every write is logged.
final class CgroupFakeFileSystem: CgroupFileSystem {
    struct Write: Equatable, CustomStringConvertible {
        var path: String  // relative to the root, e.g. "swiftlet/c1/memory.max"
        var value: String
        var description: String { "\(path)=\(value)" }
    }

    private struct State {
        var writes: [Write] = []
        var failures: [String: Int32] = [:]  // file name → errno
        var signals: [Int32] = []
    }

    let root: String
    let hasKill: Bool
    let hasSwap: Bool
    let hasBFQ: Bool
    private let state = Mutex(State())

    /// Makes a fresh root offering `controllers` (like the top of a cgroup2 mount).
    init(controllers: [String], hasKill: Bool = true, hasSwap: Bool = true, hasBFQ: Bool = false) {
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

    var hierarchy: CgroupHierarchy { CgroupHierarchy(mountPoint: root, fileSystem: self) }
    var writes: [Write] { state.withLock { $0.writes } }
    var signals: [Int32] { state.withLock { $0.signals } }

    /// Makes writes to files named `file` fail with `errno`.
    func failWrites(to file: String, errno: Int32) {
        state.withLock { $0.failures[file] = errno }
    }

    /// Creates a cgroup as someone else did (not logged).
    func makeCgroup(_ relative: String) {
        try? makeDirectory(root + "/" + relative)
    }

    /// Puts pids into a cgroup's cgroup.procs directly (as if processes were running there).
    func populate(_ relative: String, pids: [Int32]) {
        put(root + "/" + relative + "/cgroup.procs", pids.map(String.init).joined(separator: "\n"))
    }

    func contents(_ relative: String) -> String? {
        try? FileSystem.readString(root + "/" + relative)
    }

    // MARK: CgroupFileSystem

    func read(_ path: String) throws(SystemCallError) -> String {
        try FileSystem.readString(path)
    }

    func write(_ path: String, _ value: String) throws(SystemCallError) {
        let name = String(path.split(separator: "/").last ?? "")
        let relative = String(path.dropFirst(root.count + 1))
        if let code = state.withLock({ $0.failures[name] }) {
            throw SystemCallError("write", path, errno: .init(rawValue: code))
        }
        guard FileSystem.exists(path) else { throw SystemCallError("open", path, errno: .noSuchFileOrDirectory) }
        let dir = String(path.dropLast(name.count + 1))
        switch name {
        case "cgroup.subtree_control":
            let available = Set(try read(dir + "/cgroup.controllers").split(whereSeparator: \.isWhitespace).map(String.init))
            var enabled = Set(try read(path).split(whereSeparator: \.isWhitespace).map(String.init))
            for token in value.split(separator: " ") {
                let controller = String(token.dropFirst())
                guard available.contains(controller) else { throw SystemCallError("write", path, errno: .noSuchFileOrDirectory) }
                if token.hasPrefix("+") { enabled.insert(controller) } else { enabled.remove(controller) }
            }
            put(path, enabled.sorted().joined(separator: " "))
            // The kernel makes the interface files appear in existing children at once.
            for child in try subdirectories(dir) { populateInterfaceFiles(dir + "/" + child, offered: enabled.sorted().joined(separator: " ")) }
        case "cgroup.procs":
            let old = try read(path)
            put(path, old.isEmpty ? value : old + "\n" + value)
        case "cgroup.kill":
            killTree(dir)
        default:
            put(path, value)
        }
        state.withLock { $0.writes.append(Write(path: relative, value: value)) }
    }

    func makeDirectory(_ path: String) throws(SystemCallError) {
        _ = try sys("mkdir", path) { mkdir(path, 0o755) }
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        let offered = (try? read(parent + "/cgroup.subtree_control")) ?? ""
        put(path + "/cgroup.subtree_control", "")
        put(path + "/cgroup.procs", "")
        put(path + "/cgroup.freeze", "0")
        put(path + "/cpu.stat", "usage_usec 1234\nuser_usec 1000\n")
        if hasKill { put(path + "/cgroup.kill", "") }
        populateInterfaceFiles(path, offered: offered)
    }

    /// Sets cgroup.controllers and creates the files of newly offered controllers.
    private func populateInterfaceFiles(_ path: String, offered: String) {
        put(path + "/cgroup.controllers", offered)
        for controller in offered.split(separator: " ") {
            for file in Self.files[String(controller)] ?? [] where !FileSystem.exists(path + "/" + file) {
                if file == "memory.swap.max" && !hasSwap { continue }
                put(path + "/" + file, file.hasSuffix(".current") ? "4096" : "max")
            }
            if controller == "io" && hasBFQ && !FileSystem.exists(path + "/io.bfq.weight") {
                put(path + "/io.bfq.weight", "default 100")
            }
        }
    }

    func removeDirectory(_ path: String) throws(SystemCallError) {
        if try !subdirectories(path).isEmpty { throw SystemCallError("rmdir", path, errno: .resourceBusy) }
        if let procs = try? read(path + "/cgroup.procs"), !procs.isEmpty {
            throw SystemCallError("rmdir", path, errno: .resourceBusy)
        }
        for name in try FileSystem.listDirectory(path) { unlink(path + "/" + name) }
        _ = try sys("rmdir", path) { rmdir(path) }
    }

    func exists(_ path: String) -> Bool { FileSystem.exists(path) }

    func subdirectories(_ path: String) throws(SystemCallError) -> [String] {
        try FileSystem.listDirectory(path).filter { FileSystem.isDirectory(path + "/" + $0) }
    }

    func signal(_ pid: Int32, _ signal: Int32) throws(SystemCallError) {
        state.withLock { $0.signals.append(pid) }
        removePid(pid, under: root)
    }

    func pause(milliseconds: Int) {}

    // MARK: helpers

    static let files: [String: [String]] = [
        "memory": ["memory.max", "memory.low", "memory.high", "memory.swap.max", "memory.current"],
        "cpu": ["cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle"],
        "cpuset": ["cpuset.cpus", "cpuset.mems"],
        "pids": ["pids.max", "pids.current"],
        "io": ["io.weight", "io.max"],
        "hugetlb": ["hugetlb.2MB.max", "hugetlb.1GB.max"],
    ]

    private func put(_ path: String, _ content: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "cannot write \(path)")
        var bytes = Array(content.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    private func killTree(_ dir: String) {
        put(dir + "/cgroup.procs", "")
        for child in (try? subdirectories(dir)) ?? [] { killTree(dir + "/" + child) }
    }

    private func removePid(_ pid: Int32, under dir: String) {
        if let text = try? read(dir + "/cgroup.procs"), !text.isEmpty {
            let kept = text.split(separator: "\n").filter { $0 != String(pid) }
            put(dir + "/cgroup.procs", kept.joined(separator: "\n"))
        }
        for child in (try? subdirectories(dir)) ?? [] { removePid(pid, under: dir + "/" + child) }
    }
}
