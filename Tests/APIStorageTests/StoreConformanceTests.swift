import Foundation
import Testing

@testable import APIStorage

/// One suite, both stores: what the apiserver relies on.
@Suite("Store conformance", .serialized)
struct StoreConformanceTests {
    @Test("create, get, update, delete", arguments: Backend.allCases)
    func crud(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let key = "/registry/pods/default/web-1"
            let created = try await store.create(key, value: bytes("v1"))
            #expect(created.createRevision == created.modRevision)
            #expect(try await store.get(key) == created)
            #expect(try await store.currentRevision() == created.modRevision)

            await #expect(throws: StorageError.alreadyExists(key: key)) {
                try await store.create(key, value: bytes("again"))
            }
            #expect(try await store.get(key)?.value == bytes("v1"))

            let updated = try await store.update(key, value: bytes("v2"), expectedRevision: nil)
            #expect(updated.modRevision > created.modRevision)
            #expect(updated.createRevision == created.createRevision)
            #expect(try await store.get(key) == updated)

            let deleted = try await store.delete(key, expectedRevision: nil)
            #expect(deleted.value == bytes("v2"))
            #expect(deleted.modRevision > updated.modRevision)
            #expect(try await store.get(key) == nil)
            #expect(try await store.currentRevision() == deleted.modRevision)

