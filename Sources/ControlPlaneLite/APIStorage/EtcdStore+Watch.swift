import EtcdProto
import Foundation
import GRPCCore
import Synchronization

extension EtcdStore {
    public func watch(prefix: String, afterRevision: Int64) -> AsyncThrowingStream<WatchEvent, Error> {
        let queue = WatchQueue(limit: options.watchQueueLimit)
        let task = Task { [self] in
            await runWatch(prefix: prefix, afterRevision: afterRevision, queue: queue)
        }
        let id = watches.withLock { state in
            state.nextID += 1
            state.tasks[state.nextID] = task
            return state.nextID
        }
        if closed.load(ordering: .relaxed) { task.cancel() }
        let cursor = EtcdWatchCursor(queue: queue, task: task) { [weak self] in
            _ = self?.watches.withLock { $0.tasks.removeValue(forKey: id) }
        }
        return AsyncThrowingStream(unfolding: { try await cursor.next() })
    }

    /// Feeds `queue` from etcd watch streams until cancelled; a broken stream (a member went
    /// away) is re-created from the last delivered revision, on the next endpoint if need be.
    private func runWatch(prefix: String, afterRevision: Int64, queue: WatchQueue) async {
        if afterRevision < 0 {
            queue.finish(throwing: .invalidArgument("afterRevision \(afterRevision): must not be negative"))
            return
        }
        let start = [UInt8](prefix.utf8)
        // The last revision handed to the watcher; survives a broken stream.
        let delivered = Mutex(afterRevision)
        // When streams started failing in a row (reset by any reply).
        let failingSince = Mutex<ContinuousClock.Instant?>(nil)
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let from = delivered.withLock { $0 }
            var create = Etcdserverpb_WatchCreateRequest()
            create.key = Data(start.isEmpty ? [0] : start)
            create.rangeEnd = Data(KeyRange.prefixEnd(start) ?? [0])
            create.startRevision = from + 1
            create.progressNotify = true
            create.prevKv = true
            var request = Etcdserverpb_WatchRequest()
            request.createRequest = create
            let message = request
            var streamOptions = CallOptions.defaults
            streamOptions.waitForReady = false
            let (index, connection) = self.connection
            do {
                try await connection.watchConnection.stubs.watch.watch(options: streamOptions) { writer in
                    try await writer.write(message)
                    while true { try await Task.sleep(for: .seconds(3600)) }
                } onResponse: { response in
                    for try await reply in response.messages {
                        if reply.canceled {
                            if reply.compactRevision > 0 {
                                throw StorageError.compacted(requested: afterRevision, compactedThrough: reply.compactRevision)
                            }
                            throw StorageError.unavailable("etcd canceled the watch: \(reply.cancelReason)")
                        }
                        if reply.created { continue }
                        let accepted: Bool = delivered.withLock { last in
                            if reply.events.isEmpty {
                                // A progress notification: everything up to this revision is delivered.
                                guard reply.header.revision >= last else { return true }
                                last = reply.header.revision
                                return queue.append(.progress(revision: last))
                            }
                            for event in reply.events {
                                let mapped = Self.event(event)
                                guard mapped.revision > last else { continue }
                                last = mapped.revision
                                if !queue.append(mapped) { return false }
                            }
                            return true
                        }
                        if !accepted { return }
                        failingSince.withLock { $0 = nil }
                    }
                }
                if !queue.isOpen { return }
            } catch let error as StorageError {
                queue.finish(throwing: error)
                return
            } catch {
                if Task.isCancelled { break }
                failed(index, error)
                let now = clock.now
                let since = failingSince.withLock { since in
                    if since == nil { since = now }
                    return since ?? now
                }
                if now - since > options.requestTimeout {
                    queue.finish(throwing: .unavailable("etcd watch \(prefix): \(error)"))
                    return
                }
                logger.debug(
                    "etcd watch stream broke; resuming",
                    metadata: ["from": "\(delivered.withLock { $0 } + 1)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        queue.finish()
    }

    static func event(_ event: Mvccpb_Event) -> WatchEvent {
        let current = object(event.kv)
        switch event.type {
        case .delete:
            let last = event.hasPrevKv
                ? object(event.prevKv)
                : StoredObject(key: current.key, value: [], createRevision: event.kv.createRevision, modRevision: 0)
            return .deleted(last, revision: event.kv.modRevision)
        default:
            if event.kv.createRevision == event.kv.modRevision { return .added(current) }
            return .modified(current, previous: event.hasPrevKv ? object(event.prevKv) : nil)
        }
    }
}

/// The watcher side of one etcd watch: drains its queue; ending it (error or deallocation)
/// stops the gRPC stream. Owner: the watch stream's unfolding closure.
final class EtcdWatchCursor: Sendable {
    private let queue: WatchQueue
    private let task: Task<Void, Never>
    private let onEnd: @Sendable () -> Void

    init(queue: WatchQueue, task: Task<Void, Never>, onEnd: @escaping @Sendable () -> Void) {
        self.queue = queue
        self.task = task
        self.onEnd = onEnd
    }

    deinit {
        task.cancel()
        onEnd()
    }

    func next() async throws -> WatchEvent? {
        do {
            let event = try await queue.next()
            if event == nil { task.cancel() }
            return event
        } catch {
            task.cancel()
            throw error
        }
    }
}
