/// `metadata.managedFields` in the FieldsV1 form (`f:spec`, `k:{"name":"c"}`), the field sets
/// server-side apply uses to find conflicts between managers.
enum ManagedFields {
    static let systemMetadata: Set<String> = [
        "name", "namespace", "uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
        "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
    ]

    /// Leaf paths of an object, as FieldsV1 tokens.
    static func leafPaths(_ object: JSONValue) -> [[String]] {
        var out: [[String]] = []
        func walk(_ v: JSONValue, _ path: [String], field: String?) {
            switch v {
            case .object(let o) where !o.isEmpty:
                for (k, child) in o {
                    if path.isEmpty && ["apiVersion", "kind", "status"].contains(k) { continue }
                    if path == ["f:metadata"] && systemMetadata.contains(k) { continue }
                    walk(child, path + ["f:" + k], field: k)
                }
            case .array(let a) where !a.isEmpty:
                if let field, let key = Patch.mergeKey(field: field, items: a) {
                    for item in a {
                        guard let id = item[key] else { continue }
                        let token = "k:" + JSONValue.object([key: id]).jsonString
                        out.append(path + [token, "."])
                        for (k, child) in item.objectValue ?? [:] where k != key {
                            walk(child, path + [token, "f:" + k], field: k)
                        }
                    }
                } else {
                    out.append(path)
                }
            default:
                if !path.isEmpty { out.append(path) }
            }
        }
        walk(object, [], field: nil)
        return out
    }

    static func fieldsV1(_ paths: [[String]]) -> JSONValue {
        var root: JSONValue = .object([:])
        for path in paths { root.set(path, root.value(at: path) ?? .object([:])) }
        return root
    }

    static func paths(ofFields fields: JSONValue) -> [[String]] {
        var out: [[String]] = []
        func walk(_ v: JSONValue, _ path: [String]) {
            let o = v.objectValue ?? [:]
            if o.isEmpty { if !path.isEmpty { out.append(path) }; return }
            for (k, child) in o { walk(child, path + [k]) }
        }
        walk(fields, [])
        return out
    }

    static func entry(manager: String, operation: String, object: JSONValue, time: String) -> JSONValue {
        set(nil, manager: manager, operation: operation, object: object, time: time)
    }

    static func record(_ manager: String, _ operation: String, _ object: JSONValue, _ paths: [[String]], _ time: String) -> JSONValue {
        [
            "manager": .string(manager), "operation": .string(operation),
            "apiVersion": object["apiVersion"] ?? "v1", "time": .string(time),
            "fieldsType": "FieldsV1", "fieldsV1": fieldsV1(paths),
        ]
    }

    /// Replaces `manager`'s entry for `operation` with the fields of `object`.
    static func set(_ existing: JSONValue?, manager: String, operation: String, object: JSONValue, time: String) -> JSONValue {
        var entries = (existing?.arrayValue ?? []).filter {
            !($0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == operation)
        }
        entries.append(record(manager, operation, object, leafPaths(object), time))
        return .array(entries)
    }

    /// An Update: the manager now owns every field of the object; others lose fields whose value changed.
    static func merge(_ existing: JSONValue?, manager: String, operation: String, object: JSONValue, time: String) -> JSONValue {
        set(existing, manager: manager, operation: operation, object: object, time: time)
    }

    static func ownedPaths(_ object: JSONValue, manager: String, operation: String) -> [[String]] {
        (object.value(at: ["metadata", "managedFields"])?.arrayValue ?? [])
            .filter { $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == operation }
            .flatMap { paths(ofFields: $0["fieldsV1"] ?? .null) }
    }

    /// The value at a FieldsV1 path ("." means the list item itself).
    static func lookup(_ object: JSONValue, _ path: [String]) -> JSONValue? {
        var current: JSONValue = object
        var field = ""
        for token in path {
            if token == "." { return current }
            if token.hasPrefix("f:") {
                field = String(token.dropFirst(2))
                guard let next = current[field] else { return nil }
                current = next
            } else if token.hasPrefix("k:") {
                guard let key = try? JSONValue.parse(Array(token.dropFirst(2).utf8)), let (k, v) = key.objectValue?.first,
                    let item = current.arrayValue?.first(where: { $0[k] == v })
                else { return nil }
                current = item
            } else {
                return nil
            }
        }
        return current
    }

    static func remove(_ object: inout JSONValue, _ path: [String]) {
        var p = path
        if p.last == "." { p.removeLast() }
        guard let last = p.last else { return }
        let parentPath = Array(p.dropLast())
        func edit(_ v: inout JSONValue, _ rest: ArraySlice<String>) {
            guard let token = rest.first else {
                if last.hasPrefix("f:") {
                    v[String(last.dropFirst(2))] = nil
                } else if last.hasPrefix("k:"), let key = try? JSONValue.parse(Array(last.dropFirst(2).utf8)),
                    let (k, id) = key.objectValue?.first, case .array(let a) = v
                {
                    v = .array(a.filter { $0[k] != id })
                }
                return
            }
            if token.hasPrefix("f:") {
                let f = String(token.dropFirst(2))
                guard var child = v[f] else { return }
                edit(&child, rest.dropFirst())
                v[f] = child
            } else if token.hasPrefix("k:"), let key = try? JSONValue.parse(Array(token.dropFirst(2).utf8)),
                let (k, id) = key.objectValue?.first, case .array(var a) = v, let i = a.firstIndex(where: { $0[k] == id })
            {
                edit(&a[i], rest.dropFirst())
                v = .array(a)
            }
        }
        edit(&object, parentPath[...])
    }

    struct Conflict { var manager: String; var path: String }

    /// Fields in `applied` that another manager owns with a different live value.
    static func conflicts(current: JSONValue, applied: JSONValue, manager: String) -> [Conflict] {
        var out: [Conflict] = []
        let appliedPaths = leafPaths(applied)
        for entry in current.value(at: ["metadata", "managedFields"])?.arrayValue ?? [] {
            guard let other = entry["manager"]?.stringValue, other != manager else { continue }
            let owned = Set(paths(ofFields: entry["fieldsV1"] ?? .null))
            for path in appliedPaths where owned.contains(path) {
                if lookup(current, path) != lookup(applied, path) {
                    out.append(Conflict(manager: other, path: readable(path)))
                }
            }
        }
        return out
    }

    static func readable(_ path: [String]) -> String {
        path.map { $0.hasPrefix("f:") ? "." + $0.dropFirst(2) : ($0 == "." ? "" : "[\($0.dropFirst(2))]") }.joined()
    }

    /// Forced apply takes fields away from other managers.
    static func removeOwnership(_ existing: JSONValue?, of paths: [[String]], except manager: String, force: Bool) -> JSONValue? {
        guard force, let entries = existing?.arrayValue else { return existing }
        let taken = Set(paths)
        return .array(entries.compactMap { entry in
            guard entry["manager"]?.stringValue != manager else { return entry }
            let remaining = self.paths(ofFields: entry["fieldsV1"] ?? .null).filter { !taken.contains($0) }
            if remaining.isEmpty { return nil }
            var e = entry
            e["fieldsV1"] = fieldsV1(remaining)
            return e
        })
    }
}
