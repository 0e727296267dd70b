#define _GNU_SOURCE
#include "sl_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sl_run_hook(const struct sl_hook *hook, const char *state, size_t state_len, char *error, size_t error_len) {
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
        snprintf(error, error_len, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(error, error_len, "fork: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        char *default_argv[] = { (char *)hook->path, NULL };
        char *empty_env[] = { NULL };
        execve(hook->path, hook->argv ? hook->argv : default_argv, hook->envp ? hook->envp : empty_env);
        dprintf(2, "swiftlet-runc: exec hook %s: %s\n", hook->path, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    // The hook may exit without reading its stdin: ignore EPIPE.
    struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
    sigaction(SIGPIPE, &ignore, &old);
    size_t off = 0;
    while (off < state_len) {
        ssize_t n = write(in[1], state + off, state_len - off);
        if (n < 0) { if (errno == EINTR) continue; break; }
        off += (size_t)n;
    }
    close(in[1]);
    sigaction(SIGPIPE, &old, NULL);

    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    long long deadline = hook->timeout > 0 ? now_ms() + (long long)hook->timeout * 1000 : -1;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) {
            snprintf(error, error_len, "waitpid: %s", strerror(errno));
            if (pidfd >= 0) close(pidfd);
            return -1;
        }
        int wait_ms = -1;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            if (left <= 0) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                if (pidfd >= 0) close(pidfd);
                snprintf(error, error_len, "timed out after %d s", hook->timeout);
                return -1;
            }
            wait_ms = (int)left;
        }
        if (pidfd >= 0) {
            struct pollfd p = { .fd = pidfd, .events = POLLIN };
            poll(&p, 1, wait_ms);
        } else {
            usleep(1000);
        }
    }
    if (pidfd >= 0) close(pidfd);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (WIFEXITED(status))
        snprintf(error, error_len, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(error, error_len, "killed by signal %d", WTERMSIG(status));
    return -1;
}

void sl_run_hooks_or_fail(const struct sl_hook *hooks, size_t count, const char *state, size_t state_len) {
    char error[512];
    for (size_t i = 0; i < count; i++) {
        if (sl_run_hook(&hooks[i], state, state_len, error, sizeof(error)) != 0)
            sl_fail_errno(0, "hook", "%s hook %s failed: %s", hooks[i].name ? hooks[i].name : "", hooks[i].path, error);
    }
}
