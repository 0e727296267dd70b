import Foundation
import Testing

@testable import KubeletCore

@Suite struct StreamRequestTests {
    @Test func execWithUpstreamParameterNames() throws {
        let r = try #require(try StreamRequest.parse(uri: "/exec/default/web-node1/main?command=sh&command=-c&command=echo+a%20b&input=1&output=1&error=1"))
        #expect(r.kind == .exec)
        #expect(r.namespace == "default" && r.pod == "web-node1" && r.container == "main" && r.uid == nil)
        #expect(r.command == ["sh", "-c", "echo a b"])
        #expect(r.stdin && r.stdout && r.stderr && !r.tty)
    }

    @Test func stdinStdoutNamesAndUID() throws {
        let r = try #require(try StreamRequest.parse(uri: "/attach/ns/p/uid-1/c?stdin=true&stdout=true&stderr=true&tty=true"))
        #expect(r.kind == .attach && r.uid == "uid-1" && r.container == "c")
        // With a tty stderr is merged into stdout.
        #expect(r.stdin && r.stdout && !r.stderr && r.tty)
    }

    @Test func portForward() throws {
        let r = try #require(try StreamRequest.parse(uri: "/portForward/ns/p?port=8080&port=9090,53"))
        #expect(r.kind == .portForward && r.container.isEmpty)
        #expect(r.ports == [8080, 9090, 53])
        #expect(try StreamRequest.parse(uri: "/portForward/ns/p/uid")?.uid == "uid")
    }

    @Test func notAStreamingPath() throws {
        #expect(try StreamRequest.parse(uri: "/pods") == nil)
        #expect(try StreamRequest.parse(uri: "/containerLogs/a/b/c") == nil)
    }

    @Test(arguments: [
        ("/exec/ns/p/c?output=1", "command"),
        ("/exec/ns/p/c?command=ls", "at least 1 of stdin, stdout, stderr"),
        ("/exec/ns/p/c?command=ls&output=yes", "output: invalid value"),
        ("/exec/ns/p?command=ls&output=1", "invalid path"),
        ("/exec/ns/p/a/b/c?command=ls&output=1", "invalid path"),
        ("/portForward/ns/p?port=0", "port: invalid port"),
        ("/portForward/ns/p?port=http", "port: invalid port"),
        ("/attach/ns//c?output=1", "must not be empty"),
    ])
    func badRequests(uri: String, message: String) {
        do {
            _ = try StreamRequest.parse(uri: uri)
            Issue.record("\(uri) was accepted")
        } catch {
            #expect(error.message.contains(message), "\(uri): \(error.message)")
        }
    }

    @Test func queryDecodingFollowsGo() {
        let pairs = StreamRequest.queryPairs("a=1&b=x+y&b=%2Fz&flag")
        #expect(pairs.map(\.0) == ["a", "b", "b", "flag"])
        #expect(pairs.map(\.1) == ["1", "x y", "/z", ""])
    }
}

@Suite struct KubeletAuthTests {
    let alice = KubeletAuth.User(name: "alice", groups: ["devs"])

    @Test func certificateUserIsAllowed() {
        #expect(KubeletAuth.decide(path: "/pods", certificateUser: alice, anonymousEnabled: false) == .allow(alice))
    }

    @Test func noCredentialsIs401UnlessHealthzOrAnonymous() {
        #expect(KubeletAuth.decide(path: "/pods", certificateUser: nil, anonymousEnabled: false) == .unauthorized)
        #expect(KubeletAuth.decide(path: "/exec/a/b/c", certificateUser: nil, anonymousEnabled: false) == .unauthorized)
        #expect(KubeletAuth.decide(path: "/healthz", certificateUser: nil, anonymousEnabled: false) == .allow(.anonymous))
        #expect(KubeletAuth.decide(path: "/healthz/ping", certificateUser: nil, anonymousEnabled: false) == .allow(.anonymous))
        #expect(KubeletAuth.decide(path: "/healthzx", certificateUser: nil, anonymousEnabled: false) == .unauthorized)
        #expect(KubeletAuth.decide(path: "/pods", certificateUser: nil, anonymousEnabled: true) == .allow(.anonymous))
    }

