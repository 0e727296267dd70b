/// `linux.resources.devices` as a BPF_PROG_TYPE_CGROUP_DEVICE program (cgroup v2 has no
/// devices.allow file; access is decided by an eBPF program attached to the cgroup).
///
/// Semantics, as on cgroup v1 and in runc/crun: the default is deny, rules apply in order and the
/// last matching rule wins. The program tests the rules from last to first and returns at the
/// first match, so it is exactly "last match wins". A rule matches a request when type, major and
/// minor match (absent = any) and, for an allow rule, every requested access is in the rule's
/// access; for a deny rule, any requested access is (so "deny w" also refuses an O_RDWR open).
/// Unlike runc's emulator, separate allow rules are not merged: "allow r" plus "allow w" on one
/// device does not allow an O_RDWR open (list "rw" in one rule).
///
/// Program context (`struct bpf_cgroup_dev_ctx`): u32 access_type (low 16 bits: the device type
/// BPF_DEVCG_DEV_BLOCK=1 / CHAR=2; high 16 bits: access MKNOD=1, READ=2, WRITE=4), u32 major,
/// u32 minor. R0 = 1 allows, 0 denies.
public struct CgroupDeviceFilter: Sendable, Equatable {
    /// One eBPF instruction (`struct bpf_insn`).
    public struct Instruction: Sendable, Equatable, CustomStringConvertible {
        public var code: UInt8
        public var dst: UInt8
        public var src: UInt8
        public var offset: Int16
        public var imm: Int32

        public init(code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, offset: Int16 = 0, imm: Int32 = 0) {
            self.code = code
            self.dst = dst
            self.src = src
            self.offset = offset
            self.imm = imm
        }

        /// The native-endian `struct bpf_insn` (u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm).
        public var raw: UInt64 {
            var value: UInt64 = 0
            withUnsafeMutableBytes(of: &value) { bytes in
                bytes[0] = code
                #if _endian(little)
                bytes[1] = (dst & 0x0f) | (src << 4)
                #else
                bytes[1] = (dst << 4) | (src & 0x0f)
                #endif
                bytes.storeBytes(of: offset, toByteOffset: 2, as: Int16.self)
                bytes.storeBytes(of: imm, toByteOffset: 4, as: Int32.self)
            }
            return value
        }

        public var description: String { "{code 0x\(String(code, radix: 16)) dst r\(dst) src r\(src) off \(offset) imm \(imm)}" }

        // The few instructions the filter needs (linux/bpf.h, linux/bpf_common.h opcodes).
        static func loadWord(_ dst: UInt8, from src: UInt8, offset: Int16) -> Instruction {
            Instruction(code: 0x61, dst: dst, src: src, offset: offset)  // BPF_LDX | BPF_MEM | BPF_W
        }
        static func and32(_ dst: UInt8, _ imm: Int32) -> Instruction { Instruction(code: 0x54, dst: dst, imm: imm) }  // BPF_ALU | BPF_AND | BPF_K
        static func rsh32(_ dst: UInt8, _ imm: Int32) -> Instruction { Instruction(code: 0x74, dst: dst, imm: imm) }  // BPF_ALU | BPF_RSH | BPF_K
        static func mov32(_ dst: UInt8, register src: UInt8) -> Instruction { Instruction(code: 0xbc, dst: dst, src: src) }  // BPF_ALU | BPF_MOV | BPF_X
        static func mov32(_ dst: UInt8, _ imm: Int32) -> Instruction { Instruction(code: 0xb4, dst: dst, imm: imm) }  // BPF_ALU | BPF_MOV | BPF_K
        static func jumpIfNotEqual(_ dst: UInt8, _ imm: Int32) -> Instruction { Instruction(code: 0x55, dst: dst, imm: imm) }  // BPF_JMP | BPF_JNE | BPF_K
        static func jumpIfNotEqual(_ dst: UInt8, register src: UInt8) -> Instruction { Instruction(code: 0x5d, dst: dst, src: src) }  // BPF_JMP | BPF_JNE | BPF_X
        static func jumpIfEqual(_ dst: UInt8, _ imm: Int32) -> Instruction { Instruction(code: 0x15, dst: dst, imm: imm) }  // BPF_JMP | BPF_JEQ | BPF_K
        static let exit = Instruction(code: 0x95)  // BPF_JMP | BPF_EXIT
    }

    static let typeBlock: Int32 = 1  // BPF_DEVCG_DEV_BLOCK
    static let typeChar: Int32 = 2  // BPF_DEVCG_DEV_CHAR
    static let accessMknod: Int32 = 1  // BPF_DEVCG_ACC_MKNOD
    static let accessRead: Int32 = 2  // BPF_DEVCG_ACC_READ
    static let accessWrite: Int32 = 4  // BPF_DEVCG_ACC_WRITE
    static let accessAll: Int32 = 7

