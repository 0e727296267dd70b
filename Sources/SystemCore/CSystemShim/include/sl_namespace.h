// Namespace calls glibc declares only under _GNU_SOURCE, as plain functions Swift can call.
#pragma once
#include <stdint.h>

/// setns(2) into a network namespace (nstype CLONE_NEWNET); -1 and errno on failure.
int sl_setns_net(int fd);
/// fstatfs(2)'s f_type for `fd`, in *type; -1 and errno on failure.
int sl_fstatfs_type(int fd, int64_t *type);
