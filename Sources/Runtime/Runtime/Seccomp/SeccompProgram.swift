/// A compiled seccomp filter, ready for `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`.
///
/// Memory layout: `instructions` is exactly the kernel's `struct sock_filter[]`. Each element is
/// one 8-byte classic-BPF instruction stored in native byte order as the C struct
///
///     struct sock_filter { uint16_t code; uint8_t jt; uint8_t jf; uint32_t k; };
///     // offset 0: code (u16), 2: jt (u8), 3: jf (u8), 4: k (u32), all native endian
///
/// so `instructions.withUnsafeBufferPointer { $0.baseAddress }` can be passed as
/// `struct sock_fprog { unsigned short len = instructions.count; struct sock_filter *filter; }`
/// without conversion (the array's storage is 8-byte aligned; `bytes` is the same memory as
/// `[UInt8]`, `instructions.count * 8` long). `count` never exceeds 4096 (BPF_MAXINSNS).
///
/// The loader must set no_new_privs (or hold CAP_SYS_ADMIN) first and pass `flags` as the
/// `flags` argument of seccomp(2); they are `SECCOMP_FILTER_FLAG_*` bits.
public struct SeccompProgram: Sendable, Equatable {
    /// The raw `struct sock_filter` values (see the type's documentation for the layout).
    public var instructions: [UInt64]
    /// `SECCOMP_FILTER_FLAG_*` bits for seccomp(2).
    public var flags: UInt32

    public init(instructions: [UInt64], flags: UInt32) {
        self.instructions = instructions
        self.flags = flags
    }

    /// Bits of seccomp(2)'s `flags` (linux/seccomp.h).
    public enum Flag {
        public static let tsync: UInt32 = 1 << 0  // SECCOMP_FILTER_FLAG_TSYNC
        public static let log: UInt32 = 1 << 1  // SECCOMP_FILTER_FLAG_LOG
        public static let specAllow: UInt32 = 1 << 2  // SECCOMP_FILTER_FLAG_SPEC_ALLOW
        public static let newListener: UInt32 = 1 << 3  // SECCOMP_FILTER_FLAG_NEW_LISTENER
        public static let waitKillableRecv: UInt32 = 1 << 5  // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    }

    /// The program as bytes (`instructions.count * 8`), e.g. to send over a pipe to the C stage.
    public var bytes: [UInt8] {
        instructions.withUnsafeBytes { Array($0) }
    }

    /// Rebuilds a program from `bytes` (whose count must be a multiple of 8).
    public init?(bytes: [UInt8], flags: UInt32) {
        guard bytes.count % 8 == 0 else { return nil }
        var instructions = [UInt64](repeating: 0, count: bytes.count / 8)
        instructions.withUnsafeMutableBytes { target in
            bytes.withUnsafeBytes { target.copyMemory(from: $0) }
        }
        self.init(instructions: instructions, flags: flags)
    }

    /// One instruction, decoded (for tests and debugging).
    public struct Instruction: Sendable, Equatable, CustomStringConvertible {
        public var code: UInt16
        public var jt: UInt8
        public var jf: UInt8
        public var k: UInt32

        public init(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32) {
            self.code = code
            self.jt = jt
            self.jf = jf
            self.k = k
        }

        /// Decodes the raw native-endian `struct sock_filter` value.
        public init(raw: UInt64) {
            var value = raw
            let (code, jt, jf, k) = withUnsafeBytes(of: &value) { bytes in
                (bytes.load(fromByteOffset: 0, as: UInt16.self), bytes[2], bytes[3],
                 bytes.load(fromByteOffset: 4, as: UInt32.self))
            }
            self.init(code: code, jt: jt, jf: jf, k: k)
        }

        /// The raw native-endian `struct sock_filter` value.
        public var raw: UInt64 {
            var value: UInt64 = 0
            withUnsafeMutableBytes(of: &value) { bytes in
                bytes.storeBytes(of: code, toByteOffset: 0, as: UInt16.self)
                bytes[2] = jt
                bytes[3] = jf
                bytes.storeBytes(of: k, toByteOffset: 4, as: UInt32.self)
            }
            return value
        }

        public var description: String {
            "{ 0x\(String(code, radix: 16)), \(jt), \(jf), 0x\(String(k, radix: 16)) }"
        }
    }

    public var decoded: [Instruction] { instructions.map(Instruction.init(raw:)) }
}
