// posix_spawn extensions glibc only declares under _GNU_SOURCE.
#pragma once
#include <spawn.h>

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34): close every fd >= `from` in the child.
int sl_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);
/// POSIX_SPAWN_SETSID (glibc 2.26): the child starts a new session.
short sl_spawn_setsid_flag(void);
/// pipe2(fds, O_CLOEXEC).
int sl_pipe_cloexec(int fds[2]);
/// A listening unix stream socket bound at `path` (close-on-exec); -1 and errno on failure.
int sl_unix_listen(const char *path);
/// Waits up to `timeout_ms` for one connection on `listener` and receives a descriptor sent with
/// SCM_RIGHTS (a console socket's pty master); -1 and errno on failure (ETIMEDOUT at the deadline).
int sl_accept_receive_fd(int listener, int timeout_ms);
/// Connects a unix stream socket to `name` inside the directory `dir` (through
/// /proc/self/fd, so long directory paths fit in sun_path); -1 and errno on failure.
int sl_unix_connect_in(const char *dir, const char *name);
