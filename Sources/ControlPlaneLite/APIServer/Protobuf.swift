import Foundation

/// Kubernetes' protobuf request bodies (`application/vnd.kubernetes.protobuf`), which typed
/// clients such as every `kubectl create <subcommand>`, `kubectl create token` and `kubectl auth`
/// send. The envelope is "k8s\0" + runtime.Unknown{typeMeta, raw}. The raw message is turned into
/// the object's JSON form through field tables (field numbers and types from the API's
/// generated.proto, JSON names and pointer-ness from its types.go), one file per API group:
/// `Protobuf+Meta.swift`, `Protobuf+Core.swift`, `Protobuf+Apps.swift`, …
///
/// Nothing is dropped silently: a field number a table does not know, or a field sent with
/// another wire type than its table says, fails the decode with the kind, the field's path and
/// its number, and the request gets 400.
///
/// Zero values: Kubernetes' Go marshaller writes every non-pointer scalar, even when it is zero
/// or empty, while its JSON form leaves those out (`omitempty`). A field made with `f` is left
/// out of the JSON when it holds "", 0 or false; one made with `p` (a pointer, or a field
/// without `omitempty`) is kept, so `replicas: 0` or `runAsNonRoot: false` survive.
enum Protobuf {
    indirect enum FieldType: Sendable {
        case string, int, bool, double, bytes
        /// metav1.Time {seconds, nanos} → RFC 3339 in seconds; the zero time is left out.
        case time
        /// metav1.MicroTime {seconds, nanos} → RFC 3339 with microseconds.
        case microTime
        /// metav1.Duration {duration (ns)} → Go's duration string ("1m30s").
        case duration
        /// resource.Quantity {string} → its string.
        case quantity
        /// intstr.IntOrString {type, intVal, strVal} → a number or a string.
        case intOrString
        /// runtime.RawExtension {raw} and metav1.FieldsV1 {Raw}: JSON bytes → that JSON.
        case rawJSON
        /// A message wrapping `repeated string items` (ExtraValue, AttestationValue) → an array.
        case stringList
        case message(Schema)
        /// A Go struct embedded with `json:",inline"`: its fields go into the enclosing object.
        case inline(Schema)
        /// map<string, V>: repeated entries {1: key, 2: value} → a JSON object.
        case map(FieldType)
    }

    struct Field: Sendable {
        var name: String
        var type: FieldType
        var repeated = false
        var keepZero = false
    }
    typealias Schema = [Int: Field]

    /// A field left out of the JSON when zero ("", 0, false, the zero time, an empty IntOrString).
    static func f(_ name: String, _ type: FieldType) -> Field { Field(name: name, type: type) }
    /// A field kept even when zero: a pointer in the Go type, or one without `omitempty`.
    static func p(_ name: String, _ type: FieldType) -> Field { Field(name: name, type: type, keepZero: true) }
    /// A repeated field (a JSON array; absent when empty).
    static func r(_ name: String, _ type: FieldType) -> Field { Field(name: name, type: type, repeated: true) }

