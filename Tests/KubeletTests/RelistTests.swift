import CRIProto
import Testing

@testable import KubeletCore

/// The shared relist (PLEG): grouping, the diff that decides which workers are woken, when a
/// worker may trust the snapshot, and when it must ask ContainerStatus.
@Suite struct RelistTests {
    static func sandbox(_ id: String, uid: String, _ state: Runtime_V1_PodSandboxState = .sandboxReady) -> Runtime_V1_PodSandbox {
        var s = Runtime_V1_PodSandbox()
        s.id = id
        s.metadata.uid = uid
        s.state = state
        s.labels = [KubeLabels.podUID: uid, KubeLabels.managedBy: "true"]
        return s
    }

    static func container(_ id: String, uid: String, name: String = "main", attempt: UInt32 = 0,
                          _ state: Runtime_V1_ContainerState = .containerRunning) -> Runtime_V1_Container {
        var c = Runtime_V1_Container()
        c.id = id
        c.podSandboxID = "s-\(uid)"
        c.metadata.name = name
        c.metadata.attempt = attempt
        c.state = state
        c.labels = [KubeLabels.podUID: uid, KubeLabels.containerName: name, KubeLabels.managedBy: "true"]
        return c
    }

    static func snapshot(_ sandboxes: [Runtime_V1_PodSandbox], _ containers: [Runtime_V1_Container],
                         at taken: ContinuousClock.Instant = .now) -> RuntimeSnapshot {
        RuntimeSnapshot(taken: taken, sandboxes: sandboxes, containers: containers)
    }

    @Test func groupsSandboxesAndContainersByPodUID() {
        let s = Self.snapshot([Self.sandbox("s-a", uid: "a"), Self.sandbox("s-b", uid: "b")],
                              [Self.container("c1", uid: "a"), Self.container("c2", uid: "a", name: "side"),
                               Self.container("c3", uid: "b")])
        #expect(s.pods.keys.sorted() == ["a", "b"])
        #expect(s.pods["a"]?.containers.map(\.id).sorted() == ["c1", "c2"])
        #expect(s.pods["b"]?.sandboxes.map(\.id) == ["s-b"])
    }

    @Test func containersWithoutAPodLabelAreIgnored() {
        var stray = Self.container("c9", uid: "x")
        stray.labels = [:]
        let s = Self.snapshot([], [stray])
        #expect(s.pods.isEmpty)
    }

    @Test func diffPokesNewChangedAndGonePodsOnly() {
        let old = Self.snapshot(
            [Self.sandbox("s-same", uid: "same"), Self.sandbox("s-exit", uid: "exit"), Self.sandbox("s-gone", uid: "gone"),
             Self.sandbox("s-restart", uid: "restart"), Self.sandbox("s-sb", uid: "sb")],
            [Self.container("c-same", uid: "same"), Self.container("c-exit", uid: "exit"),
             Self.container("c-gone", uid: "gone"), Self.container("c-r0", uid: "restart", .containerExited),
             Self.container("c-sb", uid: "sb")]).pods
        let new = Self.snapshot(
            [Self.sandbox("s-same", uid: "same"), Self.sandbox("s-exit", uid: "exit"), Self.sandbox("s-new", uid: "new"),
             Self.sandbox("s-restart", uid: "restart"), Self.sandbox("s-sb", uid: "sb", .sandboxNotready)],
            [Self.container("c-same", uid: "same"), Self.container("c-exit", uid: "exit", .containerExited),
             Self.container("c-r0", uid: "restart", .containerExited),
             Self.container("c-r1", uid: "restart", attempt: 1), Self.container("c-sb", uid: "sb")]).pods
        let changed = RuntimeSnapshot.changedPods(from: old, to: new)
        #expect(changed == ["exit", "gone", "new", "restart", "sb"])
        #expect(!changed.contains("same"))
    }

