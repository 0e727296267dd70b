// swiftlet-monitor: one per container. Owns the container's stdio, writes its log in the CRI
// format, keeps its exit status, and outlives the CRI daemon.
//
//   swiftlet-monitor --runtime PATH [--runtime-arg ARG]... --bundle DIR --id ID
//                    --log FILE --dir STATEDIR [--stdin [--stdin-once]] [--tty]
//
// The process the daemon starts forks the real monitor and exits once `<runtime> create` has
// succeeded (status 0) or failed (status 1, the runtime's message on stderr). The real monitor
// runs in its own session as a child subreaper, so the container's init (which the runtime
// leaves behind) becomes its child. Files in STATEDIR:
//   monitor.pid  this process        init.pid   the container's init (the runtime writes it)
//   ctl          FIFO: "reopen\n" reopens the log file; "resize H W\n" resizes the tty;
//                "kill N\n" sends signal N to the container's init (the monitor reaps it, so the
//                pid cannot have been reused; saves the daemon a `<runtime> kill`)
//   exit         written atomically when init exits: "<exit status> <unix time ns>\n"
//                (status 128+N for death by signal N)
//   attach.sock  attach clients: they receive the output as frames (1 byte stream: 1 stdout,
//                2 stderr; 4 bytes big-endian length; the bytes) and what they send goes to
//                the container's stdin (with --stdin); with --stdin-once the first client to
//                close its end closes the container's stdin.
// Log lines: "<RFC3339Nano UTC> <stdout|stderr> <F|P> <text>\n" (P: a partial line, split
// because it was longer than the buffer).
#define _GNU_SOURCE
#include "sl_small_program.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNTIME_ARGS 16
#define MAX_CLIENTS 8
#define LINE_MAX_BYTES 16384

struct stream {
    const char *name;
    int id;
    int fd;
    char buf[LINE_MAX_BYTES];
    size_t len;
};

static const char *log_path;
static int log_fd = -1;
static int clients[MAX_CLIENTS];
static int client_reading[MAX_CLIENTS];  // 0 once the client closed its sending side
static int nclients = 0;

static void drop_client(int i) {
    close(clients[i]);
    nclients--;
    clients[i] = clients[nclients];
    client_reading[i] = client_reading[nclients];
}

// Sends output to every attached client; a client that cannot keep up is dropped.
static void broadcast(int stream, const char *data, size_t len) {
    unsigned char head[5] = {(unsigned char)stream, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                             (unsigned char)(len >> 8), (unsigned char)len};
    for (int i = 0; i < nclients;) {
        struct iovec iov[2] = {{head, 5}, {(void *)data, len}};
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
        ssize_t n = sendmsg(clients[i], &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n != (ssize_t)(5 + len)) {
            drop_client(i);
            continue;
        }
        i++;
    }
}

static void die_to(int ready_fd, const char *fmt, const char *arg, int err) {
    char msg[1024];
    int n = snprintf(msg, sizeof msg, fmt, arg, err ? strerror(err) : "");
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
    if (ready_fd >= 0) {
        ssize_t ignored = write(ready_fd, msg, (size_t)n);
        (void)ignored;
    }
    _exit(1);
}

static void open_log(void) {
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return;  // keep the old one (or none): output is dropped, never blocks
    if (log_fd >= 0) close(log_fd);
    log_fd = fd;
}

static void timestamp(char *out, size_t size) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%09ldZ", base, ts.tv_nsec);
}

static void write_line(struct stream *s, const char *text, size_t len, char tag) {
    if (log_fd < 0) return;
    char head[80];
    char ts[48];
    timestamp(ts, sizeof ts);
    int n = snprintf(head, sizeof head, "%s %s %c ", ts, s->name, tag);
    // One write per line keeps lines whole when the log is shared or rotated.
    char line[LINE_MAX_BYTES + 128];
    memcpy(line, head, (size_t)n);
    memcpy(line + n, text, len);
    line[(size_t)n + len] = '\n';
    sl_write_all(log_fd, line, (size_t)n + len + 1);
}

// Appends data to the stream's buffer, logging every complete line.
static void consume(struct stream *s, const char *data, size_t len) {
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        size_t room = LINE_MAX_BYTES - s->len;
        if (take > room) take = room;
        memcpy(s->buf + s->len, data, take);
        s->len += take;
        data += take;
        len -= take;
        if (len > 0 && *data == '\n') {
            write_line(s, s->buf, s->len, 'F');
            s->len = 0;
            data++;
            len--;
        } else if (s->len == LINE_MAX_BYTES) {
            write_line(s, s->buf, s->len, 'P');
            s->len = 0;
        }
    }
}

