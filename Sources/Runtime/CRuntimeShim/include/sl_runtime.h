// The container runtime's single-threaded stage: clone, namespace entry, rootfs set-up and exec.
//
// Swift (the parent) resolves and validates everything into an `sl_config`, then calls
// `sl_spawn`, which forks. The children run only this C code: they never return into Swift.
// Parent and children talk over a SOCK_SEQPACKET socket with `sl_msg` records:
//
//   parent                        stage 1 (forked)               stage 2 (container init/exec)
//   put stage 1 in cgroup ──CONTINUE──▶ setns joins, unshare new
//                          ◀─USERNS_READY (if new userns)
//   write uid/gid maps     ──USERNS_MAPPED──▶ clone(CLONE_PARENT) ──▶ (pid 1 in a new pid ns)
//                          ◀─────────────CHILD_PID, exits
//   (init only)            ◀───────────────────────────────────────HOOKS (mounts done)
//   prestart/createRuntime ──HOOKS_DONE + state JSON ─────────────▶ createContainer hooks,
//                                                                   pivot_root, masks, console
//                          ◀───────────────────────────────────────READY (init) / EOF on exec
//   any stage on failure   ◀───────────────────────────────────────ERROR(stage, errno, text)
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum sl_msg_type {
    SL_MSG_CONTINUE = 1,
    SL_MSG_USERNS_READY = 2,
    SL_MSG_USERNS_MAPPED = 3,
    SL_MSG_CHILD_PID = 4,
    SL_MSG_HOOKS = 5,
    SL_MSG_HOOKS_DONE = 6,
    SL_MSG_READY = 7,
    SL_MSG_ERROR = 8,
};

/// Header of every message; `length` bytes of payload follow in the same datagram.
/// ERROR's payload is "stage\0text"; CHILD_PID's `value` is the pid; HOOKS_DONE's payload is
/// the state JSON for createContainer hooks.
struct sl_msg_header {
    int32_t type;
    int32_t value;
    int32_t err;
    uint32_t length;
};

/// The largest payload a message carries.
#define SL_MSG_MAX 65536

enum sl_mount_kind {
    SL_MOUNT_FS = 0,   // mount(source, dest, type, flags, data)
    SL_MOUNT_BIND = 1, // bind (recursive when `recursive`), then remount with flags if any
};

struct sl_mount {
    const char *source;      // host path for binds (absolute); fs source otherwise (may be NULL)
    const char *destination; // absolute path inside the container
    const char *type;        // filesystem type for SL_MOUNT_FS
    const char *data;        // fs-specific options (may be NULL)
    unsigned long flags;     // MS_* flags (MS_RDONLY, MS_NOSUID, ...)
    unsigned long clear_flags; // flags the options explicitly cleared (rw, suid, ...)
    unsigned long propagation; // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [| MS_REC], or 0
    int kind;                // enum sl_mount_kind
    int recursive;           // rbind
    int source_is_dir;       // for binds: create a directory (1) or a file (0) at the destination
};

struct sl_device {
    const char *path; // absolute path inside the container
    char type;        // 'c', 'b', 'p' (fifo), 'u' (unbuffered char)
    int64_t major;
    int64_t minor;
    uint32_t mode;    // permission bits
    uint32_t uid;
    uint32_t gid;
};

struct sl_rlimit {
    int resource;
    uint64_t soft;
    uint64_t hard;
};

struct sl_hook {
    const char *path;
    char *const *argv; // NULL-terminated; argv[0] as in the config (defaults to path)
    char *const *envp; // NULL-terminated
    int timeout;       // seconds, 0 = none
    const char *name;  // "createContainer", "startContainer": for error messages
};

enum sl_ns_index {
    SL_NS_USER = 0, SL_NS_MNT, SL_NS_PID, SL_NS_NET, SL_NS_IPC, SL_NS_UTS, SL_NS_CGROUP, SL_NS_TIME,
    SL_NS_COUNT
};

