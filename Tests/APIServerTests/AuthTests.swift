import Crypto
import Foundation
import Testing

@testable import APIServer

@Suite struct AuthTests {
    @Test func serviceAccountTokenRoundTrip() throws {
        let signer = ServiceAccountTokens(key: P256.Signing.PrivateKey())
        let token = try signer.sign(namespace: "ns", name: "robot", uid: "u1", audiences: ["api"], expiration: 600)
        let user = try #require(signer.verify(token))
        #expect(user.name == "system:serviceaccount:ns:robot")
        #expect(user.groups.contains("system:serviceaccounts:ns"))
        // another key's signature is refused
        let other = ServiceAccountTokens(key: P256.Signing.PrivateKey())
        #expect(other.verify(token) == nil)
        // expired
        let expired = try signer.sign(namespace: "ns", name: "robot", uid: "u1", audiences: [], expiration: -10)
        #expect(signer.verify(expired) == nil)
        #expect(signer.verify("a.b.c") == nil)
    }

    @Test func tokenFileCSV() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID()).csv").path
        try "# comment\nt1,alice,1,\"dev,ops\"\nt2,bob,2\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokens = try Authenticator.loadTokenFile(path)
        #expect(tokens["t1"] == UserInfo(name: "alice", uid: "1", groups: ["dev", "ops"]))
        #expect(tokens["t2"]?.groups == [])
        try "justonefield\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try Authenticator.loadTokenFile(path) }
    }

    @Test func bearerTokenAuthentication() throws {
        let auth = Authenticator(tokens: ["good": UserInfo(name: "jane", groups: ["qa"])], serviceAccounts: nil)
        let ok = APIRequest(method: "GET", uri: "/api", headers: [("Authorization", "Bearer good")], body: [], user: .anonymous)
        #expect(try auth.authenticate(ok, certificate: nil).groups == ["qa", "system:authenticated"])
        let bad = APIRequest(method: "GET", uri: "/api", headers: [("Authorization", "Bearer nope")], body: [], user: .anonymous)
        #expect(throws: APIError.self) { try auth.authenticate(bad, certificate: nil) }
        let none = APIRequest(method: "GET", uri: "/api", headers: [], body: [], user: .anonymous)
        #expect(try auth.authenticate(none, certificate: nil).isAnonymous)
    }

    @Test func managedFieldsConflicts() throws {
        var live: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "c"], "data": ["k": "one"]]
        live.set(["metadata", "managedFields"], ManagedFields.entry(manager: "alice", operation: "Apply", object: live, time: "t"))
        let applied: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "c"], "data": ["k": "two"]]
        #expect(ManagedFields.conflicts(current: live, applied: applied, manager: "bob").map(\.path) == [".data.k"])
        #expect(ManagedFields.conflicts(current: live, applied: live, manager: "bob").isEmpty)
        #expect(ManagedFields.leafPaths(applied) == [["f:data", "f:k"]])
    }

    @Test func serviceAllocatorRange() throws {
        #expect(throws: ConfigError.self) { try ServiceAllocator(cidr: "10.0.0.0/33", nodePorts: 30000...32767) }
        #expect(ServiceAllocator.parse("10.96.0.1") == 0x0A60_0001)
        #expect(ServiceAllocator.format(0x0A60_0001) == "10.96.0.1")
    }

    @Test func requestParsing() {
        let r = APIRequest(method: "GET", uri: "/api/v1/pods?labelSelector=a%3Db%2Cc&watch=1&x=a+b", headers: [], body: [], user: .anonymous)
        #expect(r.path == "/api/v1/pods")
        #expect(r.query["labelSelector"] == "a=b,c")
        #expect(r.query["x"] == "a b")
    }
}
