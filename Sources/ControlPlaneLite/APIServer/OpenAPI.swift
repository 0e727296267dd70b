/// OpenAPI documents for clients: v3 per group-version (paths with their operations, the
/// `fieldValidation` parameter kubectl looks for, and object schemas for `kubectl explain`) and
/// a v2 document with the same schemas.
enum OpenAPI {
    static func groupVersionPath(_ r: ResourceInfo) -> String { r.group.isEmpty ? "api/v1" : "apis/\(r.group)/\(r.version)" }

    static func v3Index() -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for r in ResourceCatalog.all {
            let p = groupVersionPath(r)
            paths[p] = ["serverRelativeURL": .string("/openapi/v3/\(p)?hash=\(Schemas.hash)")]
        }
        return ["paths": .object(paths)]
    }

    static func gvk(_ r: ResourceInfo) -> JSONValue {
        ["group": .string(r.group), "version": .string(r.version), "kind": .string(r.kind)]
    }

    static func operations(_ r: ResourceInfo, item: Bool) -> JSONValue {
        let params: JSONValue = [
            ["name": "fieldValidation", "in": "query", "schema": ["type": "string"], "description": "Strict, Warn or Ignore"],
            ["name": "fieldManager", "in": "query", "schema": ["type": "string"]],
            ["name": "dryRun", "in": "query", "schema": ["type": "string"]],
        ]
        let ref: JSONValue = ["$ref": .string("#/components/schemas/\(Schemas.name(r))")]
        func op(_ action: String) -> JSONValue {
            [
                "operationId": .string("\(action)\(r.kind)"), "x-kubernetes-action": .string(action),
                "x-kubernetes-group-version-kind": gvk(r), "parameters": params,
                "responses": ["200": ["description": "OK", "content": ["application/json": ["schema": ref]]]],
            ]
        }
        if item {
            return ["get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")]
        }
        return ["get": op("list"), "post": op("post"), "delete": op("deletecollection")]
    }

    static func v3Document(groupVersionPath gv: String) -> JSONValue? {
        let resources = ResourceCatalog.all.filter { groupVersionPath($0) == gv }
        guard !resources.isEmpty else { return nil }
        var paths: [String: JSONValue] = [:]
        var schemas = Schemas.common
        for r in resources {
            let base = "/" + gv + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.plural
            paths[base] = operations(r, item: false)
            paths[base + "/{name}"] = operations(r, item: true)
            for (name, schema) in Schemas.schemas(for: r) { schemas[name] = schema }
        }
        return [
            "openapi": "3.0.0", "info": ["title": "Kubernetes", "version": "v1.32.0"],
            "paths": .object(paths), "components": ["schemas": .object(schemas)],
        ]
    }

    static func v2() -> JSONValue {
        var defs = Schemas.common
        for r in ResourceCatalog.all { for (n, s) in Schemas.schemas(for: r) { defs[n] = s } }
        // v2 references point at #/definitions.
        func rewrite(_ v: JSONValue) -> JSONValue {
            switch v {
            case .string(let s) where s.hasPrefix("#/components/schemas/"):
                return .string("#/definitions/" + s.dropFirst("#/components/schemas/".count))
            case .object(let o): return .object(o.mapValues(rewrite))
            case .array(let a): return .array(a.map(rewrite))
            default: return v
            }
        }
        return ["swagger": "2.0", "info": ["title": "Kubernetes", "version": "v1.32.0"], "paths": [:], "definitions": rewrite(.object(defs))]
    }
}
