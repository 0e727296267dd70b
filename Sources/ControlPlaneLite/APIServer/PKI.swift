import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster's certificates (ECDSA P-256), as `kubeadm init` makes them.
public enum PKI {
    public struct KeyPair: Sendable {
        public var certificatePEM: String
        public var keyPEM: String
        let certificate: Certificate
        let key: P256.Signing.PrivateKey
    }

    static func serial() -> Certificate.SerialNumber {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        bytes[0] &= 0x7F
        return Certificate.SerialNumber(bytes: bytes)
    }

    public static func makeCA(commonName: String = "kubernetes", years: Int = 10) throws -> KeyPair {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let cert = try Certificate(
            version: .v3, serialNumber: serial(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true, keyCertSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        return KeyPair(certificatePEM: try cert.serializeAsPEM().pemString, keyPEM: key.pemRepresentation, certificate: cert, key: key)
    }

    public static func loadCA(certificatePEM: String, keyPEM: String) throws -> KeyPair {
        let cert = try Certificate(pemEncoded: certificatePEM)
        let key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        return KeyPair(certificatePEM: certificatePEM, keyPEM: keyPEM, certificate: cert, key: key)
    }

    /// A leaf certificate signed by `ca`: a client (CN = user, O = groups) and/or a server (SANs).
    public static func issue(
        ca: KeyPair, commonName: String, organizations: [String] = [], dnsNames: [String] = [], ipAddresses: [String] = [],
        server: Bool, client: Bool, years: Int = 1
    ) throws -> KeyPair {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            for o in organizations { OrganizationName(o) }
            CommonName(commonName)
        }
        var sans: [GeneralName] = dnsNames.map { .dnsName($0) }
        for ip in ipAddresses {
            guard let bytes = ipv4Bytes(ip) else { throw ConfigError("not an IPv4 address: \(ip)") }
            sans.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))))
        }
        var usages: [ExtendedKeyUsage.Usage] = []
        if server { usages.append(.serverAuth) }
        if client { usages.append(.clientAuth) }
        let now = Date()
        let cert = try Certificate(
            version: .v3, serialNumber: serial(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86400),
            issuer: ca.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage(usages)
                AuthorityKeyIdentifier(keyIdentifier: ArraySlice(try ca.certificate.extensions.subjectKeyIdentifier?.keyIdentifier ?? []))
                if !sans.isEmpty { SubjectAlternativeNames(sans) }
            },
            issuerPrivateKey: .init(ca.key))
        return KeyPair(certificatePEM: try cert.serializeAsPEM().pemString, keyPEM: key.pemRepresentation, certificate: cert, key: key)
    }

    static func ipv4Bytes(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        return parts.count == 4 ? parts : nil
    }
}
