// The container's filesystem view: mounts and devices resolved inside the rootfs (openat2
// RESOLVE_IN_ROOT, mounted through /proc/self/fd), then pivot_root and the masks.
#define _GNU_SOURCE
#include "sl_internal.h"
#include "sl_system.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/mount.h>

static int rootfd = -1;

static int open_in_root(const char *path, int flags, mode_t mode) {
    return sl_openat2(rootfd, path, (uint64_t)(flags | O_CLOEXEC), mode, SL_RESOLVE_IN_ROOT);
}

static const char *fd_path(int fd, char *buffer, size_t size) {
    snprintf(buffer, size, "/proc/self/fd/%d", fd);
    return buffer;
}

/// mkdir -p inside the rootfs; returns an O_PATH fd of the directory.
static int mkdir_in_root(const char *path, const char *stage) {
    char prefix[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof(prefix)) sl_fail_errno(ENAMETOOLONG, stage, "%s", path);
    int fd = open_in_root("/", O_PATH | O_DIRECTORY, 0);
    if (fd < 0) sl_fail(stage, "opening the rootfs");
    for (size_t i = 1; i <= len; i++) {
        if (i < len && path[i] != '/') continue;
        if (path[i - 1] == '/') continue;
        memcpy(prefix, path, i);
        prefix[i] = 0;
        int next = open_in_root(prefix, O_PATH | O_DIRECTORY, 0);
        if (next < 0 && errno == ENOENT) {
            const char *name = strrchr(prefix, '/') + 1;
            if (mkdirat(fd, name, 0755) != 0 && errno != EEXIST) sl_fail(stage, "mkdir %s", prefix);
            next = open_in_root(prefix, O_PATH | O_DIRECTORY, 0);
        }
        if (next < 0) sl_fail(stage, "opening %s inside the rootfs", prefix);
        close(fd);
        fd = next;
    }
    return fd;
}

/// Splits `path` into its parent (created) and final component; returns the parent's fd.
static int parent_in_root(const char *path, const char **name, const char *stage) {
    char parent[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash || !slash[1]) sl_fail_errno(EINVAL, stage, "bad path %s", path);
    size_t plen = (size_t)(slash - path);
    if (plen >= sizeof(parent)) sl_fail_errno(ENAMETOOLONG, stage, "%s", path);
    memcpy(parent, path, plen);
    parent[plen] = 0;
    *name = slash + 1;
    return mkdir_in_root(plen ? parent : "/", stage);
}

/// Opens (creating if needed) the mount target: a directory, or a file for file binds.
static int mount_target(const char *destination, int directory, const char *stage) {
    if (directory) return mkdir_in_root(destination, stage);
    const char *name;
    int parent = parent_in_root(destination, &name, stage);
    int fd = open_in_root(destination, O_PATH, 0);
    if (fd < 0 && errno == ENOENT) {
        int created = openat(parent, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (created < 0 && errno != EEXIST) sl_fail(stage, "creating %s", destination);
        if (created >= 0) close(created);
        fd = open_in_root(destination, O_PATH, 0);
    }
    if (fd < 0) sl_fail(stage, "opening %s inside the rootfs", destination);
    close(parent);
    return fd;
}

static unsigned long locked_flags(int fd) {
    struct statvfs st;
    unsigned long flags = 0;
    if (fstatvfs(fd, &st) != 0) return 0;
    if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
    return flags;
}

/// Remounts the bind mount at `path` with `flags`, keeping the flags a user namespace locked.
static int remount_bind(const char *path, int fd, unsigned long flags, unsigned long clear) {
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags, NULL) == 0) return 0;
    if (errno != EPERM) return -1;
    unsigned long keep = locked_flags(fd) & ~clear;
    return mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags | keep, NULL);
}

