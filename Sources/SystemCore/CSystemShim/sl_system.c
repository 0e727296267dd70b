#define _GNU_SOURCE
#include "sl_system.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include <linux/openat2.h>

int sl_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int sl_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    long rc = syscall(SYS_close_range, first, last, flags);
    if (rc == 0 || errno != ENOSYS) return (int)rc;
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = first; fd < max && fd <= (long)last; fd++) close((int)fd);
    return 0;
}

int sl_pidfd_open(pid_t pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
int sl_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }
int sl_errno(void) { return errno; }
void sl_set_errno(int value) { errno = value; }

int sl_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &ws);
}

int sl_memfd_create(const char *name, unsigned int flags) { return (int)syscall(SYS_memfd_create, name, flags); }
