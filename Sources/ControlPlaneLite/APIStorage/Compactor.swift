import Logging

/// Runs a store's automatic compaction (see `CompactionPolicy`). Owner: the store that
/// starts it; it stops when its task is cancelled.
struct Compactor: Sendable {
    var policy: CompactionPolicy
    var logger: Logger

    /// Picks the compaction revision from (time, revision) samples, oldest first; pure logic.
    static func target(
        samples: [(at: ContinuousClock.Instant, revision: Int64)], now: ContinuousClock.Instant,
        current: Int64, policy: CompactionPolicy
    ) -> Int64? {
        let old = samples.last { now - $0.at >= policy.retention }
        guard let old else { return nil }
        let target = min(old.revision, current - policy.minRetainedRevisions)
        return target > 0 ? target : nil
    }

    /// Samples and compacts every `policy.interval` until cancelled.
    func run(
        currentRevision: @escaping @Sendable () async throws -> Int64,
        compactedRevision: @escaping @Sendable () async -> Int64,
        compact: @escaping @Sendable (Int64) async throws -> Void
    ) async {
        guard let interval = policy.interval else { return }
        var samples: [(at: ContinuousClock.Instant, revision: Int64)] = []
        let clock = ContinuousClock()
        while !Task.isCancelled {
            do {
                let current = try await currentRevision()
                let now = clock.now
                samples.append((now, current))
                if let target = Self.target(samples: samples, now: now, current: current, policy: policy),
                    target > (await compactedRevision())
                {
                    try await compact(target)
                    logger.debug("compacted", metadata: ["through": "\(target)", "current": "\(current)"])
                }
                // Keep only samples that can still become the target.
                if let keepFrom = samples.lastIndex(where: { now - $0.at >= policy.retention }) {
                    samples.removeFirst(keepFrom)
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("automatic compaction failed", metadata: ["error": "\(error)"])
            }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }
}