static void do_mount(const struct sl_mount *m) {
    char stage[PATH_MAX + 16], target[64];
    snprintf(stage, sizeof(stage), "mount %s", m->destination);
    int directory = m->kind == SL_MOUNT_BIND ? m->source_is_dir : 1;
    int fd = mount_target(m->destination, directory, stage);
    fd_path(fd, target, sizeof(target));
    const unsigned long remount_flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
        MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK;

    if (m->kind == SL_MOUNT_BIND) {
        if (mount(m->source, target, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL) != 0)
            sl_fail(stage, "bind %s", m->source);
        if (m->flags & remount_flags) {
            int top = open_in_root(m->destination, O_PATH, 0);
            if (top < 0) sl_fail(stage, "reopening");
            char top_path[64];
            if (remount_bind(fd_path(top, top_path, sizeof(top_path)), top, m->flags & remount_flags, m->clear_flags) != 0)
                sl_fail(stage, "remounting with its options");
            close(top);
        }
    } else if (mount(m->source, target, m->type, m->flags, m->data) != 0) {
        int err = errno;
        // Without its own network namespace a container may not mount sysfs: bind the host's.
        if (strcmp(m->type, "sysfs") == 0 && (err == EPERM || err == EBUSY)) {
            if (mount("/sys", target, NULL, MS_BIND | MS_REC, NULL) != 0) sl_fail(stage, "bind /sys");
            int top = open_in_root(m->destination, O_PATH, 0);
            char top_path[64];
            if (top >= 0 && (m->flags & remount_flags))
                remount_bind(fd_path(top, top_path, sizeof(top_path)), top, m->flags & remount_flags, 0);
            if (top >= 0) close(top);
        } else {
            sl_fail_errno(err, stage, "type %s source %s", m->type, m->source ? m->source : "none");
        }
    }
    if (m->propagation) {
        int top = open_in_root(m->destination, O_PATH, 0);
        char top_path[64];
        if (top < 0 || mount(NULL, fd_path(top, top_path, sizeof(top_path)), NULL, m->propagation, NULL) != 0)
            sl_fail(stage, "setting propagation");
        close(top);
    }
    close(fd);
}

static void make_device(const struct sl_config *c, const struct sl_device *d) {
    char stage[PATH_MAX + 16];
    snprintf(stage, sizeof(stage), "device %s", d->path);
    const char *name;
    int parent = parent_in_root(d->path, &name, stage);
    if (c->bind_devices) {
        int fd = mount_target(d->path, 0, stage);
        char target[64];
        if (mount(d->path, fd_path(fd, target, sizeof(target)), NULL, MS_BIND, NULL) != 0)
            sl_fail(stage, "bind from the host");
        close(fd);
        close(parent);
        return;
    }
    mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
    dev_t dev = makedev((unsigned)d->major, (unsigned)d->minor);
    if (mknodat(parent, name, type | (d->mode & 07777), dev) != 0) {
        if (errno != EEXIST) sl_fail(stage, "mknod");
        if (unlinkat(parent, name, 0) != 0 || mknodat(parent, name, type | (d->mode & 07777), dev) != 0)
            sl_fail(stage, "replacing the existing node");
    }
    if (fchownat(parent, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) != 0) sl_fail(stage, "chown");
    close(parent);
}

