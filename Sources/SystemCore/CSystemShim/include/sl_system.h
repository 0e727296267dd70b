// Declarations glibc lacks or hides behind macros, as small inline functions Swift can call.
#pragma once
#include <sys/types.h>
#include <stdint.h>
#include <signal.h>
#include <sys/signalfd.h>

/// Flags glibc only defines under _GNU_SOURCE.
static const int SL_O_PATH = 010000000;
static const int SL_SFD_CLOEXEC = 02000000;
static const unsigned int SL_MFD_CLOEXEC = 1U;

/// memfd_create(2).
int sl_memfd_create(const char *name, unsigned int flags);

/// openat2(2) with RESOLVE_* flags; returns -1 and sets errno on failure.
int sl_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
/// close_range(2); falls back to a loop when the kernel lacks it.
int sl_close_range(unsigned int first, unsigned int last, unsigned int flags);
/// pidfd_open(2).
int sl_pidfd_open(pid_t pid, unsigned int flags);
/// pidfd_send_signal(2).
int sl_pidfd_send_signal(int pidfd, int sig);
/// The calling thread's errno.
int sl_errno(void);
void sl_set_errno(int value);
/// ioctl(TIOCSWINSZ).
int sl_set_winsize(int fd, unsigned short rows, unsigned short cols);

/// RESOLVE_* constants for openat2.
enum {
    SL_RESOLVE_NO_XDEV = 0x01,
    SL_RESOLVE_NO_MAGICLINKS = 0x02,
    SL_RESOLVE_NO_SYMLINKS = 0x04,
    SL_RESOLVE_BENEATH = 0x08,
    SL_RESOLVE_IN_ROOT = 0x10,
};
