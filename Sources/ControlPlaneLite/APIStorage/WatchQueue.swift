import Synchronization

/// The pending events of one watcher: filled by a producer (the SQLite broadcaster or an etcd
/// watch stream), drained by the watcher's stream. Bounded: a watcher that falls more than
/// `limit` events behind is ended with an error (its client re-watches from its last revision)
/// instead of growing without bound. Owner: the watcher's cursor; producers only append.
final class WatchQueue: Sendable {
    private struct State {
        var events: [WatchEvent] = []
        var head = 0
        var waiter: CheckedContinuation<Void, Never>?
        var failure: StorageError?
        var finished = false
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// Appends an event; past the limit the queue fails instead. Returns false once the queue
    /// no longer accepts events.
    @discardableResult
    func append(_ event: WatchEvent) -> Bool {
        let waiter: CheckedContinuation<Void, Never>?
        let accepted: Bool
        (waiter, accepted) = state.withLock { state in
            if state.finished || state.failure != nil { return (nil, false) }
            if state.events.count - state.head >= limit {
                state.failure = .unavailable(
                    "watcher fell more than \(limit) events behind; watch again from the last revision seen")
            } else {
                state.events.append(event)
            }
            let waiter = state.waiter
            state.waiter = nil
            return (waiter, state.failure == nil)
        }
        waiter?.resume()
        return accepted
    }

    /// Whether the queue still accepts events.
    var isOpen: Bool { state.withLock { !$0.finished && $0.failure == nil } }

    /// Ends the queue: after the buffered events, `next` returns nil (or throws `error`).
    func finish(throwing error: StorageError? = nil) {
        let waiter = state.withLock { state in
            if let error, state.failure == nil, !state.finished { state.failure = error }
            state.finished = true
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// The next event, waiting for one; nil when finished; throws the queue's failure after
    /// the events buffered before it; throws CancellationError when the task is cancelled.
    func next() async throws -> WatchEvent? {
        while true {
            try Task.checkCancellation()
            enum Step { case event(WatchEvent), fail(StorageError), end, wait }
            let step: Step = state.withLock { state in
                if state.head < state.events.count {
                    let event = state.events[state.head]
                    state.head += 1
                    if state.head > 1024, state.head * 2 > state.events.count {
                        state.events.removeFirst(state.head)
                        state.head = 0
                    }
                    return .event(event)
                }
                if let failure = state.failure { return .fail(failure) }
                return state.finished ? .end : .wait
            }
            switch step {
            case .event(let event): return event
            case .fail(let error): throw error
            case .end: return nil
            case .wait:
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow = state.withLock { state in
                            if state.head < state.events.count || state.failure != nil || state.finished
                                || Task.isCancelled
                            {
                                return true
                            }
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    let waiter = state.withLock { state in
                        let waiter = state.waiter
                        state.waiter = nil
                        return waiter
                    }
                    waiter?.resume()
                }
            }
        }
    }
}
