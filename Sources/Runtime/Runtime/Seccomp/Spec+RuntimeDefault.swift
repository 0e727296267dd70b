/// The `RuntimeDefault` seccomp profile Kubernetes users get from containerd, CRI-O or Docker.
///
/// Same coverage as moby's default profile (github.com/moby/profiles, `seccomp/default_linux.go`,
/// read for the facts): default SCMP_ACT_ERRNO (EPERM) with an allow-list, so everything not
/// listed is refused: keyctl, add_key, request_key, mount/umount2, bpf, perf_event_open, kexec_*,
/// init_module, pivot_root, setns/unshare, userfaultfd, ... Differences, all deliberate:
/// - architectures: the native arch and its compat arches only (moby builds the same map);
/// - moby's kernel ≥ 4.8 condition on ptrace/process_vm_* is taken as true (cgroup v2 with the
///   controllers this runtime needs implies a newer kernel);
/// - capability-conditional parts follow moby's table, driven by `capabilities` (names like
///   "CAP_SYS_ADMIN", normally the container's bounding set).
extension Spec.Seccomp {
    /// The RuntimeDefault profile for a container holding `capabilities`.
    public static func runtimeDefault(capabilities: Set<String> = []) -> Spec.Seccomp {
        var syscalls: [Spec.Syscall] = [
            Spec.Syscall(names: RuntimeDefaultProfile.allowed, action: "SCMP_ACT_ALLOW"),
            Spec.Syscall(names: ["process_vm_readv", "process_vm_writev", "ptrace"], action: "SCMP_ACT_ALLOW"),
        ]
        // socket(2) for every address family except AF_ALG (38) and AF_VSOCK (40).
        syscalls += [
            Spec.Syscall(names: ["socket"], action: "SCMP_ACT_ALLOW", args: [.init(index: 0, value: 38, op: "SCMP_CMP_LT")]),
            Spec.Syscall(names: ["socket"], action: "SCMP_ACT_ALLOW", args: [.init(index: 0, value: 39, op: "SCMP_CMP_EQ")]),
            Spec.Syscall(names: ["socket"], action: "SCMP_ACT_ALLOW", args: [.init(index: 0, value: 40, op: "SCMP_CMP_GT")]),
        ]
        // personality(2) only for PER_LINUX, PER_LINUX32, UNAME26 variants and the query.
        for persona: UInt64 in [0x0, 0x0008, 0x20000, 0x20008, 0xffff_ffff] {
            syscalls.append(
                Spec.Syscall(names: ["personality"], action: "SCMP_ACT_ALLOW", args: [.init(index: 0, value: persona, op: "SCMP_CMP_EQ")]))
        }
        let archSpecific = RuntimeDefaultProfile.nativeArchSyscalls
        if !archSpecific.isEmpty {
            syscalls.append(Spec.Syscall(names: archSpecific, action: "SCMP_ACT_ALLOW"))
        }
        for (capability, names) in RuntimeDefaultProfile.byCapability where capabilities.contains(capability) {
            syscalls.append(Spec.Syscall(names: names, action: "SCMP_ACT_ALLOW"))
        }
        if !capabilities.contains("CAP_SYS_ADMIN") {
            // clone(2) without namespace flags; clone3 hides its flags in memory, so it reports
            // ENOSYS and libc falls back to clone.
            #if arch(s390x)
            let flagsIndex: UInt32 = 1
            #else
            let flagsIndex: UInt32 = 0
            #endif
            syscalls.append(
                Spec.Syscall(
                    names: ["clone"], action: "SCMP_ACT_ALLOW",
                    args: [.init(index: flagsIndex, value: RuntimeDefaultProfile.namespaceCloneFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")]))
            syscalls.append(Spec.Syscall(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 /* ENOSYS */))
        }
        return Spec.Seccomp(
            defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1 /* EPERM */,
            architectures: RuntimeDefaultProfile.nativeArchitectures, syscalls: syscalls)
    }
}

/// The facts behind `Spec.Seccomp.runtimeDefault`.
enum RuntimeDefaultProfile {
    /// CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP.
    static let namespaceCloneFlags: UInt64 = 0x0002_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000 | 0x0200_0000

    static var nativeArchitectures: [String] {
        #if arch(x86_64)
        ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        #elseif arch(arm64)
        ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
        #elseif arch(s390x)
        ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]
        #elseif arch(riscv64)
        ["SCMP_ARCH_RISCV64"]
        #elseif arch(powerpc64le)
        ["SCMP_ARCH_PPC64LE"]
        #else
        []
        #endif
    }

    static var nativeArchSyscalls: [String] {
        #if arch(x86_64) || arch(i386)
        ["arch_prctl", "modify_ldt"]
        #elseif arch(arm64) || arch(arm)
        ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"]
        #elseif arch(s390x)
        ["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"]
        #elseif arch(riscv64)
        ["riscv_flush_icache"]
        #elseif arch(powerpc64le)
        ["sync_file_range2", "swapcontext"]
        #else
        []
        #endif
    }

    /// Syscalls allowed only to holders of a capability, in moby's table order.
    static let byCapability: [(String, [String])] = [
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("CAP_SYS_ADMIN", [
            "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
            "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr", "move_mount",
            "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
            "syslog", "umount", "umount2", "unshare",
        ]),
        ("CAP_SYS_BOOT", ["reboot"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
    ]

    /// Allowed for everyone. Names unknown to the host's libseccomp are skipped at compile time.
    static let allowed: [String] = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
        "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
        "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
        "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
        "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
        "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir",
        "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
        "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
        "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue",
        "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd",
        "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
        "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
        "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
        "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
        "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
        "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
        "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc",
        "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
        "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr", "listxattrat",
        "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
        "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat",
        "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
        "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
        "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd",
        "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat",
        "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe",
        "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
        "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64",
        "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
        "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
        "removexattrat", "rename", "renameat", "renameat2", "restart_syscall", "riscv_hwprobe", "rmdir",
        "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
        "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
        "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
        "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
        "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid",
        "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
        "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
        "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
        "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat",
        "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
        "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
        "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
        "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
        "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
        "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill",
        "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime",
        "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
        "write", "writev",
    ]
}
