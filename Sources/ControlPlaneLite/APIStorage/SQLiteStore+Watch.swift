import Foundation
import GRDB

extension SQLiteStore {
    /// Rows replayed per read while a watcher catches up from the log.
    static let replayPage = 256

    public func watch(prefix: String, afterRevision: Int64) -> AsyncThrowingStream<WatchEvent, Error> {
        let cursor = SQLiteWatchCursor(store: self, prefix: prefix, afterRevision: afterRevision)
        return AsyncThrowingStream(unfolding: { try await cursor.next() })
    }

    /// One page of log rows under `prefix` with revision in (after, through], as events, plus
    /// the compaction revision seen in the same snapshot.
    func replay(prefix: String, after: Int64, through: Int64) async throws -> [WatchEvent] {
        try await read { db in
            let compacted = try SQLiteSchema.compacted(db)
            if after < compacted {
                throw StorageError.compacted(requested: after, compactedThrough: compacted)
            }
            let range = SQLiteSchema.prefixCondition("k.key", prefix: prefix)
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT k.revision, k.key, k.kind, k.create_revision, k.prev_revision, k.value,
                           p.value AS prev_value, p.create_revision AS prev_create_revision
                    FROM kv k LEFT JOIN kv p ON p.revision = k.prev_revision
                    WHERE k.revision > ? AND k.revision <= ? AND \(range.sql)
                    ORDER BY k.revision LIMIT ?
                    """,
                arguments: StatementArguments([after, through] + range.arguments + [Self.replayPage]))
            return rows.map { row in
                let key = SQLiteSchema.key(row["key"])
                let revision: Int64 = row["revision"]
                let value: Data = row["value"]
                let createRevision: Int64 = row["create_revision"]
                let previousRevision: Int64 = row["prev_revision"]
                switch row["kind"] as Int64 {
                case SQLiteSchema.created:
                    return .added(StoredObject(key: key, value: [UInt8](value), createRevision: revision, modRevision: revision))
                case SQLiteSchema.deleted:
                    let last = StoredObject(
                        key: key, value: [UInt8](value), createRevision: createRevision, modRevision: previousRevision)
                    return .deleted(last, revision: revision)
                default:
                    let previousValue: Data? = row["prev_value"]
                    let previous = previousValue.map { data in
                        StoredObject(
                            key: key, value: [UInt8](data), createRevision: row["prev_create_revision"],
                            modRevision: previousRevision)
                    }
                    let object = StoredObject(
                        key: key, value: [UInt8](value), createRevision: createRevision, modRevision: revision)
                    return .modified(object, previous: previous)
                }
            }
        }
    }
}

/// One SQLite watcher: replays the log from its start revision page by page (so a far-behind
/// watcher never loads the whole history), then hands over to its live queue. Owner: the
/// watch stream's unfolding closure; deinit unsubscribes.
final class SQLiteWatchCursor: @unchecked Sendable {
    // @unchecked: the mutable fields are used only from `next()`, which AsyncThrowingStream's
    // unfolding form never calls concurrently.
    private let store: SQLiteStore
    private let prefix: String
    private let queue: WatchQueue
    private var subscription: (id: UInt64, through: Int64)?
    private var lastDelivered: Int64
    private var replayed: [WatchEvent] = []
    private var replayedIndex = 0
    private var replaying = true
    private var started = false

    init(store: SQLiteStore, prefix: String, afterRevision: Int64) {
        self.store = store
        self.prefix = prefix
        self.queue = WatchQueue(limit: store.options.watchQueueLimit)
        self.lastDelivered = afterRevision
    }

    deinit {
        if let subscription { store.broadcaster.unsubscribe(subscription.id) }
    }

    func next() async throws -> WatchEvent? {
        do {
            return try await nextEvent()
        } catch {
            if let subscription { store.broadcaster.unsubscribe(subscription.id) }
            subscription = nil
            queue.finish()
            throw error
        }
    }

    private func nextEvent() async throws -> WatchEvent? {
        if !started {
            started = true
            if lastDelivered < 0 {
                throw StorageError.invalidArgument("afterRevision \(lastDelivered): must not be negative")
            }
            guard let subscription = store.broadcaster.subscribe(prefix: prefix, queue: queue) else {
                throw StorageError.unavailable("store closed")
            }
            self.subscription = subscription
        }
        guard let through = subscription?.through else { return nil }
        while replaying {
            if replayedIndex < replayed.count {
                let event = replayed[replayedIndex]
                replayedIndex += 1
                lastDelivered = event.revision
                return event
            }
            if lastDelivered >= through {
                // Still check compaction once for a watch that starts at or after `through`.
                replaying = false
                if replayed.isEmpty {
                    _ = try await store.replay(prefix: prefix, after: lastDelivered, through: lastDelivered)
                }
                break
            }
            replayed = try await store.replay(prefix: prefix, after: lastDelivered, through: through)
            replayedIndex = 0
            if replayed.isEmpty {
                lastDelivered = through
                replaying = false
            }
        }
        while let event = try await queue.next() {
            // Live events at or before the replayed revision were already delivered.
            if case .progress(let revision) = event {
                if revision < lastDelivered { continue }
            } else if event.revision <= lastDelivered {
                continue
            }
            lastDelivered = event.revision
            return event
        }
        return nil
    }
}
