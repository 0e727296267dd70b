import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Talks to one registry endpoint about one repository for one pull: authenticates on demand
/// (anonymous, basic, or a bearer token from the WWW-Authenticate challenge's token server) and
/// keeps the resulting Authorization header for the following requests.
actor RegistrySession {
    let http: HTTPClient
    let endpoint: RegistryConfiguration.Endpoint
    let repository: String
    /// The image being pulled, for error messages.
    let image: String
    let credentials: RegistryCredentials?
    let timeout: TimeAmount
    let logger: Logger
    private var authorization: String?

    init(http: HTTPClient, endpoint: RegistryConfiguration.Endpoint, repository: String, image: String,
         credentials: RegistryCredentials?, timeoutSeconds: Int, logger: Logger) {
        self.http = http
        self.endpoint = endpoint
        self.repository = repository
        self.image = image
        self.credentials = credentials
        self.timeout = .seconds(Int64(timeoutSeconds))
        self.logger = logger
        if let token = credentials?.registryToken { authorization = "Bearer \(token)" }
    }

    var tlsConfiguration: TLSConfiguration? {
        guard endpoint.scheme == "https", endpoint.settings.caFile != nil || endpoint.settings.insecureSkipVerify else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if endpoint.settings.insecureSkipVerify { tls.certificateVerification = .none }
        if let ca = endpoint.settings.caFile { tls.trustRoots = .file(ca) }
        return tls
    }

    func url(_ path: String) -> String { "\(endpoint.base)/v2/\(repository)/\(path)" }

    /// A GET with authentication; the response is returned for any status but 401.
    func get(_ path: String, accept: [String] = [], streaming: Bool = false) async throws(ImageStoreError) -> HTTPClientResponse {
        let url = url(path)
        var response = try await send(url: url, accept: accept, streaming: streaming)
        if response.status == .unauthorized {
            let header = response.headers["WWW-Authenticate"].joined(separator: ", ")
            try await authenticate(challenges: AuthChallenge.parse(header), url: url)
            response = try await send(url: url, accept: accept, streaming: streaming)
            if response.status == .unauthorized {
                let reason = await errorMessage(response)
                throw .unauthorized(image: image, registry: endpoint.host, reason: credentials == nil || credentials?.isEmpty == true
                                    ? "authentication required and no credentials given (\(reason))" : "credentials rejected (\(reason))")
            }
        }
        if response.status == .forbidden {
            throw .unauthorized(image: image, registry: endpoint.host, reason: "HTTP 403: \(await errorMessage(response))")
        }
        return response
    }

    private func send(url: String, accept: [String], streaming: Bool) async throws(ImageStoreError) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "swiftlet-image/0.1")
        if !accept.isEmpty { request.headers.add(name: "Accept", value: accept.joined(separator: ", ")) }
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.tlsConfiguration = tlsConfiguration
        do {
            // Blob bodies can take long: their stalls are caught by the client's read timeout.
            return try await http.execute(request, timeout: streaming ? .hours(6) : timeout, logger: nil)
        } catch {
            throw networkError(error, url: url)
        }
    }

    func networkError(_ error: Error, url: String) -> ImageStoreError {
        let text = String(describing: error)
        let timedOut = (error as? HTTPClientError).map { [.readTimeout, .connectTimeout, .deadlineExceeded].contains($0) } ?? false
            || text.lowercased().contains("timeout") || text.lowercased().contains("timed out")
        return .network(image: image, url: url, reason: text, timedOut: timedOut)
    }

    /// Answers a 401: basic credentials, or a bearer token from the challenge's realm.
    private func authenticate(challenges: [AuthChallenge], url: String) async throws(ImageStoreError) {
        let basic = basicCredentials()
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
            guard let realm = bearer.parameters["realm"], realm.hasPrefix("http://") || realm.hasPrefix("https://") else {
                throw .unauthorized(image: image, registry: endpoint.host, reason: "bearer challenge without an http(s) realm")
            }
            authorization = "Bearer \(try await fetchToken(realm: realm, service: bearer.parameters["service"], scope: bearer.parameters["scope"], basic: basic))"
            return
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            guard let basic else {
                throw .unauthorized(image: image, registry: endpoint.host, reason: "basic authentication required and no credentials given")
            }
            authorization = "Basic \(basic)"
            return
        }
        throw .unauthorized(image: image, registry: endpoint.host,
                            reason: "HTTP 401 with no usable WWW-Authenticate challenge (\(challenges.map(\.scheme)))")
    }

    /// base64(user:password) from the credentials (or their `auth` field).
    private func basicCredentials() -> String? {
        guard let credentials else { return nil }
        if let user = credentials.username, let password = credentials.password {
            return Data("\(user):\(password)".utf8).base64EncodedString()
        }
        return credentials.auth
    }

    private struct TokenResponse: Decodable {
        var token: String?
        var access_token: String?
    }

    private func fetchToken(realm: String, service: String?, scope: String?, basic: String?) async throws(ImageStoreError) -> String {
        let scope = scope ?? "repository:\(repository):pull"
        var components = URLComponents(string: realm)
        var query = components?.queryItems ?? []
        if let service { query.append(URLQueryItem(name: "service", value: service)) }
        query.append(URLQueryItem(name: "scope", value: scope))
        var request: HTTPClientRequest
        if let refresh = credentials?.identityToken {
            // OAuth2 refresh-token grant (docker's identity token).
            request = HTTPClientRequest(url: realm)
            request.method = .POST
            var form = URLComponents()
            form.queryItems = [URLQueryItem(name: "grant_type", value: "refresh_token"),
                               URLQueryItem(name: "refresh_token", value: refresh),
                               URLQueryItem(name: "client_id", value: "swiftlet"),
                               URLQueryItem(name: "scope", value: scope)]
                + (service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form.percentEncodedQuery ?? ""))
        } else {
            components?.queryItems = query
            guard let tokenURL = components?.string else {
                throw .unauthorized(image: image, registry: endpoint.host, reason: "token realm \"\(realm)\" is not a URL")
            }
            request = HTTPClientRequest(url: tokenURL)
            if let basic { request.headers.add(name: "Authorization", value: "Basic \(basic)") }
        }
        request.headers.add(name: "User-Agent", value: "swiftlet-image/0.1")
        if realm.hasPrefix("https://"), let caFile = endpoint.settings.caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            request.tlsConfiguration = tls
        }
        let response: HTTPClientResponse
        do { response = try await http.execute(request, timeout: timeout, logger: nil) } catch {
            throw networkError(error, url: realm)
        }
        guard response.status == .ok else {
            throw .unauthorized(image: image, registry: endpoint.host,
                                reason: "token server \(realm) answered HTTP \(response.status.code): \(await errorMessage(response))")
        }
        let body = try await collect(response, limit: 1 << 20, url: realm)
        guard let decoded = try? JSONDecoder().decode(TokenResponse.self, from: Data(body)),
              let token = decoded.token ?? decoded.access_token, !token.isEmpty else {
            throw .unauthorized(image: image, registry: endpoint.host, reason: "token server \(realm) sent no token")
        }
        logger.debug("got registry token", metadata: ["realm": "\(realm)", "scope": "\(scope)"])
        return token
    }

    /// Reads a whole (small) body.
    func collect(_ response: HTTPClientResponse, limit: Int, url: String) async throws(ImageStoreError) -> [UInt8] {
        do {
            var buffer = try await response.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw .invalidManifest(image: image, digest: url, reason: "response larger than \(limit) bytes")
        } catch {
            throw networkError(error, url: url)
        }
    }

    /// The registry's error message (`{"errors":[{"code":…,"message":…}]}`) or the status text.
    func errorMessage(_ response: HTTPClientResponse) async -> String {
        struct Errors: Decodable {
            struct Item: Decodable { var code: String?; var message: String? }
            var errors: [Item]?
        }
        var text = "\(response.status.code) \(response.status.reasonPhrase)"
        if let body = try? await response.body.collect(upTo: 64 * 1024),
           let decoded = try? JSONDecoder().decode(Errors.self, from: Data(body.readableBytesView)),
           let first = decoded.errors?.first {
            text = [first.code, first.message].compactMap { $0 }.joined(separator: ": ")
        }
        return text
    }
}
