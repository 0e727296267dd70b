/// One write to a cgroup v2 interface file of the container's cgroup.
public struct CgroupWrite: Sendable, Equatable, CustomStringConvertible {
    /// Interface file name, relative to the cgroup directory (`memory.max`).
    public var file: String
    /// The exact bytes written (one line; multi-line settings are several writes to one file).
    public var value: String
    /// The controller that must be enabled for `file` to exist; nil for cgroup core files.
    public var controller: String?
    /// The config.json path that asked for this write (`linux.resources.memory.limit`).
    public var field: String
    /// A missing file (ENOENT) is not an error: `memory.swap.max` set to "max"/"0" on a kernel
    /// without swap accounting, `hugetlb.*.rsvd.max` on kernels before 5.7 (runc does the same).
    public var optional: Bool

    public init(file: String, value: String, controller: String?, field: String, optional: Bool = false) {
        self.file = file
        self.value = value
        self.controller = controller
        self.field = field
        self.optional = optional
    }

    public var description: String { "\(file) = \"\(value)\"" }
}

/// How `linux.resources` maps onto cgroup v2 files: the ordered writes, the controllers they
/// need, and the fields that cgroup v2 has no place for. Pure: no I/O, unit-tested as a table.
///
/// The mapping follows runc (libcontainer `fs2` + `specconv`) and crun on cgroup v2:
/// - memory: `swap` is memory+swap (a v1 notion) and is converted to `memory.swap.max =
///   swap − limit` (runc's `ConvertMemorySwapToCgroupV2Value`); -1 means "max"; 0 means unset.
///   Written in runc's order: `memory.swap.max`, `memory.max`, `memory.low`.
/// - memory.swappiness, memory.disableOOMKiller and blockIO leafWeight exist only on v1; like runc
///   they are not applied on v2. They are listed in `ignored` so the caller can say so. Kernel
///   memory (`kernel`, `kernelTCP`) is not even decoded (runc warns and ignores it).
/// - cpu: shares → `cpu.weight` = 1 + ((shares − 2) · 9999) / 262142, shares clamped to the v1
///   kernel's range 2…262144 (so 2 → 1, 1024 → 39, 262144 → 10000); 0 means unset.
///   quota/period → `cpu.max` "QUOTA PERIOD", "max PERIOD" when quota is unset or -1, period
///   defaulting to 100000. burst → `cpu.max.burst` after `cpu.max`.
/// - pids.limit → `pids.max`; a limit ≤ 0 means no limit ("max").
/// - blockIO weight (10…1000): with BFQ (`io.bfq.weight` exists) written as is there, as runc
///   does; otherwise converted to `io.weight` = 1 + ((w − 10) · 9999) / 990. weightDevice goes to
///   the same file as "MAJ:MIN W" (converted for `io.weight`, like crun). Throttles → `io.max`
///   "MAJ:MIN rbps=N" (wbps, riops, wiops); a rate of 0 (v1: no limit) is written as "max".
/// - hugepageLimits → `hugetlb.<size>.max` (and `hugetlb.<size>.rsvd.max` where it exists).
/// - unified: written last, key by key in sorted order, each line of a value a separate write.
/// - `devices` is not a file on v2 (it is an eBPF program) and is not handled here.
public struct CgroupSettings: Sendable, Equatable {
    public private(set) var writes: [CgroupWrite] = []
    /// Fields set in the config that cgroup v2 cannot apply, each with the reason.
    public private(set) var ignored: [String] = []

    /// Controllers the unified keys may name. `cgroup.*` core files are limited to `allowedCoreFiles`.
    public static let knownControllers: Set<String> = ["cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc"]
    /// Core files a config may set through `unified`; the rest (`cgroup.procs`, `cgroup.kill`,
    /// `cgroup.subtree_control`, ...) belong to the runtime.
    public static let allowedCoreFiles: Set<String> = ["cgroup.max.depth", "cgroup.max.descendants"]

    /// - Parameter ioBFQ: whether the cgroup has `io.bfq.weight` (the BFQ scheduler is in use).
    public init(_ resources: Spec.Resources?, ioBFQ: Bool = false) throws(RuntimeError) {
        guard let resources else { return }
        if let pids = resources.pids { addPids(pids) }
        if let memory = resources.memory { try addMemory(memory) }
        if let blockIO = resources.blockIO { try addBlockIO(blockIO, bfq: ioBFQ) }
        if let cpu = resources.cpu { try addCPU(cpu) }
        if let limits = resources.hugepageLimits { try addHugepages(limits) }
        if let unified = resources.unified { try addUnified(unified) }
    }

