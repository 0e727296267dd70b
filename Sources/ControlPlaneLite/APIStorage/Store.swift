// The storage interface of ControlPlaneLite's apiserver. Two implementations: `SQLiteStore`
// (embedded, the default) and `EtcdStore` (etcd v3 over gRPC). Both pass one conformance suite
// (Tests/APIStorageTests). The apiserver owns the value format; storage only sees bytes.

/// One key's value at one revision.
public struct StoredObject: Sendable, Equatable {
    /// The full key, e.g. "/registry/pods/default/web-1".
    public var key: String
    /// The object's bytes (the apiserver's JSON).
    public var value: [UInt8]
    /// The revision that created this key (since its last deletion).
    public var createRevision: Int64
    /// The revision of the last change; becomes `metadata.resourceVersion`.
    /// For the object returned by `Store.delete`, this is the revision of the deletion.
    public var modRevision: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
    }
}

/// One page of a list.
public struct ListResult: Sendable, Equatable {
    /// The page, in key order.
    public var items: [StoredObject]
    /// The revision the list was read at: pass it back as `revision` for the next page
    /// (a consistent snapshot), and it is the list's resourceVersion.
    public var revision: Int64
    /// How many more keys match after this page (at `revision`).
    public var remaining: Int
    /// Whether there are more keys after this page.
    public var more: Bool

    public init(items: [StoredObject], revision: Int64, remaining: Int, more: Bool) {
        self.items = items
        self.revision = revision
        self.remaining = remaining
        self.more = more
    }
}

/// One change seen by a watcher, in revision order.
public enum WatchEvent: Sendable, Equatable {
    /// The key was created (`createRevision == modRevision`).
    case added(StoredObject)
    /// The key changed; `previous` is the value before the change when the store knows it.
    case modified(StoredObject, previous: StoredObject?)
    /// The key was deleted: its last value, and the revision of the deletion.
    case deleted(StoredObject, revision: Int64)
    /// Bookmark: every change up to `revision` has been delivered.
    case progress(revision: Int64)

    /// The revision at which this event happened.
    public var revision: Int64 {
        switch self {
        case .added(let object), .modified(let object, _): return object.modRevision
        case .deleted(_, let revision), .progress(let revision): return revision
        }
    }
}

/// Errors of every store; the apiserver maps them to Kubernetes `Status` codes.
public enum StorageError: Error, Sendable, Equatable {
    /// → 404 NotFound.
    case notFound(key: String)
    /// → 409 AlreadyExists.
    case alreadyExists(key: String)
    /// → 409 Conflict: the key's modRevision is `actual`, not the `expected` one.
    case conflict(key: String, expected: Int64, actual: Int64)
    /// → 410 Gone (watch / list at an old revision): history through `compactedThrough` is gone.
    case compacted(requested: Int64, compactedThrough: Int64)
    /// → 400 BadRequest: the caller asked for something the store cannot do (bad key, limit,
    /// revision in the future, malformed URL).
    case invalidArgument(String)
    /// → 503 / 500: the backend is down or failed.
    case unavailable(String)
}

extension StorageError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notFound(let key): return "key \(key) not found"
        case .alreadyExists(let key): return "key \(key) already exists"
        case .conflict(let key, let expected, let actual):
            return "key \(key): expected revision \(expected), found \(actual)"
        case .compacted(let requested, let through):
            return "revision \(requested) has been compacted (history kept after \(through))"
        case .invalidArgument(let reason): return "invalid argument: \(reason)"
        case .unavailable(let reason): return "storage unavailable: \(reason)"
        }
    }
}

public protocol Store: Sendable {
    /// The key's current value, or nil.
    func get(_ key: String) async throws -> StoredObject?
    /// Keys with `prefix`, in key order, strictly after `startAfter`, at most `limit`
    /// (nil = all), read at `revision` (nil = latest; a compacted revision throws .compacted).
    func list(prefix: String, startAfter: String?, limit: Int?, revision: Int64?) async throws -> ListResult
    /// How many keys start with `prefix` now.
    func count(prefix: String) async throws -> Int
    /// Creates the key; `.alreadyExists` if it is there.
    func create(_ key: String, value: [UInt8]) async throws -> StoredObject
    /// Replaces the key's value; `.notFound` if it is absent. Compare-and-swap on modRevision
    /// when `expectedRevision` is given (`.conflict` when it differs).
    func update(_ key: String, value: [UInt8], expectedRevision: Int64?) async throws -> StoredObject
    /// Deletes the key and returns its last value (modRevision = the deletion's revision);
    /// `.notFound` if absent, `.conflict` when `expectedRevision` differs.
    func delete(_ key: String, expectedRevision: Int64?) async throws -> StoredObject
    /// Every change under `prefix` with revision > `afterRevision`, in revision order, then live
    /// changes; `.compacted` if history before that is gone. Ends when the task is cancelled.
    /// Periodically yields `.progress` bookmarks.
    func watch(prefix: String, afterRevision: Int64) -> AsyncThrowingStream<WatchEvent, Error>
    /// The store's latest revision.
    func currentRevision() async throws -> Int64
    /// Drops history at and before `revision` (current values are kept).
    func compact(through revision: Int64) async throws
    /// Stops background work, ends every watch and releases the backend.
    func close() async
}
