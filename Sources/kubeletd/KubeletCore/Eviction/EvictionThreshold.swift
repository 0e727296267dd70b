import Foundation

/// An eviction signal of KubeletConfiguration.evictionHard, as upstream names them.
public enum EvictionSignal: String, Sendable, Hashable, CaseIterable, Comparable {
    case memoryAvailable = "memory.available"
    case nodeFsAvailable = "nodefs.available"
    case nodeFsInodesFree = "nodefs.inodesFree"
    case imageFsAvailable = "imagefs.available"
    case imageFsInodesFree = "imagefs.inodesFree"
    case containerFsAvailable = "containerfs.available"
    case containerFsInodesFree = "containerfs.inodesFree"
    case pidAvailable = "pid.available"

    /// The node condition a crossed threshold of this signal sets.
    public var condition: NodeCondition {
        switch self {
        case .memoryAvailable: return .memoryPressure
        case .pidAvailable: return .pidPressure
        default: return .diskPressure
        }
    }

    /// The resource named in an eviction message (upstream's wording).
    public var resource: String {
        switch self {
        case .memoryAvailable: return "memory"
        case .nodeFsAvailable, .imageFsAvailable, .containerFsAvailable: return "ephemeral-storage"
        case .nodeFsInodesFree, .imageFsInodesFree, .containerFsInodesFree: return "inodes"
        case .pidAvailable: return "pids"
        }
    }

    public static func < (a: EvictionSignal, b: EvictionSignal) -> Bool { a.rawValue < b.rawValue }
}

public enum NodeCondition: String, Sendable, Hashable, CaseIterable {
    case memoryPressure = "MemoryPressure"
    case diskPressure = "DiskPressure"
    case pidPressure = "PIDPressure"
}

/// One hard eviction threshold: the node is under pressure when the signal's available amount
/// drops below `value` (an absolute quantity, or a share of the signal's capacity).
public struct EvictionThreshold: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case quantity(Double)
        /// 0...1 of capacity.
        case percentage(Double)
    }

    public var signal: EvictionSignal
    public var value: Value
    /// As written in the configuration, for messages.
    public var text: String

    public init(signal: EvictionSignal, value: Value, text: String) {
        self.signal = signal
        self.value = value
        self.text = text
    }

    /// The threshold in the signal's unit (bytes, inodes, pids) for this capacity.
    public func amount(capacity: Double) -> Double {
        switch value {
        case .quantity(let q): return q
        case .percentage(let p): return (capacity * p).rounded(.up)
        }
    }

    /// True when `available` is below the threshold (upstream: `threshold.Value.Cmp(available) > 0`).
    public func isCrossed(by observation: SignalObservation) -> Bool {
        observation.available < amount(capacity: observation.capacity)
    }

    /// Parses evictionHard like upstream's `ParseThresholdConfig`: "0%" and "100%" disable a
    /// signal; a quantity must be positive; the first problem names `evictionHard[<signal>]`.
    public static func parse(_ settings: [String: String]) throws(ConfigError) -> [EvictionThreshold] {
        var out: [EvictionThreshold] = []
        for (key, text) in settings.sorted(by: { $0.key < $1.key }) {
            let field = "evictionHard[\(key)]"
            guard let signal = EvictionSignal(rawValue: key) else {
                throw ConfigError(field: field, message: "unknown eviction signal (known: \(EvictionSignal.allCases.map(\.rawValue).sorted().joined(separator: ", ")))")
            }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.hasSuffix("%") {
                if trimmed == "0%" || trimmed == "100%" { continue }
                guard let percent = Double(trimmed.dropLast()), percent.isFinite else {
                    throw ConfigError(field: field, message: "invalid percentage \"\(text)\"")
                }
                guard percent > 0, percent < 100 else {
                    throw ConfigError(field: field, message: "percentage must be between 0% and 100%, got \"\(text)\"")
                }
                out.append(EvictionThreshold(signal: signal, value: .percentage(percent / 100), text: trimmed))
            } else {
                let quantity: Quantity
                do { quantity = try Quantity(parsing: trimmed) } catch {
                    throw ConfigError(field: field, message: "invalid quantity \"\(text)\": \(error)")
                }
                guard quantity.amount > 0 else {
                    throw ConfigError(field: field, message: "threshold must be positive, got \"\(text)\"")
                }
                out.append(EvictionThreshold(signal: signal, value: .quantity(NSDecimalNumber(decimal: quantity.amount).doubleValue),
                                             text: trimmed))
            }
        }
        return out
    }
}

/// What the node has of one signal: how much is available and the capacity it is a share of.
public struct SignalObservation: Sendable, Hashable {
    public var available: Double
    public var capacity: Double
    public init(available: Double, capacity: Double) {
        self.available = available
        self.capacity = capacity
    }
}

public enum EvictionDecision {
    /// Thresholds crossed by the observations (signals without an observation are skipped).
    public static func crossed(_ thresholds: [EvictionThreshold],
                               _ observations: [EvictionSignal: SignalObservation]) -> [EvictionThreshold] {
        thresholds.filter { t in observations[t.signal].map(t.isCrossed) ?? false }
    }

    /// Every condition, true where some crossed threshold's signal sets it.
    public static func conditions(_ crossed: [EvictionThreshold]) -> [NodeCondition: Bool] {
        var out = Dictionary(uniqueKeysWithValues: NodeCondition.allCases.map { ($0, false) })
        for t in crossed { out[t.signal.condition] = true }
        return out
    }

    /// The threshold to act on first, like upstream: memory before disk before pids, then the
    /// signal that is furthest below its threshold (relative to capacity).
    public static func first(_ crossed: [EvictionThreshold], _ observations: [EvictionSignal: SignalObservation]) -> EvictionThreshold? {
        func order(_ s: EvictionSignal) -> Int {
            switch s.condition {
            case .memoryPressure: return 0
            case .diskPressure: return 1
            case .pidPressure: return 2
            }
        }
        func shortfall(_ t: EvictionThreshold) -> Double {
            guard let o = observations[t.signal], o.capacity > 0 else { return 0 }
            return (t.amount(capacity: o.capacity) - o.available) / o.capacity
        }
        return crossed.min { a, b in
            order(a.signal) != order(b.signal) ? order(a.signal) < order(b.signal) : shortfall(a) > shortfall(b)
        }
    }

    /// Upstream's eviction message: the resource, the threshold and what was available.
    public static func message(_ threshold: EvictionThreshold, _ observation: SignalObservation?) -> String {
        let available = observation.map { format($0.available, threshold.signal) } ?? "unknown"
        return "The node was low on resource: \(threshold.signal.resource). Threshold quantity: \(threshold.text), "
            + "available: \(available) (eviction signal \(threshold.signal.rawValue))."
    }

    static func format(_ value: Double, _ signal: EvictionSignal) -> String {
        switch signal.resource {
        case "memory", "ephemeral-storage":
            let units: [(Double, String)] = [(1_073_741_824, "Gi"), (1_048_576, "Mi"), (1024, "Ki")]
            for (size, suffix) in units where value >= size { return "\(Int((value / size).rounded(.down)))\(suffix)" }
            return "\(Int(value))"
        default:
            return "\(Int(value))"
        }
    }
}
