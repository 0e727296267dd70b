import Foundation
import SystemCore
import Yams

/// How to reach registries: mirrors, plain HTTP, TLS trust and credentials per registry host.
///
/// Loaded from a YAML file (format in `docs/images.md`):
/// ```yaml
/// timeoutSeconds: 30
/// registries:
///   docker.io:
///     mirrors: ["http://127.0.0.1:5000"]
///   "127.0.0.1:5000":
///     plainHTTP: true
///   registry.internal:
///     caFile: /etc/swiftlet/registry-ca.pem
///     username: puller
///     password: secret
/// ```
public struct RegistryConfiguration: Sendable, Hashable {
    /// Settings for one registry host (`docker.io`, `127.0.0.1:5000`).
    public struct Host: Sendable, Hashable {
        /// Endpoints tried before the registry itself, in order: `http://host:port` or
        /// `https://host[/prefix]` (no scheme = https, or http if that host has `plainHTTP`).
        public var mirrors: [String] = []
        /// Do not fall back to the registry itself when every mirror failed.
        public var skipUpstream = false
        /// Talk plain HTTP (no TLS) to this host.
        public var plainHTTP = false
        /// TLS without certificate verification.
        public var insecureSkipVerify = false
        /// PEM file with CA certificates trusted for this host (in addition to none: only these).
        public var caFile: String?
        /// Default credentials for this host (a pull's own credentials win).
        public var credentials: RegistryCredentials?

        public init() {}
    }

    public var registries: [String: Host] = [:]
    /// Per-request timeout (connect and each read), seconds.
    public var timeoutSeconds: Int = 30

    public init(registries: [String: Host] = [:], timeoutSeconds: Int = 30) {
        self.registries = registries
        self.timeoutSeconds = timeoutSeconds
    }

    /// No mirrors, HTTPS with the system trust store, anonymous unless a pull brings credentials.
    public static let empty = RegistryConfiguration()

    /// Settings for `host` (defaults when the file does not mention it).
    public func host(_ host: String) -> Host { registries[host] ?? Host() }

    /// Reads and validates the YAML file at `path`; errors name the field and the reason.
    public static func load(path: String) throws(ImageStoreError) -> RegistryConfiguration {
        let text: String
        do { text = try FileSystem.readString(path) } catch {
            throw .invalidConfiguration(path: path, field: "(file)", reason: error.description)
        }
        return try parse(yaml: text, path: path)
    }

    /// Parses YAML text; `path` only names the source in errors.
    public static func parse(yaml text: String, path: String = "<text>") throws(ImageStoreError) -> RegistryConfiguration {
        func fail(_ field: String, _ reason: String) -> ImageStoreError {
            .invalidConfiguration(path: path, field: field, reason: reason)
        }
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch {
            throw fail("(yaml)", "\(error)")
        }
        var config = RegistryConfiguration()
        guard let root else { return config }
        guard let top = root as? [String: Any] else { throw fail("(top level)", "must be a mapping") }
        for (key, value) in top {
            switch key {
            case "timeoutSeconds":
                guard let seconds = value as? Int, seconds > 0, seconds <= 3600 else {
                    throw fail("timeoutSeconds", "must be an integer from 1 to 3600")
                }
                config.timeoutSeconds = seconds
            case "registries":
                guard let map = value as? [String: Any] else { throw fail("registries", "must be a mapping of host to settings") }
                for (name, settings) in map {
                    let field = "registries.\(name)"
                    guard ImageReference.isValidHost(name) else { throw fail(field, "not a registry host[:port]") }
                    config.registries[name] = try parseHost(settings, field: field, fail: fail)
                }
            default:
                throw fail(key, "unknown field (known: registries, timeoutSeconds)")
            }
        }
        for (name, host) in config.registries {
            for (index, mirror) in host.mirrors.enumerated() {
                let endpoint = config.endpoint(for: mirror)
                guard endpoint != nil else {
                    throw fail("registries.\(name).mirrors[\(index)]", "\"\(mirror)\" is not http(s)://host[:port][/path]")
                }
            }
        }
        return config
    }