    /// Every controller some write needs.
    public var controllers: Set<String> { Set(writes.compactMap(\.controller)) }

    /// The config sections that need `controller`, for error messages ("linux.resources.memory").
    public func fields(needing controller: String) -> [String] {
        var seen: [String] = []
        for write in writes where write.controller == controller {
            let section = Self.section(of: write)
            if !seen.contains(section) { seen.append(section) }
        }
        return seen
    }

    /// The writes that remain when `controllers` are unavailable (the opt-out path).
    public func removing(controllers: Set<String>) -> CgroupSettings {
        var copy = self
        copy.writes.removeAll { $0.controller.map(controllers.contains) ?? false }
        return copy
    }

    static func section(of write: CgroupWrite) -> String {
        if write.field.hasPrefix("linux.resources.unified.") || write.controller == "cpuset" { return write.field }
        let parts = write.field.split(separator: ".", maxSplits: 3)
        guard parts.count >= 3 else { return write.field }
        var third = parts[2]
        if let bracket = third.firstIndex(of: "[") { third = third[..<bracket] }
        return "\(parts[0]).\(parts[1]).\(third)"
    }

    private mutating func add(_ file: String, _ value: String, _ controller: String?, _ field: String, optional: Bool = false) {
        writes.append(CgroupWrite(file: file, value: value, controller: controller, field: field, optional: optional))
    }

    // MARK: pids

    private mutating func addPids(_ pids: Spec.Pids) {
        add("pids.max", pids.limit > 0 ? String(pids.limit) : "max", "pids", "linux.resources.pids.limit")
    }

    // MARK: memory

    private mutating func addMemory(_ memory: Spec.Memory) throws(RuntimeError) {
        let base = "linux.resources.memory"
        let limit = try Self.memoryValue(memory.limit, field: "\(base).limit")
        let reservation = try Self.memoryValue(memory.reservation, field: "\(base).reservation")
        if let swap = try Self.swapMax(swap: memory.swap, limit: memory.limit) {
            // "max" and "0" may be written where swap accounting is off: nothing to limit then.
            add("memory.swap.max", swap, "memory", "\(base).swap", optional: swap == "max" || swap == "0")
        }
        if let limit { add("memory.max", limit, "memory", "\(base).limit") }
        if let reservation { add("memory.low", reservation, "memory", "\(base).reservation") }
        if memory.swappiness != nil {
            ignored.append("\(base).swappiness: cgroup v2 has no per-cgroup swappiness")
        }
        if memory.disableOOMKiller == true {
            ignored.append("\(base).disableOOMKiller: cgroup v2 cannot disable the OOM killer")
        }
    }

    /// nil/0 → unset, -1 → "max", positive → decimal (runc's `numToStr`).
    static func memoryValue(_ value: Int64?, field: String) throws(RuntimeError) -> String? {
        guard let value, value != 0 else { return nil }
        if value == -1 { return "max" }
        guard value > 0 else { throw .invalidConfig(field: field, reason: "must be a byte count or -1 (unlimited), got \(value)") }
        return String(value)
    }

    /// `memory.swap.max` from the OCI memory+swap value; nil when nothing is to be written.
    static func swapMax(swap: Int64?, limit: Int64?) throws(RuntimeError) -> String? {
        let field = "linux.resources.memory.swap"
        let swap = swap ?? 0
        let limit = limit ?? 0
        switch swap {
        case 0:
            // Unlimited memory with swap unset means unlimited swap too (v1 compatibility).
            return limit == -1 ? "max" : nil
        case -1:
            return "max"
        case ..<(-1):
            throw .invalidConfig(field: field, reason: "must be a byte count or -1 (unlimited), got \(swap)")
        default:
            break
        }
        if limit == -1 { return String(swap) }
        guard limit > 0 else {
            throw .invalidConfig(field: field, reason: "a swap limit needs linux.resources.memory.limit to be set")
        }
        guard swap >= limit else {
            throw .invalidConfig(
                field: field,
                reason: "memory+swap limit \(swap) is less than linux.resources.memory.limit \(limit)")
        }
        return String(swap - limit)
    }

    // MARK: cpu