    @Test func unchangedRelistPokesNobody() {
        let pods = Self.snapshot([Self.sandbox("s", uid: "a")], [Self.container("c", uid: "a")]).pods
        #expect(RuntimeSnapshot.changedPods(from: pods, to: pods).isEmpty)
    }

    @Test func cacheReportsChangesAndFirstRelistReportsAll() {
        let cache = RuntimeCache()
        let first = cache.update(Self.snapshot([Self.sandbox("s-a", uid: "a"), Self.sandbox("s-b", uid: "b")], []))
        #expect(first == ["a", "b"])
        let second = cache.update(Self.snapshot([Self.sandbox("s-a", uid: "a"), Self.sandbox("s-b", uid: "b")], []))
        #expect(second.isEmpty)
        let third = cache.update(Self.snapshot([Self.sandbox("s-a", uid: "a")], []))
        #expect(third == ["b"])
    }

    @Test func workerTrustsOnlyASnapshotNewerThanItsChangesAndEvents() {
        let cache = RuntimeCache()
        let t0 = ContinuousClock.now
        if case .fresh = cache.lookup(uid: "a", after: nil) { Issue.record("no relist yet: must be stale") }
        cache.update(Self.snapshot([Self.sandbox("s-a", uid: "a")], [Self.container("c", uid: "a")], at: t0))
        guard case .fresh(let record) = cache.lookup(uid: "a", after: nil) else {
            Issue.record("expected fresh")
            return
        }
        #expect(record.containers.map(\.id) == ["c"])
        // A pod the runtime has nothing of: fresh and empty (the worker creates a sandbox).
        guard case .fresh(let none) = cache.lookup(uid: "other", after: nil) else {
            Issue.record("expected fresh")
            return
        }
        #expect(none.sandboxes.isEmpty && none.containers.isEmpty)
        // The worker changed the pod after the relist started: the snapshot does not have it.
        if case .fresh = cache.lookup(uid: "a", after: t0 + .milliseconds(5)) { Issue.record("must be stale after a change") }
        if case .stale = cache.lookup(uid: "a", after: t0 - .milliseconds(5)) { Issue.record("change before the relist: fresh") }
        // A CRI event for the pod after the relist started: stale until the next relist.
        cache.noteEvent(uid: "a", at: t0 + .milliseconds(1))
        if case .fresh = cache.lookup(uid: "a", after: nil) { Issue.record("must be stale after an event") }
        if case .stale = cache.lookup(uid: "b", after: nil) { Issue.record("another pod's event does not matter") }
        cache.update(Self.snapshot([Self.sandbox("s-a", uid: "a")], [], at: t0 + .milliseconds(2)))
        if case .stale = cache.lookup(uid: "a", after: nil) { Issue.record("a newer relist covers the event") }
    }

    static func observed(_ id: String, _ state: Runtime_V1_ContainerState, complete: Bool = true) -> ObservedContainer {
        ObservedContainer(id: id, name: "main", attempt: 0, state: state, createdAt: 1, startedAt: 2, finishedAt: 0,
                          exitCode: 0, reason: "", message: "", image: "i", imageRef: "r", logPath: "l", complete: complete)
    }

    @Test func containerStatusOnlyForUnknownOrChangedContainers() {
        let running = Self.container("c1", uid: "a")
        #expect(PodWorker.needsStatus(running, known: nil))
        #expect(!PodWorker.needsStatus(running, known: Self.observed("c1", .containerRunning)))
        #expect(PodWorker.needsStatus(running, known: Self.observed("c1", .containerRunning, complete: false)))
        #expect(PodWorker.needsStatus(Self.container("c1", uid: "a", .containerExited), known: Self.observed("c1", .containerRunning)))
        #expect(PodWorker.needsStatus(Self.container("c2", uid: "a", attempt: 1), known: Self.observed("c1", .containerRunning)))
    }

