#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSeccomp
import SystemCore

/// Translates `linux.seccomp` into a BPF program with libseccomp, the way runc does.
///
/// Runs in the runtime's Swift process; the program is handed to the single-threaded C stage,
/// which loads it with seccomp(2) as the last step before execve.
///
/// Rules (runc's `libcontainer/seccomp`):
/// - unknown syscall names are skipped (profiles list syscalls of other kernels and arches);
///   unknown actions, operators, architectures and flags are errors naming the field;
/// - a rule whose action equals the default action is dropped (libseccomp refuses it);
/// - args: all conditions of one entry form one rule (AND), except when two conditions test the
///   same argument index: then each condition becomes a rule of its own (OR), like runc;
/// - ERRNO and TRACE use `errnoRet` (default EPERM); the default action uses `defaultErrnoRet`;
/// - SCMP_ACT_NOTIFY (and the flags that only make sense with it) are refused as unsupported:
///   there is no seccomp agent to hand the listener fd to.
/// Not done: runc's patching of the program so that syscalls newer than libseccomp's table
/// return ENOSYS instead of the default errno.
public enum SeccompCompiler {
    /// libseccomp's action values (the SCMP_ACT_* macros, which Swift cannot import).
    enum Action {
        static let killProcess: UInt32 = 0x8000_0000
        static let killThread: UInt32 = 0x0000_0000
        static let trap: UInt32 = 0x0003_0000
        static let notify: UInt32 = 0x7fc0_0000
        static func errno(_ value: UInt32) -> UInt32 { 0x0005_0000 | (value & 0xffff) }
        static func trace(_ value: UInt32) -> UInt32 { 0x7ff0_0000 | (value & 0xffff) }
        static let log: UInt32 = 0x7ffc_0000
        static let allow: UInt32 = 0x7fff_0000
    }

    /// OCI architecture names → libseccomp's names for `seccomp_arch_resolve_name`.
    static let architectures: [String: String] = [
        "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
        "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64",
        "SCMP_ARCH_MIPS": "mips", "SCMP_ARCH_MIPS64": "mips64", "SCMP_ARCH_MIPS64N32": "mips64n32",
        "SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64", "SCMP_ARCH_MIPSEL64N32": "mipsel64n32",
        "SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_PPC64": "ppc64", "SCMP_ARCH_PPC64LE": "ppc64le",
        "SCMP_ARCH_S390": "s390", "SCMP_ARCH_S390X": "s390x",
        "SCMP_ARCH_PARISC": "parisc", "SCMP_ARCH_PARISC64": "parisc64",
        "SCMP_ARCH_RISCV64": "riscv64", "SCMP_ARCH_LOONGARCH64": "loongarch64",
    ]

    static let operators: [String: scmp_compare] = [
        "SCMP_CMP_NE": SCMP_CMP_NE, "SCMP_CMP_LT": SCMP_CMP_LT, "SCMP_CMP_LE": SCMP_CMP_LE,
        "SCMP_CMP_EQ": SCMP_CMP_EQ, "SCMP_CMP_GE": SCMP_CMP_GE, "SCMP_CMP_GT": SCMP_CMP_GT,
        "SCMP_CMP_MASKED_EQ": SCMP_CMP_MASKED_EQ,
    ]

    /// The kernel's limit on classic BPF program length (BPF_MAXINSNS).
    static let maxInstructions = 4096

