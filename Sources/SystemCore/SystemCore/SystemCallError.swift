import SystemPackage

/// A failed system call: which call, on what, and the errno it returned.
///
/// Made where the call fails; subsystems wrap it with their own context on the way up.
public struct SystemCallError: Error, CustomStringConvertible, Sendable, Equatable {
    public let call: String
    public let subject: String?
    public let errno: Errno

    public init(_ call: String, _ subject: String? = nil, errno: Errno) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    public var description: String {
        if let subject { return "\(call) \(subject): \(errno.description)" }
        return "\(call): \(errno.description)"
    }
}

/// The raw adapter: runs a libc call that returns -1 and sets errno on failure, retrying EINTR.
/// This is the one place that turns errno into a `SystemCallError`.
@inline(__always)
public func sys<T: BinaryInteger>(
    _ call: String, _ subject: String? = nil, _ body: () -> T
) throws(SystemCallError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Errno(rawValue: currentErrno())
        if code == .interrupted { continue }
        throw SystemCallError(call, subject, errno: code)
    }
}

/// Like `sys`, for calls that return a pointer and NULL with errno on failure.
@inline(__always)
public func sysPointer<T>(
    _ call: String, _ subject: String? = nil, _ body: () -> T?
) throws(SystemCallError) -> T {
    while true {
        if let result = body() { return result }
        let code = Errno(rawValue: currentErrno())
        if code == .interrupted { continue }
        throw SystemCallError(call, subject, errno: code)
    }
}
