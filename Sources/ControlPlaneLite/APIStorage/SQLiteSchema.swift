import Foundation
import GRDB

/// The SQLite log's layout (kine-style): every write appends a row whose `revision` is the new
/// store revision; the current value of a key is its newest row unless that row is a deletion.
/// A deletion row keeps the deleted value (for the watch event). `meta` holds the store's
/// revision and the revision history was compacted through.
enum SQLiteSchema {
    /// Row kinds.
    static let created: Int64 = 0
    static let updated: Int64 = 1
    static let deleted: Int64 = 2

    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE kv (
                        revision INTEGER PRIMARY KEY,
                        key BLOB NOT NULL,
                        kind INTEGER NOT NULL,
                        create_revision INTEGER NOT NULL,
                        prev_revision INTEGER NOT NULL,
                        value BLOB NOT NULL
                    );
                    CREATE INDEX kv_key_revision ON kv(key, revision);
                    CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                    INSERT INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
                    """)
        }
        return migrator
    }

    static func revision(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'revision'") ?? 0
    }

    static func compacted(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'compacted'") ?? 0
    }

    /// `key >= lo [AND key < hi]` for a prefix, with its arguments.
    static func prefixCondition(_ column: String, prefix: String) -> (sql: String, arguments: [any DatabaseValueConvertible]) {
        let lo = [UInt8](prefix.utf8)
        if let hi = KeyRange.prefixEnd(lo) {
            return ("\(column) >= ? AND \(column) < ?", [Data(lo), Data(hi)])
        }
        return ("\(column) >= ?", [Data(lo)])
    }

    static func key(_ data: Data) -> String {
        String(decoding: data, as: UTF8.self)
    }

    /// A live row (revision, key, create_revision, value) as a stored object.
    static func object(_ row: Row) -> StoredObject {
        let key: Data = row["key"]
        let value: Data = row["value"]
        return StoredObject(
            key: Self.key(key), value: [UInt8](value), createRevision: row["create_revision"],
            modRevision: row["revision"])
    }
}
