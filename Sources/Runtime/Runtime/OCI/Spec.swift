/// OCI runtime-spec 1.2 configuration (config.json), the fields this runtime honours.
///
/// Decoding is lenient about fields it does not model (they are ignored, as the spec allows);
/// `Spec+Validation.swift` checks the semantic rules and names the offending field.
public struct Spec: Codable, Sendable, Equatable {
    public var ociVersion: String
    public var process: Process?
    public var root: Root?
    public var hostname: String?
    public var domainname: String?
    public var mounts: [Mount]?
    public var hooks: Hooks?
    public var annotations: [String: String]?
    public var linux: Linux?

    public init(
        ociVersion: String = Spec.version, process: Process? = nil, root: Root? = nil, hostname: String? = nil,
        domainname: String? = nil, mounts: [Mount]? = nil, hooks: Hooks? = nil,
        annotations: [String: String]? = nil, linux: Linux? = nil
    ) {
        self.ociVersion = ociVersion
        self.process = process
        self.root = root
        self.hostname = hostname
        self.domainname = domainname
        self.mounts = mounts
        self.hooks = hooks
        self.annotations = annotations
        self.linux = linux
    }

    /// The runtime-spec version this runtime implements.
    public static let version = "1.2.0"

    public struct Process: Codable, Sendable, Equatable {
        public var terminal: Bool?
        public var consoleSize: Box?
        public var user: User
        public var args: [String]?
        public var env: [String]?
        public var cwd: String
        public var capabilities: Capabilities?
        public var rlimits: [Rlimit]?
        public var noNewPrivileges: Bool?
        public var apparmorProfile: String?
        public var oomScoreAdj: Int?
        public var selinuxLabel: String?

        public init(
            terminal: Bool? = nil, consoleSize: Box? = nil, user: User = User(), args: [String]? = nil,
            env: [String]? = nil, cwd: String = "/", capabilities: Capabilities? = nil, rlimits: [Rlimit]? = nil,
            noNewPrivileges: Bool? = nil, oomScoreAdj: Int? = nil
        ) {
            self.terminal = terminal
            self.consoleSize = consoleSize
            self.user = user
            self.args = args
            self.env = env
            self.cwd = cwd
            self.capabilities = capabilities
            self.rlimits = rlimits
            self.noNewPrivileges = noNewPrivileges
            self.oomScoreAdj = oomScoreAdj
        }
    }

    public struct Box: Codable, Sendable, Equatable {
        public var height: UInt32
        public var width: UInt32
        public init(height: UInt32, width: UInt32) {
            self.height = height
            self.width = width
        }
    }