    private mutating func addCPU(_ cpu: Spec.CPU) throws(RuntimeError) {
        let base = "linux.resources.cpu"
        var weight: String?
        if let shares = cpu.shares, shares != 0 { weight = String(Self.cpuWeight(shares: shares)) }
        var idle: String?
        if let value = cpu.idle {
            guard value == 0 || value == 1 else {
                throw .invalidConfig(field: "\(base).idle", reason: "must be 0 or 1, got \(value)")
            }
            idle = String(value)
        }
        // The kernel refuses cpu.weight while cpu.idle is 1: leave idle last when turning it on,
        // first when turning it off.
        if let idle, idle == "0" { add("cpu.idle", idle, "cpu", "\(base).idle") }
        if let weight { add("cpu.weight", weight, "cpu", "\(base).shares") }
        if let idle, idle == "1" { add("cpu.idle", idle, "cpu", "\(base).idle") }

        let quota = cpu.quota ?? 0
        let period = cpu.period ?? 0
        if quota != 0 || period != 0 {
            if quota < -1 || (quota > 0 && quota < 1000) {
                throw .invalidConfig(field: "\(base).quota", reason: "must be -1 (unlimited) or at least 1000 microseconds, got \(quota)")
            }
            if period != 0 && !(1000...1_000_000).contains(period) {
                throw .invalidConfig(field: "\(base).period", reason: "must be between 1000 and 1000000 microseconds, got \(period)")
            }
            let effectivePeriod = period == 0 ? 100_000 : period
            let max = quota > 0 ? String(quota) : "max"
            add("cpu.max", "\(max) \(effectivePeriod)", "cpu", quota != 0 ? "\(base).quota" : "\(base).period")
        }
        if let burst = cpu.burst {
            if quota > 0 && burst > UInt64(quota) {
                throw .invalidConfig(field: "\(base).burst", reason: "must not exceed linux.resources.cpu.quota (\(quota)), got \(burst)")
            }
            add("cpu.max.burst", String(burst), "cpu", "\(base).burst")
        }
        if let cpus = cpu.cpus, !cpus.isEmpty {
            add("cpuset.cpus", try Self.cpuList(cpus, field: "\(base).cpus"), "cpuset", "\(base).cpus")
        }
        if let mems = cpu.mems, !mems.isEmpty {
            add("cpuset.mems", try Self.cpuList(mems, field: "\(base).mems"), "cpuset", "\(base).mems")
        }
    }

    /// The shares → weight conversion (v1 kernel range 2…262144 onto v2's 1…10000).
    public static func cpuWeight(shares: UInt64) -> UInt64 {
        let clamped = min(max(shares, 2), 262_144)
        return 1 + ((clamped - 2) * 9999) / 262_142
    }

