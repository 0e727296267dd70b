import Foundation
import SystemCore
import Testing
@testable import Runtime

@Suite struct SeccompRuntimeDefaultTests {
    func allowedNames(_ profile: Spec.Seccomp) -> Set<String> {
        Set((profile.syscalls ?? []).filter { $0.action == "SCMP_ACT_ALLOW" && ($0.args ?? []).isEmpty }.flatMap(\.names))
    }

    @Test func shapeFollowsMoby() {
        let profile = Spec.Seccomp.runtimeDefault()
        #expect(profile.defaultAction == "SCMP_ACT_ERRNO")
        #expect(profile.defaultErrnoRet == 1)
        #if arch(x86_64)
        #expect(profile.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        #endif
        let allowed = allowedNames(profile)
        for name in ["read", "write", "execve", "openat", "futex", "epoll_pwait", "mkdir", "ptrace", "clock_gettime"] {
            #expect(allowed.contains(name), "\(name) should be allowed")
        }
        for name in [
            "keyctl", "add_key", "request_key", "mount", "umount2", "bpf", "perf_event_open", "kexec_load",
            "kexec_file_load", "init_module", "finit_module", "unshare", "setns", "reboot", "pivot_root", "userfaultfd",
            "chroot", "clone", "clone3", "socket", "personality", "open_by_handle_at", "swapon", "acct",
        ] {
            #expect(!allowed.contains(name), "\(name) must not be allowed unconditionally")
        }
        // clone only without namespace flags, clone3 reports ENOSYS.
        let clone = profile.syscalls?.first { $0.names == ["clone"] }
        #expect(clone?.args?.first?.op == "SCMP_CMP_MASKED_EQ")
        #expect(clone?.args?.first?.value == 0x7E02_0000)
        let clone3 = profile.syscalls?.first { $0.names == ["clone3"] }
        #expect(clone3?.action == "SCMP_ACT_ERRNO" && clone3?.errnoRet == 38)
    }

    @Test func capabilitiesWidenTheAllowList() {
        let admin = Spec.Seccomp.runtimeDefault(capabilities: ["CAP_SYS_ADMIN", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE"])
        let allowed = allowedNames(admin)
        for name in ["mount", "umount2", "unshare", "setns", "clone", "clone3", "chroot", "kcmp", "pidfd_getfd"] {
            #expect(allowed.contains(name), "\(name) should be allowed with the capability")
        }
        #expect(!allowed.contains("reboot"))
        #expect(!(admin.syscalls ?? []).contains { $0.names == ["clone3"] && $0.action == "SCMP_ACT_ERRNO" })
        #expect(allowedNames(Spec.Seccomp.runtimeDefault(capabilities: ["CAP_SYS_BOOT"])).contains("reboot"))
    }

    @Test func compiles() throws {
        let program = try SeccompCompiler.compile(.runtimeDefault())
        #expect(program.instructions.count > 100)
        #expect(program.instructions.count <= 4096)
        #expect(program.flags == 0)
        let admin = try SeccompCompiler.compile(.runtimeDefault(capabilities: ["CAP_SYS_ADMIN"]))
        #expect(admin != program)
        // Every capability at once: overlapping entries (syslog, bpf, ptrace twice) still compile.
        let everything = Set(RuntimeDefaultProfile.byCapability.map(\.0))
        #expect(try SeccompCompiler.compile(.runtimeDefault(capabilities: everything)).instructions.count <= 4096)
    }
}

/// Loads compiled programs into a real process: python3 sets no_new_privs, calls
/// seccomp(SECCOMP_SET_MODE_FILTER) with the exported bytes, then makes one syscall and exits
/// with its errno (0 on success). Spawning a fresh process avoids forking the test runner.
@Suite(.enabled(if: FileSystem.exists("/usr/bin/python3")))
struct SeccompBehaviourTests {
    static let script = #"""
        import ctypes, os, platform, socket, sys
        data = open(sys.argv[1], "rb").read()
        flags = int(sys.argv[2])
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            sys.exit(200)
        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
        buf = ctypes.create_string_buffer(data, len(data))
        prog = SockFprog(len(data) // 8, ctypes.cast(buf, ctypes.c_void_p))
        nr = {"x86_64": 317, "aarch64": 277}[platform.machine()]
        if libc.syscall(nr, 1, flags, ctypes.byref(prog)) != 0:  # SECCOMP_SET_MODE_FILTER
            sys.exit(201)
        op = sys.argv[3]
        try:
            if op == "mkdir":
                os.mkdir(sys.argv[4])
            elif op == "socket":
                socket.socket(int(sys.argv[4]), socket.SOCK_STREAM).close()
            elif op == "unshare":
                if libc.unshare(0x04000000) != 0:  # CLONE_NEWUTS
                    sys.exit(ctypes.get_errno())
        except OSError as e:
            sys.exit(e.errno)
        sys.exit(0)
        """#

    /// Runs `operation` under `program`; returns the child's exit status.
    func run(_ program: SeccompProgram, _ operation: [String]) throws -> Int32 {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-seccomp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bpf = dir.appendingPathComponent("filter.bpf")
        try Data(program.bytes).write(to: bpf)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script, bpf.path, String(program.flags)]
            + operation.map { $0.replacingOccurrences(of: "$DIR", with: dir.path) }
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func errnoRetIsReturned() throws {
        let program = try SeccompCompiler.compile(SeccompCompilerTests.small)
        #expect(try run(program, ["mkdir", "$DIR/blocked"]) == 18)  // EXDEV from errnoRet
    }

    @Test func sameArgumentConditionsAreAlternatives() throws {
        let program = try SeccompCompiler.compile(
            Spec.Seccomp(
                defaultAction: "SCMP_ACT_ALLOW",
                syscalls: [
                    Spec.Syscall(
                        names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 18,
                        args: [.init(index: 0, value: 1, op: "SCMP_CMP_EQ"), .init(index: 0, value: 2, op: "SCMP_CMP_EQ")])
                ]))
        #expect(try run(program, ["socket", "1"]) == 18)  // AF_UNIX
        #expect(try run(program, ["socket", "2"]) == 18)  // AF_INET
        #expect(try run(program, ["socket", "10"]) == 0)  // AF_INET6
    }

    @Test func runtimeDefaultAllowsOrdinaryWorkAndBlocksTheRest() throws {
        let program = try SeccompCompiler.compile(.runtimeDefault())
        #expect(try run(program, ["mkdir", "$DIR/allowed"]) == 0)
        #expect(try run(program, ["unshare"]) == 1)  // EPERM
        #expect(try run(program, ["socket", "40"]) == 1)  // AF_VSOCK refused by the arg filter
        #expect(try run(program, ["socket", "1"]) == 0)  // AF_UNIX fine
    }
}
