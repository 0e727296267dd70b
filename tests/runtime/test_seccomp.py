"""seccomp: the OCI profile is really loaded."""

import pytest

from ocitest import parse_status

ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def profile(default, syscalls, **extra):
    return {"defaultAction": default, "architectures": ARCHES, "syscalls": syscalls, **extra}


def test_deny_mkdir_with_errno(rt, bundle):
    bundle.linux["seccomp"] = profile("SCMP_ACT_ALLOW", [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}])
    bundle.sh("mkdir /tmp/x 2>&1; echo rc=$?; touch /tmp/y && echo touch-ok; "
              "grep Seccomp: /proc/self/status")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert "Operation not permitted" in r.stdout
    assert "rc=1" in r.stdout
    assert "touch-ok" in r.stdout  # other syscalls unaffected
    assert parse_status(r.stdout)["Seccomp"] == "2"  # filter mode
    assert not (bundle.rootfs / "tmp" / "x").exists()


def test_errno_ret_value(rt, bundle):
    bundle.linux["seccomp"] = profile("SCMP_ACT_ALLOW", [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}])
    bundle.sh("mkdir /tmp/x 2>&1")
    r = rt.run(bundle)
    assert "Permission denied" in r.stdout  # EACCES


def test_errno_default_is_eperm(rt, bundle):
    bundle.linux["seccomp"] = profile("SCMP_ACT_ALLOW", [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    bundle.sh("mkdir /tmp/x 2>&1")
    r = rt.run(bundle)
    assert "Operation not permitted" in r.stdout


def test_argument_filter(rt, bundle):
    """kill(2) is denied only when the signal (arg 1) is SIGUSR1."""
    bundle.linux["seccomp"] = profile("SCMP_ACT_ALLOW", [
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]}])
    bundle.sh("trap 'echo got-usr2' USR2; kill -USR1 $$ 2>&1; echo usr1-rc=$?; "
              "kill -USR2 $$; echo usr2-rc=$?; kill -0 $$; echo zero-rc=$?")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert "usr1-rc=1" in r.stdout
    assert "got-usr2" in r.stdout and "usr2-rc=0" in r.stdout
    assert "zero-rc=0" in r.stdout


def test_argument_filter_masked_eq(rt, bundle):
    """chmod is denied when the mode has the setuid bit (masked compare)."""
    rule_args = lambda idx: [{"index": idx, "value": 0o4000, "valueTwo": 0o4000, "op": "SCMP_CMP_MASKED_EQ"}]
    bundle.linux["seccomp"] = profile("SCMP_ACT_ALLOW", [
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": rule_args(1)},
        {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": rule_args(2)},
        {"names": ["fchmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": rule_args(1)}])
    bundle.sh("touch /tmp/f; chmod 4755 /tmp/f 2>&1; echo suid-rc=$?; chmod 755 /tmp/f; echo plain-rc=$?; "
              "stat -c %a /tmp/f")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert "suid-rc=1" in r.stdout
    assert "plain-rc=0" in r.stdout
    assert r.stdout.splitlines()[-1] == "755"


def test_kill_action(rt, bundle):
    bundle.linux["seccomp"] = profile("SCMP_ACT_ALLOW", [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}])
    bundle.sh("mkdir /tmp/x; echo child-rc=$?; exec mkdir /tmp/y")
    r = rt.run(bundle)
    assert "child-rc=159" in r.stdout  # 128 + SIGSYS
    assert r.returncode == 128 + 31  # the container's own process killed by SIGSYS


def test_seccomp_without_no_new_privileges(rt, bundle):
    """Loading a filter without no_new_privs needs CAP_SYS_ADMIN at load
    time; the runtime must order this so the container still gets it."""
    bundle.process["noNewPrivileges"] = False
    bundle.linux["seccomp"] = profile("SCMP_ACT_ALLOW", [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}])
    bundle.sh("mkdir /tmp/x 2>&1; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    st = parse_status(r.stdout)
    assert "Operation not permitted" in r.stdout
    assert st["Seccomp"] == "2"
    assert st["NoNewPrivs"] == "0"


# An allow-list big enough for busybox sh + coreutils applets and for the
# runtime's last steps before execve (x86_64 names).
ALLOW = """accept accept4 access arch_prctl bind brk capget capset chdir chmod chown clock_getres
clock_gettime clock_nanosleep clone clone3 close close_range connect dup dup2 dup3 epoll_create1
epoll_ctl epoll_pwait epoll_wait execve execveat exit exit_group faccessat faccessat2 fadvise64
fchdir fchmod fchmodat fchown fchownat fcntl fdatasync fstat fstatfs fsync ftruncate futex
getcwd getdents getdents64 getegid geteuid getgid getgroups getpgid getpgrp getpid getppid
getpriority getrandom getresgid getresuid getrlimit getrusage getsid gettid gettimeofday getuid
getxattr ioctl kill lchown lgetxattr link linkat listxattr lseek lstat madvise membarrier
mmap mprotect mremap munmap nanosleep newfstatat open openat openat2 pause pipe pipe2 poll ppoll
prctl pread64 preadv prlimit64 pselect6 pwrite64 pwritev read readlink readlinkat readv
rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo sched_getaffinity
sched_yield select set_robust_list set_tid_address setgid setgroups setitimer setpgid
setpriority setregid setresgid setresuid setreuid setrlimit setsid setuid sigaltstack stat
statfs statx symlink symlinkat sysinfo tgkill time times tkill truncate umask uname unlink
unlinkat utime utimensat utimes vfork wait4 waitid write writev""".split()


def test_default_errno_with_allow_list(rt, bundle):
    bundle.linux["seccomp"] = profile("SCMP_ACT_ERRNO", [
        {"names": ALLOW, "action": "SCMP_ACT_ALLOW"}], defaultErrnoRet=1)
    bundle.sh("echo start; mkdir /tmp/x 2>&1; echo mkdir-rc=$?; hostname h2 2>&1; echo sethostname-rc=$?; "
              "ls / >/dev/null && echo ls-ok")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert "start" in r.stdout
    assert "mkdir-rc=1" in r.stdout  # mkdir is not on the list
    assert "sethostname-rc=1" in r.stdout
    assert "ls-ok" in r.stdout


@pytest.mark.parametrize("flag", ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"])
def test_flags_accepted(rt, bundle, flag):
    if rt.lacks("seccomp-flags"):
        pytest.skip(f"{rt.name} {rt.version} rejects linux.seccomp.flags")
    bundle.linux["seccomp"] = profile("SCMP_ACT_ALLOW", [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}], flags=[flag])
    bundle.sh("mkdir /tmp/x 2>&1")
    r = rt.run(bundle)
    assert "Operation not permitted" in r.stdout, r.stderr
