import APIStorage
import Foundation
import Logging
import Testing

@testable import APIServer

/// PUT namespaces/NAME/finalize (APIServer.namespaceFinalize) over a real SQLite store.
@Suite struct NamespaceFinalizeTests {
    static let admin = UserInfo(name: "admin", groups: ["system:masters", "system:authenticated"])

    final class Fixture: Sendable {
        let dir: String
        let server: APIServer

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("ns-finalize-\(UUID())").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let store = try SQLiteStore(path: dir + "/state.db")
            let auth = Authenticator(tokens: ["t": NamespaceFinalizeTests.admin], serviceAccounts: nil)
            server = try APIServer(store: store, authenticator: auth, config: APIServerConfig(), logger: Logger(label: "test"))
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        func call(_ method: String, _ uri: String, _ body: JSONValue? = nil) async throws -> (Int, JSONValue) {
            let request = APIRequest(
                method: method, uri: uri, headers: [("Authorization", "Bearer t"), ("Content-Type", "application/json")],
                body: body?.serialized() ?? [], user: .anonymous)
            let response = await server.handle(request, certificate: nil)
            guard case .bytes(let bytes) = response.body else { return (response.status, .null) }
            return (response.status, try JSONValue.parse(bytes))
        }

        /// What the REST dispatch will do for `case ("finalize", "update")`.
        func finalize(_ name: String, _ body: JSONValue) async throws -> JSONValue {
            let request = APIRequest(
                method: "PUT", uri: "/api/v1/namespaces/\(name)/finalize", headers: [("Content-Type", "application/json")],
                body: body.serialized(), user: NamespaceFinalizeTests.admin)
            let target = Target(resource: ResourceCatalog.namespaces, namespace: nil, name: name, subresource: "finalize")
            let response = try await server.namespaceFinalize(request, target)
            #expect(response.status == 200)
            guard case .bytes(let bytes) = response.body else { return .null }
            return try JSONValue.parse(bytes)
        }
    }

    static func body(_ name: String, _ finalizers: [JSONValue], extra: [String: JSONValue] = [:]) -> JSONValue {
        var meta: [String: JSONValue] = ["name": .string(name)]
        meta.merge(extra) { _, b in b }
        return ["apiVersion": "v1", "kind": "Namespace", "metadata": .object(meta), "spec": ["finalizers": .array(finalizers)]]
    }

    @Test func finalizeReplacesSpecFinalizersAndDeletesATerminatingNamespace() async throws {
        let f = try Fixture()
        var (status, created) = try await f.call("POST", "/api/v1/namespaces", Self.body("fin", ["kubernetes"]))
        #expect(status == 201, "\(created)")

        // On a live namespace: the list is replaced, nothing else in the body is taken.
        let updated = try await f.finalize("fin", Self.body("fin", ["kubernetes", "example.com/hold"], extra: ["labels": ["sneaky": "yes"]]))
        #expect(updated.value(at: ["spec", "finalizers"]) == ["kubernetes", "example.com/hold"])
        #expect(updated.value(at: ["metadata", "labels", "sneaky"]) == nil)
        (status, created) = try await f.call("GET", "/api/v1/namespaces/fin")
        #expect(created.value(at: ["spec", "finalizers"]) == ["kubernetes", "example.com/hold"])

        // DELETE: Terminating; the namespace controller drops `kubernetes` once it is empty, and
        // example.com/hold keeps it.
        (status, _) = try await f.call("DELETE", "/api/v1/namespaces/fin")
        #expect(status == 200)
        var current: JSONValue = .null
        for _ in 0..<100 {
            (status, current) = try await f.call("GET", "/api/v1/namespaces/fin")
            if current.value(at: ["spec", "finalizers"]) == ["example.com/hold"] { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(status == 200)
        #expect(current.value(at: ["status", "phase"]) == "Terminating")
        #expect(current.value(at: ["spec", "finalizers"]) == ["example.com/hold"])

        // A stale resourceVersion is a conflict and changes nothing.
        await #expect(throws: APIError.self) {
            _ = try await f.finalize("fin", Self.body("fin", [], extra: ["resourceVersion": "1"]))
        }
        (status, current) = try await f.call("GET", "/api/v1/namespaces/fin")
        #expect(status == 200)

        // The last finalizer gone: the namespace is deleted.
        let last = try await f.finalize("fin", Self.body("fin", [], extra: ["resourceVersion": current.value(at: ["metadata", "resourceVersion"]) ?? .null]))
        #expect(last.value(at: ["metadata", "name"]) == "fin")
        (status, _) = try await f.call("GET", "/api/v1/namespaces/fin")
        #expect(status == 404)
    }

    @Test func badFinalizerNamesAreRefusedNamingEachField() async throws {
        let f = try Fixture()
        let (status, _) = try await f.call("POST", "/api/v1/namespaces", Self.body("bad", ["kubernetes"]))
        #expect(status == 201)
        do {
            _ = try await f.finalize("bad", Self.body("bad", ["bogus", "", "a/b/c", "example.com/x", "example.com/x", 5]))
            Issue.record("accepted bad finalizers")
        } catch let error as APIError {
            #expect(error.code == 422)
            #expect(error.causes.map(\.field) == [
                "spec.finalizers[0]", "spec.finalizers[1]", "spec.finalizers[2]", "spec.finalizers[4]", "spec.finalizers[5]",
            ])
        }
        // Nothing changed.
        let (_, current) = try await f.call("GET", "/api/v1/namespaces/bad")
        #expect(current.value(at: ["spec", "finalizers"]) == ["kubernetes"])
        // Another kind, or another name than the URL's, is a bad request.
        await #expect(throws: APIError.self) {
            _ = try await f.finalize("bad", ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "bad"]])
        }
        await #expect(throws: APIError.self) { _ = try await f.finalize("bad", Self.body("other", [])) }
        // A namespace that does not exist is 404.
        do {
            _ = try await f.finalize("missing", Self.body("missing", []))
            Issue.record("finalized a missing namespace")
        } catch let error as APIError {
            #expect(error.code == 404)
        }
    }
}
