#pragma once
// What the per-pod / per-container C programs (swiftlet-pause, swiftlet-monitor) share. Linking
// this target also keeps the Swift runtime out of them (see no_swift_runtime.c).
#include <stddef.h>

// Writes all of `data` to `fd`, retrying short writes and EINTR; 0, or -1 with errno set.
int sl_write_all(int fd, const void *data, size_t len);
