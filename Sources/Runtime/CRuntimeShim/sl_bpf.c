// The raw bpf(2) calls behind cgroup v2 device control (see include/sl_bpf.h).
#define _GNU_SOURCE
#include "sl_bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sl_bpf_call(int cmd, union bpf_attr *attr) {
    return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int sl_bpf_load(const uint64_t *insns, uint32_t count, char *log, uint32_t log_size) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = count;
    attr.license = (uint64_t)(uintptr_t)"Apache";
    int fd = sl_bpf_call(BPF_PROG_LOAD, &attr);
    if (fd >= 0 || log == NULL || log_size == 0) return fd;
    // Load again with the verifier log on, only to explain the failure.
    int saved = errno;
    log[0] = '\0';
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = log_size;
    attr.log_level = 1;
    int again = sl_bpf_call(BPF_PROG_LOAD, &attr);
    if (again >= 0) return again;
    log[log_size - 1] = '\0';
    errno = saved;
    return -1;
}

int sl_bpf_attach_device_filter(int cgroup_fd, const uint64_t *insns, uint32_t count, char *log, uint32_t log_size) {
    int prog = sl_bpf_load(insns, count, log, log_size);
    if (prog < 0) return -1;

    // The programs attached before this one, to detach once the new one is in place.
    uint32_t ids[64];
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = sizeof(ids) / sizeof(ids[0]);
    uint32_t old_count = 0;
    if (sl_bpf_call(BPF_PROG_QUERY, &attr) == 0) old_count = attr.query.prog_cnt;

    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (sl_bpf_call(BPF_PROG_ATTACH, &attr) != 0) {
        int saved = errno;
        close(prog);
        errno = saved;
        return -1;
    }
    close(prog);  // the attachment holds its own reference

    for (uint32_t i = 0; i < old_count; i++) {
        memset(&attr, 0, sizeof(attr));
        attr.prog_id = ids[i];
        int old = sl_bpf_call(BPF_PROG_GET_FD_BY_ID, &attr);
        if (old < 0) continue;
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)old;
        attr.attach_type = BPF_CGROUP_DEVICE;
        (void)sl_bpf_call(BPF_PROG_DETACH, &attr);
        close(old);
    }
    return 0;
}
