// cgroup v2 device control: load a BPF_PROG_TYPE_CGROUP_DEVICE program and attach it to a cgroup.
// Owner: the cgroup code of the Runtime library (Cgroup/ContainerCgroup+Devices.swift).
#pragma once
#include <stdint.h>

/// Loads `count` eBPF instructions (`struct bpf_insn[]`, native endian) as a cgroup device
/// program and attaches it to the cgroup directory open at `cgroup_fd` (BPF_CGROUP_DEVICE,
/// BPF_F_ALLOW_MULTI); then detaches the device programs that were attached there before, so a
/// second call replaces the filter. Returns 0, or -1 with errno set. When loading fails and `log`
/// is not NULL, the verifier's message is written to it (NUL-terminated, at most `log_size` bytes).
int sl_bpf_attach_device_filter(int cgroup_fd, const uint64_t *insns, uint32_t count, char *log, uint32_t log_size);
