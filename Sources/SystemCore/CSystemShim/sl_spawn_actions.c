#define _GNU_SOURCE
#include <spawn.h>

#include "sl_spawn_actions.h"

int sl_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

short sl_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }

#include <fcntl.h>
#include <unistd.h>

int sl_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
