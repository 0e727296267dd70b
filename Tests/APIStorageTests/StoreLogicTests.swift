import Foundation
import Testing

@testable import APIStorage

@Suite("Key ranges, URLs, compaction policy")
struct StoreLogicTests {
    @Test func prefixEnd() {
        #expect(KeyRange.prefixEnd(Array("/registry/pods/".utf8)) == Array("/registry/pods0".utf8))
        #expect(KeyRange.prefixEnd([0x61, 0xFF]) == [0x62])
        #expect(KeyRange.prefixEnd([0xFF, 0xFF]) == nil)
        #expect(KeyRange.prefixEnd([]) == nil)
    }

    @Test func sqliteURL() throws {
        let (scheme, location, options) = try StoreFactory.parse(
            url: "sqlite:///var/lib/swiftlet/apiserver/state.db?synchronous=normal&compaction-interval=30s&retention=2m&retain-revisions=50&progress-interval=250ms")
        #expect(scheme == "sqlite")
        #expect(location == "/var/lib/swiftlet/apiserver/state.db")
        #expect(options.synchronous == .normal)
        #expect(options.compaction == CompactionPolicy(interval: .seconds(30), retention: .seconds(120), minRetainedRevisions: 50))
        #expect(options.progressInterval == .milliseconds(250))
        let off = try StoreFactory.parse(url: "sqlite:///x.db?compaction-interval=0").options
        #expect(off.compaction.interval == nil)
    }

    @Test func etcdURL() throws {
        let (scheme, location, options) = try StoreFactory.parse(url: "etcd://127.0.0.1:2379,127.0.0.2:2379?request-timeout=3s")
        #expect(scheme == "etcd")
        #expect(location == "127.0.0.1:2379,127.0.0.2:2379")
        #expect(options.requestTimeout == .seconds(3))
        #expect(try EtcdEndpoint(parsing: "http://10.0.0.1:2379") == EtcdEndpoint(host: "10.0.0.1", port: 2379))
    }

    @Test("bad URLs name the part that is wrong", arguments: [
        ("postgres://x", "scheme"),
        ("sqlite://", "missing"),
        ("sqlite:///x.db?synchronous=maybe", "synchronous=maybe"),
        ("sqlite:///x.db?retention=5 minutes", "retention"),
        ("sqlite:///x.db?request-timeout=1s", "request-timeout"),
        ("etcd://127.0.0.1:2379?synchronous=full", "synchronous"),
        ("sqlite:///x.db?bogus=1", "bogus"),
        ("state.db", "expected sqlite:///path"),
    ])
    func badURLs(url: String, named: String) async throws {
        do {
            _ = try await StoreFactory.open(url: url)
            Issue.record("\(url) was accepted")
        } catch let error as StorageError {
            guard case .invalidArgument(let reason) = error else {
                Issue.record("\(url): expected invalidArgument, got \(error)")
                return
            }
            #expect(reason.contains(named), "\(reason)")
        }
    }

    @Test("bad etcd endpoints", arguments: ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:http", ":2379", "https://127.0.0.1:2379"])
    func badEndpoints(_ text: String) {
        #expect(throws: StorageError.self) { try EtcdEndpoint(parsing: text) }
    }

    @Test func relativeSQLitePathIsRefused() {
        #expect(throws: StorageError.invalidArgument("sqlite path \"state.db\": must be absolute")) {
            try SQLiteStore(path: "state.db")
        }
    }

    @Test("compaction keeps both the retention window and the minimum revisions")
    func compactionTarget() {
        let clock = ContinuousClock()
        let now = clock.now
        let samples: [(at: ContinuousClock.Instant, revision: Int64)] = [
            (now - .seconds(600), 100), (now - .seconds(400), 5_000), (now - .seconds(200), 9_000), (now, 12_000),
        ]
        let policy = CompactionPolicy(interval: .seconds(60), retention: .seconds(300), minRetainedRevisions: 1000)
        // The newest sample at least 5 minutes old is 5,000.
        #expect(Compactor.target(samples: samples, now: now, current: 12_000, policy: policy) == 5_000)
        // Never closer than 1,000 revisions to the head.
        #expect(Compactor.target(samples: samples, now: now, current: 5_500, policy: policy) == 4_500)
        // Nothing old enough yet.
        #expect(Compactor.target(samples: [(now, 10)], now: now, current: 10, policy: policy) == nil)
        let eager = CompactionPolicy(interval: .seconds(1), retention: .zero, minRetainedRevisions: 100)
        #expect(Compactor.target(samples: [(now, 10_000)], now: now, current: 10_000, policy: eager) == 9_900)
    }
}
