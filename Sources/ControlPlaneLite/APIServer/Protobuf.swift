import Foundation

/// Kubernetes' protobuf request bodies (`application/vnd.kubernetes.protobuf`), which typed
/// clients such as `kubectl create namespace|serviceaccount|token|rolebinding…` and `kubectl auth`
/// send. The envelope is "k8s\0" + runtime.Unknown{typeMeta, raw}. The raw message is turned into
/// JSON through field tables for the kinds below (field numbers from the API's generated.proto).
enum Protobuf {
    indirect enum FieldType: Sendable {
        case string, int, bool, bytes, time
        case message(Schema)
        case stringMap, bytesMap
    }
    struct Field: Sendable {
        var name: String
        var type: FieldType
        var repeated = false
    }
    typealias Schema = [Int: Field]

    static func f(_ name: String, _ type: FieldType, repeated: Bool = false) -> Field { Field(name: name, type: type, repeated: repeated) }

    static let ownerReference: Schema = [
        5: f("apiVersion", .string), 1: f("kind", .string), 3: f("name", .string), 4: f("uid", .string),
        6: f("controller", .bool), 7: f("blockOwnerDeletion", .bool),
    ]
    static let objectMeta: Schema = [
        1: f("name", .string), 2: f("generateName", .string), 3: f("namespace", .string), 5: f("uid", .string),
        6: f("resourceVersion", .string), 7: f("generation", .int), 11: f("labels", .stringMap), 12: f("annotations", .stringMap),
        13: f("ownerReferences", .message(ownerReference), repeated: true), 14: f("finalizers", .string, repeated: true),
    ]
    static let localObjectReference: Schema = [1: f("name", .string)]
    static let objectReference: Schema = [1: f("kind", .string), 2: f("namespace", .string), 3: f("name", .string), 4: f("uid", .string), 5: f("apiVersion", .string)]
    static let policyRule: Schema = [
        1: f("verbs", .string, repeated: true), 2: f("apiGroups", .string, repeated: true), 3: f("resources", .string, repeated: true),
        4: f("resourceNames", .string, repeated: true), 5: f("nonResourceURLs", .string, repeated: true),
    ]
    static let subject: Schema = [1: f("kind", .string), 2: f("apiGroup", .string), 3: f("name", .string), 4: f("namespace", .string)]
    static let roleRef: Schema = [1: f("apiGroup", .string), 2: f("kind", .string), 3: f("name", .string)]
    static let resourceAttributes: Schema = [
        1: f("namespace", .string), 2: f("verb", .string), 3: f("group", .string), 4: f("version", .string),
        5: f("resource", .string), 6: f("subresource", .string), 7: f("name", .string),
    ]
    static let nonResourceAttributes: Schema = [1: f("path", .string), 2: f("verb", .string)]
    static let accessReviewSpec: Schema = [
        1: f("resourceAttributes", .message(resourceAttributes)), 2: f("nonResourceAttributes", .message(nonResourceAttributes)),
        3: f("user", .string), 4: f("groups", .string, repeated: true), 6: f("uid", .string),
    ]

    /// Top-level schemas by "apiVersion/Kind".
    static let kinds: [String: Schema] = [
        "v1/Namespace": [1: f("metadata", .message(objectMeta)), 2: f("spec", .message([1: f("finalizers", .string, repeated: true)]))],
        "v1/ServiceAccount": [
            1: f("metadata", .message(objectMeta)), 2: f("secrets", .message(objectReference), repeated: true),
            3: f("imagePullSecrets", .message(localObjectReference), repeated: true), 4: f("automountServiceAccountToken", .bool),
        ],
        "v1/ConfigMap": [1: f("metadata", .message(objectMeta)), 2: f("data", .stringMap), 3: f("binaryData", .bytesMap), 4: f("immutable", .bool)],
        "v1/Secret": [
            1: f("metadata", .message(objectMeta)), 2: f("data", .bytesMap), 3: f("type", .string), 4: f("stringData", .stringMap), 5: f("immutable", .bool),
        ],
        "authentication.k8s.io/v1/TokenRequest": [
            1: f("metadata", .message(objectMeta)),
            2: f("spec", .message([
                1: f("audiences", .string, repeated: true), 4: f("expirationSeconds", .int),
                3: f("boundObjectRef", .message([1: f("kind", .string), 2: f("apiVersion", .string), 3: f("name", .string), 4: f("uid", .string)])),
            ])),
        ],
        "authentication.k8s.io/v1/SelfSubjectReview": [1: f("metadata", .message(objectMeta))],
        "authorization.k8s.io/v1/SelfSubjectAccessReview": [1: f("metadata", .message(objectMeta)), 2: f("spec", .message(accessReviewSpec))],
        "authorization.k8s.io/v1/SubjectAccessReview": [1: f("metadata", .message(objectMeta)), 2: f("spec", .message(accessReviewSpec))],
        "rbac.authorization.k8s.io/v1/Role": [1: f("metadata", .message(objectMeta)), 2: f("rules", .message(policyRule), repeated: true)],
        "rbac.authorization.k8s.io/v1/ClusterRole": [1: f("metadata", .message(objectMeta)), 2: f("rules", .message(policyRule), repeated: true)],
        "rbac.authorization.k8s.io/v1/RoleBinding": [
            1: f("metadata", .message(objectMeta)), 2: f("subjects", .message(subject), repeated: true), 3: f("roleRef", .message(roleRef)),
        ],
        "rbac.authorization.k8s.io/v1/ClusterRoleBinding": [
            1: f("metadata", .message(objectMeta)), 2: f("subjects", .message(subject), repeated: true), 3: f("roleRef", .message(roleRef)),
        ],
    ]

