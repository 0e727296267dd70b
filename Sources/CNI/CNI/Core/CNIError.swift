/// The spec's error result: a well-known code, a short message and optional details.
///
/// Every failure that leaves the plugin is one of these; `CNIError+Mapping` turns lower-level
/// errors (system calls, netlink, nftables) into them at the boundary.
public struct CNIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Codes from section 5 of the CNI spec (0-99 are reserved for well-known errors).
    public enum Code: Int, Sendable {
        case incompatibleVersion = 1
        case unsupportedField = 2
        case unknownContainer = 3
        case invalidEnvironment = 4
        case ioFailure = 5
        case decodingFailure = 6
        case invalidNetworkConfig = 7
        case tryAgainLater = 11
        case notAvailable = 50
        case notAvailableLimitedConnectivity = 51
        /// Anything else that went wrong in the plugin (the reference plugins' generic code).
        case internalError = 999
    }

    public var code: Code
    public var message: String
    public var details: String

    public init(_ code: Code, _ message: String, details: String = "") {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String {
        details.isEmpty ? "\(message) (code \(code.rawValue))" : "\(message): \(details) (code \(code.rawValue))"
    }

    /// The error result object for the protocol version in use.
    public func json(cniVersion: String) -> JSON {
        var object = JSONObject()
        object["cniVersion"] = .string(cniVersion)
        object["code"] = .int(code.rawValue)
        object["msg"] = .string(message)
        if !details.isEmpty { object["details"] = .string(details) }
        return .object(object)
    }

    /// A wrong or missing field in the network configuration.
    static func config(_ path: String, _ problem: String) -> CNIError {
        CNIError(.invalidNetworkConfig, "\(path): \(problem)")
    }

    /// A field whose JSON type is not the one the plugin expects.
    static func type(_ path: String, expected: String, found: JSON) -> CNIError {
        CNIError(.decodingFailure, "\(path): expected \(expected), found \(found.typeName)")
    }
}
