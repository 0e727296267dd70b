/// config.json through `JSONReader` (see there for why), field for field what the Codable
/// conformances of `Spec` decode: required fields must be present and not null, optional ones
/// may be missing or null, unknown ones are skipped. Anything else is `JSONReader.Unsupported`,
/// and `Spec.decode` falls back to JSONDecoder, which produces the precise error.
extension Spec {
    /// The spec, or nil when the document needs JSONDecoder (invalid, or a form this reader
    /// leaves to it).
    static func fastDecode(_ bytes: [UInt8]) -> Spec? {
        var reader = JSONReader(bytes)
        do {
            let spec = try read(&reader)
            try reader.end()
            return spec
        } catch {
            return nil
        }
    }

    static func read(_ r: inout JSONReader) throws -> Spec {
        var spec = Spec()
        var version: String?
        try r.object { r, key in
            switch key {
            case "ociVersion": version = try r.string()
            case "process": spec.process = try r.optional(Process.read)
            case "root": spec.root = try r.optional(Root.read)
            case "hostname": spec.hostname = try r.optionalString()
            case "domainname": spec.domainname = try r.optionalString()
            case "mounts": spec.mounts = try r.optional { try $0.array(Mount.read) }
            case "hooks": spec.hooks = try r.optional(Hooks.read)
            case "annotations": spec.annotations = try r.optional { try $0.stringMap() }
            case "linux": spec.linux = try r.optional(Linux.read)
            default: try r.skipValue()
            }
        }
        spec.ociVersion = try required(version)
        return spec
    }
}

extension Spec.Process {
    static func read(_ r: inout JSONReader) throws -> Spec.Process {
        var process = Spec.Process()
        var user: Spec.User?
        var cwd: String?
        try r.object { r, key in
            switch key {
            case "terminal": process.terminal = try r.optionalBool()
            case "consoleSize": process.consoleSize = try r.optional(Spec.Box.read)
            case "user": user = try Spec.User.read(&r)
            case "args": process.args = try r.optionalStrings()
            case "env": process.env = try r.optionalStrings()
            case "cwd": cwd = try r.string()
            case "capabilities": process.capabilities = try r.optional(Spec.Capabilities.read)
            case "rlimits": process.rlimits = try r.optional { try $0.array(Spec.Rlimit.read) }
            case "noNewPrivileges": process.noNewPrivileges = try r.optionalBool()
            case "apparmorProfile": process.apparmorProfile = try r.optionalString()
            case "oomScoreAdj": process.oomScoreAdj = try r.optionalInteger()
            case "selinuxLabel": process.selinuxLabel = try r.optionalString()
            default: try r.skipValue()
            }
        }
        process.user = try required(user)
        process.cwd = try required(cwd)
        return process
    }

    /// A process.json (`exec --process`); nil when it needs JSONDecoder.
    static func fastDecode(_ bytes: [UInt8]) -> Spec.Process? {
        var reader = JSONReader(bytes)
        do {
            let process = try read(&reader)
            try reader.end()
            return process
        } catch {
            return nil
        }
    }
}

extension Spec.Box {
    static func read(_ r: inout JSONReader) throws -> Spec.Box {
        var height: UInt32?, width: UInt32?
        try r.object { r, key in
            switch key {
            case "height": height = try r.integer()
            case "width": width = try r.integer()
            default: try r.skipValue()
            }
        }
        return Spec.Box(height: try required(height), width: try required(width))
    }
}

extension Spec.User {
    static func read(_ r: inout JSONReader) throws -> Spec.User {
        var uid: UInt32?, gid: UInt32?
        var user = Spec.User()
        try r.object { r, key in
            switch key {
            case "uid": uid = try r.integer()
            case "gid": gid = try r.integer()
            case "umask": user.umask = try r.optionalInteger()
            case "additionalGids": user.additionalGids = try r.optional { try $0.array { try $0.integer(UInt32.self) } }
            default: try r.skipValue()
            }
        }
        user.uid = try required(uid)
        user.gid = try required(gid)
        return user
    }
}

