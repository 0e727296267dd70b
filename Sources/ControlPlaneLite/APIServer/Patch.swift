/// PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and Kubernetes' strategic
/// merge patch (lists merged by their merge key for built-in types, `$patch`, `$setElementOrder`,
/// `$retainKeys`, `$deleteFromPrimitiveList` directives).
public enum Patch {
    // MARK: JSON merge patch

    public static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (k, v) in p {
            if v.isNull { result[k] = nil } else { result[k] = mergePatch(result[k] ?? .null, v) }
        }
        return .object(result)
    }

    // MARK: JSON patch

    public static func jsonPatch(_ target: JSONValue, _ patch: JSONValue) throws(APIError) -> JSONValue {
        guard let ops = patch.arrayValue else { throw .badRequest("json patch must be an array of operations") }
        var doc = target
        for (i, op) in ops.enumerated() {
            guard let kind = op["op"]?.stringValue, let path = op["path"]?.stringValue else {
                throw .badRequest("json patch operation \(i): op and path are required")
            }
            let pointer = try parsePointer(path)
            switch kind {
            case "add": doc = try apply(doc, pointer, .add(try value(op, i)))
            case "replace":
                _ = try get(doc, pointer, path)
                doc = try apply(doc, pointer, .replace(try value(op, i)))
            case "remove":
                _ = try get(doc, pointer, path)
                doc = try apply(doc, pointer, .remove)
            case "test":
                guard try get(doc, pointer, path) == (try value(op, i)) else {
                    throw .invalid422("testing value \(path) failed")
                }
            case "move", "copy":
                guard let from = op["from"]?.stringValue else { throw .badRequest("json patch operation \(i): from is required") }
                let fromPointer = try parsePointer(from)
                let v = try get(doc, fromPointer, from)
                if kind == "move" { doc = try apply(doc, fromPointer, .remove) }
                doc = try apply(doc, pointer, .add(v))
            default:
                throw .badRequest("json patch operation \(i): unknown op \"\(kind)\"")
            }
        }
        return doc
    }

    enum Op { case add(JSONValue), replace(JSONValue), remove }

    static func value(_ op: JSONValue, _ i: Int) throws(APIError) -> JSONValue {
        guard let v = op["value"] else { throw .badRequest("json patch operation \(i): value is required") }
        return v
    }

    static func parsePointer(_ path: String) throws(APIError) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw .badRequest("json patch path \"\(path)\" must start with /") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ doc: JSONValue, _ pointer: [String], _ path: String) throws(APIError) -> JSONValue {
        var cur = doc
        for token in pointer {
            switch cur {
            case .object(let o):
                guard let n = o[token] else { throw .invalid422("doc is missing path: \"\(path)\"") }
                cur = n
            case .array(let a):
                guard let i = Int(token), i >= 0, i < a.count else { throw .invalid422("doc is missing path: \"\(path)\"") }
                cur = a[i]
            default: throw .invalid422("doc is missing path: \"\(path)\"")
            }
        }
        return cur
    }

    static func apply(_ doc: JSONValue, _ pointer: [String], _ op: Op) throws(APIError) -> JSONValue {
        guard let token = pointer.first else {
            switch op {
            case .add(let v), .replace(let v): return v
            case .remove: return .null
            }
        }
        let rest = Array(pointer.dropFirst())
        switch doc {
        case .object(var o):
            if rest.isEmpty {
                switch op {
                case .add(let v), .replace(let v): o[token] = v
                case .remove: o[token] = nil
                }
            } else {
                guard let child = o[token] else { throw .invalid422("doc is missing path: \"/\(pointer.joined(separator: "/"))\"") }
                o[token] = try apply(child, rest, op)
            }
            return .object(o)
        case .array(var a):
            if rest.isEmpty {
                switch op {
                case .add(let v):
                    if token == "-" { a.append(v) } else {
                        guard let i = Int(token), i >= 0, i <= a.count else { throw .invalid422("array index \(token) out of range") }
                        a.insert(v, at: i)
                    }
                case .replace(let v):
                    guard let i = Int(token), i >= 0, i < a.count else { throw .invalid422("array index \(token) out of range") }
                    a[i] = v
                case .remove:
                    guard let i = Int(token), i >= 0, i < a.count else { throw .invalid422("array index \(token) out of range") }
                    a.remove(at: i)
                }
            } else {
                guard let i = Int(token), i >= 0, i < a.count else { throw .invalid422("array index \(token) out of range") }
                a[i] = try apply(a[i], rest, op)
            }
            return .array(a)
        default:
            throw .invalid422("cannot apply patch at \"\(token)\": parent is not an object or array")
        }
    }

    // MARK: strategic merge patch

    /// Merge keys of built-in types' lists, by field name.
    static func mergeKey(field: String, items: [JSONValue]) -> String? {
        switch field {
        case "containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets",
            "resourceClaims", "schedulingGates", "readinessGates":
            return field == "readinessGates" ? "conditionType" : "name"
        case "volumeMounts": return "mountPath"
        case "volumeDevices": return "devicePath"
        case "hostAliases": return "ip"
        case "conditions", "addresses": return "type"
        case "ownerReferences": return "uid"
        case "topologySpreadConstraints": return "topologyKey"
        case "ports":
            let objects = items.compactMap(\.objectValue)
            if objects.contains(where: { $0["containerPort"] != nil }) { return "containerPort" }
            if objects.contains(where: { $0["port"] != nil }) { return "port" }
            return nil
        default: return nil
        }
    }

    static let mergedPrimitiveLists: Set<String> = ["finalizers"]

    public static func strategicMerge(_ target: JSONValue, _ patch: JSONValue) throws(APIError) -> JSONValue {
        guard case .object(var p) = patch else { return patch }
        if let directive = p["$patch"]?.stringValue {
            p["$patch"] = nil
            switch directive {
            case "replace": return stripDirectives(.object(p))
            case "delete": return .null
            case "merge": break
            default: throw .badRequest("strategic merge patch: unknown $patch directive \"\(directive)\"")
            }
        }
        var result = target.objectValue ?? [:]
        let retainKeys = p["$retainKeys"]?.arrayValue?.compactMap(\.stringValue)
        p["$retainKeys"] = nil
        var orders: [String: [JSONValue]] = [:]
        var deletions: [String: [JSONValue]] = [:]
        for (k, v) in p {
            if k.hasPrefix("$setElementOrder/") {
                orders[String(k.dropFirst("$setElementOrder/".count))] = v.arrayValue ?? []
            } else if k.hasPrefix("$deleteFromPrimitiveList/") {
                deletions[String(k.dropFirst("$deleteFromPrimitiveList/".count))] = v.arrayValue ?? []
            }
        }
        for (k, v) in p where !k.hasPrefix("$") {
            if v.isNull { result[k] = nil; continue }
            switch (result[k], v) {
            case (.object?, .object):
                let merged = try strategicMerge(result[k]!, v)
                result[k] = merged.isNull ? nil : merged
            case (.array(let old)?, .array(let new)):
                result[k] = .array(try mergeList(field: k, old, new))
            case (_, .object):
                let merged = try strategicMerge(.object([:]), v)
                result[k] = merged.isNull ? nil : merged
            case (_, .array(let new)):
                result[k] = .array(try mergeList(field: k, [], new))
            default:
                result[k] = v
            }
        }
        for (field, values) in deletions {
            if case .array(let a)? = result[field] { result[field] = .array(a.filter { !values.contains($0) }) }
        }
        for (field, order) in orders {
            guard case .array(let a)? = result[field] else { continue }
            result[field] = .array(reorder(field: field, a, order))
        }
        if let retainKeys {
            for key in result.keys where !retainKeys.contains(key) { result[key] = nil }
        }
        return .object(result)
    }

    static func mergeList(field: String, _ old: [JSONValue], _ new: [JSONValue]) throws(APIError) -> [JSONValue] {
        if new.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return new.filter { $0["$patch"] == nil }.map(stripDirectives)
        }
        if mergedPrimitiveLists.contains(field), !new.contains(where: { $0.objectValue != nil }) {
            var out = old
            for v in new where !out.contains(v) { out.append(v) }
            return out
        }
        guard let key = mergeKey(field: field, items: old + new) else { return new.map(stripDirectives) }
        var out = old
        for item in new {
            guard let id = item[key] else { out.append(stripDirectives(item)); continue }
            let index = out.firstIndex { $0[key] == id }
            if item["$patch"]?.stringValue == "delete" {
                if let index { out.remove(at: index) }
                continue
            }
            if let index {
                out[index] = try strategicMerge(out[index], item)
            } else {
                out.append(try strategicMerge(.object([:]), item))
            }
        }
        return out
    }

    static func reorder(field: String, _ items: [JSONValue], _ order: [JSONValue]) -> [JSONValue] {
        let key = mergeKey(field: field, items: items + order)
        func identity(_ v: JSONValue) -> JSONValue { key.flatMap { v[$0] } ?? v }
        var remaining = items
        var out: [JSONValue] = []
        for o in order {
            if let i = remaining.firstIndex(where: { identity($0) == identity(o) }) {
                out.append(remaining.remove(at: i))
            }
        }
        return out + remaining
    }

    static func stripDirectives(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o):
            var r: [String: JSONValue] = [:]
            for (k, x) in o where !k.hasPrefix("$") { r[k] = stripDirectives(x) }
            return .object(r)
        case .array(let a): return .array(a.map(stripDirectives))
        default: return v
        }
    }
}

extension APIError {
    static func invalid422(_ message: String) -> APIError {
        APIError(code: 422, reason: "Invalid", message: message)
    }
}
