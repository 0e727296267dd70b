// Stage 1 (namespace entry) and stage 2 (container init or exec'd process).
#define _GNU_SOURCE
#include "sl_internal.h"
#include "sl_system.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/keyctl.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const char *const ns_names[SL_NS_COUNT] = { "user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time" };

/// Waits for a message of `type` from the parent; any other outcome ends the child.
static uint32_t expect(int32_t type, char *payload, uint32_t capacity) {
    struct sl_msg_header header;
    int r = sl_msg_recv(sl_child_sync_fd, &header, payload, capacity);
    if (r <= 0) _exit(1); // parent gone or failed: nothing to report to
    if (header.type != type) sl_fail_errno(EPROTO, "sync", "expected message %d, got %d", type, header.type);
    return header.length;
}

static void write_file(const char *path, const char *data, const char *stage) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) sl_fail(stage, "open %s", path);
    size_t len = strlen(data);
    ssize_t n = write(fd, data, len);
    if (n < 0 || (size_t)n != len) sl_fail(stage, "write %s", path);
    close(fd);
}

__attribute__((noreturn)) static void stage2(const struct sl_config *c);

static void join_namespaces(const struct sl_config *c) {
    // User namespace first (it grants the capabilities to join the others), mount last.
    static const int order[] = { SL_NS_USER, SL_NS_IPC, SL_NS_UTS, SL_NS_NET, SL_NS_PID, SL_NS_CGROUP, SL_NS_TIME, SL_NS_MNT };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        int fd = c->ns_join_fds[order[i]];
        if (fd < 0) continue;
        if (setns(fd, 0) != 0) sl_fail("setns", "joining the %s namespace", ns_names[order[i]]);
        close(fd);
    }
}

static int compare_ints(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/// Closes every fd the children were not given: the parent's locks and files must not live on in
/// the container's init (which runs until `start`, long after the parent exits).
static void close_other_fds(const struct sl_config *c) {
    int keep[SL_NS_COUNT + 8];
    size_t n = 0;
    keep[n++] = c->sync_fd;
    keep[n++] = c->process.console_socket_fd;
    keep[n++] = c->exec_fifo_dirfd;
    for (int i = 0; i < SL_NS_COUNT; i++) keep[n++] = c->ns_join_fds[i];
    qsort(keep, n, sizeof(int), compare_ints);
    unsigned int next = 3 + (unsigned int)(c->process.preserve_fds > 0 ? c->process.preserve_fds : 0);
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned int)keep[i] < next) continue;
        if ((unsigned int)keep[i] > next) sl_close_range(next, (unsigned int)keep[i] - 1, 0);
        next = (unsigned int)keep[i] + 1;
    }
    sl_close_range(next, ~0U, 0);
}

__attribute__((noreturn)) static void stage1(const struct sl_config *c) {
    sl_child_sync_fd = c->sync_fd;
    close_other_fds(c);
    // The parent may block or ignore signals; the container starts with none blocked or ignored.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    if (c->deathsig) prctl(PR_SET_PDEATHSIG, c->deathsig);
    char buffer[64];
    expect(SL_MSG_CONTINUE, buffer, sizeof(buffer));

    join_namespaces(c);
    if (c->ns_clone_flags) {
        if (unshare(c->ns_clone_flags) != 0) sl_fail("unshare", "creating namespaces (flags 0x%x)", c->ns_clone_flags);
        if (c->ns_clone_flags & CLONE_NEWUSER) {
            if (sl_msg_send(sl_child_sync_fd, SL_MSG_USERNS_READY, 0, 0, NULL, 0) != 0) _exit(1);
            expect(SL_MSG_USERNS_MAPPED, buffer, sizeof(buffer));
            if (setresgid(0, 0, 0) != 0) sl_fail("user namespace", "setresgid(0) after mapping");
            if (setresuid(0, 0, 0) != 0) sl_fail("user namespace", "setresuid(0) after mapping");
        }
        if ((c->ns_clone_flags & CLONE_NEWTIME) && c->timens_offsets)
            write_file("/proc/self/timens_offsets", c->timens_offsets, "time namespace");
    }

    // Stage 2 waits on this pipe until stage 1 is gone, so the parent always has the child's
    // pid (CHILD_PID) before any message of stage 2 (HOOKS, READY), however they are scheduled.
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) != 0) sl_fail("pipe2", "creating the stage gate");
    // CLONE_PARENT: stage 2 is the parent's child, so it can wait for it (exec, run).
    pid_t child = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
    if (child < 0) sl_fail("clone", "starting the container process");
    if (child == 0) {
        close(gate[1]);
        char byte;
        ssize_t n;
        while ((n = read(gate[0], &byte, 1)) < 0 && errno == EINTR) {}
        close(gate[0]);
        stage2(c);
    }
    if (sl_msg_send(sl_child_sync_fd, SL_MSG_CHILD_PID, child, 0, NULL, 0) != 0) {
        kill(child, SIGKILL);
        _exit(1);
    }
    _exit(0);  // closes gate[1]: stage 2 goes on
}

