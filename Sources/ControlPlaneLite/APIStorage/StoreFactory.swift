import Logging

/// Opens a store from a URL:
/// - `sqlite:///var/lib/swiftlet/apiserver/state.db` (absolute path; the default store)
/// - `etcd://127.0.0.1:2379[,127.0.0.2:2379…]` (etcd v3 endpoints; the next one is used when
///   the current one fails)
///
/// Query items (both stores unless noted): `compaction-interval` (`60s`; `0` turns automatic
/// compaction off), `retention` (`5m`), `retain-revisions` (`1000`), `watch-queue-limit`
/// (`10000`); SQLite only: `synchronous` (`full` or `normal`), `progress-interval` (`5s`);
/// etcd only: `request-timeout` (`10s`). Durations take `ms`, `s`, `m` or `h`.
public enum StoreFactory {
    public static func open(url: String, logger: Logger = Logger(label: "swiftlet.apistorage")) async throws -> any Store {
        let (scheme, location, options) = try parse(url: url)
        switch scheme {
        case "sqlite":
            return try SQLiteStore(path: location, options: options, logger: logger)
        case "etcd":
            let endpoints = try location.split(separator: ",", omittingEmptySubsequences: false).map {
                try EtcdEndpoint(parsing: String($0))
            }
            return try await EtcdStore(endpoints: endpoints, options: options, logger: logger)
        default:
            throw StorageError.invalidArgument("store URL \(url.debugDescription): scheme must be sqlite:// or etcd://")
        }
    }

    /// Splits a store URL into its scheme, location (path or endpoint list) and options.
    static func parse(url: String) throws -> (scheme: String, location: String, options: StoreOptions) {
        guard let schemeEnd = url.range(of: "://") else {
            throw StorageError.invalidArgument(
                "store URL \(url.debugDescription): expected sqlite:///path or etcd://host:port[,host:port…]")
        }
        let scheme = String(url[..<schemeEnd.lowerBound])
        let rest = url[schemeEnd.upperBound...]
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let location = String(parts[0])
        if location.isEmpty {
            throw StorageError.invalidArgument("store URL \(url.debugDescription): missing path or endpoints")
        }
        var options = StoreOptions()
        if parts.count == 2 {
            for item in parts[1].split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(pair[0])
                let value = pair.count == 2 ? String(pair[1]) : ""
                try apply(name: name, value: value, scheme: scheme, to: &options)
            }
        }
        return (scheme, location, options)
    }

    private static func apply(name: String, value: String, scheme: String, to options: inout StoreOptions) throws {
        func bad(_ reason: String) -> StorageError {
            .invalidArgument("store URL option \(name)=\(value): \(reason)")
        }
        switch name {
        case "synchronous" where scheme == "sqlite":
            guard let synchronous = StoreOptions.Synchronous(rawValue: value) else { throw bad("must be full or normal") }
            options.synchronous = synchronous
        case "compaction-interval":
            let interval = try duration(value, bad)
            options.compaction.interval = interval == .zero ? nil : interval
        case "retention":
            options.compaction.retention = try duration(value, bad)
        case "retain-revisions":
            guard let count = Int64(value), count >= 0 else { throw bad("must be a whole number ≥ 0") }
            options.compaction.minRetainedRevisions = count
        case "watch-queue-limit":
            guard let limit = Int(value), limit >= 1 else { throw bad("must be a whole number ≥ 1") }
            options.watchQueueLimit = limit
        case "progress-interval" where scheme == "sqlite":
            let interval = try duration(value, bad)
            if interval <= .zero { throw bad("must be positive") }
            options.progressInterval = interval
        case "request-timeout" where scheme == "etcd":
            let timeout = try duration(value, bad)
            if timeout <= .zero { throw bad("must be positive") }
            options.requestTimeout = timeout
        default:
            throw StorageError.invalidArgument("store URL option \(name.debugDescription): unknown for \(scheme)://")
        }
    }

    /// "250ms", "30s", "5m", "1h", or "0".
    static func duration(_ text: String, _ bad: (String) -> StorageError) throws -> Duration {
        if text == "0" { return .zero }
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (unit, milliseconds) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            // "5ms" also ends in "s": only accept a plain number before the unit.
            if let value = Int64(number), value >= 0 {
                return .milliseconds(value * milliseconds)
            }
        }
        throw bad("must be a duration like 250ms, 30s, 5m or 1h")
    }
}
