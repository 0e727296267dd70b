import Foundation
import Synchronization
import SystemCore

/// Container restart and image pull back-off for the whole node, saved atomically under
/// `--root-dir` after every change so a restarted kubelet keeps its timers.
///
/// Owns the back-off state; pod workers call in from their own actors.
public final class BackoffStore: Sendable {
    private let state: Mutex<Backoff>
    public let path: String?

    public init(path: String?) {
        self.path = path
        var initial = Backoff()
        if let path, let bytes = try? FileSystem.readBytes(path),
           let decoded = try? JSONDecoder().decode(Backoff.self, from: Data(bytes)) {
            initial = decoded
        }
        state = Mutex(initial)
    }

    public func isInBackoff(_ key: String, since: Double, now: Double) -> Bool {
        state.withLock { $0.isInBackoff(key, since: since, now: now) }
    }

    public func delay(_ key: String) -> Double { state.withLock { $0.delay(key) } }
    public func lastUpdate(_ key: String) -> Double? { state.withLock { $0.entries[key]?.lastUpdate } }

    @discardableResult
    public func next(_ key: String, now: Double) -> Double {
        let (delay, snapshot) = state.withLock { b in (b.next(key, now: now), b) }
        save(snapshot)
        return delay
    }

    public func reset(_ key: String) {
        let snapshot = state.withLock { b in
            b.reset(key)
            return b
        }
        save(snapshot)
    }

    public func removePod(_ uid: String) {
        let snapshot = state.withLock { b in
            for key in b.entries.keys where key.hasPrefix(uid + "/") { b.reset(key) }
            return b
        }
        save(snapshot)
    }

    private func save(_ backoff: Backoff) {
        guard let path, let data = try? JSONEncoder().encode(backoff) else { return }
        try? FileSystem.writeAtomically(path, Array(data))
    }
}
