// The last steps before execve: limits, console, user and capabilities, seccomp.
#define _GNU_SOURCE
#include "sl_internal.h"
#include "sl_system.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

void sl_process_limits(const struct sl_process *p) {
    for (size_t i = 0; i < p->n_rlimits; i++) {
        struct rlimit limit = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
        if (prlimit(0, p->rlimits[i].resource, &limit, NULL) != 0)
            sl_fail("rlimits", "setting resource %d to soft %llu hard %llu", p->rlimits[i].resource,
                    (unsigned long long)p->rlimits[i].soft, (unsigned long long)p->rlimits[i].hard);
    }
    if (p->set_oom_score_adj) {
        char value[32];
        int len = snprintf(value, sizeof(value), "%d", p->oom_score_adj);
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, value, (size_t)len) != len)
            sl_fail("oomScoreAdj", "writing %d to /proc/self/oom_score_adj", p->oom_score_adj);
        close(fd);
    }
}

void sl_process_console(const struct sl_process *p) {
    if (!p->terminal) return;
    if (p->console_socket_fd < 0) sl_fail_errno(EINVAL, "console", "a terminal needs a console socket");
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) sl_fail("console", "opening /dev/ptmx");
    if (unlockpt(master) != 0) sl_fail("console", "unlockpt");
    char name[128];
    if (ptsname_r(master, name, sizeof(name)) != 0) sl_fail("console", "ptsname");
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) sl_fail("console", "opening %s", name);
    if (fchown(slave, p->uid, (gid_t)-1) != 0) sl_fail("console", "chown %s", name);
    if (p->console_rows || p->console_cols) sl_set_winsize(master, p->console_rows, p->console_cols);
    if (sl_send_fd(p->console_socket_fd, master) != 0) sl_fail("console", "sending the pty master to the console socket");
    close(master);
    close(p->console_socket_fd);
    if (ioctl(slave, TIOCSCTTY, 0) != 0) sl_fail("console", "TIOCSCTTY");
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0) sl_fail("console", "dup2");
    if (slave > 2) close(slave);
}

void sl_process_make_cwd(const struct sl_process *p) {
    if (!p->cwd || p->cwd[0] != '/') return;
    struct stat st;
    if (stat(p->cwd, &st) == 0) return;
    char path[PATH_MAX];
    size_t len = strlen(p->cwd);
    if (len >= sizeof(path)) sl_fail_errno(ENAMETOOLONG, "cwd", "%s", p->cwd);
    memcpy(path, p->cwd, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        char saved = path[i];
        path[i] = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST) sl_fail("cwd", "creating %s", path);
        path[i] = saved;
    }
}

static int executable(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

const char *sl_process_resolve(const struct sl_process *p) {
    if (p->cwd && chdir(p->cwd) != 0) sl_fail("cwd", "chdir %s", p->cwd);
    // A cwd that is not under the process root (a leaked host directory) reads "(unreachable)".
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/') sl_fail_errno(EPERM, "cwd", "%s is outside the container root", p->cwd ? p->cwd : ".");
    if (p->path) return p->path;
    const char *arg0 = p->argv[0];
    if (!arg0 || !*arg0) sl_fail_errno(EINVAL, "process", "process.args[0] is empty");
    if (strchr(arg0, '/')) {
        if (!executable(arg0)) sl_fail_errno(errno ? errno : EACCES, "exec", "%s is not an executable file", arg0);
        return arg0;
    }
    const char *search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char *const *e = p->envp; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) { search = *e + 5; break; }
    static char found[PATH_MAX];
    const char *dir = search;
    while (1) {
        const char *end = strchrnul(dir, ':');
        int n = snprintf(found, sizeof(found), "%.*s/%s", (int)(end - dir), end == dir ? "." : dir, arg0);
        if (n > 0 && (size_t)n < sizeof(found) && executable(found)) return found;
        if (!*end) break;
        dir = end + 1;
    }
    sl_fail_errno(ENOENT, "exec", "\"%s\": executable file not found in $PATH", arg0);
}

static void load_seccomp(const struct sl_process *p) {
    struct sock_fprog prog = { .len = p->seccomp_len, .filter = (struct sock_filter *)p->seccomp_filter };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog) != 0)
        sl_fail("seccomp", "loading the filter (%u instructions, flags 0x%x)", p->seccomp_len, p->seccomp_flags);
}