extension Spec.Capabilities {
    static func read(_ r: inout JSONReader) throws -> Spec.Capabilities {
        var caps = Spec.Capabilities()
        try r.object { r, key in
            switch key {
            case "bounding": caps.bounding = try r.optionalStrings()
            case "effective": caps.effective = try r.optionalStrings()
            case "inheritable": caps.inheritable = try r.optionalStrings()
            case "permitted": caps.permitted = try r.optionalStrings()
            case "ambient": caps.ambient = try r.optionalStrings()
            default: try r.skipValue()
            }
        }
        return caps
    }
}

extension Spec.Rlimit {
    static func read(_ r: inout JSONReader) throws -> Spec.Rlimit {
        var type: String?, hard: UInt64?, soft: UInt64?
        try r.object { r, key in
            switch key {
            case "type": type = try r.string()
            case "hard": hard = try r.integer()
            case "soft": soft = try r.integer()
            default: try r.skipValue()
            }
        }
        return Spec.Rlimit(type: try required(type), hard: try required(hard), soft: try required(soft))
    }
}

extension Spec.Root {
    static func read(_ r: inout JSONReader) throws -> Spec.Root {
        var path: String?, readonly: Bool?
        try r.object { r, key in
            switch key {
            case "path": path = try r.string()
            case "readonly": readonly = try r.optionalBool()
            default: try r.skipValue()
            }
        }
        return Spec.Root(path: try required(path), readonly: readonly)
    }
}

extension Spec.Mount {
    static func read(_ r: inout JSONReader) throws -> Spec.Mount {
        var destination: String?, type: String?, source: String?, options: [String]?
        try r.object { r, key in
            switch key {
            case "destination": destination = try r.string()
            case "type": type = try r.optionalString()
            case "source": source = try r.optionalString()
            case "options": options = try r.optionalStrings()
            default: try r.skipValue()
            }
        }
        return Spec.Mount(destination: try required(destination), type: type, source: source, options: options)
    }
}

extension Spec.Hooks {
    static func read(_ r: inout JSONReader) throws -> Spec.Hooks {
        var hooks = Spec.Hooks()
        try r.object { r, key in
            let list = { (r: inout JSONReader) throws -> [Spec.Hook]? in try r.optional { try $0.array(Spec.Hook.read) } }
            switch key {
            case "prestart": hooks.prestart = try list(&r)
            case "createRuntime": hooks.createRuntime = try list(&r)
            case "createContainer": hooks.createContainer = try list(&r)
            case "startContainer": hooks.startContainer = try list(&r)
            case "poststart": hooks.poststart = try list(&r)
            case "poststop": hooks.poststop = try list(&r)
            default: try r.skipValue()
            }
        }
        return hooks
    }
}

extension Spec.Hook {
    static func read(_ r: inout JSONReader) throws -> Spec.Hook {
        var path: String?
        var hook = Spec.Hook(path: "")
        try r.object { r, key in
            switch key {
            case "path": path = try r.string()
            case "args": hook.args = try r.optionalStrings()
            case "env": hook.env = try r.optionalStrings()
            case "timeout": hook.timeout = try r.optionalInteger()
            default: try r.skipValue()
            }
        }
        hook.path = try required(path)
        return hook
    }
}

