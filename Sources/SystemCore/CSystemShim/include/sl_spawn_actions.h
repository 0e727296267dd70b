// posix_spawn extensions glibc only declares under _GNU_SOURCE.
#pragma once
#include <spawn.h>

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34): close every fd >= `from` in the child.
int sl_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);
/// POSIX_SPAWN_SETSID (glibc 2.26): the child starts a new session.
short sl_spawn_setsid_flag(void);
/// pipe2(fds, O_CLOEXEC).
int sl_pipe_cloexec(int fds[2]);
