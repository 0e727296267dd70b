import APIStorage
import Foundation
import Logging
import NIOSSL

/// Settings of one apiserver.
public struct APIServerConfig: Sendable {
    public var serviceCIDR: String = "10.96.0.0/12"
    public var nodePortRange: ClosedRange<Int> = 30000...32767
    public var advertiseAddress: String = "127.0.0.1"
    public var securePort: Int = 6443
    public var version: String = "v1.32.0"
    /// How to reach kubelets (pods/log); nil: those requests get 503.
    public var kubeletClient: KubeletClient?
    public init() {}
}

/// The apiserver: authenticates, authorizes, routes to discovery, OpenAPI or the generic REST
/// handlers, which read and write objects in the store as JSON.
public final class APIServer: Sendable {
    let store: any Store
    let authenticator: Authenticator
    let config: APIServerConfig
    let allocator: ServiceAllocator
    let logger: Logger
    let authorizer: Authorizer

    public init(store: any Store, authenticator: Authenticator, config: APIServerConfig, logger: Logger) throws {
        self.store = store
        self.authenticator = authenticator
        self.config = config
        self.logger = logger
        self.allocator = try ServiceAllocator(cidr: config.serviceCIDR, nodePorts: config.nodePortRange)
        self.authorizer = Authorizer(store: store)
    }

    /// Entry point of every HTTP request.
    public func handle(_ raw: APIRequest, certificate: NIOSSLCertificate?) async -> APIResponse {
        var request = raw
        do {
            request.user = try authenticator.authenticate(request, certificate: certificate)
            return try await route(request)
        } catch let error as APIError {
            return .error(error)
        } catch let error as StorageError {
            return .error(Self.map(error))
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            return .error(.internalError("\(error)"))
        }
    }

    static func map(_ error: StorageError) -> APIError {
        switch error {
        case .notFound(let key): return APIError(code: 404, reason: "NotFound", message: "\(key) not found")
        case .alreadyExists(let key): return APIError(code: 409, reason: "AlreadyExists", message: "\(key) already exists")
        case .conflict:
            return APIError(code: 409, reason: "Conflict", message: "the object has been modified; please apply your changes to the latest version and try again")
        case .compacted(let requested, _):
            return .gone("The resourceVersion for the provided watch (\(requested)) is too old.")
        case .invalidArgument(let reason): return .badRequest(reason)
        case .unavailable(let reason): return .unavailable("storage: \(reason)")
        }
    }

    func route(_ request: APIRequest) async throws -> APIResponse {
        let path = request.path.count > 1 && request.path.hasSuffix("/") ? String(request.path.dropLast()) : request.path
        switch path {
        case "/healthz", "/livez", "/readyz":
            if path != "/livez" { _ = try await store.currentRevision() }
            return .text("ok")
        case "/version":
            return .json(versionInfo)
        default: break
        }
        if request.user.isAnonymous { throw APIError.unauthorized }
        let segments = path.split(separator: "/").map(String.init)
        // Non-resource URLs.
        let isResource = (segments.first == "api" && segments.count > 2) || (segments.first == "apis" && segments.count > 3)
        if !isResource {
            try await authorizer.authorizeNonResource(user: request.user, path: path, verb: request.method.lowercased())
            return try nonResource(path, segments, request)
        }
        let group = segments[0] == "api" ? "" : segments[1]
        let version = segments[0] == "api" ? segments[1] : segments[2]
        var rest = segments[(segments[0] == "api" ? 2 : 3)...]
        var namespace: String?
        if rest.first == "namespaces", rest.count >= 3, ResourceCatalog.find(group: group, version: version, plural: rest[rest.startIndex + 2]) != nil,
            !(group.isEmpty && rest.count == 3 && ["status", "finalize"].contains(rest[rest.startIndex + 2]))
        {
            namespace = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        }
        guard let plural = rest.first, let resource = ResourceCatalog.find(group: group, version: version, plural: plural) else {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        let name = rest.count > 1 ? rest[rest.startIndex + 1] : nil
        let subresource = rest.count > 2 ? rest[rest.startIndex + 2] : nil
        if rest.count > 3 || (subresource != nil && !resource.subresources.contains(subresource!)) {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        if resource.namespaced == false, namespace != nil {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        let target = Target(resource: resource, namespace: resource.namespaced ? namespace : nil, name: name, subresource: subresource)
        let verb = Self.verb(request, target)
        try await authorizer.authorize(user: request.user, verb: verb, target: target)
        if resource.group == "events.k8s.io" { return try await handleEventsV1(request, target, verb: verb) }
        return try await handleResource(request, target, verb: verb)
    }

    static func verb(_ request: APIRequest, _ target: Target) -> String {
        let watch = ["true", "1"].contains(request.query["watch"] ?? "")
        switch request.method {
        case "GET", "HEAD": return target.name == nil ? (watch ? "watch" : "list") : (watch ? "watch" : "get")
        case "POST": return "create"
        case "PUT": return "update"
        case "PATCH": return "patch"
        case "DELETE": return target.name == nil ? "deletecollection" : "delete"
        default: return request.method.lowercased()
        }
    }

    var versionInfo: JSONValue {
        let parts = config.version.dropFirst().split(separator: ".")
        return [
            "major": .string(String(parts.first ?? "1")), "minor": .string(parts.count > 1 ? String(parts[1]) : "32"),
            "gitVersion": .string(config.version + "+swiftlet"), "gitCommit": "", "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "swift6", "compiler": "swiftc", "platform": "linux/amd64",
        ]
    }
}

/// The object(s) a request addresses.
public struct Target: Sendable {
    public var resource: ResourceInfo
    public var namespace: String?
    public var name: String?
    public var subresource: String?

    var key: String { resource.key(namespace: namespace, name: name ?? "") }
}
