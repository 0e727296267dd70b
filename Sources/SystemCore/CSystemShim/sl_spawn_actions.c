#define _GNU_SOURCE
#include <spawn.h>

#include "sl_spawn_actions.h"

int sl_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

short sl_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }
