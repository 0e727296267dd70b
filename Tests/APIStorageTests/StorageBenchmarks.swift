import Foundation
import Synchronization
import Testing

@testable import APIStorage

/// The storage half of the ControlPlaneLite benchmark, SQLite and etcd side by side in one run.
/// Skipped unless SWIFTLET_BENCH=1 (run it through bench/apistorage.sh, release build).
/// Prints one line per figure: the median over SWIFTLET_BENCH_ROUNDS rounds (default 3).
@Suite("Storage benchmarks", .serialized, .enabled(if: ProcessInfo.processInfo.environment["SWIFTLET_BENCH"] == "1"))
struct StorageBenchmarks {
    enum Subject: String, CaseIterable {
        case sqliteFull = "sqlite(synchronous=full)"
        case sqliteNormal = "sqlite(synchronous=normal)"
        case etcd = "etcd 3.4"
    }

    static var rounds: Int { Int(ProcessInfo.processInfo.environment["SWIFTLET_BENCH_ROUNDS"] ?? "") ?? 3 }

    /// Opens a fresh store of `subject` with `options`, runs `body`, cleans up.
    func with<T>(_ subject: Subject, options: StoreOptions = .testing, _ body: (any Store) async throws -> T) async throws -> T {
        var options = options
        switch subject {
        case .sqliteFull, .sqliteNormal:
            options.synchronous = subject == .sqliteFull ? .full : .normal
            let directory = try TemporaryDirectory("apistorage-bench")
            let store = try SQLiteStore(path: directory.path + "/state.db", options: options)
            defer { _ = directory }
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        case .etcd:
            let server = try await EtcdServer()
            defer { withExtendedLifetime(server) {} }
            do {
                let store = try await EtcdStore(endpoints: [server.endpoint], options: options)
                do {
                    let result = try await body(store)
                    await store.close()
                    return result
                } catch {
                    await store.close()
                    let log = (try? String(contentsOfFile: server.directory.path + "/etcd.log", encoding: .utf8)) ?? ""
                    print("etcd running: \(server.process.isRunning); log tail:\n\(log.suffix(3000))")
                    throw error
                }
            }
        }
    }

    static let podValue = bytes(String(repeating: "p", count: Int(ProcessInfo.processInfo.environment["SWIFTLET_BENCH_VALUE"] ?? "") ?? 1_500))  // a typical pod's JSON size