    /// Compiles a profile for the native architecture plus `profile.architectures`.
    public static func compile(_ profile: Spec.Seccomp) throws(RuntimeError) -> SeccompProgram {
        let flags = try self.flags(profile.flags)
        let defaultAction = try action(
            profile.defaultAction, errnoRet: profile.defaultErrnoRet, field: "linux.seccomp.defaultAction")
        if defaultAction == Action.notify {
            throw .unsupported("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY needs a seccomp agent, which this runtime does not support")
        }
        guard let context = seccomp_init(defaultAction) else {
            throw .system(context: "creating the seccomp filter", SystemCallError("seccomp_init", errno: .invalidArgument))
        }
        defer { seccomp_release(context) }

        for (index, name) in (profile.architectures ?? []).enumerated() {
            try addArchitecture(name, to: context, field: "linux.seccomp.architectures[\(index)]")
        }
        if (profile.syscalls?.count ?? 0) > 32 {
            // A binary tree of syscall numbers instead of a linear scan (runc does the same).
            _ = seccomp_attr_set(context, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        }
        for (index, syscall) in (profile.syscalls ?? []).enumerated() {
            try addRules(syscall, defaultAction: defaultAction, to: context, field: "linux.seccomp.syscalls[\(index)]")
        }
        let instructions = try export(context)
        guard instructions.count <= maxInstructions else {
            throw .invalidConfig(
                field: "linux.seccomp",
                reason: "the profile compiles to \(instructions.count) BPF instructions, more than the kernel's limit of \(maxInstructions)")
        }
        return SeccompProgram(instructions: instructions, flags: flags)
    }

    static func flags(_ names: [String]?) throws(RuntimeError) -> UInt32 {
        var flags: UInt32 = 0
        for (index, name) in (names ?? []).enumerated() {
            switch name {
            case "SECCOMP_FILTER_FLAG_TSYNC": flags |= SeccompProgram.Flag.tsync
            case "SECCOMP_FILTER_FLAG_LOG": flags |= SeccompProgram.Flag.log
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": flags |= SeccompProgram.Flag.specAllow
            case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
                throw .unsupported("linux.seccomp.flags[\(index)]: \(name) only applies to SCMP_ACT_NOTIFY, which this runtime does not support")
            default:
                throw .invalidConfig(field: "linux.seccomp.flags[\(index)]", reason: "unknown seccomp flag \"\(name)\"")
            }
        }
        return flags
    }

    static func action(_ name: String, errnoRet: UInt32?, field: String) throws(RuntimeError) -> UInt32 {
        if let errnoRet, errnoRet > 0xffff {
            throw .invalidConfig(field: field, reason: "errno value \(errnoRet) is out of range")
        }
        switch name {
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return Action.killThread
        case "SCMP_ACT_KILL_PROCESS": return Action.killProcess
        case "SCMP_ACT_TRAP": return Action.trap
        case "SCMP_ACT_ERRNO": return Action.errno(errnoRet ?? UInt32(EPERM))
        case "SCMP_ACT_TRACE": return Action.trace(errnoRet ?? UInt32(EPERM))
        case "SCMP_ACT_ALLOW": return Action.allow
        case "SCMP_ACT_LOG": return Action.log
        case "SCMP_ACT_NOTIFY": return Action.notify
        default: throw .invalidConfig(field: field, reason: "unknown seccomp action \"\(name)\"")
        }
    }

    static func addArchitecture(_ name: String, to context: scmp_filter_ctx, field: String) throws(RuntimeError) {
        guard let libseccompName = architectures[name] else {
            throw .invalidConfig(field: field, reason: "unknown architecture \"\(name)\"")
        }
        let token = seccomp_arch_resolve_name(libseccompName)
        guard token != 0 else {
            throw .unsupported("\(field): libseccomp \(SCMP_VER_MAJOR).\(SCMP_VER_MINOR) does not know architecture \(name)")
        }
        let result = seccomp_arch_add(context, token)
        if result != 0 && result != -EEXIST {
            throw .system(context: "adding seccomp architecture \(name)", SystemCallError("seccomp_arch_add", name, errno: .init(rawValue: -result)))
        }
    }

    static func addRules(
        _ syscall: Spec.Syscall, defaultAction: UInt32, to context: scmp_filter_ctx, field: String
    ) throws(RuntimeError) {
        let action = try self.action(syscall.action, errnoRet: syscall.errnoRet, field: "\(field).action")
        if action == Action.notify {
            throw .unsupported("\(field).action: SCMP_ACT_NOTIFY needs a seccomp agent, which this runtime does not support")
        }
        var conditions: [scmp_arg_cmp] = []
        var perIndex = [Int](repeating: 0, count: 6)
        for (index, arg) in (syscall.args ?? []).enumerated() {
            let argField = "\(field).args[\(index)]"
            guard arg.index < 6 else {
                throw .invalidConfig(field: "\(argField).index", reason: "a syscall has 6 arguments (0-5), got \(arg.index)")
            }
            guard let op = operators[arg.op] else {
                throw .invalidConfig(field: "\(argField).op", reason: "unknown seccomp operator \"\(arg.op)\"")
            }
            perIndex[Int(arg.index)] += 1
            conditions.append(scmp_arg_cmp(arg: arg.index, op: op, datum_a: arg.value, datum_b: arg.valueTwo ?? 0))
        }
        if syscall.names.isEmpty {
            throw .invalidConfig(field: "\(field).names", reason: "must list at least one syscall")
        }
        if action == defaultAction { return }
        // Same index twice can't be one AND-ed rule in libseccomp: one rule per condition (OR).
        let groups = perIndex.contains(where: { $0 > 1 }) ? conditions.map { [$0] } : [conditions]
        for (nameIndex, name) in syscall.names.enumerated() {
            if name.isEmpty {
                throw .invalidConfig(field: "\(field).names[\(nameIndex)]", reason: "empty syscall name")
            }
            let number = seccomp_syscall_resolve_name(name)
            if number == __NR_SCMP_ERROR { continue }
            for group in groups {
                let result = group.withUnsafeBufferPointer {
                    seccomp_rule_add_array(context, action, number, UInt32($0.count), $0.baseAddress)
                }
                if result != 0 {
                    throw .invalidConfig(
                        field: "\(field)",
                        reason: "libseccomp rejected the rule for \(name): \(SystemCallError("seccomp_rule_add", errno: .init(rawValue: -result)).errno)")
                }
            }
        }
    }

    /// Exports the filter as BPF through a non-blocking pipe and reads it back.
    ///
    /// libseccomp 2.5 can only export to a file descriptor. A program the kernel accepts is at
    /// most 4096 × 8 = 32 KiB, well inside a pipe's 64 KiB buffer; a bigger one fails or fills
    /// the pipe and is then refused by the length check, so the write can never block.
    static func export(_ context: scmp_filter_ctx) throws(RuntimeError) -> [UInt64] {
        var fds: [Int32] = [-1, -1]
        do {
            _ = try sys("pipe") { fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress) } }
        } catch {
            throw .system(context: "exporting the seccomp filter", error)
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd) }
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFL, O_NONBLOCK)
        _ = fcntl(readEnd, F_SETFL, O_NONBLOCK)
        let result = seccomp_export_bpf(context, writeEnd)
        close(writeEnd)
        if result != 0 {
            throw .system(
                context: "exporting the seccomp filter",
                SystemCallError("seccomp_export_bpf", errno: .init(rawValue: -result)))
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
                continue
            }
            if count < 0 && currentErrno() == EINTR { continue }
            // 0: end of data (the write end is closed); EAGAIN cannot happen for the same reason.
            break
        }
        guard let program = SeccompProgram(bytes: bytes, flags: 0), !program.instructions.isEmpty else {
            throw .system(
                context: "exporting the seccomp filter: \(bytes.count) bytes is not a BPF program",
                SystemCallError("seccomp_export_bpf", errno: .invalidArgument))
        }
        return program.instructions
    }
}
