// Internal helpers shared by the C stage's files. Not part of the Swift-visible API.
#pragma once
#include "sl_runtime.h"

/// The sync socket of the running child stage (set at the start of each stage).
extern int sl_child_sync_fd;

/// Reports a failure of `stage` to the parent with the current errno and exits the child.
__attribute__((noreturn, format(printf, 2, 3)))
void sl_fail(const char *stage, const char *format, ...);

/// Like sl_fail, with an explicit errno (0 for none).
__attribute__((noreturn, format(printf, 3, 4)))
void sl_fail_errno(int err, const char *stage, const char *format, ...);

/// Sets up the container's filesystem view (create only). Called in stage 2 before pivot_root.
void sl_rootfs_prepare(const struct sl_config *config);
/// pivot_root (or chroot with no_pivot), masked and read-only paths, read-only root.
void sl_rootfs_finish(const struct sl_config *config);

/// Applies the pre-exec settings that can fail for host reasons (rlimits, oom_score_adj),
/// so `create` and `exec` report them before the process is committed to run.
void sl_process_limits(const struct sl_process *process);
/// Opens the pty and hands the master over the console socket; makes the slave stdio.
void sl_process_console(const struct sl_process *process);
/// Creates the process's cwd inside the container if it is missing (as runc does).
void sl_process_make_cwd(const struct sl_process *process);
/// Resolves the executable to run (PATH lookup inside the container); fails if missing.
const char *sl_process_resolve(const struct sl_process *process);
/// user, capabilities, umask, cwd, no_new_privs, fds, seccomp, then execve(path). Never returns.
__attribute__((noreturn))
void sl_process_exec(const struct sl_process *process, const char *path);

/// Runs hooks inside the child (createContainer/startContainer); fails the stage on error.
void sl_run_hooks_or_fail(const struct sl_hook *hooks, size_t count, const char *state, size_t state_len);