    @Test func aSandboxWithoutThePodLabelIsNotThePods() {
        // Made by someone else with the pod's UID in its metadata (crictl, a test): not grouped
        // under the pod, so a worker reading the relist never adopts it.
        var foreign = Self.sandbox("s-foreign", uid: "a")
        foreign.labels = [KubeLabels.managedBy: "true"]
        let s = Self.snapshot([Self.sandbox("s-a", uid: "a"), foreign], [])
        #expect(s.pods["a"]?.sandboxes.map(\.id) == ["s-a"])
    }

    static func record(_ sandboxes: [Runtime_V1_PodSandbox], _ containers: [Runtime_V1_Container]) -> PodRecord {
        PodRecord(sandboxes: sandboxes, containers: containers)
    }

    @Test func foreignContainersNeverReplaceTheRunningOne() {
        var live = Self.sandbox("s-a", uid: "a")
        live.createdAt = 10
        // A newer ready sandbox without the kubelet's labels, holding a container with the pod's
        // UID; and in the live sandbox, a higher attempt made by crictl (no kubelet label).
        var foreignSandbox = Self.sandbox("s-x", uid: "a")
        foreignSandbox.createdAt = 20
        foreignSandbox.labels = [KubeLabels.managedBy: "true"]
        var running = Self.container("c0", uid: "a")
        running.createdAt = 10
        var crictl = Self.container("c-crictl", uid: "a", attempt: 3, .containerExited)
        crictl.createdAt = 30
        crictl.labels = [KubeLabels.podUID: "a", KubeLabels.containerName: "main"]
        var elsewhere = Self.container("c-x", uid: "a", attempt: 5, .containerExited)
        elsewhere.podSandboxID = "s-x"
        let pick = PodWorker.select(Self.record([live, foreignSandbox], [running, crictl, elsewhere]), uid: "a")
        #expect(pick.sandboxID == "s-a")
        #expect(pick.sandboxCount == 2)
        #expect(pick.current["main"]?.id == "c0")
        #expect(pick.previous["main"] == nil)
        // New attempts still skip the names the others hold (the runtime reserves them).
        #expect(pick.highestAttempt["main"] == 5)
    }

    @Test func aRunningContainerWinsOverAHigherDeadAttemptAndTheNewestDeadOneIsPrevious() {
        var older = Self.sandbox("s-old", uid: "a", .sandboxNotready)
        older.createdAt = 1
        var live = Self.sandbox("s-a", uid: "a")
        live.createdAt = 10
        var first = Self.container("c0", uid: "a", attempt: 0, .containerExited)
        first.podSandboxID = "s-old"
        first.createdAt = 2
        var second = Self.container("c1", uid: "a", attempt: 1, .containerExited)
        second.createdAt = 11
        var third = Self.container("c2", uid: "a", attempt: 2, .containerExited)
        third.createdAt = 12
        var running = Self.container("c3", uid: "a", attempt: 1)
        running.createdAt = 13
        let pick = PodWorker.select(Self.record([older, live], [first, second, third, running]), uid: "a")
        #expect(pick.sandboxID == "s-a")
        #expect(pick.sandboxCount == 2)
        #expect(pick.current["main"]?.id == "c3")
        #expect(pick.previous["main"]?.id == "c2")
        // Without a running one: the highest attempt is current, the next newest is previous.
        let dead = PodWorker.select(Self.record([older, live], [first, second, third]), uid: "a")
        #expect(dead.current["main"]?.id == "c2")
        #expect(dead.previous["main"]?.id == "c1")
    }

    @Test func aFailedSyncIsRetriedAfterUpstreamsJitteredBackOff() {
        #expect(PodWorker.syncErrorRetry(random: 0) == 10)
        #expect(PodWorker.syncErrorRetry(random: 0.999) < 15)
        for _ in 0..<100 {
            let retry = PodWorker.syncErrorRetry()
            #expect(retry >= 10 && retry < 15)
        }
    }
}
