#define _GNU_SOURCE
#include "sl_internal.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int sl_child_sync_fd = -1;

int sl_msg_send(int fd, int32_t type, int32_t value, int32_t err, const void *payload, uint32_t length) {
    struct sl_msg_header header = { .type = type, .value = value, .err = err, .length = length };
    struct iovec iov[2] = {
        { .iov_base = &header, .iov_len = sizeof(header) },
        { .iov_base = (void *)payload, .iov_len = length },
    };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = length ? 2 : 1 };
    ssize_t n;
    do { n = sendmsg(fd, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

int sl_msg_recv(int fd, struct sl_msg_header *header, void *payload, uint32_t capacity) {
    struct iovec iov[2] = {
        { .iov_base = header, .iov_len = sizeof(*header) },
        { .iov_base = payload, .iov_len = capacity },
    };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
    ssize_t n;
    do { n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if (n == 0) return 0;
    if ((size_t)n < sizeof(*header)) { errno = EPROTO; return -1; }
    if (header->length > capacity || (size_t)n != sizeof(*header) + header->length) { errno = EPROTO; return -1; }
    return 1;
}

int sl_send_fd(int socket_fd, int fd) {
    char byte = 0;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    ssize_t n;
    do { n = sendmsg(socket_fd, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

int sl_recv_fd(int socket_fd) {
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
    ssize_t n;
    do { n = recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n <= 0) { if (n == 0) errno = ECONNRESET; return -1; }
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) { errno = EPROTO; return -1; }
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    return fd;
}

static void fail_va(int err, const char *stage, const char *format, va_list args) {
    char payload[1024];
    size_t stage_len = strlen(stage);
    if (stage_len > 200) stage_len = 200;
    memcpy(payload, stage, stage_len);
    payload[stage_len] = 0;
    int n = vsnprintf(payload + stage_len + 1, sizeof(payload) - stage_len - 1, format, args);
    if (n < 0) n = 0;
    size_t total = stage_len + 1 + (size_t)n;
    if (total > sizeof(payload) - 1) total = sizeof(payload) - 1;
    if (sl_child_sync_fd >= 0 && sl_msg_send(sl_child_sync_fd, SL_MSG_ERROR, 0, err, payload, (uint32_t)total) == 0) _exit(1);
    // No parent listening (after `create` returned): the container's stderr is all we have.
    dprintf(2, "swiftlet-runc: %s: %s%s%s\n", stage, payload + stage_len + 1, err ? ": " : "", err ? strerror(err) : "");
    _exit(127);
}

void sl_fail(const char *stage, const char *format, ...) {
    int err = errno;
    va_list args;
    va_start(args, format);
    fail_va(err, stage, format, args);
    va_end(args);
    _exit(1);
}

void sl_fail_errno(int err, const char *stage, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fail_va(err, stage, format, args);
    va_end(args);
    _exit(1);
}
