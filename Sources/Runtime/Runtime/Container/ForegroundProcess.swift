#if canImport(Glibc)
import Glibc
#endif
import CRuntimeShim
import CSystemShim
import SystemCore

/// A container process the CLI waits for (`run`, `exec` without --detach): signals sent to
/// the CLI are forwarded to it, a pty is proxied to the CLI's stdio, and its exit status
/// becomes the CLI's.
///
/// Signals are blocked from construction on (before the process is spawned, so none is lost);
/// the C stage unblocks them in the child.
struct ForegroundProcess {
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD]
    private var mask = sigset_t()

    init(forward: Bool) {
        guard forward else { return }
        sigemptyset(&mask)
        for signal in Self.forwarded { sigaddset(&mask, signal) }
        sigprocmask(SIG_BLOCK, &mask, nil)
    }

    /// Waits for `pid`; returns its exit code (128 + signal number when it was killed).
    func wait(_ pid: Int32, master: Int32) -> Int32 {
        var mask = self.mask
        let signals = signalfd(-1, &mask, SL_SFD_CLOEXEC)
        defer { if signals >= 0 { close(signals) } }
        if master >= 0 { resize(master) }
        var status: Int32 = 0
        var stdinOpen = master >= 0
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            if waitpid(pid, &status, WNOHANG) == pid { break }
            var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            if master >= 0 { fds.append(pollfd(fd: master, events: Int16(POLLIN), revents: 0)) }
            if master >= 0 && stdinOpen { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), 1000) < 0 && currentErrno() != EINTR { break }
            if fds[0].revents & Int16(POLLIN) != 0 {
                var info = signalfd_siginfo()
                if read(signals, &info, MemoryLayout<signalfd_siginfo>.size) > 0 {
                    let signal = Int32(info.ssi_signo)
                    if signal == SIGWINCH, master >= 0 {
                        resize(master)
                    } else if signal != SIGCHLD {
                        Glibc.kill(pid, signal)
                    }
                }
            }
            if master >= 0, fds[1].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let n = read(master, &buffer, buffer.count)
                if n > 0 { _ = buffer.withUnsafeBytes { write(1, $0.baseAddress, n) } }
            }
            if fds.count > 2, fds[2].revents & Int16(POLLIN | POLLHUP) != 0 {
                let n = read(0, &buffer, buffer.count)
                if n > 0 {
                    _ = buffer.withUnsafeBytes { write(master, $0.baseAddress, n) }
                } else {
                    stdinOpen = false
                }
            }
        }
        if master >= 0 {
            // Drain what the process wrote before it exited.
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            while poll(&poller, 1, 0) > 0 {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { break }
                _ = buffer.withUnsafeBytes { write(1, $0.baseAddress, n) }
            }
            close(master)
        }
        if (status & 0x7f) == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    private func resize(_ master: Int32) {
        var size = winsize()
        if ioctl(0, UInt(TIOCGWINSZ), &size) == 0 {
            sl_set_winsize(master, size.ws_row, size.ws_col)
        }
    }
}
