import Synchronization

/// Fans committed changes out to every in-process watcher (SQLite store). The writer publishes
/// each committed batch once, in revision order; each watcher gets its own bounded queue, so
/// one slow watcher never blocks the writer or the others. Owner: `SQLiteStore`.
final class WatchBroadcaster: Sendable {
    private struct Subscriber {
        var prefix: String
        var queue: WatchQueue
    }

    private struct State {
        var subscribers: [UInt64: Subscriber] = [:]
        var nextID: UInt64 = 1
        var lastRevision: Int64
        var closed = false
    }

    private let state: Mutex<State>

    init(revision: Int64) {
        state = Mutex(State(lastRevision: revision))
    }

    /// Registers a watcher. Returns its id and the last published revision `through`: every
    /// change up to `through` is committed (replay it from the log), every later one will be
    /// appended to `queue`. Nil when the broadcaster is closed.
    func subscribe(prefix: String, queue: WatchQueue) -> (id: UInt64, through: Int64)? {
        state.withLock { state in
            if state.closed { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(prefix: prefix, queue: queue)
            return (id, state.lastRevision)
        }
    }

    func unsubscribe(_ id: UInt64) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: id) }
    }

    /// Delivers committed events (in revision order) and advances the published revision.
    func publish(_ events: [(key: String, event: WatchEvent)], through revision: Int64) {
        state.withLock { state in
            var failed: [UInt64] = []
            for (id, subscriber) in state.subscribers {
                for (key, event) in events where key.hasPrefix(subscriber.prefix) {
                    if !subscriber.queue.append(event) {
                        failed.append(id)
                        break
                    }
                }
            }
            for id in failed { state.subscribers.removeValue(forKey: id) }
            state.lastRevision = max(state.lastRevision, revision)
        }
    }

    /// Sends every watcher a bookmark at the last published revision.
    func progress() {
        state.withLock { state in
            let event = WatchEvent.progress(revision: state.lastRevision)
            for (id, subscriber) in state.subscribers where !subscriber.queue.append(event) {
                state.subscribers.removeValue(forKey: id)
            }
        }
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Ends every watch (the store is closing).
    func close() {
        let queues = state.withLock { state in
            state.closed = true
            let queues = state.subscribers.values.map(\.queue)
            state.subscribers.removeAll()
            return queues
        }
        for queue in queues { queue.finish(throwing: .unavailable("store closed")) }
    }
}
