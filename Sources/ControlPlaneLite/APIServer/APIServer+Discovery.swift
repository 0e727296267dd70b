import Crypto
import Foundation

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
                return try discoveryRoot(core: true, legacy: [
                    "kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string("\(config.advertiseAddress):\(config.securePort)")]],
                ], request)
            }
            guard segments[1] == "v1" else { break }
            return .json(resourceList(group: "", version: "v1"))
        case "apis":
            if segments.count == 1 { return try discoveryRoot(core: false, legacy: groupList, request) }
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
                let (kind, group, version, verbs) = Self.subresourceKind(r, sub)
                var s: JSONValue = ["name": .string("\(r.plural)/\(sub)"), "singularName": "", "namespaced": .bool(r.namespaced),
                                    "kind": .string(kind), "verbs": .array(verbs.map { .string($0) })]
                if !group.isEmpty { s["group"] = .string(group); s["version"] = .string(version) }
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

/// Content negotiation for `/api` and `/apis`: aggregated discovery
/// (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`, or v2beta1) or the
/// legacy APIVersions/APIGroupList documents. Media ranges are taken in the order the client
/// lists them (client-go lists its preferences first and sends no q-values).
public enum DiscoveryFormat: Equatable, Sendable {
    case aggregated(version: String)
    case legacy

    public static let group = "apidiscovery.k8s.io"
    public static let versions = ["v2", "v2beta1"]

    /// nil: nothing in `accept` can be served (406).
    public static func negotiate(accept: String?) -> DiscoveryFormat? {
        guard let accept, !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return .legacy }
        for range in accept.split(separator: ",") {
            var parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard !parts.isEmpty else { continue }
            let type = parts.removeFirst()
            var params: [String: String] = [:]
            for p in parts {
                let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"")) }
                if kv.count == 2 { params[kv[0]] = kv[1] }
            }
            if params["q"] == "0" { continue }
            let json = type == "application/json" || type == "application/*" || type == "*/*"
            if let g = params["g"] {
                if json, g == group, params["as"] == "apigroupdiscoverylist", let v = params["v"], versions.contains(v) {
                    return .aggregated(version: v)
                }
                continue  // another kind (or protobuf): not served here
            }
            if json { return .legacy }
        }
        return nil
    }

    public var contentType: String {
        switch self {
        case .aggregated(let v): return "application/json;g=\(Self.group);v=\(v);as=APIGroupDiscoveryList"
        case .legacy: return "application/json"
        }
    }
}

extension APIServer {
    /// `/api` (core only) or `/apis` (every named group) as an APIGroupDiscoveryList.
    func aggregatedDiscovery(core: Bool, version: String) -> JSONValue {
        let groups: [(name: String, version: String)] = core ? [("", "v1")] : ResourceCatalog.groups
        let items: [JSONValue] = groups.map { g in
            let resources: [JSONValue] = ResourceCatalog.resources(group: g.name, version: g.version).map { r in
                var entry: JSONValue = [
                    "resource": .string(r.plural), "singularResource": .string(r.singular),
                    "scope": .string(r.namespaced ? "Namespaced" : "Cluster"),
                    "responseKind": ["group": "", "version": "", "kind": .string(r.kind)],
                    "verbs": .array(r.verbs.map { .string($0) }),
                ]
                if !r.shortNames.isEmpty { entry["shortNames"] = .array(r.shortNames.map { .string($0) }) }
                if !r.categories.isEmpty { entry["categories"] = .array(r.categories.map { .string($0) }) }
                if !r.subresources.isEmpty {
                    entry["subresources"] = .array(r.subresources.map { sub in
                        let (kind, group, ver, verbs) = Self.subresourceKind(r, sub)
                        return ["subresource": .string(sub), "responseKind": ["group": .string(group), "version": .string(ver), "kind": .string(kind)],
                                "verbs": .array(verbs.map { .string($0) })]
                    })
                }
                return entry
            }
            var metadata: JSONValue = ["creationTimestamp": .null]
            if !g.name.isEmpty { metadata["name"] = .string(g.name) }
            return ["metadata": metadata, "versions": [["version": .string(g.version), "resources": .array(resources), "freshness": "Current"]]]
        }
        return ["kind": "APIGroupDiscoveryList", "apiVersion": .string("\(DiscoveryFormat.group)/\(version)"), "metadata": [:], "items": .array(items)]
    }

    /// The kind, group, version and verbs of a subresource, as legacy and aggregated discovery list them.
    static func subresourceKind(_ r: ResourceInfo, _ sub: String) -> (String, String, String, [String]) {
        switch sub {
        case "status": return (r.kind, "", "", ["get", "patch", "update"])
        case "scale": return ("Scale", "autoscaling", "v1", ["get", "patch", "update"])
        case "binding": return ("Binding", "", "", ["create"])
        case "eviction": return ("Eviction", "policy", "v1", ["create"])
        case "token": return ("TokenRequest", "authentication.k8s.io", "v1", ["create"])
        case "log": return ("Pod", "", "", ["get"])
        default: return ("Pod\(sub.prefix(1).uppercased())\(sub.dropFirst())Options", "", "", ["create", "get"])
        }
    }

    /// Serves `/api` or `/apis` in the negotiated form. Aggregated answers carry an ETag (a hash of
    /// the document) and `Vary: Accept`; a request whose If-None-Match names it gets 304.
    func discoveryRoot(core: Bool, legacy: JSONValue, _ request: APIRequest) throws -> APIResponse {
        guard let format = DiscoveryFormat.negotiate(accept: request.header("Accept")) else {
            throw APIError(code: 406, reason: "NotAcceptable",
                           message: "only the following media types are accepted: application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList, application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")
        }
        guard case .aggregated(let version) = format else {
            var response = APIResponse.json(legacy)
            response.headers.append(("Vary", "Accept"))
            return response
        }
        var response = APIResponse.json(aggregatedDiscovery(core: core, version: version))
        response.contentType = format.contentType
        guard case .bytes(let bytes) = response.body else { return response }
        let etag = "\"" + SHA256.hash(data: bytes).map { String(format: "%02X", $0) }.joined() + "\""
        response.headers.append(("Vary", "Accept"))
        response.headers.append(("ETag", etag))
        if let match = request.header("If-None-Match"), match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            response.status = 304
            response.body = .bytes([])
        }
        return response
    }
}