    /// Top-level schemas by "apiVersion/Kind".
    static let kinds: [String: Schema] = {
        var all: [String: Schema] = [:]
        for group in [coreKinds, appsKinds, batchKinds, rbacKinds, policyKinds, schedulingKinds, networkingKinds, authKinds] {
            all.merge(group) { a, _ in a }
        }
        return all
    }()

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
        var object = try JSONValue.object(message(raw, schema, Context(kind: "\(apiVersion) \(kind)", path: "")))
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        return object
    }

    /// Where a decode is, for error messages: "apps/v1 Deployment", "spec.template.spec.containers".
    struct Context {
        var kind: String
        var path: String
        func child(_ name: String) -> Context { Context(kind: kind, path: path.isEmpty ? name : path + "." + name) }
        func error(_ what: String) -> DecodeError {
            DecodeError(description: "\(kind): \(what)" + (path.isEmpty ? "" : " in \(path)"))
        }
    }

    static func message(_ bytes: ArraySlice<UInt8>, _ schema: Schema, _ ctx: Context) throws -> [String: JSONValue] {
        var reader = Reader(bytes: bytes)
        var out: [String: JSONValue] = [:]
        while let (number, wire) = try reader.tag() {
            guard let field = schema[number] else {
                throw ctx.error("field number \(number) (wire type \(wire)) is not known to this server")
            }
            let fctx = ctx.child(field.name)
            switch field.type {
            case .inline(let s):
                try expectWire(wire, 2, field, number, ctx)
                out.merge(try message(try reader.lengthDelimited(), s, fctx)) { _, new in new }
                continue
            case .map(let valueType):
                try expectWire(wire, 2, field, number, ctx)
                var entry = Reader(bytes: try reader.lengthDelimited())
                var key = ""
                var value: JSONValue = .null
                while let (ef, ew) = try entry.tag() {
                    switch ef {
                    case 1: try expectWire(ew, 2, field, number, ctx); key = try entry.string()
                    case 2: value = try scalar(&entry, ew, valueType, keepZero: true, fctx, field, number) ?? .null
                    default: throw fctx.error("map entry field number \(ef) is not known to this server")
                    }
                }
                var map = out[field.name]?.objectValue ?? [:]
                map[key] = value
                out[field.name] = .object(map)
                continue
            case .int where field.repeated && wire == 2:
                // A packed repeated varint field.
                var packed = Reader(bytes: try reader.lengthDelimited())
                var items = out[field.name]?.arrayValue ?? []
                while !packed.bytes.isEmpty { items.append(.int(Int64(bitPattern: try packed.varint()))) }
                out[field.name] = .array(items)
                continue
            default:
                break
            }
            let value = try scalar(&reader, wire, field.type, keepZero: field.keepZero || field.repeated, fctx, field, number)
            if field.repeated {
                out[field.name] = .array((out[field.name]?.arrayValue ?? []) + [value ?? .null])
            } else if let value {
                out[field.name] = value
            } else {
                out[field.name] = nil
            }
        }
        return out
    }

    static func expectWire(_ wire: UInt64, _ expected: UInt64, _ field: Field, _ number: Int, _ ctx: Context) throws {
        guard wire == expected else {
            throw ctx.error("field number \(number) (\(field.name)) has wire type \(wire), expected \(expected)")
        }
    }

    /// One value of a non-map, non-inline type; nil when it is zero and not kept.
    static func scalar(
        _ reader: inout Reader, _ wire: UInt64, _ type: FieldType, keepZero: Bool, _ ctx: Context, _ field: Field, _ number: Int
    ) throws -> JSONValue? {
        switch type {
        case .int:
            try expectWire(wire, 0, field, number, ctx)
            let v = Int64(bitPattern: try reader.varint())
            return v == 0 && !keepZero ? nil : .int(v)
        case .bool:
            try expectWire(wire, 0, field, number, ctx)
            let v = try reader.varint() != 0
            return !v && !keepZero ? nil : .bool(v)
        case .double:
            try expectWire(wire, 1, field, number, ctx)
            let v = Double(bitPattern: try reader.fixed64())
            return v == 0 && !keepZero ? nil : .double(v)
        default:
            break
        }
        try expectWire(wire, 2, field, number, ctx)
        let bytes = try reader.lengthDelimited()
        switch type {
        case .string:
            let s = String(decoding: bytes, as: UTF8.self)
            return s.isEmpty && !keepZero ? nil : .string(s)
        case .bytes:
            return .string(Data(bytes).base64EncodedString())
        case .message(let s):
            return .object(try message(bytes, s, ctx))
        case .time, .microTime:
            // An unset Time marshals to an empty message (metav1.Time.Marshal), and the zero
            // time.Time is 0001-01-01T00:00:00Z: both mean "no time" (null in JSON).
            if bytes.isEmpty { return nil }
            let (seconds, nanos) = try timestamp(bytes, ctx)
            if seconds == -62_135_596_800 && nanos == 0 { return nil }
            return .string(format(seconds: seconds, nanos: nanos, micro: { if case .microTime = type { return true }; return false }()))
        case .duration:
            var d = Reader(bytes: bytes)
            var ns: Int64 = 0
            while let (tf, tw) = try d.tag() {
                guard tf == 1, tw == 0 else { throw ctx.error("Duration field number \(tf) is not known to this server") }
                ns = Int64(bitPattern: try d.varint())
            }
            return .string(goDuration(ns))
        case .quantity:
            var q = Reader(bytes: bytes)
            var s = ""
            while let (tf, tw) = try q.tag() {
                guard tf == 1, tw == 2 else { throw ctx.error("Quantity field number \(tf) is not known to this server") }
                s = try q.string()
            }
            return s.isEmpty && !keepZero ? nil : .string(s)
        case .intOrString:
            var q = Reader(bytes: bytes)
            var isString = false, intVal: Int64 = 0, strVal = ""
            while let (tf, tw) = try q.tag() {
                switch (tf, tw) {
                case (1, 0): isString = try q.varint() == 1
                case (2, 0): intVal = Int64(Int32(truncatingIfNeeded: Int64(bitPattern: try q.varint())))
                case (3, 2): strVal = try q.string()
                default: throw ctx.error("IntOrString field number \(tf) is not known to this server")
                }
            }
            if isString { return strVal.isEmpty && !keepZero ? nil : .string(strVal) }
            return intVal == 0 && !keepZero ? nil : .int(intVal)
        case .rawJSON:
            var q = Reader(bytes: bytes)
            var raw: ArraySlice<UInt8> = []
            while let (tf, tw) = try q.tag() {
                guard tf == 1, tw == 2 else { throw ctx.error("raw JSON field number \(tf) is not known to this server") }
                raw = try q.lengthDelimited()
            }
            if raw.isEmpty { return nil }
            do { return try JSONValue.parse(Array(raw)) } catch {
                throw ctx.error("embedded raw object is not JSON (\(error))")
            }
        case .stringList:
            var q = Reader(bytes: bytes)
            var items: [JSONValue] = []
            while let (tf, tw) = try q.tag() {
                guard tf == 1, tw == 2 else { throw ctx.error("list field number \(tf) is not known to this server") }
                items.append(.string(try q.string()))
            }
            return .array(items)
        case .int, .bool, .double, .inline, .map:
            throw ctx.error("field number \(number) (\(field.name)) cannot be decoded here")
        }
    }

    static func timestamp(_ bytes: ArraySlice<UInt8>, _ ctx: Context) throws -> (Int64, Int64) {
        var t = Reader(bytes: bytes)
        var seconds: Int64 = 0, nanos: Int64 = 0
        while let (tf, tw) = try t.tag() {
            switch (tf, tw) {
            case (1, 0): seconds = Int64(bitPattern: try t.varint())
            case (2, 0): nanos = Int64(Int32(truncatingIfNeeded: Int64(bitPattern: try t.varint())))
            default: throw ctx.error("Time field number \(tf) is not known to this server")
            }
        }
        return (seconds, nanos)
    }

    /// RFC 3339 in UTC: "2024-05-01T10:00:00Z", or with six fraction digits for MicroTime.
    static func format(seconds: Int64, nanos: Int64, micro: Bool) -> String {
        let base = APIServer.timestamp(Date(timeIntervalSince1970: Double(seconds)))
        guard micro, base.hasSuffix("Z") else { return base }
        let fraction = String(format: "%06lld", (nanos / 1000) % 1_000_000)
        return String(base.dropLast()) + "." + fraction + "Z"
    }

    /// Go's time.Duration.String(): "0s", "1.5s", "2m0s", "1h0m0s", "300ms", "1µs", "-5s".
    static func goDuration(_ ns: Int64) -> String {
        if ns == 0 { return "0s" }
        let sign = ns < 0 ? "-" : ""
        let u = ns.magnitude
        func fraction(_ v: UInt64, _ digits: Int) -> String {
            guard v != 0 else { return "" }
            var s = String(v)
            s = String(repeating: "0", count: max(0, digits - s.count)) + s
            while s.hasSuffix("0") { s.removeLast() }
            return "." + s
        }
        if u < 1_000 { return "\(sign)\(u)ns" }
        if u < 1_000_000 { return "\(sign)\(u / 1_000)\(fraction(u % 1_000, 3))µs" }
        if u < 1_000_000_000 { return "\(sign)\(u / 1_000_000)\(fraction(u % 1_000_000, 6))ms" }
        let secs = u / 1_000_000_000
        let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60)
        var out = sign
        if h > 0 { out += "\(h)h" }
        if h > 0 || m > 0 { out += "\(m)m" }
        return out + "\(s)\(fraction(u % 1_000_000_000, 9))s"
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

        mutating func fixed64() throws -> UInt64 {
            guard bytes.count >= 8 else { throw DecodeError(description: "truncated fixed64") }
            var v: UInt64 = 0
            for (i, b) in bytes.prefix(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
            bytes = bytes.dropFirst(8)
            return v
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
            case 1: _ = try fixed64()
            case 2: _ = try lengthDelimited()
            case 5: guard bytes.count >= 4 else { throw DecodeError(description: "truncated") }; bytes = bytes.dropFirst(4)
            default: throw DecodeError(description: "unsupported wire type \(wire)")
            }
        }
    }
}
