import Foundation
import Testing
@testable import Runtime

/// The field of an `.invalidConfig` error from compiling `profile`, or a description of what happened.
func seccompFailure(_ profile: Spec.Seccomp) -> String {
    do {
        _ = try SeccompCompiler.compile(profile)
        return "compiled"
    } catch {
        switch error {
        case .invalidConfig(let field, _): return field
        case .unsupported: return "unsupported"
        default: return "unexpected: \(error)"
        }
    }
}

@Suite struct SeccompCompilerTests {
    static let small = Spec.Seccomp(
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
        flags: ["SECCOMP_FILTER_FLAG_LOG"],
        syscalls: [
            Spec.Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 18),
            Spec.Syscall(names: ["personality"], action: "SCMP_ACT_KILL_PROCESS", args: [.init(index: 0, value: 0xff, op: "SCMP_CMP_NE")]),
        ])

    @Test func compilesASmallProfile() throws {
        let program = try SeccompCompiler.compile(Self.small)
        #expect(program.flags == SeccompProgram.Flag.log)
        #expect(program.instructions.count > 8)
        #expect(program.bytes.count == program.instructions.count * 8)
        // libseccomp starts by loading seccomp_data.arch: BPF_LD|BPF_W|BPF_ABS (0x20), k = 4.
        #expect(program.decoded.first == SeccompProgram.Instruction(code: 0x20, jt: 0, jf: 0, k: 4))
        // and every path ends in a BPF_RET (0x06).
        #expect(program.decoded.last?.code == 0x06)
        // Compiling is deterministic.
        #expect(try SeccompCompiler.compile(Self.small) == program)
    }

    @Test func instructionLayoutIsStructSockFilter() {
        let instruction = SeccompProgram.Instruction(code: 0x0015, jt: 1, jf: 2, k: 0xc000_003e)
        #expect(SeccompProgram.Instruction(raw: instruction.raw) == instruction)
        let program = SeccompProgram(instructions: [instruction.raw], flags: 0)
        #if _endian(little)
        #expect(program.bytes == [0x15, 0x00, 0x01, 0x02, 0x3e, 0x00, 0x00, 0xc0])
        #endif
        #expect(SeccompProgram(bytes: program.bytes, flags: 3) == SeccompProgram(instructions: [instruction.raw], flags: 3))
        #expect(SeccompProgram(bytes: [1, 2, 3], flags: 0) == nil)
    }

    @Test(arguments: [
        ([String](), UInt32(0)),
        (["SECCOMP_FILTER_FLAG_TSYNC"], 1),
        (["SECCOMP_FILTER_FLAG_LOG"], 2),
        (["SECCOMP_FILTER_FLAG_SPEC_ALLOW"], 4),
        (["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"], 7),
    ] as [([String], UInt32)])
    func flagsMapToKernelBits(names: [String], bits: UInt32) throws {
        let program = try SeccompCompiler.compile(Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", flags: names))
        #expect(program.flags == bits)
    }

    @Test(arguments: [
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",
    ])
    func everyDefaultActionCompiles(action: String) throws {
        let profile = Spec.Seccomp(
            defaultAction: action, syscalls: [Spec.Syscall(names: ["getpid"], action: action == "SCMP_ACT_ALLOW" ? "SCMP_ACT_LOG" : "SCMP_ACT_ALLOW")])
        #expect(!(try SeccompCompiler.compile(profile).instructions.isEmpty))
    }

    @Test func actionValues() throws {
        #expect(try SeccompCompiler.action("SCMP_ACT_ERRNO", errnoRet: nil, field: "f") == 0x0005_0001)
        #expect(try SeccompCompiler.action("SCMP_ACT_ERRNO", errnoRet: 38, field: "f") == 0x0005_0026)
        #expect(try SeccompCompiler.action("SCMP_ACT_TRACE", errnoRet: nil, field: "f") == 0x7ff0_0001)
        #expect(try SeccompCompiler.action("SCMP_ACT_KILL_PROCESS", errnoRet: nil, field: "f") == 0x8000_0000)
        #expect(try SeccompCompiler.action("SCMP_ACT_KILL", errnoRet: nil, field: "f") == 0)
        #expect(try SeccompCompiler.action("SCMP_ACT_LOG", errnoRet: nil, field: "f") == 0x7ffc_0000)
    }

    @Test func unknownSyscallsAreSkippedAndDefaultActionRulesDropped() throws {
        let empty = try SeccompCompiler.compile(Spec.Seccomp(defaultAction: "SCMP_ACT_ERRNO"))
        let skipped = try SeccompCompiler.compile(
            Spec.Seccomp(
                defaultAction: "SCMP_ACT_ERRNO",
                syscalls: [
                    Spec.Syscall(names: ["no_such_syscall_in_any_kernel"], action: "SCMP_ACT_ALLOW"),
                    Spec.Syscall(names: ["getpid"], action: "SCMP_ACT_ERRNO"),
                ]))
        #expect(skipped == empty)
    }

    @Test func sameArgumentTwiceBecomesSeparateRules() throws {
        // libseccomp would refuse two conditions on one argument in one rule; runc splits them.
        let profile = Spec.Seccomp(
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [
                Spec.Syscall(
                    names: ["socket"], action: "SCMP_ACT_ERRNO",
                    args: [.init(index: 0, value: 1, op: "SCMP_CMP_EQ"), .init(index: 0, value: 2, op: "SCMP_CMP_EQ")])
            ])
        #expect(!(try SeccompCompiler.compile(profile).instructions.isEmpty))
    }

    @Test func errorsNameTheField() {
        let allow = "SCMP_ACT_ALLOW"
        #expect(seccompFailure(Spec.Seccomp(defaultAction: "SCMP_ACT_MAYBE")) == "linux.seccomp.defaultAction")
        #expect(
            seccompFailure(
                Spec.Seccomp(
                    defaultAction: "SCMP_ACT_ERRNO",
                    syscalls: [
                        Spec.Syscall(names: ["read"], action: allow), Spec.Syscall(names: ["write"], action: allow),
                        Spec.Syscall(names: ["open"], action: "SCMP_ACT_NOPE"),
                    ])) == "linux.seccomp.syscalls[2].action")
        #expect(
            seccompFailure(
                Spec.Seccomp(
                    defaultAction: "SCMP_ACT_ERRNO",
                    syscalls: [
                        Spec.Syscall(
                            names: ["read"], action: allow,
                            args: [.init(index: 0, value: 1, op: "SCMP_CMP_EQ"), .init(index: 1, value: 1, op: "SCMP_CMP_SORTA")])
                    ])) == "linux.seccomp.syscalls[0].args[1].op")
        #expect(
            seccompFailure(
                Spec.Seccomp(
                    defaultAction: "SCMP_ACT_ERRNO",
                    syscalls: [Spec.Syscall(names: ["read"], action: allow, args: [.init(index: 6, value: 1, op: "SCMP_CMP_EQ")])]))
                == "linux.seccomp.syscalls[0].args[0].index")
        #expect(
            seccompFailure(Spec.Seccomp(defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]))
                == "linux.seccomp.architectures[1]")
        #expect(seccompFailure(Spec.Seccomp(defaultAction: "SCMP_ACT_ERRNO", flags: ["SECCOMP_FILTER_FLAG_FAST"])) == "linux.seccomp.flags[0]")
        #expect(
            seccompFailure(Spec.Seccomp(defaultAction: "SCMP_ACT_ERRNO", syscalls: [Spec.Syscall(names: [], action: allow)]))
                == "linux.seccomp.syscalls[0].names")
        #expect(seccompFailure(Spec.Seccomp(defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 70000)) == "linux.seccomp.defaultAction")
    }

    @Test func notifyIsUnsupported() {
        #expect(seccompFailure(Spec.Seccomp(defaultAction: "SCMP_ACT_NOTIFY")) == "unsupported")
        #expect(
            seccompFailure(
                Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", syscalls: [Spec.Syscall(names: ["mkdir"], action: "SCMP_ACT_NOTIFY")]))
                == "unsupported")
        #expect(seccompFailure(Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])) == "unsupported")
    }

    @Test func decodesFromConfigJSON() throws {
        let json = #"""
            {"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],
             "syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"},
                         {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}
            """#
        let profile = try JSONDecoder().decode(Spec.Seccomp.self, from: Data(json.utf8))
        #expect(!(try SeccompCompiler.compile(profile).instructions.isEmpty))
    }
}