// Reads what is available; returns 0 at EOF (or error), 1 otherwise.
static int pump(struct stream *s) {
    char chunk[8192];
    ssize_t n = read(s->fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
    if (n <= 0) {
        if (s->len > 0) write_line(s, s->buf, s->len, 'F');
        s->len = 0;
        close(s->fd);
        s->fd = -1;
        return 0;
    }
    consume(s, chunk, (size_t)n);
    broadcast(s->id, chunk, (size_t)n);
    return 1;
}

static int read_pid(const char *path) {
    char text[32] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return -1;
    return atoi(text);
}

static void write_file_atomically(const char *dir, const char *name, const char *text) {
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    sl_write_all(fd, text, strlen(text));
    fsync(fd);
    close(fd);
    rename(tmp, path);
}

// Receives the pty master the runtime sends over the console socket.
static int receive_fd(int sock) {
    char data[256];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) return -1;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return fd;
}

static void handle_control(int ctl_fd, int tty_fd, pid_t init, int exited) {
    char cmd[256];
    ssize_t n = read(ctl_fd, cmd, sizeof cmd - 1);
    if (n <= 0) return;
    cmd[n] = 0;
    for (char *line = strtok(cmd, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned short rows, cols;
        int sig;
        if (strcmp(line, "reopen") == 0) {
            open_log();
        } else if (sscanf(line, "kill %d", &sig) == 1) {
            // Not yet reaped (this loop reaps), so `init` is still the container's process.
            if (!exited && sig > 0 && sig < 65) kill(init, sig);
        } else if (sscanf(line, "resize %hu %hu", &rows, &cols) == 2 && tty_fd >= 0) {
            struct winsize ws = {.ws_row = rows, .ws_col = cols};
            ioctl(tty_fd, TIOCSWINSZ, &ws);
        }
    }
}

int main(int argc, char **argv) {
    const char *runtime = NULL, *bundle = NULL, *id = NULL, *dir = NULL;
    const char *runtime_args[MAX_RUNTIME_ARGS];
    int runtime_argc = 0, want_stdin = 0, tty = 0, stdin_once = 0;
    static const struct option options[] = {
        {"runtime", required_argument, NULL, 'r'}, {"runtime-arg", required_argument, NULL, 'a'},
        {"bundle", required_argument, NULL, 'b'},  {"id", required_argument, NULL, 'i'},
        {"log", required_argument, NULL, 'l'},     {"dir", required_argument, NULL, 'd'},
        {"stdin", no_argument, NULL, 's'},         {"tty", no_argument, NULL, 't'},
        {"stdin-once", no_argument, NULL, 'o'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'r': runtime = optarg; break;
        case 'a':
            if (runtime_argc == MAX_RUNTIME_ARGS) {
                fprintf(stderr, "swiftlet-monitor: too many --runtime-arg\n");
                return 2;
            }
            runtime_args[runtime_argc++] = optarg;
            break;
        case 'b': bundle = optarg; break;
        case 'i': id = optarg; break;
        case 'l': log_path = optarg; break;
        case 'd': dir = optarg; break;
        case 's': want_stdin = 1; break;
        case 't': tty = 1; break;
        case 'o': stdin_once = 1; break;
        default: return 2;
        }
    }
    if (!runtime || !bundle || !id || !log_path || !dir) {
        fprintf(stderr, "usage: swiftlet-monitor --runtime PATH [--runtime-arg ARG]... --bundle DIR "
                        "--id ID --log FILE --dir STATEDIR [--stdin [--stdin-once]] [--tty]\n");
        return 2;
    }

    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) {
        perror("swiftlet-monitor: pipe");
        return 1;
    }
    pid_t monitor = fork();
    if (monitor < 0) {
        perror("swiftlet-monitor: fork");
        return 1;
    }
    if (monitor > 0) {
        // The daemon's child: report the outcome of `create`, then let the monitor go on alone.
        close(ready[1]);
        char msg[1024];
        size_t total = 0;
        ssize_t n;
        while ((n = read(ready[0], msg + total, sizeof msg - 1 - total)) > 0) total += (size_t)n;
        msg[total] = 0;
        if (strcmp(msg, "ok") == 0) return 0;
        fprintf(stderr, "%s\n", total ? msg : "swiftlet-monitor: monitor died before the container was created");
        return 1;
    }

    close(ready[0]);
    int rfd = ready[1];
    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGPIPE);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    char path[4096], pid_path[4096], console_path[4096];
    snprintf(pid_path, sizeof pid_path, "%s/init.pid", dir);
    char mypid[32];
    snprintf(mypid, sizeof mypid, "%d\n", getpid());
    write_file_atomically(dir, "monitor.pid", mypid);
    open_log();
    if (log_fd < 0) die_to(rfd, "swiftlet-monitor: opening log %s: %s", log_path, errno);

    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, rt_err[2] = {-1, -1};
    int console_sock = -1;
    if (want_stdin && !tty && pipe2(in_pipe, O_CLOEXEC) != 0) die_to(rfd, "swiftlet-monitor: pipe%s: %s", "", errno);
    if (!tty && (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0))
        die_to(rfd, "swiftlet-monitor: pipe%s: %s", "", errno);
    if (pipe2(rt_err, O_CLOEXEC) != 0) die_to(rfd, "swiftlet-monitor: pipe%s: %s", "", errno);
    if (tty) {
        snprintf(console_path, sizeof console_path, "%s/console.sock", dir);
        unlink(console_path);
        console_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(console_path) >= sizeof addr.sun_path) die_to(rfd, "swiftlet-monitor: socket path too long: %s%s", console_path, 0);
        strcpy(addr.sun_path, console_path);
        if (console_sock < 0 || bind(console_sock, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(console_sock, 1) != 0)
            die_to(rfd, "swiftlet-monitor: console socket %s: %s", console_path, errno);
    }

    pid_t create = fork();
    if (create < 0) die_to(rfd, "swiftlet-monitor: fork%s: %s", "", errno);
    if (create == 0) {
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
        int devnull = open("/dev/null", O_RDWR);
        dup2(in_pipe[0] >= 0 ? in_pipe[0] : devnull, 0);
        dup2(tty ? devnull : out_pipe[1], 1);
        dup2(tty ? rt_err[1] : err_pipe[1], 2);
        const char *args[MAX_RUNTIME_ARGS + 16];
        int n = 0;
        args[n++] = runtime;
        for (int i = 0; i < runtime_argc; i++) args[n++] = runtime_args[i];
        args[n++] = "create";
        args[n++] = "--bundle";
        args[n++] = bundle;
        args[n++] = "--pid-file";
        args[n++] = pid_path;
        if (tty) {
            args[n++] = "--console-socket";
            args[n++] = console_path;
        }
        args[n++] = id;
        args[n] = NULL;
        execv(runtime, (char *const *)args);
        fprintf(stderr, "swiftlet-monitor: exec %s: %s\n", runtime, strerror(errno));
        _exit(127);
    }
    close(rt_err[1]);
    if (in_pipe[0] >= 0) close(in_pipe[0]);
    if (out_pipe[1] >= 0) close(out_pipe[1]);
    if (err_pipe[1] >= 0) close(err_pipe[1]);

    int tty_fd = -1, status = 0;
    if (tty) {
        // Wait for the pty master, or for create to fail without sending one.
        for (;;) {
            struct pollfd p = {.fd = console_sock, .events = POLLIN};
            if (poll(&p, 1, 50) > 0) {
                int conn = accept4(console_sock, NULL, NULL, SOCK_CLOEXEC);
                if (conn >= 0) {
                    tty_fd = receive_fd(conn);
                    close(conn);
                    if (tty_fd >= 0) break;
                }
            }
            if (waitpid(create, &status, WNOHANG) == create) {
                create = -1;
                break;
            }
        }
        close(console_sock);
        unlink(console_path);
    }
    if (create > 0 && waitpid(create, &status, 0) < 0) die_to(rfd, "swiftlet-monitor: waiting for %s create: %s", runtime, errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        // The runtime's message is on the container's stderr pipe (or rt_err with a tty).
        char msg[900] = {0};
        int src = tty ? rt_err[0] : err_pipe[0];
        fcntl(src, F_SETFL, O_NONBLOCK);
        ssize_t n = read(src, msg, sizeof msg - 1);
        if (n > 0) {
            msg[n] = 0;
            while (n > 0 && msg[n - 1] == '\n') msg[--n] = 0;
        }
        die_to(rfd, "%s%s", n > 0 ? msg : "runtime create failed", 0);
    }
    close(rt_err[0]);
    int init = read_pid(pid_path);
    if (init <= 0) die_to(rfd, "swiftlet-monitor: no pid in %s%s", pid_path, 0);

    // Control FIFO; opened read-write so it never reports EOF.
    snprintf(path, sizeof path, "%s/ctl", dir);
    unlink(path);
    int ctl_fd = -1;
    if (mkfifo(path, 0600) == 0) ctl_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    // Attach socket, bound through /proc/self/fd so long state paths fit in sun_path.
    int attach_fd = -1;
    int dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach.sock", dir_fd);
        unlink(addr.sun_path);
        attach_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (attach_fd >= 0 && (bind(attach_fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(attach_fd, 4) != 0)) {
            close(attach_fd);
            attach_fd = -1;
        }
    }
    int stdin_fd = tty ? tty_fd : in_pipe[1];
    int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sig_fd < 0) die_to(rfd, "swiftlet-monitor: signalfd%s: %s", "", errno);

    ssize_t ignored = write(rfd, "ok", 2);
    (void)ignored;
    close(rfd);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    if (devnull > 2) close(devnull);

    struct stream out = {.name = "stdout", .id = 1, .fd = tty ? tty_fd : out_pipe[0]};
    struct stream err = {.name = "stderr", .id = 2, .fd = tty ? -1 : err_pipe[0]};
    int exited = 0, exit_status = 0;
    while (!exited || out.fd >= 0 || err.fd >= 0) {
        struct pollfd fds[5 + MAX_CLIENTS];
        int nfds = 0;
        fds[nfds++] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
        fds[nfds++] = (struct pollfd){.fd = ctl_fd, .events = POLLIN};
        fds[nfds++] = (struct pollfd){.fd = out.fd, .events = POLLIN};
        fds[nfds++] = (struct pollfd){.fd = err.fd, .events = POLLIN};
        fds[nfds++] = (struct pollfd){.fd = exited ? -1 : attach_fd, .events = POLLIN};
        for (int i = 0; i < nclients; i++)
            fds[nfds++] = (struct pollfd){.fd = clients[i], .events = client_reading[i] ? POLLIN : 0};
        // After init is gone, others (exec'd processes) may still hold the pipes: drain briefly.
        int rc = poll(fds, (nfds_t)nfds, exited ? 200 : -1);
        if (rc < 0 && errno != EINTR) break;
        if (rc == 0 && exited) break;
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo info;
            while (read(sig_fd, &info, sizeof info) == sizeof info) {}
            int st;
            pid_t pid;
            while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                if (pid == init) {
                    exited = 1;
                    exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                }
            }
        }
        if (fds[1].revents & POLLIN) handle_control(ctl_fd, tty_fd, init, exited);
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) pump(&out);
        if (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) pump(&err);
        if (fds[4].revents & POLLIN) {
            int c = accept4(attach_fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0 && nclients < MAX_CLIENTS) {
                client_reading[nclients] = 1;
                clients[nclients++] = c;
            }
            else if (c >= 0) close(c);
        }
        // Clients in the order polled; iterate backwards so drop_client's swap is safe.
        int polled = nfds - 5;
        for (int i = polled - 1; i >= 0; i--) {
            if (!(fds[5 + i].revents & (POLLIN | POLLHUP | POLLERR)) || i >= nclients) continue;
            if (!client_reading[i]) {  // gone entirely
                drop_client(i);
                continue;
            }
            char buf[8192];
            ssize_t n = read(clients[i], buf, sizeof buf);
            if (n > 0) {
                if (want_stdin && stdin_fd >= 0) sl_write_all(stdin_fd, buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                // The client closed its input (or failed): it still gets output until it goes.
                client_reading[i] = 0;
                if (n < 0) drop_client(i);
                if (stdin_once && !tty && stdin_fd >= 0) {
                    close(stdin_fd);
                    stdin_fd = -1;
                }
            }
        }
    }
    for (int i = nclients - 1; i >= 0; i--) drop_client(i);
    if (out.fd >= 0 && out.len > 0) write_line(&out, out.buf, out.len, 'F');
    if (err.fd >= 0 && err.len > 0) write_line(&err, err.buf, err.len, 'F');
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char text[64];
    snprintf(text, sizeof text, "%d %lld\n", exit_status, (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
    write_file_atomically(dir, "exit", text);
    return 0;
}