            await #expect(throws: StorageError.notFound(key: key)) {
                try await store.update(key, value: bytes("v3"), expectedRevision: nil)
            }
            await #expect(throws: StorageError.notFound(key: key)) {
                try await store.delete(key, expectedRevision: nil)
            }
            // A key can be created again after deletion, with a new createRevision.
            let recreated = try await store.create(key, value: bytes("v4"))
            #expect(recreated.createRevision > deleted.modRevision)
        }
    }

    @Test("compare-and-swap on modRevision", arguments: Backend.allCases)
    func compareAndSwap(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let key = "/registry/configmaps/default/cas"
            let first = try await store.create(key, value: bytes("1"))
            let second = try await store.update(key, value: bytes("2"), expectedRevision: first.modRevision)
            await #expect(
                throws: StorageError.conflict(key: key, expected: first.modRevision, actual: second.modRevision)
            ) {
                try await store.update(key, value: bytes("stale"), expectedRevision: first.modRevision)
            }
            await #expect(
                throws: StorageError.conflict(key: key, expected: first.modRevision, actual: second.modRevision)
            ) {
                try await store.delete(key, expectedRevision: first.modRevision)
            }
            #expect(try await store.get(key)?.value == bytes("2"))
            let gone = try await store.delete(key, expectedRevision: second.modRevision)
            #expect(gone.value == bytes("2"))
            await #expect(throws: StorageError.notFound(key: key)) {
                try await store.update(key, value: bytes("3"), expectedRevision: second.modRevision)
            }
        }
    }

    @Test("pagination reads one consistent revision", arguments: Backend.allCases)
    func pagination(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let prefix = "/registry/pods/ns/"
            for index in 0..<25 {
                _ = try await store.create(prefix + String(format: "pod-%02d", index), value: bytes("v\(index)"))
            }
            _ = try await store.create("/registry/pods/ns2/other", value: bytes("x"))
            _ = try await store.create("/registry/pods/nr", value: bytes("x"))
            #expect(try await store.count(prefix: prefix) == 25)

            let first = try await store.list(prefix: prefix, startAfter: nil, limit: 10, revision: nil)
            #expect(first.items.map(\.key) == (0..<10).map { prefix + String(format: "pod-%02d", $0) })
            #expect(first.more)
            #expect(first.remaining == 15)
            let snapshot = first.revision

            // Changes after the first page must not show in later pages read at its revision.
            _ = try await store.update(prefix + "pod-15", value: bytes("changed"), expectedRevision: nil)
            _ = try await store.delete(prefix + "pod-20", expectedRevision: nil)
            _ = try await store.create(prefix + "pod-99", value: bytes("new"))

            var pages = [first]
            while let last = pages.last, last.more {
                let next = try await store.list(
                    prefix: prefix, startAfter: last.items.last?.key, limit: 10, revision: snapshot)
                #expect(next.revision == snapshot)
                pages.append(next)
            }
            let all = pages.flatMap(\.items)
            #expect(pages.count == 3)
            #expect(all.map(\.key) == (0..<25).map { prefix + String(format: "pod-%02d", $0) })
            #expect(all.first { $0.key == prefix + "pod-15" }?.value == bytes("v15"))
            #expect(pages.last?.remaining == 0)

            let whole = try await store.list(prefix: prefix, startAfter: nil, limit: nil, revision: snapshot)
            #expect(whole.items == all)
            #expect(!whole.more)

            let now = try await store.list(prefix: prefix, startAfter: nil, limit: nil, revision: nil)
            #expect(now.items.count == 25)
            #expect(now.items.contains { $0.key == prefix + "pod-99" })
            #expect(!now.items.contains { $0.key == prefix + "pod-20" })
            #expect(now.items.first { $0.key == prefix + "pod-15" }?.value == bytes("changed"))
            #expect(now.revision == (try await store.currentRevision()))
        }
    }

    @Test("watch replays from a revision, then follows live changes", arguments: Backend.allCases)
    func watchFromRevision(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let prefix = "/registry/services/"
            let start = try await store.currentRevision()
            let a1 = try await store.create(prefix + "a", value: bytes("1"))
            _ = try await store.create("/registry/pods/x", value: bytes("other prefix"))
            let a2 = try await store.update(prefix + "a", value: bytes("2"), expectedRevision: nil)
            let gone = try await store.delete(prefix + "a", expectedRevision: nil)

            let stream = store.watch(prefix: prefix, afterRevision: start)
            let replayed = try await collect(stream, count: 3)
            #expect(replayed.count == 3)
            guard replayed.count == 3 else { return }
            #expect(replayed[0] == .added(a1))
            if case .modified(let object, let previous) = replayed[1] {
                #expect(object == a2)
                #expect(previous == a1)
            } else {
                Issue.record("expected modified, got \(replayed[1])")
            }
            if case .deleted(let last, let revision) = replayed[2] {
                #expect(last.value == bytes("2"))
                #expect(last.modRevision == a2.modRevision)
                #expect(revision == gone.modRevision)
            } else {
                Issue.record("expected deleted, got \(replayed[2])")
            }

            // From a later revision: only what followed it, then a live change.
            let later = store.watch(prefix: prefix, afterRevision: a2.modRevision)
            let live = Task { try await store.create(prefix + "b", value: bytes("live")) }
            let events = try await collect(later, count: 2)
            let b = try await live.value
            #expect(events.map(\.revision) == [gone.modRevision, b.modRevision])
            #expect(events.last == .added(b))
        }
    }

    @Test("watchers get progress bookmarks while idle", arguments: Backend.allCases)
    func bookmarks(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let created = try await store.create("/registry/leases/n1", value: bytes("1"))
            let stream = store.watch(prefix: "/registry/leases/", afterRevision: created.modRevision)
            let events = try await collect(stream, count: 1, skipProgress: false)
            #expect(events == [.progress(revision: created.modRevision)])
        }
    }

    @Test("compacted history answers .compacted to reads and watches", arguments: Backend.allCases)
    func compaction(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let key = "/registry/leases/kube-node-lease/n1"
            let first = try await store.create(key, value: bytes("0"))
            var last = first
            for round in 1...10 {
                last = try await store.update(key, value: bytes("\(round)"), expectedRevision: last.modRevision)
            }
            let other = try await store.create("/registry/leases/kube-node-lease/n2", value: bytes("n2"))
            let through = last.modRevision
            try await store.compact(through: through)
            try await store.compact(through: through)  // again: nothing to do, no error

            await #expect(throws: StorageError.self) {
                _ = try await store.list(prefix: "/registry/leases/", startAfter: nil, limit: nil, revision: first.modRevision)
            }
            do {
                _ = try await store.list(prefix: "/registry/leases/", startAfter: nil, limit: nil, revision: first.modRevision)
            } catch let error as StorageError {
                guard case .compacted(let requested, let compactedThrough) = error else {
                    Issue.record("expected .compacted, got \(error)")
                    return
                }
                #expect(requested == first.modRevision)
                #expect(compactedThrough == through)
            }
            let atCompaction = try await store.list(prefix: "/registry/leases/", startAfter: nil, limit: nil, revision: through)
            #expect(atCompaction.items.map(\.value) == [bytes("10")])
            #expect(try await store.get(key) == last)
            #expect(try await store.get(other.key) == other)

            var watchError: (any Error)?
            do {
                for try await _ in store.watch(prefix: "/registry/leases/", afterRevision: first.modRevision) {}
            } catch {
                watchError = error
            }
            guard case .compacted(_, let compactedThrough)? = watchError as? StorageError else {
                Issue.record("expected the watch to end with .compacted, got \(String(describing: watchError))")
                return
            }
            #expect(compactedThrough == through)

            // Watching from the compaction revision on still works.
            let events = try await collect(store.watch(prefix: "/registry/leases/", afterRevision: through), count: 1)
            #expect(events == [.added(other)])
            await #expect(throws: StorageError.self) { try await store.compact(through: other.modRevision + 100) }
        }
    }

    @Test("100 concurrent watchers each receive every event in order", arguments: Backend.allCases)
    func hundredWatchers(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let prefix = "/registry/configmaps/fanout/"
            let start = try await store.currentRevision()
            let writers = 4
            let perWriter = 25
            let expectedCount = writers * perWriter * 2  // create + update each
            try await withThrowingTaskGroup(of: [Int64].self) { group in
                for _ in 0..<100 {
                    let stream = store.watch(prefix: prefix, afterRevision: start)
                    group.addTask {
                        try await collect(stream, count: expectedCount, patience: .seconds(120)).map(\.revision)
                    }
                }
                var written: [Int64] = []
                try await withThrowingTaskGroup(of: [Int64].self) { writersGroup in
                    for writer in 0..<writers {
                        writersGroup.addTask {
                            var revisions: [Int64] = []
                            for index in 0..<perWriter {
                                let key = prefix + "w\(writer)-\(index)"
                                let created = try await store.create(key, value: bytes("c"))
                                let updated = try await store.update(key, value: bytes("u"), expectedRevision: created.modRevision)
                                revisions += [created.modRevision, updated.modRevision]
                            }
                            return revisions
                        }
                    }
                    for try await revisions in writersGroup { written += revisions }
                }
                written.sort()
                #expect(written.count == expectedCount)
                var watchers = 0
                for try await seen in group {
                    watchers += 1
                    #expect(seen == written)
                }
                #expect(watchers == 100)
            }
        }
    }

    @Test("concurrent writers on one key: exactly one wins each round", arguments: Backend.allCases)
    func concurrentWriters(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let key = "/registry/deployments/default/contended"
            // Concurrent creates: one succeeds, the rest see alreadyExists.
            let creates = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        do {
                            _ = try await store.create(key, value: bytes("creator-\(index)"))
                            return true
                        } catch StorageError.alreadyExists {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(creates == 1)

            for round in 0..<10 {
                guard let current = try await store.get(key) else {
                    Issue.record("key vanished")
                    return
                }
                let winners = try await withThrowingTaskGroup(of: StoredObject?.self) { group in
                    for writer in 0..<10 {
                        group.addTask {
                            do {
                                return try await store.update(
                                    key, value: bytes("round-\(round)-writer-\(writer)"), expectedRevision: current.modRevision)
                            } catch StorageError.conflict(_, let expected, let actual) {
                                #expect(expected == current.modRevision)
                                #expect(actual > current.modRevision)
                                return nil
                            }
                        }
                    }
                    return try await group.reduce(into: [StoredObject]()) { if let won = $1 { $0.append(won) } }
                }
                #expect(winners.count == 1)
                #expect(try await store.get(key) == winners.first)
            }
        }
    }

    @Test("bad arguments are refused with the field named", arguments: Backend.allCases)
    func badArguments(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            await #expect(throws: StorageError.invalidArgument("key: must not be empty")) {
                try await store.create("", value: [])
            }
            await #expect(throws: StorageError.self) { try await store.create("/a\u{0}b", value: []) }
            await #expect(throws: StorageError.invalidArgument("limit 0: must be at least 1 (nil means no limit)")) {
                try await store.list(prefix: "/", startAfter: nil, limit: 0, revision: nil)
            }
            await #expect(throws: StorageError.self) {
                try await store.list(prefix: "/a/", startAfter: "/b/x", limit: nil, revision: nil)
            }
            let now = try await store.currentRevision()
            do {
                _ = try await store.list(prefix: "/", startAfter: nil, limit: nil, revision: now + 1000)
                Issue.record("a future revision was accepted")
            } catch StorageError.invalidArgument(let reason) {
                #expect(reason.contains("revision"))
            }
            #expect(try await store.currentRevision() == now)
        }
    }

    @Test("a slow watcher is ended, not buffered without bound", arguments: Backend.allCases)
    func slowWatcher(_ backend: Backend) async throws {
        var options = StoreOptions.testing
        options.watchQueueLimit = 10
        try await withStore(backend, options: options) { store in
            let start = try await store.currentRevision()
            let stream = store.watch(prefix: "/registry/events/", afterRevision: start)
            var iterator = stream.makeAsyncIterator()
            // Take the first event so the watch is established before the burst.
            _ = try await store.create("/registry/events/e-first", value: bytes("x"))
            _ = try await iterator.next()
            for index in 0..<50 {
                _ = try await store.create("/registry/events/e\(index)", value: bytes("x"))
            }
            var delivered = 0
            var failure: (any Error)?
            do {
                while let event = try await iterator.next() {
                    if case .progress = event { continue }
                    delivered += 1
                    if delivered > 60 { break }
                }
            } catch {
                failure = error
            }
            #expect(delivered <= 10)
            guard case .unavailable(let reason)? = failure as? StorageError else {
                Issue.record("expected the watch to end with .unavailable, got \(String(describing: failure))")
                return
            }
            #expect(reason.contains("fell"))
        }
    }
}
