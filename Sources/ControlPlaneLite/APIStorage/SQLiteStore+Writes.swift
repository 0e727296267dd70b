import Foundation
import GRDB

/// One requested change.
enum WriteOperation: Sendable {
    case create(key: String, value: [UInt8])
    case update(key: String, value: [UInt8], expectedRevision: Int64?)
    case delete(key: String, expectedRevision: Int64?)

    var key: String {
        switch self {
        case .create(let key, _), .update(let key, _, _), .delete(let key, _): return key
        }
    }
}

/// Writes waiting for the writer, and whether a drain is scheduled. Owner: `SQLiteStore`.
struct WriterState {
    struct Pending {
        var operation: WriteOperation
        var continuation: CheckedContinuation<StoredObject, Error>
    }

    var pending: [Pending] = []
    var draining = false
    var closed = false
}

extension SQLiteStore {
    /// Most writes committed in one transaction (one fsync).
    static let maximumBatch = 256

    public func create(_ key: String, value: [UInt8]) async throws -> StoredObject {
        try KeyRange.validate(key: key)
        return try await submit(.create(key: key, value: value))
    }

    public func update(_ key: String, value: [UInt8], expectedRevision: Int64?) async throws -> StoredObject {
        try KeyRange.validate(key: key)
        return try await submit(.update(key: key, value: value, expectedRevision: expectedRevision))
    }

    public func delete(_ key: String, expectedRevision: Int64?) async throws -> StoredObject {
        try KeyRange.validate(key: key)
        return try await submit(.delete(key: key, expectedRevision: expectedRevision))
    }

    /// Queues a write and waits until it is committed (or refused). Writes that arrive while a
    /// batch is being committed are committed together in the next transaction (group commit),
    /// each still with its own revision and its own checks.
    func submit(_ operation: WriteOperation) async throws -> StoredObject {
        try await withCheckedThrowingContinuation { continuation in
            enum Next { case refuse, queued, drain }
            let next: Next = writer.withLock { state in
                if state.closed { return .refuse }
                state.pending.append(.init(operation: operation, continuation: continuation))
                if state.draining { return .queued }
                state.draining = true
                return .drain
            }
            switch next {
            case .refuse: continuation.resume(throwing: StorageError.unavailable("store closed"))
            case .queued: break
            case .drain: pool.asyncWriteWithoutTransaction { [self] db in drain(db) }
            }
        }
    }

    /// Runs on GRDB's writer queue: commits batches until no write is pending.
    private func drain(_ db: Database) {
        while true {
            let batch: [WriterState.Pending] = writer.withLock { state in
                let batch = Array(state.pending.prefix(Self.maximumBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            var results: [Result<StoredObject, StorageError>] = []
            var events: [(key: String, event: WatchEvent)] = []
            var revision: Int64 = 0
            do {
                try db.inTransaction(.immediate) {
                    results = []
                    events = []
                    revision = try SQLiteSchema.revision(db)
                    for item in batch {
                        do {
                            let (object, event) = try apply(item.operation, db: db, revision: revision + 1)
                            revision += 1
                            results.append(.success(object))
                            events.append((object.key, event))
                        } catch let error as StorageError {
                            results.append(.failure(error))
                        }
                    }
                    try db.execute(sql: "UPDATE meta SET value = ? WHERE name = 'revision'", arguments: [revision])
                    return .commit
                }
            } catch {
                let failure = StorageError.unavailable("sqlite write: \(error)")
                for item in batch { item.continuation.resume(throwing: failure) }
                continue
            }
            committed.withLock { $0 = revision }
            broadcaster.publish(events, through: revision)
            for (item, result) in zip(batch, results) { item.continuation.resume(with: result) }
        }
    }

    /// Checks and appends one write at `revision`. Throws a `StorageError` before writing
    /// anything when the write is refused.
    private func apply(_ operation: WriteOperation, db: Database, revision: Int64) throws -> (StoredObject, WatchEvent) {
        let key = operation.key
        let keyData = Data(key.utf8)
        let latest = try Row.fetchOne(
            db,
            sql: "SELECT revision, key, kind, create_revision, value FROM kv WHERE key = ? ORDER BY revision DESC LIMIT 1",
            arguments: [keyData])
        let live = latest.flatMap { $0["kind"] as Int64 == SQLiteSchema.deleted ? nil : SQLiteSchema.object($0) }
        let previousRevision: Int64 = latest?["revision"] ?? 0

        func insert(kind: Int64, createRevision: Int64, value: [UInt8]) throws {
            try db.execute(
                sql: "INSERT INTO kv (revision, key, kind, create_revision, prev_revision, value) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [revision, keyData, kind, createRevision, previousRevision, Data(value)])
        }
        func check(_ expected: Int64?, _ current: StoredObject) throws {
            if let expected, expected != current.modRevision {
                throw StorageError.conflict(key: key, expected: expected, actual: current.modRevision)
            }
        }

        switch operation {
        case .create(_, let value):
            if live != nil { throw StorageError.alreadyExists(key: key) }
            try insert(kind: SQLiteSchema.created, createRevision: revision, value: value)
            let object = StoredObject(key: key, value: value, createRevision: revision, modRevision: revision)
            return (object, .added(object))
        case .update(_, let value, let expected):
            guard let current = live else { throw StorageError.notFound(key: key) }
            try check(expected, current)
            try insert(kind: SQLiteSchema.updated, createRevision: current.createRevision, value: value)
            let object = StoredObject(key: key, value: value, createRevision: current.createRevision, modRevision: revision)
            return (object, .modified(object, previous: current))
        case .delete(_, let expected):
            guard let current = live else { throw StorageError.notFound(key: key) }
            try check(expected, current)
            try insert(kind: SQLiteSchema.deleted, createRevision: current.createRevision, value: current.value)
            var returned = current
            returned.modRevision = revision
            return (returned, .deleted(current, revision: revision))
        }
    }
}