/// How the process that runs `argv` is set up: shared by container init and exec.
struct sl_process {
    const char *path;        // resolved executable inside the container (NULL: resolve argv[0] with PATH from envp)
    char *const *argv;
    char *const *envp;
    const char *cwd;
    uint32_t uid, gid;
    const uint32_t *groups;  // additional gids
    size_t n_groups;
    int set_groups;          // call setgroups (0 when the user namespace denies it)
    int set_umask;
    uint32_t umask;
    int set_caps;            // apply the five sets below; otherwise keep the current ones
    uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
    const struct sl_rlimit *rlimits;
    size_t n_rlimits;
    int no_new_privs;
    int set_oom_score_adj;
    int oom_score_adj;
    int set_personality;
    unsigned long personality;
    int terminal;
    int console_socket_fd;   // -1: no console socket (terminal output goes to the pty's master via it)
    unsigned short console_rows, console_cols;
    const void *seccomp_filter; // struct sock_filter[] (8 bytes each), NULL for none
    unsigned short seccomp_len;  // number of instructions
    unsigned int seccomp_flags;  // SECCOMP_FILTER_FLAG_*
    int preserve_fds;        // fds 3 .. 3+preserve_fds-1 stay open
};

/// Everything stage 1 and stage 2 need. Strings are owned by the caller and outlive sl_spawn.
struct sl_config {
    int is_exec;                 // 1: join an existing container; 0: create its init
    int sync_fd;                 // the child's end of the sync socket
    int ns_clone_flags;          // CLONE_NEW* to create (create only)
    int ns_join_fds[SL_NS_COUNT]; // fds of namespaces to join, -1 where none
    const char *timens_offsets;  // lines for /proc/self/timens_offsets, or NULL

    // Filesystem (create only).
    const char *rootfs;          // absolute, canonical
    int rootfs_readonly;
    unsigned long root_propagation; // applied to "/" before anything (default MS_SLAVE|MS_REC)
    unsigned long rootfs_propagation; // applied to the new root at the end, or 0
    int no_pivot;
    int new_mount_ns;
    const struct sl_mount *mounts;
    size_t n_mounts;
    const struct sl_device *devices;
    size_t n_devices;
    int bind_devices;            // in a user namespace mknod is denied: bind the host's node instead
    int dev_symlinks;            // create /dev/fd, /dev/std{in,out,err}, /dev/ptmx links
    const char *const *masked_paths;
    size_t n_masked_paths;
    const char *const *readonly_paths;
    size_t n_readonly_paths;
    const char *hostname;        // NULL: leave alone
    const char *domainname;
    const char *const *sysctl_keys;
    const char *const *sysctl_values;
    size_t n_sysctls;
    int wait_hooks;              // 1: send HOOKS and wait for HOOKS_DONE before pivot_root
    const struct sl_hook *create_container_hooks;
    size_t n_create_container_hooks;
    const struct sl_hook *start_container_hooks;
    size_t n_start_container_hooks;
    int exec_fifo_dirfd;         // create: block on <dir>/exec.fifo until `start`; -1 to run at once
    int deathsig;                // signal for the children if the parent dies during set-up
    const char *session_keyring; // create: join a new session keyring of this name (NULL: keep the caller's)

    struct sl_process process;
};

/// Forks stage 1. Returns its pid in the parent (or -1 with errno); the child never returns.
/// With `cgroup_fd` >= 0 stage 1 is born in that cgroup (clone3 CLONE_INTO_CGROUP, which skips
/// the slow cgroup.procs migration); `*placed` says whether that worked, else the caller must
/// write the pid to cgroup.procs itself.
pid_t sl_spawn(const struct sl_config *config, int cgroup_fd, int *placed);

/// Sends one message; returns 0 or -1 with errno.
int sl_msg_send(int fd, int32_t type, int32_t value, int32_t err, const void *payload, uint32_t length);
/// Receives one message into `header` and `payload` (capacity SL_MSG_MAX). Returns 1 on a
/// message, 0 on EOF, -1 with errno on failure.
int sl_msg_recv(int fd, struct sl_msg_header *header, void *payload, uint32_t capacity);

/// Sends `fd` over the unix socket `socket_fd` with SCM_RIGHTS.
int sl_send_fd(int socket_fd, int fd);
/// Receives an fd sent with SCM_RIGHTS; -1 with errno on failure.
int sl_recv_fd(int socket_fd);

/// Runs one hook from the runtime's context (parent side): fork, exec, state on stdin, timeout.
/// Returns 0, or -1 with `error` (capacity `error_len`) describing the failure.
int sl_run_hook(const struct sl_hook *hook, const char *state, size_t state_len, char *error, size_t error_len);

/// Capability number for a name like "CAP_SYS_ADMIN", or -1.
int sl_cap_from_name(const char *name);
/// The highest capability number the running kernel knows.
int sl_cap_last_cap(void);

/// Copies bytes between `from` and `to` until `from` hits EOF (for `exec -t` proxying).
int sl_proxy_pty(int master, int in_fd, int out_fd, pid_t child);