    @Test func certificateSubjectGivesUserAndGroups() throws {
        let (pem, _) = try ServingCertificate.make(nodeName: "node1", nodeIP: "10.0.0.5")
        let der = try #require(Data(base64Encoded: pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()))
        let user = try #require(ServingCertificate.user(fromDER: Array(der)))
        #expect(user.name.hasPrefix("node1@"))
        #expect(user.groups.isEmpty)
        #expect(ServingCertificate.user(fromDER: [1, 2, 3]) == nil)
    }

    @Test func selfSignedCertificateIsMadeOnceWithAPrivateKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kubelet-pki-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try ServingCertificate.ensure(rootDirectory: dir, nodeName: "node1", nodeIP: nil)
        let pem = try String(contentsOfFile: first.cert, encoding: .utf8)
        let mode = try FileManager.default.attributesOfItem(atPath: first.key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let second = try ServingCertificate.ensure(rootDirectory: dir, nodeName: "node1", nodeIP: nil)
        #expect(second == first)
        #expect(try String(contentsOfFile: second.cert, encoding: .utf8) == pem)
    }
}

@Suite struct SecureAPIConfigurationTests {
    func parse(_ yaml: String) throws(ConfigError) -> KubeletConfiguration {
        try KubeletConfiguration.parse("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" + yaml, source: "t")
    }

    @Test func defaults() throws {
        let c = try parse("")
        #expect(c.port == 10250 && c.tlsCertFile.isEmpty && c.authentication.x509.clientCAFile.isEmpty)
        #expect(!c.authentication.anonymous.enabled && !c.authentication.webhook.enabled)
        #expect(try c.effectiveAuthorizationMode(kubeconfig: nil) == "AlwaysAllow")
    }

    @Test func nestedFields() throws {
        let c = try parse("""
            tlsCertFile: /etc/k/kubelet.crt
            tlsPrivateKeyFile: /etc/k/kubelet.key
            authentication:
              x509: {clientCAFile: /etc/k/ca.crt}
              anonymous: {enabled: true}
            authorization: {mode: AlwaysAllow}
            """)
        #expect(c.authentication.x509.clientCAFile == "/etc/k/ca.crt" && c.authentication.anonymous.enabled)
        #expect(c.tlsPrivateKeyFile == "/etc/k/kubelet.key")
    }

    @Test(arguments: [
        ("authentication: {x509: {clientCaFile: /x}}", "authentication.x509.clientCaFile"),
        ("authentication: {bogus: {}}", "authentication.bogus"),
        ("authorization: {mode: Maybe}", "authorization.mode"),
        ("authorization: {webhook: {ttl: 1s}}", "authorization.webhook.ttl"),
        ("authentication: {x509: {clientCAFile: relative/ca.crt}}", "authentication.x509.clientCAFile"),
        ("tlsCertFile: /a.crt", "tlsPrivateKeyFile"),
        ("tlsPrivateKeyFile: /a.key", "tlsCertFile"),
        ("authentication: 3", "authentication"),
    ])
    func invalid(yaml: String, field: String) {
        do {
            _ = try parse(yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.field == field, "\(yaml): \(error)")
        }
    }

    @Test func webhookNeedsAnAPIServer() throws {
        let c = try parse("authorization: {mode: Webhook}")
        #expect(throws: ConfigError.self) { try c.effectiveAuthorizationMode(kubeconfig: nil) }
        do { _ = try c.effectiveAuthorizationMode(kubeconfig: nil) } catch {
            #expect(error.field == "authorization.mode" && error.message.contains("--kubeconfig"))
        }
        let w = try parse("authentication: {webhook: {enabled: true}}")
        do { _ = try w.effectiveAuthorizationMode(kubeconfig: "/k") ; Issue.record("accepted") } catch {
            #expect(error.field == "authentication.webhook.enabled")
        }
    }
}