extension Spec.Linux {
    static func read(_ r: inout JSONReader) throws -> Spec.Linux {
        var linux = Spec.Linux()
        try r.object { r, key in
            switch key {
            case "namespaces": linux.namespaces = try r.optional { try $0.array(Spec.Namespace.read) }
            case "uidMappings": linux.uidMappings = try r.optional { try $0.array(Spec.IDMapping.read) }
            case "gidMappings": linux.gidMappings = try r.optional { try $0.array(Spec.IDMapping.read) }
            case "timeOffsets":
                linux.timeOffsets = try r.optional { r in
                    var offsets: [String: Spec.TimeOffset] = [:]
                    try r.object { r, name in offsets[name] = try Spec.TimeOffset.read(&r) }
                    return offsets
                }
            case "devices": linux.devices = try r.optional { try $0.array(Spec.Device.read) }
            case "cgroupsPath": linux.cgroupsPath = try r.optionalString()
            case "resources": linux.resources = try r.optional(Spec.Resources.read)
            case "rootfsPropagation": linux.rootfsPropagation = try r.optionalString()
            case "seccomp": linux.seccomp = try r.optional(Spec.Seccomp.read)
            case "sysctl": linux.sysctl = try r.optional { try $0.stringMap() }
            case "maskedPaths": linux.maskedPaths = try r.optionalStrings()
            case "readonlyPaths": linux.readonlyPaths = try r.optionalStrings()
            case "personality": linux.personality = try r.optional(Spec.Personality.read)
            default: try r.skipValue()
            }
        }
        return linux
    }
}

extension Spec.Namespace {
    static func read(_ r: inout JSONReader) throws -> Spec.Namespace {
        var type: String?, path: String?
        try r.object { r, key in
            switch key {
            case "type": type = try r.string()
            case "path": path = try r.optionalString()
            default: try r.skipValue()
            }
        }
        return Spec.Namespace(type: try required(type), path: path)
    }
}

extension Spec.IDMapping {
    static func read(_ r: inout JSONReader) throws -> Spec.IDMapping {
        var container: UInt32?, host: UInt32?, size: UInt32?
        try r.object { r, key in
            switch key {
            case "containerID": container = try r.integer()
            case "hostID": host = try r.integer()
            case "size": size = try r.integer()
            default: try r.skipValue()
            }
        }
        return Spec.IDMapping(containerID: try required(container), hostID: try required(host), size: try required(size))
    }
}

extension Spec.TimeOffset {
    static func read(_ r: inout JSONReader) throws -> Spec.TimeOffset {
        var offset = Spec.TimeOffset()
        try r.object { r, key in
            switch key {
            case "secs": offset.secs = try r.optionalInteger()
            case "nanosecs": offset.nanosecs = try r.optionalInteger()
            default: try r.skipValue()
            }
        }
        return offset
    }
}

extension Spec.Device {
    static func read(_ r: inout JSONReader) throws -> Spec.Device {
        var type: String?, path: String?
        var device = Spec.Device(type: "", path: "", major: nil, minor: nil)
        try r.object { r, key in
            switch key {
            case "type": type = try r.string()
            case "path": path = try r.string()
            case "major": device.major = try r.optionalInteger()
            case "minor": device.minor = try r.optionalInteger()
            case "fileMode": device.fileMode = try r.optionalInteger()
            case "uid": device.uid = try r.optionalInteger()
            case "gid": device.gid = try r.optionalInteger()
            default: try r.skipValue()
            }
        }
        device.type = try required(type)
        device.path = try required(path)
        return device
    }
}

extension Spec.Resources {
    static func read(_ r: inout JSONReader) throws -> Spec.Resources {
        var resources = Spec.Resources()
        try r.object { r, key in
            switch key {
            case "devices": resources.devices = try r.optional { try $0.array(Spec.DeviceRule.read) }
            case "memory": resources.memory = try r.optional(Spec.Memory.read)
            case "cpu": resources.cpu = try r.optional(Spec.CPU.read)
            case "pids": resources.pids = try r.optional(Spec.Pids.read)
            case "blockIO": resources.blockIO = try r.optional(Spec.BlockIO.read)
            case "hugepageLimits": resources.hugepageLimits = try r.optional { try $0.array(Spec.HugepageLimit.read) }
            case "unified": resources.unified = try r.optional { try $0.stringMap() }
            default: try r.skipValue()
            }
        }
        return resources
    }
}

