import Crypto
import Foundation
import NIOSSL
import X509

/// Authentication: x509 client certificates (already verified by TLS against the cluster CA;
/// CN = user, O = groups), static bearer tokens, and service-account JWTs this server signs.
public struct Authenticator: Sendable {
    public struct StaticToken: Sendable {
        public var user: UserInfo
    }
    var tokens: [String: UserInfo]
    let serviceAccounts: ServiceAccountTokens?

    public init(tokens: [String: UserInfo] = [:], serviceAccounts: ServiceAccountTokens?) {
        self.tokens = tokens
        self.serviceAccounts = serviceAccounts
    }

    /// Reads a kube-apiserver token file: `token,user,uid,"group1,group2"` per line.
    public static func loadTokenFile(_ path: String) throws -> [String: UserInfo] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError("token auth file \(path): \(error.localizedDescription)")
        }
        var out: [String: UserInfo] = [:]
        for (index, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = parseCSVLine(line)
            guard fields.count >= 3, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw ConfigError("token auth file \(path) line \(index + 1): need token,user,uid[,\"groups\"]")
            }
            let groups = fields.count > 3 ? fields[3].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } : []
            out[fields[0]] = UserInfo(name: fields[1], uid: fields[2], groups: groups.filter { !$0.isEmpty })
        }
        return out
    }

    static func parseCSVLine(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = Array(line)[...]
        while let c = iterator.popFirst() {
            if quoted {
                if c == "\"" {
                    if iterator.first == "\"" { current.append("\""); iterator = iterator.dropFirst() } else { quoted = false }
                } else { current.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        fields.append(current)
        return fields
    }

    /// The requester, or anonymous when nothing was presented. Throws 401 for a bad token.
    public func authenticate(_ request: APIRequest, certificate: NIOSSLCertificate?) throws(APIError) -> UserInfo {
        if let auth = request.header("Authorization") {
            let parts = auth.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw .unauthorized }
            let token = parts[1].trimmingCharacters(in: .whitespaces)
            if let user = tokens[token] { return withAuthenticated(user) }
            if let serviceAccounts, let user = serviceAccounts.verify(token) { return user }
            throw .unauthorized
        }
        if let certificate, let user = Self.user(from: certificate) {
            return withAuthenticated(user)
        }
        return .anonymous
    }

    func withAuthenticated(_ user: UserInfo) -> UserInfo {
        var u = user
        if !u.groups.contains("system:authenticated") { u.groups.append("system:authenticated") }
        return u
    }

    static func user(from certificate: NIOSSLCertificate) -> UserInfo? {
        guard let der = try? certificate.toDERBytes(), let cert = try? Certificate(derEncoded: der) else { return nil }
        var name: String?
        var groups: [String] = []
        for rdn in cert.subject {
            for attribute in rdn {
                if attribute.type == .RDNAttributeType.commonName { name = String(attribute.value) }
                if attribute.type == .RDNAttributeType.organizationName, let o = String(attribute.value) { groups.append(o) }
            }
        }
        guard let name, !name.isEmpty else { return nil }
        return UserInfo(name: name, groups: groups)
    }
}

public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Signs and verifies service-account tokens (ES256 JWTs, like Kubernetes' bound tokens).
public struct ServiceAccountTokens: Sendable {
    public static let issuer = "https://kubernetes.default.svc.cluster.local"
    let key: P256.Signing.PrivateKey
    let keyID: String

    public init(pemFile: String) throws {
        let pem: String
        do { pem = try String(contentsOfFile: pemFile, encoding: .utf8) } catch {
            throw ConfigError("service account key file \(pemFile): \(error.localizedDescription)")
        }
        do { key = try P256.Signing.PrivateKey(pemRepresentation: pem) } catch {
            throw ConfigError("service account key file \(pemFile): not an EC P-256 private key in PEM (\(error))")
        }
        keyID = Self.base64url(Array(SHA256.hash(data: key.publicKey.derRepresentation)))
    }

    public init(key: P256.Signing.PrivateKey) {
        self.key = key
        keyID = Self.base64url(Array(SHA256.hash(data: key.publicKey.derRepresentation)))
    }

    public func sign(namespace: String, name: String, uid: String, audiences: [String], expiration: Int64,
                     boundObject: JSONValue? = nil) throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        let header: JSONValue = ["alg": "ES256", "kid": .string(keyID), "typ": "JWT"]
        var k8s: JSONValue = ["namespace": .string(namespace), "serviceaccount": ["name": .string(name), "uid": .string(uid)]]
        if let boundObject { k8s["pod"] = boundObject }
        let claims: JSONValue = [
            "iss": .string(Self.issuer), "sub": .string("system:serviceaccount:\(namespace):\(name)"),
            "aud": .array(audiences.map { .string($0) }), "iat": .int(now), "nbf": .int(now),
            "exp": .int(now + expiration), "kubernetes.io": k8s,
        ]
        let signingInput = Self.base64url(header.serialized()) + "." + Self.base64url(claims.serialized())
        let signature = try key.signature(for: Array(signingInput.utf8))
        return signingInput + "." + Self.base64url(Array(signature.rawRepresentation))
    }

    /// The user a token names, or nil when the signature, issuer or expiry is wrong.
    public func verify(_ token: String) -> UserInfo? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let sig = Self.unbase64url(String(parts[2])),
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: sig),
            key.publicKey.isValidSignature(signature, for: Array("\(parts[0]).\(parts[1])".utf8)),
            let payload = Self.unbase64url(String(parts[1])), let claims = try? JSONValue.parse(payload),
            claims["iss"]?.stringValue == Self.issuer,
            let exp = claims["exp"]?.intValue, exp > Int64(Date().timeIntervalSince1970),
            let sub = claims["sub"]?.stringValue, sub.hasPrefix("system:serviceaccount:")
        else { return nil }
        let nameParts = sub.split(separator: ":")
        guard nameParts.count == 4 else { return nil }
        let uid = claims.value(at: ["kubernetes.io", "serviceaccount", "uid"])?.stringValue ?? ""
        return UserInfo(
            name: sub, uid: uid,
            groups: ["system:serviceaccounts", "system:serviceaccounts:\(nameParts[2])", "system:authenticated"])
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ s: String) -> [UInt8]? {
        var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b.count % 4 != 0 { b.append("=") }
        return Data(base64Encoded: b).map { Array($0) }
    }
}
