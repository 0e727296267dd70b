/// Serializes the operations on one container or sandbox (start, stop, remove), so that the
/// runtime calls for one ID never overlap: a `kill` racing a `delete` of the same container
/// could otherwise find its state gone or write it back after the delete. Operations on
/// different IDs run in parallel. Lock order: a sandbox, then its containers.
actor OperationLocks {
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    func acquire(_ id: String) async {
        guard waiting[id] != nil else {
            waiting[id] = []
            return
        }
        await withCheckedContinuation { waiting[id, default: []].append($0) }
    }

    func release(_ id: String) {
        guard var queue = waiting[id] else { return }
        if queue.isEmpty {
            waiting[id] = nil
            return
        }
        let next = queue.removeFirst()
        waiting[id] = queue
        next.resume()
    }

    /// Runs `body` holding the lock of `id`.
    nonisolated func with<T: Sendable>(_ id: String, _ body: () async throws -> T) async throws -> T {
        await acquire(id)
        do {
            let result = try await body()
            await release(id)
            return result
        } catch {
            await release(id)
            throw error
        }
    }

    /// IDs held or waited for (for tests and the verbose status).
    var busy: Int { waiting.count }
}
