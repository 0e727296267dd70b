import CgroupTestSupport
import Foundation
import Logging
import SystemCore
import Testing

@testable import KubeletCore

/// evictionHard: threshold parsing and math, which condition a signal sets, and the order pods
/// are evicted in.
@Suite struct EvictionTests {
    @Test func parsesQuantitiesAndPercentages() throws {
        let t = try EvictionThreshold.parse(["memory.available": "100Mi", "nodefs.available": "10%", "pid.available": "1000"])
        #expect(t.map(\.signal) == [.memoryAvailable, .nodeFsAvailable, .pidAvailable])
        #expect(t[0].value == .quantity(100 * 1024 * 1024))
        #expect(t[1].value == .percentage(0.1))
        #expect(t[2].value == .quantity(1000))
    }

    @Test func zeroAndHundredPercentDisableASignal() throws {
        #expect(try EvictionThreshold.parse(["memory.available": "0%", "nodefs.available": "100%"]).isEmpty)
    }

    @Test(arguments: [
        (["memory.available": "0"], "evictionHard[memory.available]", "positive"),
        (["memory.available": "-1Mi"], "evictionHard[memory.available]", "positive"),
        (["nodefs.available": "abc%"], "evictionHard[nodefs.available]", "invalid percentage"),
        (["nodefs.available": "150%"], "evictionHard[nodefs.available]", "between 0% and 100%"),
        (["imagefs.available": "lots"], "evictionHard[imagefs.available]", "invalid quantity"),
        (["disk.available": "1Gi"], "evictionHard[disk.available]", "unknown eviction signal"),
    ])
    func badThresholdsNameTheField(settings: [String: String], field: String, reason: String) {
        #expect {
            _ = try EvictionThreshold.parse(settings)
        } throws: { error in
            guard let e = error as? ConfigError else { return false }
            return e.field == field && e.message.contains(reason)
        }
    }

    @Test func thresholdMath() throws {
        let percent = try #require(try EvictionThreshold.parse(["nodefs.available": "10%"]).first)
        #expect(percent.amount(capacity: 1000) == 100)
        #expect(percent.isCrossed(by: SignalObservation(available: 99, capacity: 1000)))
        #expect(!percent.isCrossed(by: SignalObservation(available: 100, capacity: 1000)))
        let quantity = try #require(try EvictionThreshold.parse(["memory.available": "1Ki"]).first)
        #expect(quantity.amount(capacity: 1_073_741_824.0) == 1024)
        #expect(quantity.isCrossed(by: SignalObservation(available: 1023, capacity: 1_073_741_824.0)))
        #expect(!quantity.isCrossed(by: SignalObservation(available: 1024, capacity: 1_073_741_824.0)))
    }

    @Test func crossedThresholdsSetTheirConditionAndMemoryComesFirst() throws {
        let thresholds = try EvictionThreshold.parse(["memory.available": "1Gi", "nodefs.available": "50%", "pid.available": "10"])
        let observations: [EvictionSignal: SignalObservation] = [
            .memoryAvailable: SignalObservation(available: 2 * 1_073_741_824.0, capacity: 8 * 1_073_741_824.0),
            .nodeFsAvailable: SignalObservation(available: 10, capacity: 100),
            .pidAvailable: SignalObservation(available: 5, capacity: 100),
        ]
        let crossed = EvictionDecision.crossed(thresholds, observations)
        #expect(crossed.map(\.signal) == [.nodeFsAvailable, .pidAvailable])
        let conditions = EvictionDecision.conditions(crossed)
        #expect(conditions == [.memoryPressure: false, .diskPressure: true, .pidPressure: true])
        #expect(EvictionDecision.first(crossed, observations)?.signal == .nodeFsAvailable)
        var low = observations
        low[.memoryAvailable] = SignalObservation(available: 1, capacity: 8 * 1_073_741_824.0)
        #expect(EvictionDecision.first(EvictionDecision.crossed(thresholds, low), low)?.signal == .memoryAvailable)
        // A signal that could not be observed is never crossed.
        #expect(EvictionDecision.crossed(thresholds, [:]).isEmpty)
    }

    @Test func messageNamesSignalThresholdAndAvailable() throws {
        let t = try #require(try EvictionThreshold.parse(["nodefs.available": "30Mi"]).first)
        let m = EvictionDecision.message(t, SignalObservation(available: 12 * 1024 * 1024, capacity: 64 * 1024 * 1024))
        #expect(m.contains("ephemeral-storage"))
        #expect(m.contains("Threshold quantity: 30Mi"))
        #expect(m.contains("available: 12Mi"))
        #expect(m.contains("nodefs.available"))
    }

    static let mi = 1024.0 * 1024

    @Test func memoryRankingBestEffortThenBurstableOverRequestsThenByUsage() {
        let pods = [
            EvictionCandidate(uid: "g", name: "guaranteed", qos: .guaranteed, memoryRequest: 100 * Self.mi, memoryUsage: 10 * Self.mi),
            // Under its requests: after every pod over them, by usage above requests (-5Mi before -90Mi).
            EvictionCandidate(uid: "bu", name: "burstable-under", qos: .burstable, memoryRequest: 100 * Self.mi, memoryUsage: 95 * Self.mi),
            EvictionCandidate(uid: "bo", name: "burstable-over", qos: .burstable, memoryRequest: 10 * Self.mi, memoryUsage: 30 * Self.mi),
            EvictionCandidate(uid: "be-small", name: "besteffort-small", qos: .bestEffort, memoryUsage: 5 * Self.mi),
            EvictionCandidate(uid: "be-big", name: "besteffort-big", qos: .bestEffort, memoryUsage: 50 * Self.mi),
        ]
        let order = EvictionRanking.rank(pods, for: .memoryAvailable).map(\.uid)
        #expect(order == ["be-big", "bo", "be-small", "bu", "g"])
    }

    @Test func memoryRankingWithoutUsageStillPutsPodsWithoutRequestsFirst() {
        // A runtime without memory accounting (no memory controller): requests decide.
        let pods = [
            EvictionCandidate(uid: "g", name: "g", qos: .guaranteed, memoryRequest: 64 * Self.mi),
            EvictionCandidate(uid: "be", name: "be", qos: .bestEffort),
        ]
        #expect(EvictionRanking.rank(pods, for: .memoryAvailable).map(\.uid) == ["be", "g"])
    }

    @Test func lowerPriorityGoesFirstAmongPodsOverRequests() {
        let pods = [
            EvictionCandidate(uid: "hi", name: "hi", qos: .bestEffort, priority: 1000, memoryUsage: 500 * Self.mi),
            EvictionCandidate(uid: "lo", name: "lo", qos: .bestEffort, priority: 0, memoryUsage: 1 * Self.mi),
        ]
        #expect(EvictionRanking.rank(pods, for: .memoryAvailable).map(\.uid) == ["lo", "hi"])
    }

    @Test func criticalPodsAreNeverRanked() {
        let pods = [
            EvictionCandidate(uid: "crit", name: "crit", qos: .bestEffort, priority: 2_000_001_000, memoryUsage: 900 * Self.mi),
            EvictionCandidate(uid: "x", name: "x", qos: .bestEffort, memoryUsage: 1),
        ]
        #expect(EvictionRanking.rank(pods, for: .memoryAvailable).map(\.uid) == ["x"])
        #expect(EvictionRanking.rank(pods, for: .pidAvailable).map(\.uid) == ["x"])
    }

    @Test func diskRankingByUsageOverEphemeralStorageRequests() {
        let pods = [
            EvictionCandidate(uid: "writer", name: "writer", qos: .bestEffort, diskUsage: 40 * Self.mi),
            EvictionCandidate(uid: "g", name: "g", qos: .guaranteed, memoryRequest: 64 * Self.mi, diskUsage: 4096),
            EvictionCandidate(uid: "reserved", name: "reserved", qos: .burstable, storageRequest: 100 * Self.mi, diskUsage: 60 * Self.mi),
        ]
        #expect(EvictionRanking.rank(pods, for: .nodeFsAvailable).map(\.uid) == ["writer", "g", "reserved"])
        #expect(EvictionRanking.rank(pods, for: .imageFsAvailable).first?.uid == "writer")
    }

    @Test func pidRankingByPriorityThenProcessCount() {
        let pods = [
            EvictionCandidate(uid: "few", name: "few", qos: .bestEffort, processes: 2),
            EvictionCandidate(uid: "many", name: "many", qos: .guaranteed, processes: 50),
            EvictionCandidate(uid: "important", name: "important", qos: .bestEffort, priority: 10, processes: 500),
        ]
        #expect(EvictionRanking.rank(pods, for: .pidAvailable).map(\.uid) == ["many", "few", "important"])
    }

    @Test func requestsCountAppContainersAgainstTheLargestInitContainer() throws {
        var p = try ManifestDecoder.decodePod(Array("""
            metadata: {name: p}
            spec:
              initContainers:
              - {name: i, image: x, resources: {requests: {memory: 300Mi}}}
              containers:
              - {name: a, image: x, resources: {requests: {memory: 100Mi, ephemeral-storage: 1Gi}}}
              - {name: b, image: x, resources: {requests: {memory: 50Mi}}}
            """.utf8), source: "t")
        PodDefaults.apply(&p)
        #expect(EvictionCandidate.requests(p, "memory") == 300 * Self.mi)
        #expect(EvictionCandidate.requests(p, "ephemeral-storage") == 1024 * Self.mi)
        #expect(EvictionCandidate.requests(p, "cpu") == 0)
    }

    @Test func readsMeminfoAndPidSignals() throws {
        let meminfo = "MemTotal:        8000000 kB\nMemFree:          100000 kB\nMemAvailable:    2000000 kB\n"
        #expect(NodeSignals.meminfo(meminfo) == SignalObservation(available: 2_000_000 * 1024, capacity: 8_000_000 * 1024))
        #expect(NodeSignals.meminfo("MemTotal: 1 kB\n") == nil)
        let pids = NodeSignals.pids(pidMax: "4194304\n", threadsMax: "63000\n", loadavg: "0.50 0.40 0.30 2/1234 5678\n")
        #expect(pids == SignalObservation(available: 63000 - 1234, capacity: 63000))
        #expect(NodeSignals.pids(pidMax: "x", threadsMax: "1", loadavg: "") == nil)
    }

    @Test func filesystemSignalsOfARealDirectory() throws {
        let fs = try #require(NodeSignals.filesystem("/"))
        #expect(fs.bytes.capacity > 0 && fs.bytes.available <= fs.bytes.capacity)
        #expect(fs.inodes.capacity >= fs.inodes.available)
        #expect(NodeSignals.filesystem("/no/such/dir") == nil)
    }

    @Test func staticPodsAreCriticalAndNeverRankedWhileOtherPodsStillAre() throws {
        // A standalone node's pods all come from files; a pod from the API server (cluster mode)
        // or another source that is not a file is what may be evicted.
        var fromFile = try StaticPod.load(Array("metadata: {name: web}\nspec: {containers: [{name: c, image: i}]}\n".utf8),
                                         source: "/m/web.yaml", nodeName: "n1")
        #expect(StaticPod.isStaticOrMirror(fromFile))
        var fromAPI = fromFile
        fromAPI.metadata.annotations = [StaticPod.configSourceAnnotation: "api"]
        #expect(!StaticPod.isStaticOrMirror(fromAPI))
        fromAPI.metadata.annotations?[StaticPod.configMirrorAnnotation] = "abc"
        #expect(StaticPod.isStaticOrMirror(fromAPI))
        fromFile.metadata.annotations = nil
        #expect(!StaticPod.isStaticOrMirror(fromFile))

        let pods = [
            EvictionCandidate(uid: "static-hog", name: "static-hog", qos: .bestEffort, isStatic: true,
                              memoryUsage: 900 * Self.mi, diskUsage: 900 * Self.mi, processes: 900),
            EvictionCandidate(uid: "g", name: "g", qos: .guaranteed, memoryRequest: 64 * Self.mi, memoryUsage: 60 * Self.mi,
                              diskUsage: 1, processes: 1),
            EvictionCandidate(uid: "be", name: "be", qos: .bestEffort, memoryUsage: 5 * Self.mi, diskUsage: 2, processes: 2),
        ]
        #expect(pods[0].isCritical && !pods[1].isCritical)
        for signal in [EvictionSignal.memoryAvailable, .nodeFsAvailable, .nodeFsInodesFree, .pidAvailable] {
            #expect(!EvictionRanking.rank(pods, for: signal).contains { $0.uid == "static-hog" })
        }
        #expect(EvictionRanking.rank(pods, for: .memoryAvailable).map(\.uid) == ["be", "g"])
        #expect(EvictionRanking.rank([pods[0]], for: .memoryAvailable).isEmpty)
    }

    @Test func kubepodsMemoryIsReadWherePodCgroupsMadeIt() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "memory", "pids"])
        let cgroups = PodCgroups(mountPoint: fake.root, layout: CgroupLayout(cgroupRoot: "/swiftlet"), allocatable: nil,
                                 files: fake, logger: Logger(label: "test"))
        let signals = NodeSignals(rootDirectory: "/", podCgroups: cgroups)
        #expect(signals.kubepodsDirectory == fake.root + "/swiftlet/kubepods")
        try FileManager.default.createDirectory(atPath: fake.root + "/swiftlet/kubepods", withIntermediateDirectories: true)
        try "1073741824\n".write(toFile: fake.root + "/swiftlet/kubepods/memory.max", atomically: false, encoding: .utf8)
        try "536870912\n".write(toFile: fake.root + "/swiftlet/kubepods/memory.current", atomically: false, encoding: .utf8)
        try "anon 1\ninactive_file 134217728\n".write(toFile: fake.root + "/swiftlet/kubepods/memory.stat", atomically: false, encoding: .utf8)
        // 1 GiB limit − (512 MiB usage − 128 MiB inactive file) = 640 MiB left.
        #expect(signals.kubepodsMemory() == 640 * Self.mi)
        // No limit ("max"), or no QoS cgroups at all: nothing to add to MemAvailable.
        try "max\n".write(toFile: fake.root + "/swiftlet/kubepods/memory.max", atomically: false, encoding: .utf8)
        #expect(signals.kubepodsMemory() == nil)
        #expect(NodeSignals(rootDirectory: "/", podCgroups: nil).kubepodsMemory() == nil)
    }
}