    /// Creates `count` keys with `clients` concurrent writers; returns per-write latencies (s)
    /// and the wall time.
    func creates(_ store: any Store, count: Int, clients: Int) async throws -> (latencies: [Double], wall: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    var index = client
                    while index < count {
                        let begin = clock.now
                        _ = try await store.create("/registry/pods/bench/pod-\(String(format: "%05d", index))", value: Self.podValue)
                        latencies.append((clock.now - begin).seconds)
                        index += clients
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        return (latencies, (clock.now - start).seconds)
    }

    @Test("1,000 creates, a full list, 100 watchers, lease churn: SQLite and etcd")
    func storageFigures() async throws {
        var results: [String: [Subject: [Double]]] = [:]
        func record(_ figure: String, _ subject: Subject, _ value: Double) {
            results[figure, default: [:]][subject, default: []].append(value)
        }
        for round in 1...Self.rounds {
            for subject in Subject.allCases {
                try await with(subject) { store in
                    for clients in [1, 16] {
                        let (latencies, wall) = try await creates(store, count: 1_000, clients: clients)
                        record("create x1000, \(clients) client(s): writes/s", subject, 1_000 / wall)
                        record("create x1000, \(clients) client(s): p50 ms", subject, percentile(latencies, 0.50) * 1000)
                        record("create x1000, \(clients) client(s): p99 ms", subject, percentile(latencies, 0.99) * 1000)
                        if clients == 1 {
                            let clock = ContinuousClock()
                            var lists: [Double] = []
                            for _ in 0..<5 {
                                let begin = clock.now
                                let list = try await store.list(prefix: "/registry/pods/bench/", startAfter: nil, limit: nil, revision: nil)
                                lists.append((clock.now - begin).seconds)
                                #expect(list.items.count == 1_000)
                            }
                            record("list of 1000 (1.5 KB each): ms", subject, percentile(lists, 0.5) * 1000)
                            // Clear the keys for the concurrent run.
                            for item in try await store.list(prefix: "/registry/pods/bench/", startAfter: nil, limit: nil, revision: nil).items {
                                _ = try await store.delete(item.key, expectedRevision: nil)
                            }
                        }
                    }
                    let (p50, p99, all) = try await fanOut(store, watchers: 100, events: 100)
                    record("100 watchers x 100 events: delivery p50 ms", subject, p50 * 1000)
                    record("100 watchers x 100 events: delivery p99 ms", subject, p99 * 1000)
                    record("100 watchers x 100 events: all delivered s", subject, all)
                }
                var churn = StoreOptions.testing
                churn.compaction = CompactionPolicy(interval: .milliseconds(200), retention: .zero, minRetainedRevisions: 1000)
                let size = try await with(subject, options: churn) { store in
                    try await leaseChurn(store, updates: 10_000)
                }
                record("10,000 lease updates, compaction on: DB KiB", subject, size / 1024)
            }
            print("round \(round) of \(Self.rounds) done")
        }
        print("")
        print(String(format: "%-48@ %14@ %14@ %14@ %10@", "figure (median of \(Self.rounds))" as NSString,
            "sqlite full" as NSString, "sqlite normal" as NSString, "etcd" as NSString, "full/etcd" as NSString))
        for figure in results.keys.sorted() {
            let medians = Subject.allCases.map { results[figure]?[$0].map { percentile($0, 0.5) } ?? .nan }
            print(String(format: "%-48@ %14.2f %14.2f %14.2f %10.2f", figure as NSString, medians[0], medians[1], medians[2], medians[0] / medians[2]))
        }
    }

    /// `watchers` watches on one prefix; `events` sequential writes; per delivery latency from
    /// the write's start to each watcher's receipt.
    func fanOut(_ store: any Store, watchers: Int, events: Int) async throws -> (Double, Double, Double) {
        let prefix = "/registry/configmaps/fanout/"
        let start = try await store.currentRevision()
        let clock = ContinuousClock()
        let sent = SendTimes()
        let origin = clock.now
        return try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<watchers {
                let stream = store.watch(prefix: prefix, afterRevision: start)
                group.addTask {
                    var latencies: [Double] = []
                    for try await event in stream {
                        if case .progress = event { continue }
                        let now = clock.now
                        // The writer records the start before the write, so it is there.
                        if let began = sent.get(event.revision) {
                            latencies.append((now - began).seconds)
                        }
                        if latencies.count == events { break }
                    }
                    return latencies
                }
            }
            var expected = start
            for index in 0..<events {
                let begin = clock.now
                sent.set(expected + 1, begin)
                let created = try await store.create(prefix + "cm-\(index)", value: bytes("x"))
                #expect(created.modRevision == expected + 1)
                expected = created.modRevision
            }
            var all: [Double] = []
            for try await latencies in group {
                #expect(latencies.count == events)
                all += latencies
            }
            return (percentile(all, 0.5), percentile(all, 0.99), (clock.now - origin).seconds)
        }
    }

    /// 10,000 updates of one lease with automatic compaction on; returns the bytes on disk.
    func leaseChurn(_ store: any Store, updates: Int) async throws -> Double {
        let key = "/registry/leases/kube-node-lease/node-1"
        let lease = bytes(String(repeating: "l", count: 400))
        var last = try await store.create(key, value: lease)
        for _ in 0..<updates {
            last = try await store.update(key, value: lease, expectedRevision: last.modRevision)
        }
        // Let the compactor's next pass run (it samples every 200 ms).
        try await Task.sleep(for: .milliseconds(600))
        if let sqlite = store as? SQLiteStore {
            return Double(sqlite.fileSize())
        }
        if let etcd = store as? EtcdStore {
            try await etcd.defragment()
            return Double(try await etcd.databaseSize().allocated)
        }
        return .nan
    }
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))
    return sorted[index]
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// When each revision's write began (fan-out benchmark).
final class SendTimes: Sendable {
    private let times = Mutex<[Int64: ContinuousClock.Instant]>([:])
    func set(_ revision: Int64, _ instant: ContinuousClock.Instant) { times.withLock { $0[revision] = instant } }
    func get(_ revision: Int64) -> ContinuousClock.Instant? { times.withLock { $0[revision] } }
}
