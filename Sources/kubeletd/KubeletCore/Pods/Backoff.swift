/// Per-key exponential back-off like upstream's `flowcontrol.Backoff` as the kubelet uses it:
/// 10 s, doubling to 5 min; an entry untouched for twice the maximum (10 min) starts over.
///
/// Owned by one pod worker (or the pod manager); value type so its state can be saved with the pod.
public struct Backoff: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var delay: Double
        public var lastUpdate: Double
    }

    public var initial: Double
    public var maximum: Double
    public private(set) var entries: [String: Entry] = [:]

    public init(initial: Double = 10, maximum: Double = 300) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Records a failure at `now` (seconds) and returns the delay before the next try.
    @discardableResult
    public mutating func next(_ key: String, now: Double) -> Double {
        if var entry = entries[key], !expired(entry, now: now) {
            entry.delay = min(entry.delay * 2, maximum)
            entry.lastUpdate = now
            entries[key] = entry
            return entry.delay
        }
        let entry = Entry(delay: initial, lastUpdate: now)
        entries[key] = entry
        return entry.delay
    }

    /// The current delay for `key` (0 when none).
    public func delay(_ key: String) -> Double { entries[key]?.delay ?? 0 }

    /// True while `now` is inside the back-off window started by the last failure.
    public func isInBackoff(_ key: String, since eventTime: Double, now: Double) -> Bool {
        guard let entry = entries[key], !expired(entry, now: now) else { return false }
        return now - eventTime < entry.delay
    }

    /// When the window for `key` that started at `eventTime` ends.
    public func retryAt(_ key: String, since eventTime: Double) -> Double? {
        entries[key].map { eventTime + $0.delay }
    }

    public mutating func reset(_ key: String) { entries[key] = nil }

    /// Drops entries untouched for twice the maximum.
    public mutating func garbageCollect(now: Double) {
        entries = entries.filter { !expired($0.value, now: now) }
    }

    func expired(_ entry: Entry, now: Double) -> Bool { now - entry.lastUpdate > 2 * maximum }
}