    public struct User: Codable, Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var umask: UInt32?
        public var additionalGids: [UInt32]?
        public init(uid: UInt32 = 0, gid: UInt32 = 0, umask: UInt32? = nil, additionalGids: [UInt32]? = nil) {
            self.uid = uid
            self.gid = gid
            self.umask = umask
            self.additionalGids = additionalGids
        }
    }

    public struct Capabilities: Codable, Sendable, Equatable {
        public var bounding: [String]?
        public var effective: [String]?
        public var inheritable: [String]?
        public var permitted: [String]?
        public var ambient: [String]?
        public init(
            bounding: [String]? = nil, effective: [String]? = nil, inheritable: [String]? = nil,
            permitted: [String]? = nil, ambient: [String]? = nil
        ) {
            self.bounding = bounding
            self.effective = effective
            self.inheritable = inheritable
            self.permitted = permitted
            self.ambient = ambient
        }
    }

    public struct Rlimit: Codable, Sendable, Equatable {
        public var type: String
        public var hard: UInt64
        public var soft: UInt64
        public init(type: String, hard: UInt64, soft: UInt64) {
            self.type = type
            self.hard = hard
            self.soft = soft
        }
    }

    public struct Root: Codable, Sendable, Equatable {
        public var path: String
        public var readonly: Bool?
        public init(path: String, readonly: Bool? = nil) {
            self.path = path
            self.readonly = readonly
        }
    }

    public struct Mount: Codable, Sendable, Equatable {
        public var destination: String
        public var type: String?
        public var source: String?
        public var options: [String]?
        public init(destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil) {
            self.destination = destination
            self.type = type
            self.source = source
            self.options = options
        }
    }

    public struct Hooks: Codable, Sendable, Equatable {
        public var prestart: [Hook]?
        public var createRuntime: [Hook]?
        public var createContainer: [Hook]?
        public var startContainer: [Hook]?
        public var poststart: [Hook]?
        public var poststop: [Hook]?
        public init() {}
    }

    public struct Hook: Codable, Sendable, Equatable {
        public var path: String
        public var args: [String]?
        public var env: [String]?
        public var timeout: Int?
        public init(path: String, args: [String]? = nil, env: [String]? = nil, timeout: Int? = nil) {
            self.path = path
            self.args = args
            self.env = env
            self.timeout = timeout
        }
    }

    public struct Linux: Codable, Sendable, Equatable {
        public var namespaces: [Namespace]?
        public var uidMappings: [IDMapping]?
        public var gidMappings: [IDMapping]?
        public var timeOffsets: [String: TimeOffset]?
        public var devices: [Device]?
        public var cgroupsPath: String?
        public var resources: Resources?
        public var rootfsPropagation: String?
        public var seccomp: Seccomp?
        public var sysctl: [String: String]?
        public var maskedPaths: [String]?
        public var readonlyPaths: [String]?
        public var personality: Personality?
        public init() {}
    }

    public struct Namespace: Codable, Sendable, Equatable {
        public var type: String
        public var path: String?
        public init(type: String, path: String? = nil) {
            self.type = type
            self.path = path
        }
    }

    public struct IDMapping: Codable, Sendable, Equatable {
        public var containerID: UInt32
        public var hostID: UInt32
        public var size: UInt32
        public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
            self.containerID = containerID
            self.hostID = hostID
            self.size = size
        }
    }

    public struct TimeOffset: Codable, Sendable, Equatable {
        public var secs: Int64?
        public var nanosecs: UInt32?
    }

    public struct Device: Codable, Sendable, Equatable {
        public var type: String
        public var path: String
        public var major: Int64?
        public var minor: Int64?
        public var fileMode: UInt32?
        public var uid: UInt32?
        public var gid: UInt32?
        public init(type: String, path: String, major: Int64?, minor: Int64?, fileMode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil) {
            self.type = type
            self.path = path
            self.major = major
            self.minor = minor
            self.fileMode = fileMode
            self.uid = uid
            self.gid = gid
        }
    }

    public struct Resources: Codable, Sendable, Equatable {
        public var devices: [DeviceRule]?
        public var memory: Memory?
        public var cpu: CPU?
        public var pids: Pids?
        public var blockIO: BlockIO?
        public var hugepageLimits: [HugepageLimit]?
        public var unified: [String: String]?
        public init() {}
    }

    public struct DeviceRule: Codable, Sendable, Equatable {
        public var allow: Bool
        public var type: String?
        public var major: Int64?
        public var minor: Int64?
        public var access: String?

        public init(allow: Bool, type: String? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = nil) {
            self.allow = allow
            self.type = type
            self.major = major
            self.minor = minor
            self.access = access
        }
    }

    public struct Memory: Codable, Sendable, Equatable {
        public var limit: Int64?
        public var reservation: Int64?
        public var swap: Int64?
        public var swappiness: UInt64?
        public var disableOOMKiller: Bool?
        public init(limit: Int64? = nil, reservation: Int64? = nil, swap: Int64? = nil) {
            self.limit = limit
            self.reservation = reservation
            self.swap = swap
        }
    }

    public struct CPU: Codable, Sendable, Equatable {
        public var shares: UInt64?
        public var quota: Int64?
        public var burst: UInt64?
        public var period: UInt64?
        public var cpus: String?
        public var mems: String?
        public var idle: Int64?
        public init(shares: UInt64? = nil, quota: Int64? = nil, period: UInt64? = nil, cpus: String? = nil, mems: String? = nil) {
            self.shares = shares
            self.quota = quota
            self.period = period
            self.cpus = cpus
            self.mems = mems
        }
    }

    public struct Pids: Codable, Sendable, Equatable {
        public var limit: Int64
        public init(limit: Int64) { self.limit = limit }
    }

    public struct BlockIO: Codable, Sendable, Equatable {
        public var weight: UInt16?
        public var leafWeight: UInt16?
        public var weightDevice: [WeightDevice]?
        public var throttleReadBpsDevice: [ThrottleDevice]?
        public var throttleWriteBpsDevice: [ThrottleDevice]?
        public var throttleReadIOPSDevice: [ThrottleDevice]?
        public var throttleWriteIOPSDevice: [ThrottleDevice]?
        public init() {}
    }

    public struct WeightDevice: Codable, Sendable, Equatable {
        public var major: Int64
        public var minor: Int64
        public var weight: UInt16?
        public var leafWeight: UInt16?
    }

    public struct ThrottleDevice: Codable, Sendable, Equatable {
        public var major: Int64
        public var minor: Int64
        public var rate: UInt64
    }

    public struct HugepageLimit: Codable, Sendable, Equatable {
        public var pageSize: String
        public var limit: UInt64
    }

    public struct Seccomp: Codable, Sendable, Equatable {
        public var defaultAction: String
        public var defaultErrnoRet: UInt32?
        public var architectures: [String]?
        public var flags: [String]?
        public var listenerPath: String?
        public var syscalls: [Syscall]?
        public init(defaultAction: String, defaultErrnoRet: UInt32? = nil, architectures: [String]? = nil, flags: [String]? = nil, syscalls: [Syscall]? = nil) {
            self.defaultAction = defaultAction
            self.defaultErrnoRet = defaultErrnoRet
            self.architectures = architectures
            self.flags = flags
            self.syscalls = syscalls
        }
    }

    public struct Syscall: Codable, Sendable, Equatable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        public var args: [SyscallArg]?
        public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [SyscallArg]? = nil) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
        }
    }

    public struct SyscallArg: Codable, Sendable, Equatable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64?
        public var op: String
        public init(index: UInt32, value: UInt64, valueTwo: UInt64? = nil, op: String) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }
    }

    public struct Personality: Codable, Sendable, Equatable {
        public var domain: String
        public var flags: [String]?
    }
}
