import Foundation
import Synchronization
import Testing

@testable import CRI

@Suite struct OperationLocksTests {
    /// Counts how many bodies run at once per key.
    final class Tracker: Sendable {
        let state = Mutex<(current: [String: Int], peak: [String: Int], order: [Int])>(([:], [:], []))

        func enter(_ id: String) {
            state.withLock {
                $0.current[id, default: 0] += 1
                $0.peak[id] = max($0.peak[id] ?? 0, $0.current[id] ?? 0)
            }
        }

        func leave(_ id: String, _ n: Int) {
            state.withLock {
                $0.current[id, default: 0] -= 1
                $0.order.append(n)
            }
        }
    }

    @Test func oneAtATimePerID() async throws {
        let locks = OperationLocks()
        let tracker = Tracker()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<20 {
                group.addTask {
                    try await locks.with("a") {
                        tracker.enter("a")
                        try await Task.sleep(for: .milliseconds(2))
                        tracker.leave("a", n)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(tracker.state.withLock { $0.peak["a"] } == 1)
        #expect(tracker.state.withLock { $0.order.count } == 20)
        #expect(await locks.busy == 0)
    }

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    @Test func differentIDsRunTogether() async throws {
        let locks = OperationLocks()
        let started = Counter()
        // Two bodies on different IDs each wait for the other to have started: this only ends
        // if they run at the same time.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ["x", "y"] {
                group.addTask {
                    try await locks.with(id) {
                        started.value.withLock { $0 += 1 }
                        let deadline = ContinuousClock.now + .seconds(5)
                        while started.value.withLock({ $0 }) < 2 {
                            guard ContinuousClock.now < deadline else { throw CancellationError() }
                            try await Task.sleep(for: .milliseconds(1))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(started.value.withLock { $0 } == 2)
    }

    @Test func aThrowingBodyReleasesTheLock() async throws {
        struct Boom: Error {}
        let locks = OperationLocks()
        await #expect(throws: Boom.self) { try await locks.with("z") { throw Boom() } }
        let value = try await locks.with("z") { 7 }
        #expect(value == 7)
        #expect(await locks.busy == 0)
    }
}
