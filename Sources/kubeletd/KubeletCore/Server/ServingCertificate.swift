import Crypto
import Foundation
import SwiftASN1
import SystemCore
import X509

/// The secure API's serving certificate when tlsCertFile/tlsPrivateKeyFile are unset: like the
/// upstream kubelet, a self-signed ECDSA P-256 pair made once under `<root-dir>/pki/kubelet.{crt,key}`
/// for the node name, localhost and the node IP, kept across restarts.
public enum ServingCertificate {
    public static func ensure(rootDirectory: String, nodeName: String, nodeIP: String?) throws -> (cert: String, key: String) {
        let dir = "\(rootDirectory)/pki"
        let certPath = "\(dir)/kubelet.crt", keyPath = "\(dir)/kubelet.key"
        if FileSystem.exists(certPath) && FileSystem.exists(keyPath) { return (certPath, keyPath) }
        try FileSystem.createDirectories(dir, mode: 0o700)
        let (certPEM, keyPEM) = try make(nodeName: nodeName, nodeIP: nodeIP)
        // The key first: a crash between the two leaves no certificate without its key.
        try FileSystem.writeAtomically(keyPath, keyPEM, mode: 0o600)
        try FileSystem.writeAtomically(certPath, certPEM, mode: 0o644)
        return (certPath, keyPath)
    }

    static func make(nodeName: String, nodeIP: String?, now: Date = Date()) throws -> (cert: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("\(nodeName)@\(Int(now.timeIntervalSince1970))") }
        var sans: [GeneralName] = [.dnsName(nodeName), .dnsName("localhost")]
        for ip in [nodeIP, "127.0.0.1"].compactMap({ $0 }) {
            if let bytes = ipBytes(ip) { sans.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))) }
        }
        var serial = (0..<16).map { _ in UInt8.random(in: 0...255) }
        serial[0] &= 0x7F
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(sans)
            },
            issuerPrivateKey: .init(key))
        return (try cert.serializeAsPEM().pemString + "\n", key.pemRepresentation + "\n")
    }

    /// The 4 or 16 bytes of an IP address (inet_pton).
    static func ipBytes(_ s: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, s, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// user = CN, groups = O of a verified client certificate (DER).
    public static func user(fromDER der: [UInt8]) -> KubeletAuth.User? {
        guard let cert = try? Certificate(derEncoded: der) else { return nil }
        var name: String?
        var groups: [String] = []
        for rdn in cert.subject {
            for attribute in rdn {
                if attribute.type == .RDNAttributeType.commonName { name = String(attribute.value) }
                if attribute.type == .RDNAttributeType.organizationName { if let o = String(attribute.value) { groups.append(o) } }
            }
        }
        guard let name, !name.isEmpty else { return nil }
        return KubeletAuth.User(name: name, groups: groups)
    }
}
