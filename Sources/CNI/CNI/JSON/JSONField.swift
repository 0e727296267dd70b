/// A possibly-missing JSON value together with its path in the document ("ipam.ranges[0][1].subnet"),
/// so every decoding error names the field it is about.
public struct JSONField: Sendable {
    public let value: JSON?
    public let path: String

    public init(_ value: JSON?, path: String) {
        self.value = value
        self.path = path
    }

    /// Whether the field is absent or JSON null (Go's decoder treats both as unset).
    public var isAbsent: Bool {
        switch value {
        case nil, .null?: true
        default: false
        }
    }

    public subscript(key: String) -> JSONField {
        JSONField(value?.objectValue?[key], path: path.isEmpty ? key : "\(path).\(key)")
    }

    public func element(_ index: Int, of array: [JSON]) -> JSONField {
        JSONField(array[index], path: "\(path)[\(index)]")
    }

    public func optionalString() throws(CNIError) -> String? {
        guard let value, !isAbsent else { return nil }
        guard case .string(let string) = value else { throw .type(path, expected: "string", found: value) }
        return string
    }

    public func string() throws(CNIError) -> String {
        guard let string = try optionalString() else { throw .config(path, "missing") }
        return string
    }

    /// A string that must be present and not empty.
    public func nonEmptyString() throws(CNIError) -> String {
        let string = try string()
        if string.isEmpty { throw .config(path, "must not be empty") }
        return string
    }

    public func bool(default fallback: Bool = false) throws(CNIError) -> Bool {
        guard let value, !isAbsent else { return fallback }
        guard case .bool(let bool) = value else { throw .type(path, expected: "boolean", found: value) }
        return bool
    }

    public func optionalInt() throws(CNIError) -> Int? {
        guard let value, !isAbsent else { return nil }
        guard case .number(let text) = value else { throw .type(path, expected: "integer", found: value) }
        guard let int = Int(text) else { throw CNIError(.decodingFailure, "\(path): expected an integer, found \(text)") }
        return int
    }

    /// An integer in `range`, or nil when absent.
    public func optionalInt(in range: ClosedRange<Int>) throws(CNIError) -> Int? {
        guard let int = try optionalInt() else { return nil }
        if !range.contains(int) { throw .config(path, "\(int) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return int
    }

    public func optionalObject() throws(CNIError) -> JSONObject? {
        guard let value, !isAbsent else { return nil }
        guard case .object(let object) = value else { throw .type(path, expected: "object", found: value) }
        return object
    }

    public func object() throws(CNIError) -> JSONObject {
        guard let object = try optionalObject() else { throw .config(path, "missing") }
        return object
    }

    public func optionalArray() throws(CNIError) -> [JSON]? {
        guard let value, !isAbsent else { return nil }
        guard case .array(let array) = value else { throw .type(path, expected: "array", found: value) }
        return array
    }

    /// Each element of an optional array as a field (empty when absent).
    public func elements() throws(CNIError) -> [JSONField] {
        guard let array = try optionalArray() else { return [] }
        return array.indices.map { element($0, of: array) }
    }

    public func stringArray() throws(CNIError) -> [String] {
        var strings: [String] = []
        for field in try elements() { strings.append(try field.string()) }
        return strings
    }

    public func ipAddress() throws(CNIError) -> IPAddress {
        let text = try string()
        guard let address = IPAddress(text) else { throw .config(path, "invalid IP address \"\(text)\"") }
        return address
    }

    public func optionalIPAddress() throws(CNIError) -> IPAddress? {
        guard !isAbsent else { return nil }
        return try ipAddress()
    }

    /// A CIDR ("10.1.2.3/24"); host bits are kept, as in an address assignment.
    public func cidr() throws(CNIError) -> IPNetwork {
        let text = try string()
        guard let network = IPNetwork(text) else { throw .config(path, "invalid CIDR \"\(text)\"") }
        return network
    }
}
