/// The CNI_COMMAND verbs.
public enum CNICommand: String, Sendable, CaseIterable {
    case add = "ADD"
    case del = "DEL"
    case check = "CHECK"
    case version = "VERSION"
    case status = "STATUS"
    case gc = "GC"
}

/// The protocol parameters from CNI_* environment variables, validated for the command.
public struct CNIEnvironment: Sendable, Equatable {
    public var command: CNICommand
    public var containerID: String
    public var netns: String
    public var ifname: String
    /// CNI_ARGS as key/value pairs, in order.
    public var args: [(key: String, value: String)]
    public var path: [String]

    public static func == (lhs: CNIEnvironment, rhs: CNIEnvironment) -> Bool {
        lhs.command == rhs.command && lhs.containerID == rhs.containerID && lhs.netns == rhs.netns
            && lhs.ifname == rhs.ifname && lhs.path == rhs.path
            && lhs.args.map { "\($0.key)=\($0.value)" } == rhs.args.map { "\($0.key)=\($0.value)" }
    }

    /// Only CNI_COMMAND, for deciding what to do before the rest is validated.
    public static func command(from environment: [String: String]) throws(CNIError) -> CNICommand {
        guard let text = environment["CNI_COMMAND"], !text.isEmpty else {
            throw CNIError(.invalidEnvironment, "CNI_COMMAND: missing")
        }
        guard let command = CNICommand(rawValue: text) else {
            throw CNIError(.invalidEnvironment, "CNI_COMMAND: unknown command \"\(text)\"")
        }
        return command
    }

    /// Reads and validates every variable the command requires (section 2).
    public init(_ environment: [String: String]) throws(CNIError) {
        command = try CNIEnvironment.command(from: environment)
        containerID = environment["CNI_CONTAINERID"] ?? ""
        netns = environment["CNI_NETNS"] ?? ""
        ifname = environment["CNI_IFNAME"] ?? ""
        path = (environment["CNI_PATH"] ?? "").split(separator: ":").map(String.init)
        args = []

        let needsAttachment = [.add, .del, .check].contains(command)
        if needsAttachment {
            try CNIEnvironment.validateContainerID(containerID)
            try CNIEnvironment.validateInterfaceName(ifname)
        }
        if command == .add || command == .check {
            if netns.isEmpty { throw CNIError(.invalidEnvironment, "CNI_NETNS: missing") }
        }
        if let text = environment["CNI_ARGS"], !text.isEmpty {
            args = try CNIEnvironment.parseArgs(text)
        }
    }

    /// The value of a CNI_ARGS key, if given.
    public func arg(_ key: String) -> String? {
        args.last { $0.key == key }?.value
    }

    /// "Must start with an alphanumeric character, optionally followed by any combination of one
    /// or more alphanumeric characters, underscore, dot or hyphen."
    static func validateContainerID(_ id: String) throws(CNIError) {
        if id.isEmpty { throw CNIError(.invalidEnvironment, "CNI_CONTAINERID: missing") }
        let bytes = Array(id.utf8)
        let valid = isAlphanumeric(bytes[0])
            && bytes.dropFirst().allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
        if !valid { throw CNIError(.invalidEnvironment, "CNI_CONTAINERID: invalid container ID \"\(id)\"") }
    }

    /// A Linux interface name: 1-15 bytes, not "." or "..", no '/', ':' or whitespace.
    static func validateInterfaceName(_ name: String) throws(CNIError) {
        if name.isEmpty { throw CNIError(.invalidEnvironment, "CNI_IFNAME: missing") }
        let bytes = Array(name.utf8)
        let valid = bytes.count <= 15 && name != "." && name != ".."
            && bytes.allSatisfy { $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ":") }
        if !valid { throw CNIError(.invalidEnvironment, "CNI_IFNAME: invalid interface name \"\(name)\"") }
    }

    /// "FOO=BAR;ABC=123".
    static func parseArgs(_ text: String) throws(CNIError) -> [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        for item in text.split(separator: ";", omittingEmptySubsequences: true) {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw CNIError(.invalidEnvironment, "CNI_ARGS: invalid pair \"\(item)\", expected KEY=VALUE")
            }
            pairs.append((String(item[..<equals]), String(item[item.index(after: equals)...])))
        }
        return pairs
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
    }
}
