// swiftlet-pause: the infra process of a pod sandbox, and the helper that pins a network
// namespace for one.
//
//   swiftlet-pause                    Sleep until SIGINT/SIGTERM, reaping children when it is
//                                     the pid namespace's init. Holds the pod's namespaces.
//   swiftlet-pause --pin-netns PATH   Create a new network namespace with loopback up and bind
//                                     mount it onto PATH (created; must not exist), then exit.
//                                     The CRI daemon runs this instead of unsharing itself,
//                                     since a multi-threaded process must not change namespaces.
//   swiftlet-pause --forward NETNS PORT  Connect to 127.0.0.1:PORT inside the network namespace
//                                     NETNS ("-" for the caller's) and relay stdin/stdout to it
//                                     (the CRI PortForward stream of one port).
#define _GNU_SOURCE
#include "sl_small_program.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) {
    (void)sig;
    _exit(0);
}

static void on_child(int sig) {
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
    errno = saved;
}

static int loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq req;
    memset(&req, 0, sizeof req);
    strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFFLAGS, &req);
    if (rc == 0) {
        req.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &req);
    }
    close(fd);
    return rc;
}

static int pin_netns(const char *path) {
    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "swiftlet-pause: unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return 1;
    }
    if (loopback_up() != 0) {
        fprintf(stderr, "swiftlet-pause: bringing up lo: %s\n", strerror(errno));
        return 1;
    }
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) {
        fprintf(stderr, "swiftlet-pause: creating %s: %s\n", path, strerror(errno));
        return 1;
    }
    close(fd);
    if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) != 0) {
        fprintf(stderr, "swiftlet-pause: bind mounting the netns onto %s: %s\n", path, strerror(errno));
        unlink(path);
        return 1;
    }
    return 0;
}

static int forward(const char *netns, const char *port_text) {
    char *end = NULL;
    long port = strtol(port_text, &end, 10);
    if (!end || *end || port < 1 || port > 65535) {
        fprintf(stderr, "invalid port %s\n", port_text);
        return 2;
    }
    if (strcmp(netns, "-") != 0) {
        int ns = open(netns, O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
            fprintf(stderr, "entering network namespace %s: %s\n", netns, strerror(errno));
            return 1;
        }
        close(ns);
    }
    int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "connecting to 127.0.0.1:%ld in the pod: %s\n", port, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    char buf[32768];
    int in_open = 1;
    for (;;) {
        struct pollfd fds[2] = {{.fd = in_open ? 0 : -1, .events = POLLIN}, {.fd = sock, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0) {
                in_open = 0;
                shutdown(sock, SHUT_WR);
            } else if (sl_write_all(sock, buf, (size_t)n) != 0) {
                return 1;
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(sock, buf, sizeof buf);
            if (n <= 0) return 0;
            if (sl_write_all(1, buf, (size_t)n) != 0) return 1;
        }
    }
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--pin-netns") == 0) return pin_netns(argv[2]);
    if (argc == 4 && strcmp(argv[1], "--forward") == 0) return forward(argv[2], argv[3]);
    if (argc != 1) {
        fprintf(stderr, "usage: swiftlet-pause [--pin-netns PATH | --forward NETNS PORT]\n");
        return 2;
    }
    struct sigaction term = {.sa_handler = on_term};
    sigaction(SIGINT, &term, NULL);
    sigaction(SIGTERM, &term, NULL);
    struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
    if (getpid() == 1) sigaction(SIGCHLD, &child, NULL);
    for (;;) pause();
}
