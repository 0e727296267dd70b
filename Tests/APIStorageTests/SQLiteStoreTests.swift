import Foundation
import GRDB
import Testing

@testable import APIStorage

@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test("data and revisions survive close and reopen")
    func reopen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/state.db"
        let store = try SQLiteStore(path: path, options: .testing)
        let a = try await store.create("/registry/a", value: bytes("a"))
        let b = try await store.create("/registry/b", value: bytes("b"))
        let gone = try await store.delete("/registry/b", expectedRevision: b.modRevision)
        try await store.compact(through: gone.modRevision)
        await store.close()

        let reopened = try SQLiteStore(path: path, options: .testing)
        #expect(try await reopened.get("/registry/a") == a)
        #expect(try await reopened.get("/registry/b") == nil)
        #expect(try await reopened.currentRevision() == gone.modRevision)
        // The deletion row was compacted away, yet revisions never go back.
        let c = try await reopened.create("/registry/c", value: bytes("c"))
        #expect(c.modRevision == gone.modRevision + 1)
        #expect(try await reopened.compactedRevision() == gone.modRevision)
        await reopened.close()
    }

    @Test("a second opener of the same file is refused while the first has it")
    func exclusive() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/state.db"
        let store = try SQLiteStore(path: path, options: .testing)
        #expect(throws: StorageError.unavailable("sqlite \(path): another process has this store open")) {
            try SQLiteStore(path: path, options: .testing)
        }
        await store.close()
        let again = try SQLiteStore(path: path, options: .testing)
        await again.close()
    }

    @Test("the file is WAL with synchronous=FULL by default, NORMAL on request")
    func pragmas() async throws {
        let directory = try TemporaryDirectory()
        for (synchronous, expected) in [(StoreOptions.Synchronous.full, 2), (.normal, 1)] {
            var options = StoreOptions.testing
            options.synchronous = synchronous
            let store = try SQLiteStore(path: directory.path + "/\(synchronous).db", options: options)
            let (mode, sync, vacuum) = try await store.read { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                    try Int.fetchOne(db, sql: "PRAGMA auto_vacuum")
                )
            }
            #expect(mode == "wal")
            #expect(sync == expected)
            #expect(vacuum == 2)  // incremental
            await store.close()
        }
    }

    @Test("lease churn with automatic compaction keeps the log bounded")
    func leaseChurn() async throws {
        let directory = try TemporaryDirectory()
        var options = StoreOptions.testing
        options.compaction = CompactionPolicy(interval: .milliseconds(50), retention: .zero, minRetainedRevisions: 100)
        let store = try SQLiteStore(path: directory.path + "/state.db", options: options)
        let key = "/registry/leases/kube-node-lease/node-1"
        let lease = String(repeating: "l", count: 400)
        var last = try await store.create(key, value: bytes(lease))
        for _ in 0..<3_000 {
            last = try await store.update(key, value: bytes(lease), expectedRevision: last.modRevision)
        }
        // Wait (bounded) for the compactor's next pass to catch up with the last write.
        let head = last.modRevision
        for _ in 0..<100 where try await store.compactedRevision() < head - 100 {
            try await Task.sleep(for: .milliseconds(50))
        }
        let rows = try await store.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM kv") ?? 0 }
        #expect(try await store.compactedRevision() >= head - 100)
        #expect(rows <= 101, "rows kept: \(rows)")
        #expect(try await store.get(key) == last)
        // 3,000 × 400 bytes were written; compaction gives the pages and the WAL back.
        for _ in 0..<100 where store.fileSize() >= 256 * 1024 {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(store.fileSize() < 256 * 1024, "bytes on disk: \(store.fileSize())")
        await store.close()
    }
}
