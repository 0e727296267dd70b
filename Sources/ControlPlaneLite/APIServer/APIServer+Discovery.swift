/// Discovery (`/api`, `/apis`, group versions), OpenAPI documents and other non-resource URLs.
extension APIServer {
    func nonResource(_ path: String, _ segments: [String], _ request: APIRequest) throws -> APIResponse {
        switch segments.first {
        case nil:
            let paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/openapi/v2", "/openapi/v3", "/version"]
                + ResourceCatalog.groups.flatMap { ["/apis/\($0.name)", "/apis/\($0.name)/\($0.version)"] }
            return .json(["paths": .array(paths.sorted().map { .string($0) })])
        case "api":
            if segments.count == 1 {
                return .json([
                    "kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string("\(config.advertiseAddress):\(config.securePort)")]],
                ])
            }
            guard segments[1] == "v1" else { break }
            return .json(resourceList(group: "", version: "v1"))
        case "apis":
            if segments.count == 1 { return .json(groupList) }
            guard let g = ResourceCatalog.groups.first(where: { $0.name == segments[1] }) else { break }
            if segments.count == 2 { return .json(groupJSON(g.name, g.version).merging(["kind": "APIGroup", "apiVersion": "v1"])) }
            guard segments[2] == g.version else { break }
            return .json(resourceList(group: g.name, version: g.version))
        case "openapi":
            if segments.count >= 2 && segments[1] == "v2" { return .json(OpenAPI.v2()) }
            if segments.count == 2 && segments[1] == "v3" { return .json(OpenAPI.v3Index()) }
            if segments.count > 2 && segments[1] == "v3" {
                let gv = segments[2...].joined(separator: "/")
                if let doc = OpenAPI.v3Document(groupVersionPath: gv) { return .json(doc) }
            }
        default: break
        }
        throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
    }

    var groupList: JSONValue {
        ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(ResourceCatalog.groups.map { groupJSON($0.name, $0.version) })]
    }

    func groupJSON(_ name: String, _ version: String) -> JSONValue {
        let gv: JSONValue = ["groupVersion": .string("\(name)/\(version)"), "version": .string(version)]
        return ["name": .string(name), "versions": [gv], "preferredVersion": gv]
    }

    func resourceList(group: String, version: String) -> JSONValue {
        var resources: [JSONValue] = []
        for r in ResourceCatalog.resources(group: group, version: version) {
            var entry: JSONValue = [
                "name": .string(r.plural), "singularName": .string(r.singular), "namespaced": .bool(r.namespaced),
                "kind": .string(r.kind), "verbs": .array(r.verbs.map { .string($0) }),
            ]
            if !r.shortNames.isEmpty { entry["shortNames"] = .array(r.shortNames.map { .string($0) }) }
            if !r.categories.isEmpty { entry["categories"] = .array(r.categories.map { .string($0) }) }
            resources.append(entry)
            for sub in r.subresources {
                var s: JSONValue = ["name": .string("\(r.plural)/\(sub)"), "singularName": "", "namespaced": .bool(r.namespaced), "kind": .string(r.kind)]
                switch sub {
                case "status": s["verbs"] = ["get", "patch", "update"]
                case "scale":
                    s["verbs"] = ["get", "patch", "update"]; s["kind"] = "Scale"; s["group"] = "autoscaling"; s["version"] = "v1"
                case "binding": s["verbs"] = ["create"]; s["kind"] = "Binding"
                case "eviction": s["verbs"] = ["create"]; s["kind"] = "Eviction"; s["group"] = "policy"; s["version"] = "v1"
                case "token": s["verbs"] = ["create"]; s["kind"] = "TokenRequest"; s["group"] = "authentication.k8s.io"; s["version"] = "v1"
                case "log": s["verbs"] = ["get"]; s["kind"] = "Pod"
                default: s["verbs"] = ["create", "get"]; s["kind"] = .string("Pod\(sub.prefix(1).uppercased())\(sub.dropFirst())Options")
                }
                resources.append(s)
            }
        }
        let gv = group.isEmpty ? version : "\(group)/\(version)"
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(gv), "resources": .array(resources)]
    }
}

extension JSONValue {
    func merging(_ other: [String: JSONValue]) -> JSONValue {
        var o = objectValue ?? [:]
        for (k, v) in other { o[k] = v }
        return .object(o)
    }
}
