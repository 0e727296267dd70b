import Foundation
import GRDB
import Logging
import Synchronization

/// The embedded store: one SQLite file in WAL mode holding a revision log (see `SQLiteSchema`).
/// One writer (a group-committing queue on GRDB's writer thread), concurrent snapshot readers,
/// an in-process broadcaster for watches, and automatic compaction. GRDB runs every database
/// access on its own dispatch queues, so no Swift concurrency thread (or NIO event loop) blocks
/// on SQLite. Owner of the file: this object, and only one process at a time (a lock file).
public final class SQLiteStore: Store {
    let path: String
    let options: StoreOptions
    let logger: Logger
    let pool: DatabasePool
    /// Held open with an exclusive lock so a second process cannot open the same store.
    private let lockQueue: DatabaseQueue
    let broadcaster: WatchBroadcaster
    let writer: Mutex<WriterState>
    /// The newest committed revision (mirrors meta.revision; updated by the writer only).
    let committed: Mutex<Int64>
    private let background: Mutex<[Task<Void, Never>]> = Mutex([])
    let closed = Atomic<Bool>(false)

    /// Opens (creating if needed) the store at `path`.
    public init(path: String, options: StoreOptions = StoreOptions(), logger: Logger = Logger(label: "swiftlet.apistorage.sqlite")) throws {
        guard path.hasPrefix("/") else {
            throw StorageError.invalidArgument("sqlite path \(path.debugDescription): must be absolute")
        }
        self.path = path
        self.options = options
        self.logger = logger
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StorageError.unavailable("sqlite: cannot create directory \(directory): \(error.localizedDescription)")
        }
        do {
            var lockConfig = Configuration()
            lockConfig.label = "apistorage.lock"
            lockConfig.prepareDatabase { db in
                try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
            }
            lockQueue = try DatabaseQueue(path: path + ".lock", configuration: lockConfig)
            try lockQueue.write { db in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS owner (pid INTEGER)")
                try db.execute(sql: "DELETE FROM owner")
                try db.execute(sql: "INSERT INTO owner (pid) VALUES (?)", arguments: [getpid()])
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            throw StorageError.unavailable("sqlite \(path): another process has this store open")
        } catch {
            throw StorageError.unavailable("sqlite \(path).lock: \(error)")
        }

        var config = Configuration()
        config.label = "apistorage"
        let synchronous = options.synchronous == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try db.execute(sql: "PRAGMA journal_size_limit = 16777216")
        }
        do {
            // auto_vacuum must be chosen before the first table exists.
            let setup = try DatabaseQueue(path: path)
            try setup.writeWithoutTransaction { db in
                if try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") == 0 {
                    try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                    try db.execute(sql: "VACUUM")
                }
            }
            try setup.close()
            pool = try DatabasePool(path: path, configuration: config)
            try SQLiteSchema.migrator().migrate(pool)
            let revision = try pool.read { try SQLiteSchema.revision($0) }
            committed = Mutex(revision)
            broadcaster = WatchBroadcaster(revision: revision)
        } catch {
            try? lockQueue.close()
            throw StorageError.unavailable("sqlite \(path): \(error)")
        }
        writer = Mutex(WriterState())
        startBackgroundWork()
    }

    deinit {
        // Normally `close()` already did this; a store dropped without it must not leave its
        // bookmark and compaction tasks running.
        for task in background.withLock({ $0 }) { task.cancel() }
        broadcaster.close()
    }

    private func startBackgroundWork() {
        let progressInterval = options.progressInterval
        let progress = Task { [broadcaster] in
            while !Task.isCancelled {
                do { try await Task.sleep(for: progressInterval) } catch { return }
                broadcaster.progress()
            }
        }
        let compactor = Compactor(policy: options.compaction, logger: logger)
        let compaction = Task { [weak self] in
            await compactor.run(
                currentRevision: { [weak self] in
                    guard let self else { throw CancellationError() }
                    return try await self.currentRevision()
                },
                compactedRevision: { [weak self] in (try? await self?.compactedRevision()) ?? 0 },
                compact: { [weak self] revision in try await self?.compact(through: revision) })
        }
        background.withLock { $0 = [progress, compaction] }
    }

    // MARK: Reads

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if closed.load(ordering: .relaxed) { throw StorageError.unavailable("store closed") }
        do {
            return try await pool.read(body)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.unavailable("sqlite: \(error)")
        }
    }

    public func get(_ key: String) async throws -> StoredObject? {
        try KeyRange.validate(key: key)
        return try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: "SELECT revision, key, kind, create_revision, value FROM kv WHERE key = ? ORDER BY revision DESC LIMIT 1",
                arguments: [Data(key.utf8)])
            guard let row, row["kind"] as Int64 != SQLiteSchema.deleted else { return nil }
            return SQLiteSchema.object(row)
        }
    }

    public func list(prefix: String, startAfter: String?, limit: Int?, revision: Int64?) async throws -> ListResult {
        try KeyRange.validateList(prefix: prefix, startAfter: startAfter, limit: limit, revision: revision)
        return try await read { db in
            let current = try SQLiteSchema.revision(db)
            let compacted = try SQLiteSchema.compacted(db)
            let at = revision ?? current
            if at < compacted {
                throw StorageError.compacted(requested: at, compactedThrough: compacted)
            }
            if at > current {
                throw StorageError.invalidArgument("revision \(at): newer than the store's revision \(current)")
            }
            let range = SQLiteSchema.prefixCondition("key", prefix: prefix)
            func latest(after: String?) -> (String, StatementArguments) {
                var sql = "SELECT MAX(revision) FROM kv WHERE \(range.sql) AND revision <= ?"
                var arguments = range.arguments
                arguments.append(at)
                if let after {
                    sql += " AND key > ?"
                    arguments.append(Data(after.utf8))
                }
                return (sql + " GROUP BY key", StatementArguments(arguments))
            }
            let (inner, innerArguments) = latest(after: startAfter)
            var sql = """
                SELECT revision, key, create_revision, value FROM kv
                WHERE revision IN (\(inner)) AND kind != \(SQLiteSchema.deleted) ORDER BY key
                """
            var arguments = innerArguments
            if let limit {
                sql += " LIMIT ?"
                arguments += [limit + 1]
            }
            var rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            var remaining = 0
            var more = false
            if let limit, rows.count > limit {
                rows.removeLast()
                more = true
                let last = SQLiteSchema.key(rows[rows.count - 1]["key"])
                let (countInner, countArguments) = latest(after: last)
                remaining = try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM kv WHERE revision IN (\(countInner)) AND kind != \(SQLiteSchema.deleted)",
                    arguments: countArguments) ?? 0
            }
            return ListResult(items: rows.map(SQLiteSchema.object), revision: at, remaining: remaining, more: more)
        }
    }

    public func count(prefix: String) async throws -> Int {
        try KeyRange.validateList(prefix: prefix, startAfter: nil, limit: nil, revision: nil)
        return try await read { db in
            let range = SQLiteSchema.prefixCondition("key", prefix: prefix)
            return try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM kv WHERE revision IN
                        (SELECT MAX(revision) FROM kv WHERE \(range.sql) GROUP BY key)
                    AND kind != \(SQLiteSchema.deleted)
                    """,
                arguments: StatementArguments(range.arguments)) ?? 0
        }
    }

    public func currentRevision() async throws -> Int64 {
        if closed.load(ordering: .relaxed) { throw StorageError.unavailable("store closed") }
        return committed.withLock { $0 }
    }

    /// The revision history is compacted through (0 = never compacted).
    public func compactedRevision() async throws -> Int64 {
        try await read { try SQLiteSchema.compacted($0) }
    }

    // MARK: Compaction

    public func compact(through revision: Int64) async throws {
        if closed.load(ordering: .relaxed) { throw StorageError.unavailable("store closed") }
        do {
            try await pool.write { db in
                let current = try SQLiteSchema.revision(db)
                let previous = try SQLiteSchema.compacted(db)
                if revision > current {
                    throw StorageError.invalidArgument("compact revision \(revision): newer than the store's revision \(current)")
                }
                if revision <= previous { return }
                // Rows superseded by a row in (previous, revision], then deletions in that range.
                try db.execute(
                    sql: """
                        DELETE FROM kv WHERE revision IN
                            (SELECT prev_revision FROM kv WHERE revision > ? AND revision <= ? AND prev_revision > 0)
                        """,
                    arguments: [previous, revision])
                try db.execute(
                    sql: "DELETE FROM kv WHERE kind = ? AND revision > ? AND revision <= ?",
                    arguments: [SQLiteSchema.deleted, previous, revision])
                try db.execute(sql: "UPDATE meta SET value = ? WHERE name = 'compacted'", arguments: [revision])
            }
            // Give freed pages back to the file system (auto_vacuum = INCREMENTAL), then move
            // the WAL into the file and truncate it (best effort: a long reader can hold it).
            try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA incremental_vacuum")
                _ = try? db.checkpoint(.truncate)
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.unavailable("sqlite compaction: \(error)")
        }
    }

    // MARK: Lifecycle

    public func close() async {
        if closed.exchange(true, ordering: .relaxed) { return }
        let tasks = background.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        // Refuse new writes, let queued ones finish, then end every watch and release the file.
        writer.withLock { $0.closed = true }
        _ = try? await pool.writeWithoutTransaction { _ in }
        broadcaster.close()
        try? pool.close()
        try? lockQueue.close()
    }

    /// Bytes the store uses on disk: the database file and its WAL.
    public func fileSize() -> Int64 {
        var total: Int64 = 0
        for file in [path, path + "-wal"] {
            if let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                let size = attributes[.size] as? NSNumber
            {
                total += size.int64Value
            }
        }
        return total
    }
}