extension Spec.DeviceRule {
    static func read(_ r: inout JSONReader) throws -> Spec.DeviceRule {
        var allow: Bool?
        var rule = Spec.DeviceRule(allow: false)
        try r.object { r, key in
            switch key {
            case "allow": allow = try r.bool()
            case "type": rule.type = try r.optionalString()
            case "major": rule.major = try r.optionalInteger()
            case "minor": rule.minor = try r.optionalInteger()
            case "access": rule.access = try r.optionalString()
            default: try r.skipValue()
            }
        }
        rule.allow = try required(allow)
        return rule
    }
}

extension Spec.Memory {
    static func read(_ r: inout JSONReader) throws -> Spec.Memory {
        var memory = Spec.Memory()
        try r.object { r, key in
            switch key {
            case "limit": memory.limit = try r.optionalInteger()
            case "reservation": memory.reservation = try r.optionalInteger()
            case "swap": memory.swap = try r.optionalInteger()
            case "swappiness": memory.swappiness = try r.optionalInteger()
            case "disableOOMKiller": memory.disableOOMKiller = try r.optionalBool()
            default: try r.skipValue()
            }
        }
        return memory
    }
}

extension Spec.CPU {
    static func read(_ r: inout JSONReader) throws -> Spec.CPU {
        var cpu = Spec.CPU()
        try r.object { r, key in
            switch key {
            case "shares": cpu.shares = try r.optionalInteger()
            case "quota": cpu.quota = try r.optionalInteger()
            case "burst": cpu.burst = try r.optionalInteger()
            case "period": cpu.period = try r.optionalInteger()
            case "cpus": cpu.cpus = try r.optionalString()
            case "mems": cpu.mems = try r.optionalString()
            case "idle": cpu.idle = try r.optionalInteger()
            default: try r.skipValue()
            }
        }
        return cpu
    }
}

extension Spec.Pids {
    static func read(_ r: inout JSONReader) throws -> Spec.Pids {
        var limit: Int64?
        try r.object { r, key in
            if key == "limit" { limit = try r.integer() } else { try r.skipValue() }
        }
        return Spec.Pids(limit: try required(limit))
    }
}

extension Spec.BlockIO {
    static func read(_ r: inout JSONReader) throws -> Spec.BlockIO {
        var io = Spec.BlockIO()
        try r.object { r, key in
            let throttle = { (r: inout JSONReader) throws -> [Spec.ThrottleDevice]? in
                try r.optional { try $0.array(Spec.ThrottleDevice.read) }
            }
            switch key {
            case "weight": io.weight = try r.optionalInteger()
            case "leafWeight": io.leafWeight = try r.optionalInteger()
            case "weightDevice": io.weightDevice = try r.optional { try $0.array(Spec.WeightDevice.read) }
            case "throttleReadBpsDevice": io.throttleReadBpsDevice = try throttle(&r)
            case "throttleWriteBpsDevice": io.throttleWriteBpsDevice = try throttle(&r)
            case "throttleReadIOPSDevice": io.throttleReadIOPSDevice = try throttle(&r)
            case "throttleWriteIOPSDevice": io.throttleWriteIOPSDevice = try throttle(&r)
            default: try r.skipValue()
            }
        }
        return io
    }
}

extension Spec.WeightDevice {
    static func read(_ r: inout JSONReader) throws -> Spec.WeightDevice {
        var major: Int64?, minor: Int64?, weight: UInt16?, leafWeight: UInt16?
        try r.object { r, key in
            switch key {
            case "major": major = try r.integer()
            case "minor": minor = try r.integer()
            case "weight": weight = try r.optionalInteger()
            case "leafWeight": leafWeight = try r.optionalInteger()
            default: try r.skipValue()
            }
        }
        return Spec.WeightDevice(major: try required(major), minor: try required(minor), weight: weight, leafWeight: leafWeight)
    }
}

