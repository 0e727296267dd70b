#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemCore

/// Processes, killing, removal and usage of a container's cgroup.
extension ContainerCgroup {
    /// Moves a process (and all its threads) into the cgroup.
    public func addProcess(_ pid: Int32) throws(RuntimeError) {
        try RuntimeError.wrap("moving process \(pid) into cgroup \(path)") { () throws(SystemCallError) in
            try fileSystem.write(directory + "/cgroup.procs", String(pid))
        }
    }

    /// The pids in the cgroup and its descendants (what `runc ps` lists). Empty if it is gone.
    public func processes() throws(RuntimeError) -> [Int32] {
        try RuntimeError.wrap("listing the processes of cgroup \(path)") { () throws(SystemCallError) in
            try processes(in: directory)
        }
    }

    private func processes(in dir: String) throws(SystemCallError) -> [Int32] {
        let text: String
        do {
            text = try fileSystem.read(dir + "/cgroup.procs")
        } catch {
            if error.errno == .noSuchFileOrDirectory { return [] }
            throw error
        }
        var pids = text.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
        let children: [String]
        do {
            children = try fileSystem.subdirectories(dir)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return pids }
            throw error
        }
        for child in children.sorted() { pids += try processes(in: dir + "/" + child) }
        return pids
    }

    /// SIGKILLs every process in the cgroup and its descendants and waits until none is left.
    ///
    /// Uses `cgroup.kill` (Linux 5.14) when present: one atomic write, no fork race. Otherwise
    /// freezes the cgroup (when `cgroup.freeze` exists, so nothing can fork meanwhile), sends
    /// SIGKILL to each listed pid, thaws, and repeats until the cgroup is empty.
    /// Bounded by `attempts` rounds `intervalMilliseconds` apart; a gone cgroup is fine.
    public func killAll(attempts: Int = 200, intervalMilliseconds: Int = 10) throws(RuntimeError) {
        guard fileSystem.exists(directory) else { return }
        let context = "killing the processes of cgroup \(path)"
        if fileSystem.exists(directory + "/cgroup.kill") {
            do {
                try fileSystem.write(directory + "/cgroup.kill", "1")
            } catch {
                if error.errno == .noSuchFileOrDirectory { return }
                throw .system(context: context, error)
            }
            for _ in 0..<max(attempts, 1) {
                if try processes().isEmpty { return }
                fileSystem.pause(milliseconds: intervalMilliseconds)
            }
        } else {
            let freezer = directory + "/cgroup.freeze"
            let canFreeze = fileSystem.exists(freezer)
            for _ in 0..<max(attempts, 1) {
                let pids = try processes()
                if pids.isEmpty { return }
                if canFreeze { try? fileSystem.write(freezer, "1") }
                for pid in pids where pid > 0 {
                    do {
                        try fileSystem.signal(pid, SIGKILL)
                    } catch {
                        if error.errno != .noSuchProcess { throw .system(context: context, error) }
                    }
                }
                // A frozen task still dies of SIGKILL, but thawing lets it finish promptly.
                if canFreeze { try? fileSystem.write(freezer, "0") }
                fileSystem.pause(milliseconds: intervalMilliseconds)
            }
        }
        let left = try processes()
        if !left.isEmpty {
            throw .system(
                context: "\(context): \(left.count) process(es) still present",
                SystemCallError("cgroup.kill", directory, errno: .resourceBusy))
        }
    }

    /// Kills what is left and removes the cgroup with its descendants. Fine if already gone.
    /// rmdir is retried briefly on EBUSY (exiting tasks leave the cgroup asynchronously).
    public func remove(attempts: Int = 100, intervalMilliseconds: Int = 10) throws(RuntimeError) {
        guard fileSystem.exists(directory) else { return }
        try killAll()
        try RuntimeError.wrap("removing cgroup \(path)") { () throws(SystemCallError) in
            try removeTree(directory, attempts: attempts, intervalMilliseconds: intervalMilliseconds)
        }
    }

    private func removeTree(_ dir: String, attempts: Int, intervalMilliseconds: Int) throws(SystemCallError) {
        // The common case, a leaf cgroup: one rmdir (its interface files do not count).
        do {
            try fileSystem.removeDirectory(dir)
            return
        } catch {
            if error.errno == .noSuchFileOrDirectory { return }
            guard error.errno == .directoryNotEmpty || error.errno == .resourceBusy else { throw error }
        }
        let children: [String]
        do {
            children = try fileSystem.subdirectories(dir)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return }
            throw error
        }
        for child in children {
            try removeTree(dir + "/" + child, attempts: attempts, intervalMilliseconds: intervalMilliseconds)
        }
        var attempt = 0
        while true {
            do {
                try fileSystem.removeDirectory(dir)
                return
            } catch {
                if error.errno == .noSuchFileOrDirectory { return }
                attempt += 1
                guard error.errno == .resourceBusy, attempt < attempts else { throw error }
                fileSystem.pause(milliseconds: intervalMilliseconds)
            }
        }
    }

    /// Usage figures; each is nil when its file is absent (controller not enabled).
    public struct Stats: Sendable, Equatable {
        /// memory.current, bytes.
        public var memoryBytes: UInt64?
        /// memory.max, bytes; nil also when unlimited.
        public var memoryLimitBytes: UInt64?
        /// cpu.stat usage_usec (cpu.stat exists without the cpu controller).
        public var cpuUsageMicroseconds: UInt64?
        /// pids.current.
        public var pids: UInt64?
        /// memory.events oom_kill.
        public var oomKills: UInt64?
    }

    public func stats() throws(RuntimeError) -> Stats {
        guard fileSystem.exists(directory) else {
            throw .system(context: "reading cgroup \(path)", SystemCallError("stat", directory, errno: .noSuchFileOrDirectory))
        }
        return Stats(
            memoryBytes: readNumber("memory.current"),
            memoryLimitBytes: readNumber("memory.max"),
            cpuUsageMicroseconds: readKey("cpu.stat", "usage_usec"),
            pids: readNumber("pids.current"),
            oomKills: readKey("memory.events", "oom_kill"))
    }

    private func readNumber(_ file: String) -> UInt64? {
        guard let text = try? fileSystem.read(directory + "/" + file) else { return nil }
        return UInt64(text.trimmingWhitespace)
    }

    private func readKey(_ file: String, _ key: String) -> UInt64? {
        guard let text = try? fileSystem.read(directory + "/" + file) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return UInt64(parts[1]) }
        }
        return nil
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
