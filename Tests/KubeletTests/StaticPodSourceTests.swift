import Foundation
import Logging
import Testing

@testable import KubeletCore

@Suite struct StaticPodSourceTests {
    static func manifest(_ name: String, image: String = "busybox") -> [UInt8] {
        Array("metadata: {name: \(name)}\nspec: {containers: [{name: c, image: \(image)}]}\n".utf8)
    }

    @Test func diffAddsReplacesRemovesAndReportsBadFilesOnce() {
        var dir = ManifestDirectory(path: "/m", nodeName: "n1")
        var events = dir.apply(files: ["/m/a.yaml": Self.manifest("a"), "/m/b.yaml": Self.manifest("b")])
        #expect(events.count == 2)
        guard case .added(let a) = events[0] else { Issue.record("want added"); return }
        #expect(a.metadata.name == "a-n1")
        // Unchanged: nothing.
        #expect(dir.apply(files: ["/m/a.yaml": Self.manifest("a"), "/m/b.yaml": Self.manifest("b")]).isEmpty)
        // Edit a, break b: a replaced, b reported once and kept running.
        let bad = Array("spec: {containers: [{name: c}]}\n".utf8)
        events = dir.apply(files: ["/m/a.yaml": Self.manifest("a", image: "busybox:2"), "/m/b.yaml": bad])
        #expect(events.count == 2)
        if case .replaced(let old, let new) = events[0] {
            #expect(old.metadata.uid != new.metadata.uid)
            #expect(new.spec.containers[0].image == "busybox:2")
        } else { Issue.record("want replaced, got \(events[0])") }
        if case .invalid(let error) = events[1] {
            #expect(error.source == "/m/b.yaml")
            #expect(error.message.contains("metadata.name: Required value"))
            #expect(error.message.contains("spec.containers[0].image: Required value"))
        } else { Issue.record("want invalid") }
        #expect(dir.apply(files: ["/m/a.yaml": Self.manifest("a", image: "busybox:2"), "/m/b.yaml": bad]).isEmpty)
        #expect(dir.pods.count == 2)
        // Remove both files: both pods stop.
        events = dir.apply(files: [:])
        #expect(events.count == 2)
        #expect(events.allSatisfy { if case .removed = $0 { true } else { false } })
        #expect(dir.pods.isEmpty)
    }

    @Test func duplicateNamesAcrossFilesKeepTheFirst() {
        var dir = ManifestDirectory(path: "/m", nodeName: "n")
        let events = dir.apply(files: ["/m/1.yaml": Self.manifest("same"), "/m/2.yaml": Self.manifest("same")])
        #expect(events.count == 2)
        if case .invalid(let e) = events[1] { #expect(e.message.contains("Duplicate value")) } else { Issue.record("want invalid") }
        #expect(dir.pods.keys.sorted() == ["/m/1.yaml"])
    }

    /// Real inotify on a temp directory: a write is noticed well before the (long) resync.
    @Test func watcherSeesWritesAndRemovals() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kubelet-src-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = StaticPodSource(path: dir, nodeName: "n", resyncInterval: 3600, logger: Logger(label: "test"))
        source.start()
        defer { source.stop() }
        var iterator = source.events.makeAsyncIterator()
        // The first resync runs at start and reports the (empty) directory; then write a file.
        let initial = await iterator.next()
        #expect(initial?.isEmpty == true)
        try Data(Self.manifest("w")).write(to: URL(fileURLWithPath: "\(dir)/w.yaml"))
        let added = await iterator.next()
        guard case .added(let pod)? = added?.first else { Issue.record("want added, got \(String(describing: added))"); return }
        #expect(pod.metadata.name == "w-n")
        try FileManager.default.removeItem(atPath: "\(dir)/w.yaml")
        let removed = await iterator.next()
        guard case .removed(let gone)? = removed?.first else { Issue.record("want removed"); return }
        #expect(gone.metadata.uid == pod.metadata.uid)
    }
}