    /// A kernel list such as "0-3,8,10-11" (also "0-7:2" strides); whitespace trimmed.
    static func cpuList(_ text: String, field: String) throws(RuntimeError) -> String {
        let trimmed = String(text.filter { $0 != " " && $0 != "\t" && $0 != "\n" })
        let allowed: Set<Character> = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ",", "-", ":", "/"]
        guard !trimmed.isEmpty, trimmed.allSatisfy(allowed.contains), trimmed.first?.isNumber == true,
            trimmed.last?.isNumber == true
        else {
            throw .invalidConfig(field: field, reason: "not a list of CPU or memory node numbers like \"0-3,6\": \"\(text)\"")
        }
        return trimmed
    }

    // MARK: io

    private mutating func addBlockIO(_ io: Spec.BlockIO, bfq: Bool) throws(RuntimeError) {
        let base = "linux.resources.blockIO"
        if let weight = io.weight, weight != 0 {
            try Self.checkBlkioWeight(weight, field: "\(base).weight")
            if bfq {
                add("io.bfq.weight", String(weight), "io", "\(base).weight")
            } else {
                add("io.weight", String(Self.ioWeight(blkioWeight: weight)), "io", "\(base).weight")
            }
        }
        if io.leafWeight != nil {
            ignored.append("\(base).leafWeight: cgroup v2 has no leaf weights")
        }
        for (index, device) in (io.weightDevice ?? []).enumerated() {
            let field = "\(base).weightDevice[\(index)]"
            let id = try Self.deviceNumber(major: device.major, minor: device.minor, field: field)
            if device.leafWeight != nil {
                ignored.append("\(field).leafWeight: cgroup v2 has no leaf weights")
            }
            guard let weight = device.weight, weight != 0 else { continue }
            try Self.checkBlkioWeight(weight, field: "\(field).weight")
            if bfq {
                add("io.bfq.weight", "\(id) \(weight)", "io", "\(field).weight")
            } else {
                add("io.weight", "\(id) \(Self.ioWeight(blkioWeight: weight))", "io", "\(field).weight")
            }
        }
        let throttles: [(String, [Spec.ThrottleDevice]?, String)] = [
            ("throttleReadBpsDevice", io.throttleReadBpsDevice, "rbps"),
            ("throttleWriteBpsDevice", io.throttleWriteBpsDevice, "wbps"),
            ("throttleReadIOPSDevice", io.throttleReadIOPSDevice, "riops"),
            ("throttleWriteIOPSDevice", io.throttleWriteIOPSDevice, "wiops"),
        ]
        for (name, devices, key) in throttles {
            for (index, device) in (devices ?? []).enumerated() {
                let field = "\(base).\(name)[\(index)]"
                let id = try Self.deviceNumber(major: device.major, minor: device.minor, field: field)
                let rate = device.rate == 0 ? "max" : String(device.rate)
                add("io.max", "\(id) \(key)=\(rate)", "io", "\(field).rate")
            }
        }
    }

    /// blkio weight (10…1000) → io.weight (1…10000).
    public static func ioWeight(blkioWeight: UInt16) -> UInt64 {
        1 + (UInt64(max(blkioWeight, 10)) - 10) * 9999 / 990
    }

    static func checkBlkioWeight(_ weight: UInt16, field: String) throws(RuntimeError) {
        guard (10...1000).contains(weight) else {
            throw .invalidConfig(field: field, reason: "must be between 10 and 1000, got \(weight)")
        }
    }

    static func deviceNumber(major: Int64, minor: Int64, field: String) throws(RuntimeError) -> String {
        guard major >= 0 else { throw .invalidConfig(field: "\(field).major", reason: "must not be negative, got \(major)") }
        guard minor >= 0 else { throw .invalidConfig(field: "\(field).minor", reason: "must not be negative, got \(minor)") }
        return "\(major):\(minor)"
    }

    // MARK: hugetlb

    private mutating func addHugepages(_ limits: [Spec.HugepageLimit]) throws(RuntimeError) {
        for (index, limit) in limits.enumerated() {
            let field = "linux.resources.hugepageLimits[\(index)]"
            let size = limit.pageSize
            let digits = size.prefix(while: \.isNumber)
            let unit = size.dropFirst(digits.count)
            guard !digits.isEmpty, ["KB", "MB", "GB"].contains(String(unit)) else {
                throw .invalidConfig(field: "\(field).pageSize", reason: "must look like \"2MB\" or \"1GB\", got \"\(size)\"")
            }
            add("hugetlb.\(size).max", String(limit.limit), "hugetlb", "\(field).limit")
            add("hugetlb.\(size).rsvd.max", String(limit.limit), "hugetlb", "\(field).limit", optional: true)
        }
    }

    // MARK: unified

    private mutating func addUnified(_ unified: [String: String]) throws(RuntimeError) {
        for key in unified.keys.sorted() {
            let field = "linux.resources.unified.\(key)"
            let controller = try Self.unifiedController(key, field: field)
            let value = unified[key] ?? ""
            let lines = value.split(separator: "\n", omittingEmptySubsequences: true)
            if lines.isEmpty {
                add(key, value, controller, field)
            }
            for line in lines {
                add(key, String(line), controller, field)
            }
        }
    }

    /// The controller a unified key belongs to (nil for an allowed core file), or an error.
    static func unifiedController(_ key: String, field: String) throws(RuntimeError) -> String? {
        guard !key.isEmpty, !key.contains("/"), !key.contains(".."), !key.contains("\0") else {
            throw .invalidConfig(field: field, reason: "must be a cgroup file name (no \"/\" or \"..\")")
        }
        guard let dot = key.firstIndex(of: "."), dot != key.startIndex, key.index(after: dot) != key.endIndex else {
            throw .invalidConfig(field: field, reason: "must have the form CONTROLLER.PARAMETER")
        }
        let controller = String(key[..<dot])
        if controller == "cgroup" {
            guard allowedCoreFiles.contains(key) else {
                throw .invalidConfig(field: field, reason: "\(key) is managed by the runtime and cannot be set")
            }
            return nil
        }
        guard knownControllers.contains(controller) else {
            throw .invalidConfig(field: field, reason: "\"\(controller)\" is not a cgroup v2 controller")
        }
        return controller
    }
}