    struct DecodeError: Error, CustomStringConvertible { var description: String }

    /// Decodes an enveloped body into JSON with kind/apiVersion set.
    static func decode(_ body: [UInt8]) throws -> JSONValue {
        guard body.count >= 4, Array(body[0..<4]) == [0x6B, 0x38, 0x73, 0x00] else {
            throw DecodeError(description: "missing the k8s protobuf envelope")
        }
        var unknown = Reader(bytes: body[4...])
        var apiVersion = "", kind = ""
        var raw: ArraySlice<UInt8> = []
        while let (field, wire) = try unknown.tag() {
            switch (field, wire) {
            case (1, 2):
                var typeMeta = Reader(bytes: try unknown.lengthDelimited())
                while let (tf, tw) = try typeMeta.tag() {
                    if tw == 2, tf == 1 { apiVersion = try typeMeta.string() } else if tw == 2, tf == 2 { kind = try typeMeta.string() } else { try typeMeta.skip(tw) }
                }
            case (2, 2): raw = try unknown.lengthDelimited()
            default: try unknown.skip(wire)
            }
        }
        guard let schema = kinds["\(apiVersion)/\(kind)"] else {
            throw DecodeError(description: "protobuf bodies for \(apiVersion)/\(kind) are not supported; send JSON")
        }
        var object = try message(raw, schema)
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        return object
    }

    static func message(_ bytes: ArraySlice<UInt8>, _ schema: Schema) throws -> JSONValue {
        var reader = Reader(bytes: bytes)
        var out: [String: JSONValue] = [:]
        while let (number, wire) = try reader.tag() {
            guard let field = schema[number] else { try reader.skip(wire); continue }
            let value: JSONValue
            switch field.type {
            case .string: value = .string(try reader.string())
            case .int: value = .int(Int64(bitPattern: try reader.varint()))
            case .bool: value = .bool(try reader.varint() != 0)
            case .bytes: value = .string(Data(try reader.lengthDelimited()).base64EncodedString())
            case .time:
                var t = Reader(bytes: try reader.lengthDelimited())
                var seconds: Int64 = 0
                while let (tf, tw) = try t.tag() { if tf == 1 { seconds = Int64(bitPattern: try t.varint()) } else { try t.skip(tw) } }
                value = .string(APIServer.timestamp(Date(timeIntervalSince1970: Double(seconds))))
            case .message(let s): value = try message(try reader.lengthDelimited(), s)
            case .stringMap, .bytesMap:
                var entry = Reader(bytes: try reader.lengthDelimited())
                var key = "", v: JSONValue = .string("")
                while let (ef, ew) = try entry.tag() {
                    if ef == 1 { key = try entry.string() } else if ef == 2 {
                        if case .bytesMap = field.type { v = .string(Data(try entry.lengthDelimited()).base64EncodedString()) } else { v = .string(try entry.string()) }
                    } else { try entry.skip(ew) }
                }
                var map = out[field.name]?.objectValue ?? [:]
                map[key] = v
                out[field.name] = .object(map)
                continue
            }
            if field.repeated {
                out[field.name] = .array((out[field.name]?.arrayValue ?? []) + [value])
            } else {
                out[field.name] = value
            }
        }
        return .object(out)
    }

    struct Reader {
        var bytes: ArraySlice<UInt8>

        mutating func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard let b = bytes.popFirst() else { throw DecodeError(description: "truncated varint") }
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
                if shift > 63 { throw DecodeError(description: "varint too long") }
            }
        }

        mutating func tag() throws -> (Int, UInt64)? {
            if bytes.isEmpty { return nil }
            let t = try varint()
            return (Int(t >> 3), t & 7)
        }

        mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
            let n = try varint()
            guard n <= UInt64(bytes.count) else { throw DecodeError(description: "truncated field") }
            let out = bytes.prefix(Int(n))
            bytes = bytes.dropFirst(Int(n))
            return out
        }

        mutating func string() throws -> String { String(decoding: try lengthDelimited(), as: UTF8.self) }

        mutating func skip(_ wire: UInt64) throws {
            switch wire {
            case 0: _ = try varint()
            case 1: guard bytes.count >= 8 else { throw DecodeError(description: "truncated") }; bytes = bytes.dropFirst(8)
            case 2: _ = try lengthDelimited()
            case 5: guard bytes.count >= 4 else { throw DecodeError(description: "truncated") }; bytes = bytes.dropFirst(4)
            default: throw DecodeError(description: "unsupported wire type \(wire)")
            }
        }
    }
}