static void dev_symlinks(void) {
    static const char *const links[][2] = {
        { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
        { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
    };
    int dev = mkdir_in_root("/dev", "dev symlinks");
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        if (symlinkat(links[i][0], dev, links[i][1]) != 0 && errno != EEXIST) sl_fail("dev symlinks", "/dev/%s", links[i][1]);
    // With a private devpts instance, /dev/ptmx must be its ptmx.
    struct stat st;
    if (fstatat(dev, "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0) {
        unlinkat(dev, "ptmx", 0);
        if (symlinkat("pts/ptmx", dev, "ptmx") != 0) sl_fail("dev symlinks", "/dev/ptmx");
    }
    close(dev);
}

void sl_rootfs_prepare(const struct sl_config *c) {
    unsigned long root_flags = c->root_propagation ? c->root_propagation : (MS_SLAVE | MS_REC);
    if (mount(NULL, "/", NULL, root_flags, NULL) != 0) sl_fail("rootfs", "setting / propagation");
    if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0) sl_fail("rootfs", "bind %s", c->rootfs);
    rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) sl_fail("rootfs", "open %s", c->rootfs);
    for (size_t i = 0; i < c->n_mounts; i++) do_mount(&c->mounts[i]);
    for (size_t i = 0; i < c->n_devices; i++) make_device(c, &c->devices[i]);
    if (c->dev_symlinks) dev_symlinks();
}

static void mask_path(const char *path) {
    char stage[PATH_MAX + 16], target[64];
    snprintf(stage, sizeof(stage), "masked path %s", path);
    int fd = open_in_root(path, O_PATH | O_NOFOLLOW, 0);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP) return;
        sl_fail(stage, "open");
    }
    struct stat st;
    if (fstat(fd, &st) != 0) sl_fail(stage, "stat");
    fd_path(fd, target, sizeof(target));
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", target, "tmpfs", MS_RDONLY, "size=0k")
                                : mount("/dev/null", target, NULL, MS_BIND, NULL);
    if (r != 0) sl_fail(stage, "mount");
    close(fd);
}

static void readonly_path(const char *path) {
    char stage[PATH_MAX + 16], target[64];
    snprintf(stage, sizeof(stage), "readonly path %s", path);
    int fd = open_in_root(path, O_PATH, 0);
    if (fd < 0) {
        if (errno == ENOENT) return;
        sl_fail(stage, "open");
    }
    fd_path(fd, target, sizeof(target));
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) != 0) sl_fail(stage, "bind");
    close(fd);
    fd = open_in_root(path, O_PATH, 0);
    if (fd < 0) sl_fail(stage, "reopen");
    struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
        if (remount_bind(fd_path(fd, target, sizeof(target)), fd, MS_RDONLY, 0) != 0) sl_fail(stage, "remount read-only");
    }
    close(fd);
}

static void pivot(const char *rootfs) {
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0 || newroot < 0) sl_fail("pivot_root", "open");
    if (fchdir(newroot) != 0) sl_fail("pivot_root", "fchdir");
    if (syscall(SYS_pivot_root, ".", ".") != 0) sl_fail("pivot_root", "%s", rootfs);
    // The old root is now stacked under "."; detach it without propagating the unmount.
    if (fchdir(oldroot) != 0) sl_fail("pivot_root", "fchdir old root");
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) != 0) sl_fail("pivot_root", "old root propagation");
    if (umount2(".", MNT_DETACH) != 0) sl_fail("pivot_root", "detaching the old root");
    if (chdir("/") != 0) sl_fail("pivot_root", "chdir /");
    close(oldroot);
    close(newroot);
}

void sl_rootfs_finish(const struct sl_config *c) {
    if (!c->new_mount_ns) return;
    // Masks and read-only paths are resolved inside the rootfs before it becomes "/".
    for (size_t i = 0; i < c->n_masked_paths; i++) mask_path(c->masked_paths[i]);
    for (size_t i = 0; i < c->n_readonly_paths; i++) readonly_path(c->readonly_paths[i]);
    close(rootfd);
    rootfd = -1;
    if (c->no_pivot) {
        if (chdir(c->rootfs) != 0) sl_fail("chroot", "chdir %s", c->rootfs);
        if (mount(c->rootfs, "/", NULL, MS_MOVE, NULL) != 0) sl_fail("chroot", "move %s to /", c->rootfs);
        if (chroot(".") != 0) sl_fail("chroot", "%s", c->rootfs);
        if (chdir("/") != 0) sl_fail("chroot", "chdir /");
    } else {
        pivot(c->rootfs);
    }
    if (c->rootfs_readonly) {
        int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || remount_bind("/", fd, MS_RDONLY, 0) != 0) sl_fail("rootfs", "remount / read-only");
        close(fd);
    }
    if (c->rootfs_propagation && mount(NULL, "/", NULL, c->rootfs_propagation, NULL) != 0)
        sl_fail("rootfs", "setting rootfsPropagation");
}