extension Spec.ThrottleDevice {
    static func read(_ r: inout JSONReader) throws -> Spec.ThrottleDevice {
        var major: Int64?, minor: Int64?, rate: UInt64?
        try r.object { r, key in
            switch key {
            case "major": major = try r.integer()
            case "minor": minor = try r.integer()
            case "rate": rate = try r.integer()
            default: try r.skipValue()
            }
        }
        return Spec.ThrottleDevice(major: try required(major), minor: try required(minor), rate: try required(rate))
    }
}

extension Spec.HugepageLimit {
    static func read(_ r: inout JSONReader) throws -> Spec.HugepageLimit {
        var pageSize: String?, limit: UInt64?
        try r.object { r, key in
            switch key {
            case "pageSize": pageSize = try r.string()
            case "limit": limit = try r.integer()
            default: try r.skipValue()
            }
        }
        return Spec.HugepageLimit(pageSize: try required(pageSize), limit: try required(limit))
    }
}

extension Spec.Seccomp {
    static func read(_ r: inout JSONReader) throws -> Spec.Seccomp {
        var action: String?
        var seccomp = Spec.Seccomp(defaultAction: "")
        try r.object { r, key in
            switch key {
            case "defaultAction": action = try r.string()
            case "defaultErrnoRet": seccomp.defaultErrnoRet = try r.optionalInteger()
            case "architectures": seccomp.architectures = try r.optionalStrings()
            case "flags": seccomp.flags = try r.optionalStrings()
            case "listenerPath": seccomp.listenerPath = try r.optionalString()
            case "syscalls": seccomp.syscalls = try r.optional { try $0.array(Spec.Syscall.read) }
            default: try r.skipValue()
            }
        }
        seccomp.defaultAction = try required(action)
        return seccomp
    }
}

extension Spec.Syscall {
    static func read(_ r: inout JSONReader) throws -> Spec.Syscall {
        var names: [String]?, action: String?
        var syscall = Spec.Syscall(names: [], action: "")
        try r.object { r, key in
            switch key {
            case "names": names = try r.array { try $0.string() }
            case "action": action = try r.string()
            case "errnoRet": syscall.errnoRet = try r.optionalInteger()
            case "args": syscall.args = try r.optional { try $0.array(Spec.SyscallArg.read) }
            default: try r.skipValue()
            }
        }
        syscall.names = try required(names)
        syscall.action = try required(action)
        return syscall
    }
}

extension Spec.SyscallArg {
    static func read(_ r: inout JSONReader) throws -> Spec.SyscallArg {
        var index: UInt32?, value: UInt64?, valueTwo: UInt64?, op: String?
        try r.object { r, key in
            switch key {
            case "index": index = try r.integer()
            case "value": value = try r.integer()
            case "valueTwo": valueTwo = try r.optionalInteger()
            case "op": op = try r.string()
            default: try r.skipValue()
            }
        }
        return Spec.SyscallArg(index: try required(index), value: try required(value), valueTwo: valueTwo, op: try required(op))
    }
}

extension Spec.Personality {
    static func read(_ r: inout JSONReader) throws -> Spec.Personality {
        var domain: String?, flags: [String]?
        try r.object { r, key in
            switch key {
            case "domain": domain = try r.string()
            case "flags": flags = try r.optionalStrings()
            default: try r.skipValue()
            }
        }
        return Spec.Personality(domain: try required(domain), flags: flags)
    }
}

extension JSONReader {
    mutating func optionalString() throws -> String? { try optional { try $0.string() } }
    mutating func optionalBool() throws -> Bool? { try optional { try $0.bool() } }
    mutating func optionalStrings() throws -> [String]? { try optional { try $0.array { try $0.string() } } }
    mutating func optionalInteger<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T? { try optional { try $0.integer(T.self) } }
}

/// A required field: present and not null, else the document goes to JSONDecoder.
private func required<T>(_ value: T?) throws -> T {
    guard let value else { throw JSONReader.Unsupported() }
    return value
}