static void set_capabilities(const struct sl_process *p) {
    cap_t caps = cap_init();
    if (!caps) sl_fail("capabilities", "cap_init");
    int last = sl_cap_last_cap();
    for (int cap = 0; cap <= last && cap < 64; cap++) {
        cap_value_t value = cap;
        uint64_t bit = 1ULL << cap;
        if ((p->cap_effective & bit) && cap_set_flag(caps, CAP_EFFECTIVE, 1, &value, CAP_SET) != 0) sl_fail("capabilities", "effective");
        if ((p->cap_permitted & bit) && cap_set_flag(caps, CAP_PERMITTED, 1, &value, CAP_SET) != 0) sl_fail("capabilities", "permitted");
        if ((p->cap_inheritable & bit) && cap_set_flag(caps, CAP_INHERITABLE, 1, &value, CAP_SET) != 0) sl_fail("capabilities", "inheritable");
    }
    if (cap_set_proc(caps) != 0) sl_fail("capabilities", "applying the effective, permitted and inheritable sets");
    cap_free(caps);
    if (cap_reset_ambient() != 0 && errno != EINVAL) sl_fail("capabilities", "clearing the ambient set");
    // The kernel raises an ambient capability only if it is also permitted and inheritable
    // (EPERM otherwise). `runc spec`'s own config lists ambient capabilities without
    // inheritable ones: like runc and crun, such a capability is left out of the ambient set
    // instead of failing the container.
    for (int cap = 0; cap <= last && cap < 64; cap++)
        if ((p->cap_ambient & (1ULL << cap)) && cap_set_ambient(cap, CAP_SET) != 0 && errno != EPERM)
            sl_fail("capabilities", "raising ambient capability %d", cap);
}

void sl_process_exec(const struct sl_process *p, const char *path) {
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still have it.
    if (p->seccomp_filter && !p->no_new_privs) load_seccomp(p);
    if (p->set_personality && personality(p->personality) < 0) sl_fail("personality", "0x%lx", p->personality);
    if (p->set_caps) {
        int last = sl_cap_last_cap();
        for (int cap = 0; cap <= last && cap < 64; cap++)
            if (!(p->cap_bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
                sl_fail("capabilities", "dropping %d from the bounding set", cap);
    }
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) sl_fail("user", "PR_SET_KEEPCAPS");
    if (p->set_groups && setgroups(p->n_groups, (const gid_t *)p->groups) != 0) sl_fail("user", "setgroups");
    if (setresgid(p->gid, p->gid, p->gid) != 0) sl_fail("user", "setresgid %u", p->gid);
    if (setresuid(p->uid, p->uid, p->uid) != 0) sl_fail("user", "setresuid %u", p->uid);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) sl_fail("user", "PR_SET_KEEPCAPS");
    if (p->set_caps) set_capabilities(p);
    umask(p->set_umask ? p->umask : 022);
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) sl_fail("noNewPrivileges", "prctl");
    // Nothing of ours crosses execve: every fd past stdio and the preserved ones is close-on-exec.
    if (sl_close_range(3 + (unsigned)p->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3 + p->preserve_fds; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    // The set-up's parent-death signal must not outlive it: the process may outlive `exec -d`.
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (p->seccomp_filter && p->no_new_privs) load_seccomp(p);
    execve(path, p->argv, p->envp);
    sl_fail("exec", "%s", path);
}

int sl_cap_from_name(const char *name) {
    cap_value_t value;
    if (cap_from_name(name, &value) != 0) return -1;
    return value;
}

int sl_cap_last_cap(void) {
    static int last = -1;
    if (last >= 0) return last;
    last = CAP_LAST_CAP;
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[16] = { 0 };
        if (read(fd, buf, sizeof(buf) - 1) > 0) last = atoi(buf);
        close(fd);
    }
    return last;
}

int sl_proxy_pty(int master, int in_fd, int out_fd, pid_t child) {
    (void)child;
    char buf[8192];
    struct pollfd fds[2] = { { .fd = master, .events = POLLIN }, { .fd = in_fd, .events = POLLIN } };
    int nfds = in_fd >= 0 ? 2 : 1;
    for (;;) {
        int r = poll(fds, (nfds_t)nfds, -1);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(master, buf, sizeof(buf));
            if (n <= 0) return 0; // EIO when the last slave fd closes
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(out_fd, buf + off, (size_t)(n - off));
                if (w < 0) { if (errno == EINTR) continue; return -1; }
                off += w;
            }
        }
        if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(in_fd, buf, sizeof(buf));
            if (n <= 0) nfds = 1;
            else if (write(master, buf, (size_t)n) < 0) return -1;
        }
    }
}