    private static func parseHost(_ value: Any, field: String, fail: (String, String) -> ImageStoreError) throws(ImageStoreError) -> Host {
        var host = Host()
        if value is NSNull { return host }
        guard let map = value as? [String: Any] else { throw fail(field, "must be a mapping") }
        var credentials = RegistryCredentials()
        func string(_ key: String, _ value: Any) throws(ImageStoreError) -> String {
            guard let text = value as? String, !text.isEmpty else { throw fail("\(field).\(key)", "must be a non-empty string") }
            return text
        }
        func bool(_ key: String, _ value: Any) throws(ImageStoreError) -> Bool {
            guard let flag = value as? Bool else { throw fail("\(field).\(key)", "must be true or false") }
            return flag
        }
        for (key, item) in map {
            switch key {
            case "mirrors":
                guard let list = item as? [Any] else { throw fail("\(field).mirrors", "must be a list of URLs") }
                for (index, entry) in list.enumerated() {
                    guard let url = entry as? String, !url.isEmpty else {
                        throw fail("\(field).mirrors[\(index)]", "must be a URL string")
                    }
                    host.mirrors.append(url)
                }
            case "skipUpstream": host.skipUpstream = try bool(key, item)
            case "plainHTTP": host.plainHTTP = try bool(key, item)
            case "insecureSkipVerify": host.insecureSkipVerify = try bool(key, item)
            case "caFile":
                let file = try string(key, item)
                guard file.hasPrefix("/") else { throw fail("\(field).caFile", "must be an absolute path") }
                guard FileSystem.exists(file) else { throw fail("\(field).caFile", "\(file) does not exist") }
                host.caFile = file
            case "username": credentials.username = try string(key, item)
            case "password": credentials.password = try string(key, item)
            case "auth": credentials.auth = try string(key, item)
            case "identityToken": credentials.identityToken = try string(key, item)
            case "registryToken": credentials.registryToken = try string(key, item)
            default:
                throw fail("\(field).\(key)", "unknown field (known: mirrors, skipUpstream, plainHTTP, insecureSkipVerify, caFile, username, password, auth, identityToken, registryToken)")
            }
        }
        if (credentials.username == nil) != (credentials.password == nil) {
            throw fail("\(field).\(credentials.username == nil ? "username" : "password")", "username and password go together")
        }
        if !credentials.isEmpty { host.credentials = credentials }
        if host.skipUpstream && host.mirrors.isEmpty { throw fail("\(field).skipUpstream", "needs at least one mirror") }
        return host
    }

    /// A registry API endpoint: where `/v2/` requests go and with which transport settings.
    struct Endpoint: Sendable, Hashable {
        var scheme: String      // "http" or "https"
        var host: String        // host[:port]
        var pathPrefix: String  // "" or "/prefix"
        var settings: Host      // the settings of `host` (TLS, plain HTTP)
        var isMirror: Bool

        var base: String { "\(scheme)://\(host)\(pathPrefix)" }
    }

    /// Parses a mirror URL into an endpoint; nil if it is not http(s)://host[:port][/path].
    func endpoint(for url: String) -> Endpoint? {
        var rest = Substring(url)
        var scheme: String?
        if let range = rest.range(of: "://") {
            scheme = String(rest[..<range.lowerBound]).lowercased()
            rest = rest[range.upperBound...]
        }
        guard scheme == nil || scheme == "http" || scheme == "https" else { return nil }
        var hostPart = rest
        var prefix = ""
        if let slash = rest.firstIndex(of: "/") {
            hostPart = rest[..<slash]
            prefix = String(rest[slash...])
            while prefix.hasSuffix("/") { prefix.removeLast() }
            if prefix == "/v2" { prefix = "" }
        }
        let host = String(hostPart)
        guard ImageReference.isValidHost(host) else { return nil }
        let settings = self.host(host)
        return Endpoint(scheme: scheme ?? (settings.plainHTTP ? "http" : "https"), host: host,
                        pathPrefix: prefix, settings: settings, isMirror: true)
    }

    /// Endpoints to try for `registry`, mirrors first. Docker Hub's API host is registry-1.docker.io.
    func endpoints(for registry: String) -> [Endpoint] {
        let settings = host(registry)
        var result = settings.mirrors.compactMap { endpoint(for: $0) }
        if !settings.skipUpstream {
            let apiHost = registry == "docker.io" ? "registry-1.docker.io" : registry
            result.append(Endpoint(scheme: settings.plainHTTP ? "http" : "https", host: apiHost, pathPrefix: "",
                                   settings: settings, isMirror: false))
        }
        return result
    }
}
