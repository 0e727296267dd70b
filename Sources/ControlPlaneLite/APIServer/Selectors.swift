/// A label selector (`app=web,tier!=db,env in (a,b),!legacy,release`).
public struct LabelSelector: Sendable, Equatable {
    enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case notExists(String)
    }
    var requirements: [Requirement]

    public init(parsing text: String) throws(APIError) {
        requirements = []
        var rest = Substring(text)
        while true {
            rest = rest.drop { $0 == " " }
            if rest.isEmpty { break }
            // One requirement ends at a comma outside parentheses.
            var depth = 0
            var end = rest.endIndex
            for i in rest.indices {
                if rest[i] == "(" { depth += 1 } else if rest[i] == ")" { depth -= 1 } else if rest[i] == ",", depth == 0 {
                    end = i
                    break
                }
            }
            let part = rest[rest.startIndex..<end].trimmingCharacters(in: .whitespaces)
            requirements.append(try Self.requirement(part, whole: text))
            rest = end == rest.endIndex ? "" : rest[rest.index(after: end)...]
        }
    }

    static func requirement(_ part: String, whole: String) throws(APIError) -> Requirement {
        func bad() -> APIError { .badRequest("unable to parse requirement: invalid label selector \"\(whole)\"") }
        if part.hasPrefix("!") {
            let key = part.dropFirst().trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw bad() }
            return .notExists(key)
        }
        if let r = part.range(of: "!=") {
            return .notEquals(part[..<r.lowerBound].trimmingCharacters(in: .whitespaces), part[r.upperBound...].trimmingCharacters(in: .whitespaces))
        }
        if let r = part.range(of: "==") ?? part.range(of: "=") {
            let key = part[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw bad() }
            return .equals(key, part[r.upperBound...].trimmingCharacters(in: .whitespaces))
        }
        for (word, negate) in [(" notin ", true), (" in ", false)] {
            if let r = part.range(of: word) {
                let key = part[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
                var set = part[r.upperBound...].trimmingCharacters(in: .whitespaces)
                guard set.hasPrefix("("), set.hasSuffix(")") else { throw bad() }
                set = String(set.dropFirst().dropLast())
                let values = Set(set.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                return negate ? .notIn(key, values) : .isIn(key, values)
            }
        }
        guard !part.contains(" "), !part.isEmpty else { throw bad() }
        return .exists(part)
    }

    /// A selector from a `matchLabels`/`matchExpressions` object (deployments, services' maps).
    public init(object: JSONValue) {
        requirements = []
        for (k, v) in object["matchLabels"]?.objectValue ?? [:] {
            requirements.append(.equals(k, v.stringValue ?? ""))
        }
        for e in object["matchExpressions"]?.arrayValue ?? [] {
            let key = e["key"]?.stringValue ?? ""
            let values = Set((e["values"]?.arrayValue ?? []).compactMap(\.stringValue))
            switch e["operator"]?.stringValue {
            case "In": requirements.append(.isIn(key, values))
            case "NotIn": requirements.append(.notIn(key, values))
            case "Exists": requirements.append(.exists(key))
            case "DoesNotExist": requirements.append(.notExists(key))
            default: break
            }
        }
    }

    public var isEmpty: Bool { requirements.isEmpty }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { r in
            switch r {
            case .equals(let k, let v): return labels[k] == v
            case .notEquals(let k, let v): return labels[k] != v
            case .isIn(let k, let s): return labels[k].map { s.contains($0) } ?? false
            case .notIn(let k, let s): return labels[k].map { !s.contains($0) } ?? true
            case .exists(let k): return labels[k] != nil
            case .notExists(let k): return labels[k] == nil
            }
        }
    }

    public func matches(object: JSONValue) -> Bool {
        if requirements.isEmpty { return true }
        var labels: [String: String] = [:]
        for (k, v) in object.value(at: ["metadata", "labels"])?.objectValue ?? [:] { labels[k] = v.stringValue ?? "" }
        return matches(labels)
    }
}

/// A field selector (`metadata.name=x,spec.nodeName!=`), evaluated on any dotted path.
public struct FieldSelector: Sendable, Equatable {
    struct Term: Sendable, Equatable {
        var path: [String]
        var value: String
        var negate: Bool
    }
    var terms: [Term]

    public init(parsing text: String) throws(APIError) {
        terms = []
        for raw in text.split(separator: ",") {
            let part = raw.trimmingCharacters(in: .whitespaces)
            if part.isEmpty { continue }
            let negate: Bool
            let range: Range<String.Index>
            if let r = part.range(of: "!=") { negate = true; range = r } else if let r = part.range(of: "==") ?? part.range(of: "=") {
                negate = false; range = r
            } else {
                throw APIError.badRequest("invalid field selector \"\(text)\": \"\(part)\" has no operator")
            }
            let field = part[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            guard !field.isEmpty else { throw APIError.badRequest("invalid field selector \"\(text)\": empty field") }
            terms.append(Term(path: field.split(separator: ".").map(String.init), value: part[range.upperBound...].trimmingCharacters(in: .whitespaces), negate: negate))
        }
    }

    public var isEmpty: Bool { terms.isEmpty }

    /// The metadata.name the selector pins, if any (lets a watch on one object narrow the key).
    public var exactName: String? { terms.first { $0.path == ["metadata", "name"] && !$0.negate }?.value }

    public func matches(_ object: JSONValue) -> Bool {
        terms.allSatisfy { t in
            let v = object.value(at: t.path)
            let s: String
            switch v {
            case .string(let x): s = x
            case .int(let i): s = String(i)
            case .bool(let b): s = b ? "true" : "false"
            default: s = ""
            }
            return (s == t.value) != t.negate
        }
    }
}