    public private(set) var instructions: [Instruction]

    /// The program as `struct bpf_insn[]` for bpf(BPF_PROG_LOAD).
    public var raw: [UInt64] { instructions.map(\.raw) }

    /// Builds the program; `field` prefixes error paths (`linux.resources.devices[3].access`).
    public init(rules: [Spec.DeviceRule], field: String = "linux.resources.devices") throws(RuntimeError) {
        // R2 = type, R3 = access, R4 = major, R5 = minor.
        instructions = [
            .loadWord(2, from: 1, offset: 0), .and32(2, 0xffff),
            .loadWord(3, from: 1, offset: 0), .rsh32(3, 16),
            .loadWord(4, from: 1, offset: 4),
            .loadWord(5, from: 1, offset: 8),
        ]
        // Check every rule first (in order, also those a later allow-all makes unreachable).
        for (index, rule) in rules.enumerated() {
            var scratch = self
            _ = try scratch.appendBlock(rule, field: "\(field)[\(index)]")
        }
        // The verifier refuses unreachable code: stop after a rule that matches every request.
        var total = false
        for (index, rule) in rules.enumerated().reversed() {
            let unconditional = try appendBlock(rule, field: "\(field)[\(index)]")
            if unconditional {
                total = true
                break
            }
        }
        if !total { instructions += [.mov32(0, 0), .exit] }  // default deny
    }

    /// Appends the block of one rule; returns whether it matches every request (no checks).
    private mutating func appendBlock(_ rule: Spec.DeviceRule, field: String) throws(RuntimeError) -> Bool {
        var block: [Instruction] = []
        var jumps: [Int] = []  // indexes in `block` of jumps to the next block
        switch rule.type ?? "a" {
        case "a": break
        case "c", "u":
            jumps.append(block.count)
            block.append(.jumpIfNotEqual(2, Self.typeChar))
        case "b":
            jumps.append(block.count)
            block.append(.jumpIfNotEqual(2, Self.typeBlock))
        case let other:
            throw .invalidConfig(field: "\(field).type", reason: "must be \"a\", \"b\" or \"c\", got \"\(other)\"")
        }
        let access = try Self.access(rule.access, field: "\(field).access")
        if access != Self.accessAll {
            block.append(.mov32(1, register: 3))
            block.append(.and32(1, access))
            jumps.append(block.count)
            // allow: requested ⊆ rule (R1 == R3); deny: requested ∩ rule ≠ ∅ (R1 != 0).
            block.append(rule.allow ? .jumpIfNotEqual(1, register: 3) : .jumpIfEqual(1, 0))
        }
        if let major = rule.major, major != -1 {
            guard let value = UInt32(exactly: major) else {
                throw .invalidConfig(field: "\(field).major", reason: "must be between 0 and 4294967295, got \(major)")
            }
            jumps.append(block.count)
            block.append(.jumpIfNotEqual(4, Int32(bitPattern: value)))
        }
        if let minor = rule.minor, minor != -1 {
            guard let value = UInt32(exactly: minor) else {
                throw .invalidConfig(field: "\(field).minor", reason: "must be between 0 and 4294967295, got \(minor)")
            }
            jumps.append(block.count)
            block.append(.jumpIfNotEqual(5, Int32(bitPattern: value)))
        }
        block.append(.mov32(0, rule.allow ? 1 : 0))
        block.append(.exit)
        for jump in jumps {
            block[jump].offset = Int16(block.count - jump - 1)
        }
        instructions += block
        return jumps.isEmpty
    }

    static func access(_ text: String?, field: String) throws(RuntimeError) -> Int32 {
        guard let text, !text.isEmpty else { return accessAll }
        var bits: Int32 = 0
        for character in text {
            switch character {
            case "r": bits |= accessRead
            case "w": bits |= accessWrite
            case "m": bits |= accessMknod
            default: throw .invalidConfig(field: field, reason: "must use only r, w and m, got \"\(text)\"")
            }
        }
        return bits
    }

    /// What every container may use, as runc appends them after the config's rules: mknod of any
    /// device, and rwm on /dev/null, zero, full, random, urandom, tty, ptmx and the ptys.
    public static let defaultRules: [Spec.DeviceRule] = [
        .init(allow: true, type: "c", major: nil, minor: nil, access: "m"),
        .init(allow: true, type: "b", major: nil, minor: nil, access: "m"),
        .init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 7, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),
        .init(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),
        .init(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),
        .init(allow: true, type: "c", major: 136, minor: nil, access: "rwm"),
    ]
}
