#if canImport(Glibc)
import Glibc
#endif

/// IP address syntax checks through inet_pton (no hand-written parser).
public enum IPAddress {
    public static func isIPv4(_ s: String) -> Bool {
        var addr = in_addr()
        return inet_pton(AF_INET, s, &addr) == 1
    }

    public static func isIPv6(_ s: String) -> Bool {
        var addr = in6_addr()
        return inet_pton(AF_INET6, s, &addr) == 1
    }

    public static func isValid(_ s: String) -> Bool { isIPv4(s) || isIPv6(s) }
}
