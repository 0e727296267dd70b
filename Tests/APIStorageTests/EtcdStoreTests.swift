import Foundation
import Testing

@testable import APIStorage

@Suite("etcd store", .serialized)
struct EtcdStoreTests {
    @Test("a dead first endpoint fails over to the next")
    func failover() async throws {
        let server = try await EtcdServer()
        let dead = EtcdEndpoint(host: "127.0.0.1", port: try freePort())
        let store = try await EtcdStore(endpoints: [dead, server.endpoint], options: .testing)
        let created = try await store.create("/registry/failover", value: bytes("x"))
        #expect(try await store.get("/registry/failover") == created)
        await store.close()
    }

    @Test("no reachable endpoint is a clear error, not a hang")
    func unreachable() async throws {
        var options = StoreOptions.testing
        options.requestTimeout = .seconds(1)
        let dead = EtcdEndpoint(host: "127.0.0.1", port: try freePort())
        await #expect(throws: StorageError.self) {
            _ = try await EtcdStore(endpoints: [dead], options: options)
        }
    }

    @Test("a watch resumes across an etcd restart without losing events")
    func watchSurvivesRestart() async throws {
        let server = try await EtcdServer()
        var options = StoreOptions.testing
        options.requestTimeout = .seconds(20)
        let store = try await EtcdStore(endpoints: [server.endpoint], options: options)
        let start = try await store.currentRevision()
        let stream = store.watch(prefix: "/registry/r/", afterRevision: start)
        let first = try await store.create("/registry/r/1", value: bytes("1"))
        var iterator = stream.makeAsyncIterator()
        var seen: [Int64] = []
        while let event = try await iterator.next() {
            if case .progress = event { continue }
            seen.append(event.revision)
            break
        }
        try await server.killAndRestart()
        let second = try await store.create("/registry/r/2", value: bytes("2"))
        while let event = try await iterator.next() {
            if case .progress = event { continue }
            seen.append(event.revision)
            break
        }
        #expect(seen == [first.modRevision, second.modRevision])
        await store.close()
    }

    /// etcd 3.4 ends most unary calls with RST_STREAM, and the client's HTTP/2 stack drops a
    /// connection after 200 of them in 10 s; the store must keep working past that.
    @Test("hundreds of writes, sequential and concurrent, on one store")
    func manyWrites() async throws {
        try await withStore(.etcd) { store in
            for index in 0..<500 {
                _ = try await store.create("/registry/pods/many/pod-\(index)", value: bytes("v"))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<16 {
                    group.addTask {
                        for index in stride(from: client, to: 500, by: 16) {
                            _ = try await store.update("/registry/pods/many/pod-\(index)", value: bytes("w"), expectedRevision: nil)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.count(prefix: "/registry/pods/many/") == 500)
        }
    }

    @Test("a three-member cluster: losing the member in use moves writes and watches to another")
    func clusterFailover() async throws {
        let members = try await EtcdServer.cluster(size: 3)
        defer { withExtendedLifetime(members) {} }
        var options = StoreOptions.testing
        options.requestTimeout = .seconds(10)
        let store = try await EtcdStore(endpoints: members.map(\.endpoint), options: options)
        let start = try await store.currentRevision()
        let stream = store.watch(prefix: "/registry/ha/", afterRevision: start)
        var written: [Int64] = []
        for index in 0..<5 {
            written.append(try await retryingCreate(store, "/registry/ha/before-\(index)").modRevision)
        }
        members[0].kill9()  // the member the store uses first
        for index in 0..<5 {
            written.append(try await retryingCreate(store, "/registry/ha/after-\(index)").modRevision)
        }
        #expect(try await store.count(prefix: "/registry/ha/") == 10)
        let seen = try await collect(stream, count: 10).map(\.revision)
        #expect(seen == written)
        await store.close()
    }
}

/// Creates `key`, retrying while the store answers `.unavailable` (a member died or an election
/// is running), as the apiserver's clients do on a 5xx. A create whose answer was lost but which
/// was applied comes back as `.alreadyExists` on the retry; then the stored object is the result.
func retryingCreate(_ store: any Store, _ key: String) async throws -> StoredObject {
    var lastError: (any Error)?
    for attempt in 0..<20 {
        do {
            return try await store.create(key, value: bytes("v"))
        } catch StorageError.unavailable(let reason) {
            lastError = StorageError.unavailable(reason)
            try await Task.sleep(for: .milliseconds(100 * (attempt + 1)))
        } catch StorageError.alreadyExists(let key) where lastError != nil {
            if let object = try await store.get(key) { return object }
            throw StorageError.alreadyExists(key: key)
        }
    }
    throw lastError ?? StorageError.unavailable("retries exhausted")
}
