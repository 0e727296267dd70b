#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// A blocking TCP client connection with deadlines (poll-based), for short health checks
/// (kubelet tcpSocket/httpGet probes). Owns its descriptor.
public final class TCPConnection {
    public let descriptor: Int32

    /// Connects to an IPv4/IPv6 literal address within `timeoutMilliseconds`.
    public init(host: String, port: UInt16, timeoutMilliseconds: Int32) throws(SystemCallError) {
        var storage = sockaddr_storage()
        var length: socklen_t
        let family: Int32
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            family = AF_INET
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = v4
            withUnsafeBytes(of: sin) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            family = AF_INET6
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_addr = v6
            withUnsafeBytes(of: sin6) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            throw SystemCallError("inet_pton", host, errno: .invalidArgument)
        }
        let fd = try sys("socket", host) { socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        descriptor = fd
        let subject = "\(host):\(port)"
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if result != 0 {
            let code = Errno(rawValue: currentErrno())
            guard code == .nowInProgress else {
                close(fd)
                throw SystemCallError("connect", subject, errno: code)
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready: Int32
            do { ready = try sys("poll", subject) { poll(&pfd, 1, timeoutMilliseconds) } } catch {
                close(fd)
                throw error
            }
            if ready == 0 {
                close(fd)
                throw SystemCallError("connect", subject, errno: .timedOut)
            }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
            if soError != 0 {
                close(fd)
                throw SystemCallError("connect", subject, errno: Errno(rawValue: soError))
            }
        }
    }

    deinit { close(descriptor) }

    /// Sends all bytes within the deadline.
    public func send(_ bytes: [UInt8], timeoutMilliseconds: Int32) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            var pfd = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            if try sys("poll", "send") { poll(&pfd, 1, timeoutMilliseconds) } == 0 {
                throw SystemCallError("send", nil, errno: .timedOut)
            }
            let n = try sys("send", nil) {
                bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            offset += n
        }
    }

    /// Reads until the peer closes, `limit` bytes arrive, or the deadline passes.
    public func receive(limit: Int, timeoutMilliseconds: Int32) throws(SystemCallError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if try sys("poll", "receive") { poll(&pfd, 1, timeoutMilliseconds) } == 0 {
                if out.isEmpty { throw SystemCallError("recv", nil, errno: .timedOut) }
                break
            }
            let n = try sys("recv", nil) { chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) } }
            if n == 0 { break }
            out += chunk[0..<n]
        }
        return out
    }
}
