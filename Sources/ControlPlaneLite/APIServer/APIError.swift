/// One field problem in a 422 Invalid answer.
public struct FieldCause: Sendable, Equatable {
    public var field: String
    public var reason: String  // FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate…
    public var message: String

    public static func required(_ field: String) -> FieldCause {
        FieldCause(field: field, reason: "FieldValueRequired", message: "Required value")
    }
    public static func invalid(_ field: String, _ value: JSONValue?, _ detail: String) -> FieldCause {
        let shown = value.map { v -> String in
            if case .string(let s) = v { return "\"\(s)\"" }
            return v.jsonString
        } ?? "null"
        return FieldCause(field: field, reason: "FieldValueInvalid", message: "Invalid value: \(shown): \(detail)")
    }
    public static func notSupported(_ field: String, _ value: String, _ allowed: [String]) -> FieldCause {
        FieldCause(
            field: field, reason: "FieldValueNotSupported",
            message: "Unsupported value: \"\(value)\": supported values: \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
    }
    public static func duplicate(_ field: String, _ value: String) -> FieldCause {
        FieldCause(field: field, reason: "FieldValueDuplicate", message: "Duplicate value: \"\(value)\"")
    }
    public static func forbidden(_ field: String, _ detail: String) -> FieldCause {
        FieldCause(field: field, reason: "FieldValueForbidden", message: "Forbidden: \(detail)")
    }
}

/// An error answered as a Kubernetes `Status` object. The one mapping from server errors to the wire.
public struct APIError: Error, Sendable {
    public var code: Int
    public var reason: String
    public var message: String
    public var name: String?
    public var group: String?
    public var kind: String?
    public var causes: [FieldCause] = []
    public var retryAfterSeconds: Int?

    public init(code: Int, reason: String, message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    public static func notFound(_ resource: ResourceInfo, _ name: String) -> APIError {
        var e = APIError(code: 404, reason: "NotFound", message: "\(resource.qualifiedName) \"\(name)\" not found")
        e.name = name; e.group = resource.group; e.kind = resource.plural
        return e
    }
    public static func alreadyExists(_ resource: ResourceInfo, _ name: String) -> APIError {
        var e = APIError(code: 409, reason: "AlreadyExists", message: "\(resource.qualifiedName) \"\(name)\" already exists")
        e.name = name; e.group = resource.group; e.kind = resource.plural
        return e
    }
    public static func conflict(_ resource: ResourceInfo, _ name: String, _ detail: String) -> APIError {
        var e = APIError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(resource.qualifiedName) \"\(name)\": \(detail)")
        e.name = name; e.group = resource.group; e.kind = resource.plural
        return e
    }
    public static func invalid(_ resource: ResourceInfo, _ name: String, _ causes: [FieldCause]) -> APIError {
        let list = causes.map { "\($0.field): \($0.message)" }
        let joined = list.count == 1 ? list[0] : "[" + list.joined(separator: ", ") + "]"
        var e = APIError(code: 422, reason: "Invalid", message: "\(resource.kind) \"\(name)\" is invalid: \(joined)")
        e.name = name; e.group = resource.group; e.kind = resource.kind; e.causes = causes
        return e
    }
    public static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }
    public static func gone(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }
    public static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")
    public static func forbidden(_ message: String) -> APIError {
        APIError(code: 403, reason: "Forbidden", message: message)
    }
    public static func methodNotAllowed(_ message: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }
    public static func unsupportedMediaType(_ type: String) -> APIError {
        APIError(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got \(type))")
    }
    public static func internalError(_ message: String) -> APIError {
        APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)")
    }
    public static func unavailable(_ message: String) -> APIError {
        APIError(code: 503, reason: "ServiceUnavailable", message: message)
    }

    /// The `Status` object.
    public var status: JSONValue {
        var s: JSONValue = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        var details: [String: JSONValue] = [:]
        if let name { details["name"] = .string(name) }
        if let group, !group.isEmpty { details["group"] = .string(group) }
        if let kind { details["kind"] = .string(kind) }
        if !causes.isEmpty {
            details["causes"] = .array(causes.map {
                ["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)]
            })
        }
        if let retryAfterSeconds { details["retryAfterSeconds"] = .int(Int64(retryAfterSeconds)) }
        if !details.isEmpty { s["details"] = .object(details) }
        return s
    }
}
