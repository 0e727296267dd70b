#define _GNU_SOURCE
#include "sl_namespace.h"
#include <sched.h>
#include <sys/vfs.h>

int sl_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }

int sl_fstatfs_type(int fd, int64_t *type) {
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return -1;
    *type = (int64_t)fs.f_type;
    return 0;
}