static void set_names(const struct sl_config *c) {
    if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) != 0)
        sl_fail("hostname", "sethostname %s", c->hostname);
    if (c->domainname && setdomainname(c->domainname, strlen(c->domainname)) != 0)
        sl_fail("domainname", "setdomainname %s", c->domainname);
}

static void apply_sysctls(const struct sl_config *c) {
    char path[512];
    for (size_t i = 0; i < c->n_sysctls; i++) {
        int n = snprintf(path, sizeof(path), "/proc/sys/%s", c->sysctl_keys[i]);
        if (n < 0 || (size_t)n >= sizeof(path)) sl_fail_errno(ENAMETOOLONG, "sysctl", "%s", c->sysctl_keys[i]);
        for (char *p = path + 10; *p; p++) if (*p == '.') *p = '/';
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) sl_fail("sysctl", "setting %s", c->sysctl_keys[i]);
        size_t len = strlen(c->sysctl_values[i]);
        if (write(fd, c->sysctl_values[i], len) != (ssize_t)len) sl_fail("sysctl", "setting %s=%s", c->sysctl_keys[i], c->sysctl_values[i]);
        close(fd);
    }
}

__attribute__((noreturn)) static void stage2(const struct sl_config *c) {
    if (c->deathsig) prctl(PR_SET_PDEATHSIG, c->deathsig);
    // Until execve, nobody (not even a process exec'd into the container) may open our fds via /proc.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const struct sl_process *p = &c->process;

    if (c->is_exec) {
        if (p->terminal && setsid() < 0) sl_fail("setsid", "exec with a terminal");
        sl_process_limits(p);
        sl_process_console(p);
        const char *path = sl_process_resolve(p);
        // The sync socket is close-on-exec: the parent sees EOF when execve succeeded.
        sl_process_exec(p, path);
    }

    if (setsid() < 0) sl_fail("setsid", "container init");
    // A fresh session keyring, so the container cannot read or link the caller's keys.
    // Kernels without keys (ENOSYS) or policies that deny it (EACCES/EPERM) keep the old one.
    if (c->session_keyring && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c->session_keyring) < 0 &&
        errno != ENOSYS && errno != EACCES && errno != EPERM)
        sl_fail("keyring", "joining a new session keyring");
    umask(0);
    if (c->new_mount_ns) sl_rootfs_prepare(c);
    apply_sysctls(c);
    set_names(c);
    sl_process_limits(p);

    char *state = NULL;
    uint32_t state_len = 0;
    if (c->wait_hooks) {
        if (sl_msg_send(sl_child_sync_fd, SL_MSG_HOOKS, 0, 0, NULL, 0) != 0) _exit(1);
        state = malloc(SL_MSG_MAX + 1);
        if (!state) sl_fail("hooks", "allocating the state buffer");
        state_len = expect(SL_MSG_HOOKS_DONE, state, SL_MSG_MAX);
        state[state_len] = 0;
        sl_run_hooks_or_fail(c->create_container_hooks, c->n_create_container_hooks, state, strlen(state));
    }

    sl_rootfs_finish(c);
    sl_process_make_cwd(p);
    sl_process_console(p);
    const char *path = sl_process_resolve(p);

    // Cleared before READY: once the parent has READY it exits, and the init must outlive it.
    prctl(PR_SET_PDEATHSIG, 0);
    if (sl_msg_send(sl_child_sync_fd, SL_MSG_READY, 0, 0, NULL, 0) != 0) _exit(1);
    close(sl_child_sync_fd);
    sl_child_sync_fd = -1;

    if (c->exec_fifo_dirfd >= 0) {
        // Blocks until `start` opens the fifo for reading.
        int fifo = openat(c->exec_fifo_dirfd, "exec.fifo", O_WRONLY | O_CLOEXEC);
        if (fifo < 0) sl_fail("start", "opening exec.fifo");
        if (write(fifo, "0", 1) != 1) sl_fail("start", "writing exec.fifo");
        // The fifo stays open (close-on-exec): `start` sees EOF once execve succeeded, so
        // startContainer hooks are done before it runs poststart hooks.
        close(c->exec_fifo_dirfd);
    }
    if (c->n_start_container_hooks && state) {
        // The second string of the payload is the state for startContainer hooks.
        const char *start_state = state + strlen(state) + 1;
        if (start_state > state + state_len) start_state = state;
        sl_run_hooks_or_fail(c->start_container_hooks, c->n_start_container_hooks, start_state, strlen(start_state));
    }
    sl_process_exec(p, path);
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct sl_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

pid_t sl_spawn(const struct sl_config *config, int cgroup_fd, int *placed) {
    *placed = 0;
    if (cgroup_fd >= 0) {
        struct sl_clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd };
        long pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid == 0) stage1(config);
        if (pid > 0) {
            *placed = 1;
            return (pid_t)pid;
        }
        // ENOSYS (old kernel), EINVAL/EOPNOTSUPP (cgroup not usable for it): migrate the old way.
    }
    pid_t pid = fork();
    if (pid != 0) return pid;
    stage1(config);
}
