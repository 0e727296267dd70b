/// When a store drops old history. Every `interval` the store samples its revision; it then
/// compacts through the newest sampled revision that is at least `retention` old, but always
/// keeps the last `minRetainedRevisions` revisions. Like kube-apiserver's 5-minute etcd
/// compaction: a watcher that falls further behind gets 410 Gone and relists. Lease churn
/// (one key rewritten every few seconds) therefore keeps a bounded amount of history.
public struct CompactionPolicy: Sendable, Equatable {
    /// How often to sample and compact; nil turns automatic compaction off.
    public var interval: Duration?
    /// How long history is kept at least.
    public var retention: Duration
    /// How many revisions are kept at least.
    public var minRetainedRevisions: Int64

    public init(interval: Duration? = .seconds(60), retention: Duration = .seconds(300), minRetainedRevisions: Int64 = 1000) {
        self.interval = interval
        self.retention = retention
        self.minRetainedRevisions = minRetainedRevisions
    }

    public static let off = CompactionPolicy(interval: nil)
}

/// Options of both stores, also settable as URL query items (see `StoreFactory`).
public struct StoreOptions: Sendable, Equatable {
    /// SQLite's `synchronous` pragma. `full` (default) fsyncs the WAL on every commit, so an
    /// acknowledged write survives power loss; `normal` survives a crash of the process only.
    public enum Synchronous: String, Sendable, Equatable {
        case full, normal
    }

    public var synchronous: Synchronous = .full
    public var compaction = CompactionPolicy()
    /// How often watchers get a `.progress` bookmark (SQLite). etcd sends them at its own
    /// `--experimental-watch-progress-notify-interval`.
    public var progressInterval: Duration = .seconds(5)
    /// How far (in events) a watcher may fall behind before its watch ends with an error.
    public var watchQueueLimit = 10_000
    /// Deadline of one etcd request (each endpoint attempt).
    public var requestTimeout: Duration = .seconds(10)

    public init() {}
}
