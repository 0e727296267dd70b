/// One validation failure, formatted like the apiserver's `field.Error`:
/// `spec.containers[1].image: Required value`.
public struct FieldError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case required
        case invalid(value: String)
        case unsupported(value: String, supported: [String])
        case duplicate(value: String)
        case forbidden
        case notFound(value: String)
        case tooLong(max: Int)
    }

    public let field: String
    public let kind: Kind
    public let detail: String?

    public init(_ field: String, _ kind: Kind, _ detail: String? = nil) {
        self.field = field
        self.kind = kind
        self.detail = detail
    }

    public var description: String {
        var text: String
        switch kind {
        case .required: text = "\(field): Required value"
        case .invalid(let value): text = "\(field): Invalid value: \(quoted(value))"
        case .unsupported(let value, let supported):
            text = "\(field): Unsupported value: \(quoted(value))"
            if !supported.isEmpty {
                text += ": supported values: " + supported.map(quoted).joined(separator: ", ")
            }
        case .duplicate(let value): text = "\(field): Duplicate value: \(quoted(value))"
        case .forbidden: text = "\(field): Forbidden"
        case .notFound(let value): text = "\(field): Not found: \(quoted(value))"
        case .tooLong(let max): text = "\(field): Too long: may not be more than \(max) bytes"
        }
        if let detail { text += ": \(detail)" }
        return text
    }

    private func quoted(_ s: String) -> String { "\"\(s)\"" }
}

/// All the validation failures of one object; its description lists each on its own line.
public struct ValidationError: Error, Sendable, CustomStringConvertible {
    public let errors: [FieldError]
    public init(_ errors: [FieldError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Builds field paths: `spec`, `spec.containers[1]`, `spec.containers[1].image`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ root: String) { description = root }
    public func child(_ name: String) -> FieldPath { FieldPath(description.isEmpty ? name : "\(description).\(name)") }
    public func index(_ i: Int) -> FieldPath { FieldPath("\(description)[\(i)]") }
    public func key(_ k: String) -> FieldPath { FieldPath("\(description)[\(k)]") }
    public static func / (lhs: FieldPath, rhs: String) -> FieldPath { lhs.child(rhs) }
}
