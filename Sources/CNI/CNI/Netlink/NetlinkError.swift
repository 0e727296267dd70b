import CNL3

/// A failed libnl call: the operation, what it was on, and libnl's error code (NLE_*).
public struct NetlinkError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let subject: String
    /// Positive NLE_* code.
    public let code: Int32

    public init(_ operation: String, _ subject: String, code: Int32) {
        self.operation = operation
        self.subject = subject
        self.code = code < 0 ? -code : code
    }

    public var isNotFound: Bool { code == NLE_OBJ_NOTFOUND || code == NLE_NODEV }
    public var isExists: Bool { code == NLE_EXIST }
    public var isBusy: Bool { code == NLE_BUSY || code == NLE_AGAIN }

    public var description: String {
        let reason = nl_geterror(code).map { String(cString: $0) } ?? "error \(code)"
        return "\(operation) \(subject): \(reason)"
    }
}

/// Runs a libnl call that returns a negative NLE_* code on failure.
@inline(__always)
func nl(_ operation: String, _ subject: String, _ body: () -> Int32) throws(NetlinkError) {
    let result = body()
    if result < 0 { throw NetlinkError(operation, subject, code: result) }
}
