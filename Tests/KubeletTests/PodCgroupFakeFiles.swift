#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SystemCore
import SystemPackage

@testable import KubeletCore

/// A temp directory that behaves like cgroupfs for what `PodCgroups` does: mkdir makes the
/// interface files of the controllers the parent enabled, writes never create files,
/// `cgroup.subtree_control` accepts only controllers listed in `cgroup.controllers` and makes
/// them available to the children, `cgroup.kill` empties `cgroup.procs` below it, rmdir refuses a
/// cgroup with children (ENOTEMPTY) or processes (EBUSY). Every write is logged.
///
/// Not shared with `Tests/RuntimeTests/CgroupFakeFileSystem.swift`, which fakes the same
/// cgroupfs rules for the runtime: SwiftPM test targets cannot import each other, KubeletCore does
/// not depend on Runtime, and the two sides fake different protocols (`CgroupFiles` here,
/// Runtime's `CgroupFileSystem`, which has no `pause`). One fake needs one protocol (e.g. in
/// SystemCore, implemented by both libraries) and a test-support target both test targets depend
/// on, i.e. a Package.swift change (requested from the lead).
final class PodCgroupFakeFiles: CgroupFiles {
    struct Write: Equatable, CustomStringConvertible {
        var path: String  // relative to the root, e.g. "kubepods/cpu.weight"
        var value: String
        var description: String { "\(path)=\(value)" }
    }

    private struct State {
        var writes: [Write] = []
        var failures: [String: Errno] = [:]  // file name → errno
        var signals: [Int32] = []
    }

    let root: String
    let hasKill: Bool
    private let state = Mutex(State())

    static let interfaceFiles: [String: [(String, String)]] = [
        "cpu": [("cpu.weight", "100"), ("cpu.max", "max 100000")],
        "memory": [("memory.max", "max"), ("memory.events", "oom 0\noom_kill 0\n")],
        "pids": [("pids.max", "max")],
        "io": [("io.weight", "default 100")],
        "cpuset": [("cpuset.cpus", "")],
        "hugetlb": [("hugetlb.2MB.max", "max")],
    ]

    init(controllers: [String], hasKill: Bool = true) {
        var template = Array("/tmp/swiftlet-podcgroup-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        precondition(made != nil, "mkdtemp failed")
        root = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.hasKill = hasKill
        put(root + "/cgroup.controllers", controllers.joined(separator: " ") + "\n")
        put(root + "/cgroup.subtree_control", "")
        put(root + "/cgroup.procs", "")
    }

    deinit { try? FileSystem.removeTree(root) }

    var writes: [Write] { state.withLock { $0.writes } }
    var signals: [Int32] { state.withLock { $0.signals } }
    func clearWrites() { state.withLock { $0.writes = [] } }

    func failWrites(to file: String, errno: Errno) { state.withLock { $0.failures[file] = errno } }

    /// The value of a file (relative path), trimmed; nil if absent.
    func value(_ relative: String) -> String? {
        (try? FileSystem.readString(root + "/" + relative)).map { $0.trimmingSuffixNewlines() }
    }

    func isCgroup(_ relative: String) -> Bool { FileSystem.isDirectory(root + "/" + relative) }

    /// Creates a cgroup as the runtime would (not logged).
    func makeCgroup(_ relative: String) { try? makeDirectory(root + "/" + relative) }

    /// Pretends processes run in a cgroup.
    func populate(_ relative: String, pids: [Int32]) {
        put(root + "/" + relative + "/cgroup.procs", pids.map(String.init).joined(separator: "\n"))
    }

    /// A mountinfo text with the fake root as the only cgroup2 mount.
    var mountInfo: String { "30 25 0:26 / \(root) rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw\n" }

    // MARK: CgroupFiles

    func read(_ path: String) throws(SystemCallError) -> String { try FileSystem.readString(path) }

    func write(_ path: String, _ value: String) throws(SystemCallError) {
        let name = String(path.split(separator: "/").last ?? "")
        if let code = state.withLock({ $0.failures[name] }) { throw SystemCallError("write", path, errno: code) }
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
            for child in try subdirectories(dir) { offer(dir + "/" + child, enabled.sorted()) }
        case "cgroup.kill":
            killTree(dir)
        default:
            put(path, value)
        }
        state.withLock { $0.writes.append(Write(path: String(path.dropFirst(root.count + 1)), value: value)) }
    }

    func makeDirectory(_ path: String) throws(SystemCallError) {
        _ = try sys("mkdir", path) { mkdir(path, 0o755) }
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        let offered = ((try? read(parent + "/cgroup.subtree_control")) ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
        put(path + "/cgroup.subtree_control", "")
        put(path + "/cgroup.procs", "")
        if hasKill { put(path + "/cgroup.kill", "") }
        offer(path, offered)
    }

    func removeDirectory(_ path: String) throws(SystemCallError) {
        guard FileSystem.isDirectory(path) else { throw SystemCallError("rmdir", path, errno: .noSuchFileOrDirectory) }
        if !(try subdirectories(path)).isEmpty { throw SystemCallError("rmdir", path, errno: .directoryNotEmpty) }
        if !((try? read(path + "/cgroup.procs")) ?? "").isEmpty { throw SystemCallError("rmdir", path, errno: .resourceBusy) }
        try FileSystem.removeTree(path)
    }

    func exists(_ path: String) -> Bool { FileSystem.exists(path) }

    func subdirectories(_ path: String) throws(SystemCallError) -> [String] { try FileSystem.listSubdirectories(path) }

    func signal(_ pid: Int32, _ signal: Int32) throws(SystemCallError) {
        state.withLock { $0.signals.append(pid) }
        removePid(pid, below: root)
    }

    func pause(milliseconds: Int) {}

    // MARK: helpers

    private func offer(_ dir: String, _ controllers: [String]) {
        put(dir + "/cgroup.controllers", controllers.joined(separator: " "))
        for controller in controllers {
            for (file, initial) in Self.interfaceFiles[controller] ?? [] where !FileSystem.exists(dir + "/" + file) {
                put(dir + "/" + file, initial)
            }
        }
    }

    private func killTree(_ dir: String) {
        put(dir + "/cgroup.procs", "")
        for child in (try? subdirectories(dir)) ?? [] { killTree(dir + "/" + child) }
    }

    private func removePid(_ pid: Int32, below dir: String) {
        if let text = try? read(dir + "/cgroup.procs") {
            let kept = text.split(whereSeparator: \.isWhitespace).filter { $0 != Substring(String(pid)) }
            put(dir + "/cgroup.procs", kept.joined(separator: "\n"))
        }
        for child in (try? subdirectories(dir)) ?? [] { removePid(pid, below: dir + "/" + child) }
    }

    private func put(_ path: String, _ value: String) {
        try? FileSystem.writeAtomically(path, value, mode: 0o644, durable: false)
    }
}

extension String {
    fileprivate func trimmingSuffixNewlines() -> String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
