/// A validated `process` object (of config.json or an `exec --process` file).
public struct ProcessPlan: Sendable, Equatable {
    public var args: [String]
    public var env: [String]
    public var cwd: String
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGids: [UInt32]
    public var umask: UInt32?
    /// nil: keep the current capabilities (no `capabilities` object).
    public var capabilities: CapabilitySets?
    public var rlimits: [(resource: Int32, soft: UInt64, hard: UInt64)]
    public var noNewPrivileges: Bool
    public var oomScoreAdj: Int?
    public var personality: UInt?
    public var terminal: Bool
    public var consoleSize: Spec.Box?
    public var seccomp: SeccompProgram?

    public struct CapabilitySets: Sendable, Equatable {
        public var bounding: UInt64 = 0
        public var effective: UInt64 = 0
        public var permitted: UInt64 = 0
        public var inheritable: UInt64 = 0
        public var ambient: UInt64 = 0
    }

    public static func == (lhs: ProcessPlan, rhs: ProcessPlan) -> Bool {
        lhs.args == rhs.args && lhs.env == rhs.env && lhs.cwd == rhs.cwd && lhs.uid == rhs.uid && lhs.gid == rhs.gid
            && lhs.additionalGids == rhs.additionalGids && lhs.capabilities == rhs.capabilities
            && lhs.rlimits.map { "\($0)" } == rhs.rlimits.map { "\($0)" } && lhs.noNewPrivileges == rhs.noNewPrivileges
            && lhs.oomScoreAdj == rhs.oomScoreAdj && lhs.terminal == rhs.terminal
    }

    static let rlimitNumbers: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
        "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
        "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
        "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]

    /// Validates `process`; `field` is its JSON path ("process", or the --process file).
    public init(_ process: Spec.Process, field: String, spec: Spec?) throws(RuntimeError) {
        guard let args = process.args, !args.isEmpty, !args[0].isEmpty else {
            throw .invalidConfig(field: field + ".args", reason: "must name the program to run")
        }
        self.args = args
        for (index, entry) in (process.env ?? []).enumerated() where !entry.contains("=") || entry.hasPrefix("=") {
            throw .invalidConfig(field: "\(field).env[\(index)]", reason: "not of the form NAME=value: \"\(entry)\"")
        }
        env = process.env ?? []
        guard process.cwd.hasPrefix("/") else {
            throw .invalidConfig(field: field + ".cwd", reason: "must be an absolute path, got \"\(process.cwd)\"")
        }
        cwd = process.cwd
        uid = process.user.uid
        gid = process.user.gid
        additionalGids = process.user.additionalGids ?? []
        if let umask = process.user.umask, umask > 0o777 {
            throw .invalidConfig(field: field + ".user.umask", reason: "must be at most 0777")
        }
        umask = process.user.umask
        if let caps = process.capabilities {
            let base = field + ".capabilities"
            capabilities = CapabilitySets(
                bounding: try Capabilities.mask(caps.bounding, field: base + ".bounding"),
                effective: try Capabilities.mask(caps.effective, field: base + ".effective"),
                permitted: try Capabilities.mask(caps.permitted, field: base + ".permitted"),
                inheritable: try Capabilities.mask(caps.inheritable, field: base + ".inheritable"),
                ambient: try Capabilities.mask(caps.ambient, field: base + ".ambient"))
        }
        var seen = Set<String>()
        rlimits = []
        for (index, limit) in (process.rlimits ?? []).enumerated() {
            let path = "\(field).rlimits[\(index)]"
            guard let number = Self.rlimitNumbers[limit.type] else {
                throw .invalidConfig(field: path + ".type", reason: "unknown rlimit \"\(limit.type)\"")
            }
            guard seen.insert(limit.type).inserted else {
                throw .invalidConfig(field: path + ".type", reason: "\(limit.type) is set twice")
            }
            guard limit.soft <= limit.hard else {
                throw .invalidConfig(field: path + ".soft", reason: "soft limit \(limit.soft) is above the hard limit \(limit.hard)")
            }
            rlimits.append((number, limit.soft, limit.hard))
        }
        noNewPrivileges = process.noNewPrivileges ?? false
        if let adj = process.oomScoreAdj, !(-1000...1000).contains(adj) {
            throw .invalidConfig(field: field + ".oomScoreAdj", reason: "must be between -1000 and 1000, got \(adj)")
        }
        oomScoreAdj = process.oomScoreAdj
        terminal = process.terminal ?? false
        if process.consoleSize != nil && !terminal {
            throw .invalidConfig(field: field + ".consoleSize", reason: "only valid with terminal: true")
        }
        consoleSize = process.consoleSize
        if let profile = spec?.linux?.seccomp {
            seccomp = try SeccompCompiler.compile(profile)
        }
    }
}
