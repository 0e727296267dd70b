import CRIProto
import Foundation
import Testing

@testable import KubeletCore

/// Container GC, image GC, log rotation and admission: the policies, without a runtime.
@Suite struct HousekeepingConfigTests {
    let header = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"

    @Test func parsesHousekeepingSettings() throws {
        let config = try KubeletConfiguration.parse(header + """
            kubeReserved: {cpu: 500m, memory: 1Gi}
            systemReserved: {cpu: 250m, memory: 512Mi, pid: "100"}
            enforceNodeAllocatable: [pods]
            containerLogMonitorInterval: 2s
            maximumDeadContainersPerContainer: 2
            maximumDeadContainers: 100
            minimumContainerTTLDuration: 30s
            containerGCPeriod: 5s
            imageGCPeriod: 10s
            podInfraContainerImage: registry.k8s.io/pause:3.10
            """, source: "c.yaml")
        #expect(config.kubeReserved == ["cpu": "500m", "memory": "1Gi"])
        #expect(config.systemReserved["pid"] == "100")
        #expect(config.containerLogMonitorInterval.seconds == 2)
        #expect(ContainerGCPolicy(config: config) == ContainerGCPolicy(minAge: 30, maxPerPodContainer: 2, maxContainers: 100))
        #expect(config.containerGCPeriod.seconds == 5 && config.imageGCPeriod.seconds == 10)
        let defaults = KubeletConfiguration()
        #expect(defaults.maximumDeadContainersPerContainer == 1 && defaults.maximumDeadContainers == -1)
        #expect(defaults.containerGCPeriod.seconds == 60 && defaults.imageGCPeriod.seconds == 300)
        #expect(defaults.enforceNodeAllocatable == ["pods"])
    }

    @Test(arguments: [
        ("kubeReserved: {gpu: \"1\"}", "kubeReserved[gpu]"),
        ("kubeReserved: {memory: lots}", "kubeReserved[memory]"),
        ("systemReserved: {cpu: -1}", "systemReserved[cpu]"),
        ("enforceNodeAllocatable: [pods, none]", "enforceNodeAllocatable[1]"),
        ("enforceNodeAllocatable: [everything]", "enforceNodeAllocatable[0]"),
        ("enforceNodeAllocatable: [pods, system-reserved]", "enforceNodeAllocatable[1]"),
        ("maximumDeadContainersPerContainer: -2", "maximumDeadContainersPerContainer"),
        ("maximumDeadContainers: -5", "maximumDeadContainers"),
        ("minimumContainerTTLDuration: -1s", "minimumContainerTTLDuration"),
        ("containerGCPeriod: 0s", "containerGCPeriod"),
        ("imageGCPeriod: never", "imageGCPeriod"),
        ("containerLogMonitorInterval: 100ms", "containerLogMonitorInterval"),
        ("imageMinimumGCAge: -3m", "imageMinimumGCAge"),
    ])
    func invalidHousekeepingSettingsNameTheField(body: String, field: String) {
        #expect {
            try KubeletConfiguration.parse(header + body + "\n", source: "c.yaml")
        } throws: { error in
            (error as? ConfigError)?.field == field
        }
    }
}

@Suite struct ContainerGCTests {
    func c(_ id: String, pod: String = "p1", name: String = "main", sandbox: String = "s1",
           state: Runtime_V1_ContainerState = .containerExited, at created: Double) -> GCContainer {
        GCContainer(id: id, podUID: pod, name: name, sandboxID: sandbox, state: state, createdAt: created)
    }

    @Test func keepsTheNewestDeadContainerPerPodAndName() {
        let containers = [c("old", at: 10), c("older", at: 5), c("newest", at: 20), c("running", state: .containerRunning, at: 30),
                          c("side-old", name: "side", at: 1), c("side-new", name: "side", at: 2)]
        let removed = ContainerGC.containersToRemove(containers, policy: ContainerGCPolicy(), now: 100,
                                                     podExists: { _ in true }, sourcesReady: true)
        #expect(removed.map(\.id) == ["side-old", "older", "old"])
    }

    @Test func maxPerPodContainerTwoKeepsTwo() {
        let containers = [c("a", at: 1), c("b", at: 2), c("c", at: 3), c("d", at: 4)]
        let removed = ContainerGC.containersToRemove(containers, policy: ContainerGCPolicy(maxPerPodContainer: 2), now: 100,
                                                     podExists: { _ in true }, sourcesReady: true)
        #expect(removed.map(\.id) == ["a", "b"])
    }

    @Test func zeroPerContainerStillKeepsThePreviousOfAnExistingPod() {
        let containers = [c("a", at: 1), c("b", at: 2)]
        let removed = ContainerGC.containersToRemove(containers, policy: ContainerGCPolicy(maxPerPodContainer: 0, maxContainers: 0),
                                                     now: 100, podExists: { _ in true }, sourcesReady: true)
        #expect(removed.map(\.id) == ["a"])
    }

    @Test func minimumAgeProtectsYoungDeadContainers() {
        let containers = [c("a", at: 1), c("b", at: 90), c("c", at: 95)]
        let removed = ContainerGC.containersToRemove(containers, policy: ContainerGCPolicy(minAge: 30), now: 100,
                                                     podExists: { _ in true }, sourcesReady: true)
        // b and c are younger than 30 s: not evictable at all, so a is the unit's newest evictable.
        #expect(removed.isEmpty)
        let later = ContainerGC.containersToRemove(containers, policy: ContainerGCPolicy(minAge: 30), now: 200,
                                                   podExists: { _ in true }, sourcesReady: true)
        #expect(later.map(\.id) == ["a", "b"])
    }

    @Test func goneP0dsLoseEverythingOnlyOnceSourcesAreReady() {
        let containers = [c("gone-1", pod: "gone", at: 1), c("gone-2", pod: "gone", at: 2), c("kept", pod: "here", at: 3)]
        let early = ContainerGC.containersToRemove(containers, policy: ContainerGCPolicy(), now: 100,
                                                   podExists: { $0 == "here" }, sourcesReady: false)
        #expect(early.map(\.id) == ["gone-1"])
        let ready = ContainerGC.containersToRemove(containers, policy: ContainerGCPolicy(), now: 100,
                                                   podExists: { $0 == "here" }, sourcesReady: true)
        #expect(ready.map(\.id) == ["gone-1", "gone-2"])
    }

    @Test func createdButNeverStartedIsLeftAloneForAMinute() {
        let containers = [c("fresh", state: .containerCreated, at: 90), c("stale", name: "x", state: .containerCreated, at: 1),
                          c("stale2", name: "x", state: .containerCreated, at: 2)]
        let removed = ContainerGC.containersToRemove(containers, policy: ContainerGCPolicy(), now: 100,
                                                     podExists: { _ in true }, sourcesReady: true)
        #expect(removed.map(\.id) == ["stale"])
    }

    @Test func maxContainersEvictsOldestButNeverAUnitsNewest() {
        var containers: [GCContainer] = []
        for pod in ["p1", "p2"] {
            for i in 0..<3 { containers.append(c("\(pod)-\(i)", pod: pod, at: Double(i) + (pod == "p1" ? 0 : 10))) }
        }
        let removed = ContainerGC.containersToRemove(containers, policy: ContainerGCPolicy(maxPerPodContainer: 5, maxContainers: 2),
                                                     now: 100, podExists: { _ in true }, sourcesReady: true)
        #expect(Set(removed.map(\.id)) == ["p1-0", "p1-1", "p2-0", "p2-1"])
    }

    @Test func sandboxesWithoutContainersGoExceptAnExistingPodsNewest() {
        let sandboxes = [GCSandbox(id: "a-old", podUID: "a", ready: false, createdAt: 1),
                         GCSandbox(id: "a-mid", podUID: "a", ready: false, createdAt: 2),
                         GCSandbox(id: "a-new", podUID: "a", ready: true, createdAt: 3),
                         GCSandbox(id: "a-busy", podUID: "a", ready: false, createdAt: 0),
                         GCSandbox(id: "gone-1", podUID: "gone", ready: false, createdAt: 5),
                         GCSandbox(id: "gone-2", podUID: "gone", ready: false, createdAt: 6),
                         GCSandbox(id: "solo", podUID: "solo", ready: false, createdAt: 7)]
        let remaining = [c("x", pod: "a", sandbox: "a-busy", at: 0)]
        let removed = ContainerGC.sandboxesToRemove(sandboxes, remaining: remaining, podExists: { $0 != "gone" }, sourcesReady: true)
        #expect(removed.map(\.id) == ["a-old", "a-mid", "gone-1", "gone-2"])
        let early = ContainerGC.sandboxesToRemove(sandboxes, remaining: remaining, podExists: { $0 != "gone" }, sourcesReady: false)
        #expect(early.map(\.id) == ["a-old", "a-mid", "gone-1"])
    }
}

@Suite struct ImageGCTests {
    @Test func thresholdsGiveTheBytesToFree() {
        let policy = ImageGCPolicy(highPercent: 85, lowPercent: 80, minAge: 0)
        #expect(policy.bytesToFree(capacity: 1000, available: 200) == nil)  // 80% used
        #expect(policy.bytesToFree(capacity: 1000, available: 100) == 100)  // 90% used → down to 80%
        #expect(ImageGCPolicy(highPercent: 100, lowPercent: 80, minAge: 0).bytesToFree(capacity: 1000, available: 0) == nil)
        #expect(ImageGCPolicy(highPercent: 1, lowPercent: 0, minAge: 0).bytesToFree(capacity: 1000, available: 900) == 100)
    }

    @Test func leastRecentlyUsedUnusedOldEnoughImagesGoFirstUntilEnoughIsFree() {
        let records = [
            ImageRecord(id: "used", size: 100, tags: ["docker.io/library/busybox:1"], firstDetected: 0, lastUsed: 50),
            ImageRecord(id: "lru", size: 30, firstDetected: 0, lastUsed: 10),
            ImageRecord(id: "never", size: 40, firstDetected: 5),
            ImageRecord(id: "recent", size: 50, firstDetected: 0, lastUsed: 40),
            ImageRecord(id: "young", size: 500, firstDetected: 95),
            ImageRecord(id: "pinned", size: 500, pinned: true, firstDetected: 0),
        ]
        let chosen = ImageGC.imagesToDelete(records, inUse: { $0.matches("busybox:1") }, bytesToFree: 60, minAge: 10, now: 100)
        #expect(chosen.map(\.id) == ["never", "lru"])
        let all = ImageGC.imagesToDelete(records, inUse: { $0.matches("busybox:1") }, bytesToFree: 10_000, minAge: 10, now: 100)
        #expect(all.map(\.id) == ["never", "lru", "recent"])
    }

    @Test func referencesMatchIDsTagsDigestsAndShortNames() {
        let image = ImageRecord(id: "sha256:abc", size: 1, tags: ["docker.io/library/busybox:latest", "127.0.0.1:5000/t/x:1"],
                                digests: ["docker.io/library/busybox@sha256:def"], firstDetected: 0)
        #expect(image.matches("sha256:abc"))
        #expect(image.matches("busybox"))
        #expect(image.matches("library/busybox:latest"))
        #expect(image.matches("127.0.0.1:5000/t/x:1"))
        #expect(image.matches("docker.io/library/busybox@sha256:def"))
        #expect(!image.matches("busybox:1"))
        #expect(!image.matches(""))
    }

    @Test func containerdSandboxImageComesFromItsVerboseStatus() {
        let info = ["config": #"{"sandboxImage":"registry.k8s.io/pause:3.9","other":1}"#]
        #expect(Housekeeping.sandboxImages(fromRuntimeInfo: info) == ["registry.k8s.io/pause:3.9"])
        #expect(Housekeeping.sandboxImages(fromRuntimeInfo: [:]).isEmpty)
        #expect(Housekeeping.sandboxImages(fromRuntimeInfo: ["config": "not json"]).isEmpty)
    }
}

@Suite struct LogRotationTests {
    @Test func theLogPathIsBuiltFromTheListingsAsTheKubeletAskedForIt() throws {
        // Rotation stats this path first and asks ContainerStatus only for logs at the limit.
        var pod = try ManifestDecoder.decodePod(Array("metadata: {name: web-n1, namespace: team, uid: u1}\nspec: {containers: [{name: app, image: i}]}\n".utf8), source: "t")
        PodDefaults.apply(&pod)
        let builder = CRIConfigBuilder(rootDirectory: "/var/lib/kubelet", cgroupLayout: nil)
        let sandbox = builder.sandboxConfig(pod, attempt: 2)
        let container = builder.containerConfig(pod, pod.spec.containers[0], attempt: 7, environment: [])
        #expect(LogRotation.logPath(sandbox: sandbox.metadata, container: container.metadata)
                == sandbox.logDirectory + "/" + container.logPath)
        #expect(LogRotation.logPath(sandbox: sandbox.metadata, container: container.metadata) == "/var/log/pods/team_web-n1_u1/app/7.log")
    }

    let log = "/var/log/pods/ns_p_uid/main/0.log"

    @Test func rotatedNamesCarryAUTCTimestamp() {
        let date = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14 22:13:20 UTC
        #expect(LogRotation.timestamp(date) == "20231114-221320")
        #expect(LogRotation.rotatedName(log, at: date) == log + ".20231114-221320")
    }

    @Test func planKeepsMaxFilesMinusTwoRotatedAndCompressesTheRest() {
        let files = ["\(log).20240101-000003", "\(log).20240101-000001.gz", "\(log).20240101-000002.gz",
                     "\(log).20240101-000000.gz"]
        let plan = LogRotation.plan(rotated: files, log: log, maxFiles: 4)
        #expect(plan.remove == ["\(log).20240101-000000.gz", "\(log).20240101-000001.gz"])
        #expect(plan.compress == ["\(log).20240101-000003"])
        let two = LogRotation.plan(rotated: files, log: log, maxFiles: 2)
        #expect(two.remove.count == 4 && two.compress.isEmpty)
    }

    @Test func planDropsLeftoversOfAnInterruptedCompression() {
        let files = ["\(log).20240101-000001", "\(log).20240101-000001.gz", "\(log).20240101-000002.tmp"]
        let plan = LogRotation.plan(rotated: files, log: log, maxFiles: 5)
        #expect(plan.remove == ["\(log).20240101-000001", "\(log).20240101-000002.tmp"])
        #expect(plan.compress.isEmpty)
    }

    @Test func gzipCompressesAFileReadableByGunzip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = String(repeating: "2024-01-01T00:00:00.000000000Z stdout F hello log rotation\n", count: 2000)
        try text.write(toFile: "\(dir)/0.log.1", atomically: false, encoding: .utf8)
        let gz = try Gzip.compressFile("\(dir)/0.log.1")
        #expect(gz == "\(dir)/0.log.1.gz")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/0.log.1"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/0.log.1.tmp"))
        let size = (try FileManager.default.attributesOfItem(atPath: gz)[.size] as? NSNumber)?.intValue ?? 0
        #expect(size > 0 && size < text.utf8.count / 10)
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-dc", gz]
        let pipe = Pipe()
        gunzip.standardOutput = pipe
        try gunzip.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        gunzip.waitUntilExit()
        #expect(gunzip.terminationStatus == 0)
        #expect(String(decoding: out, as: UTF8.self) == text)
    }
}

@Suite struct AdmissionTests {
    func pod(_ name: String, cpu: String? = nil, memory: String? = nil, initCPU: String? = nil, sidecarCPU: String? = nil) throws -> Pod {
        func container(_ n: String, _ cpu: String?, _ memory: String? = nil) throws -> Container {
            var c = Container(name: n, image: "busybox")
            var requests: [String: Quantity] = [:]
            if let cpu { requests["cpu"] = try Quantity(parsing: cpu) }
            if let memory { requests["memory"] = try Quantity(parsing: memory) }
            c.resources = ResourceRequirements(requests: requests)
            return c
        }
        var spec = PodSpec(containers: [try container("main", cpu, memory)])
        var inits: [Container] = []
        if let sidecarCPU {
            var side = try container("side", sidecarCPU)
            side.restartPolicy = "Always"
            inits.append(side)
        }
        if let initCPU { inits.append(try container("init", initCPU)) }
        spec.initContainers = inits.isEmpty ? nil : inits
        return Pod(metadata: ObjectMeta(name: name, namespace: "default", uid: name), spec: spec)
    }

    @Test func allocatableSubtractsReservationsAndTheMemoryEvictionThreshold() {
        var config = KubeletConfiguration()
        config.kubeReserved = ["cpu": "500m", "memory": "1Gi"]
        config.systemReserved = ["cpu": "250m", "memory": "512Mi"]
        config.evictionHard = ["memory.available": "100Mi"]
        let capacity = NodeResources(cpuMillis: 2000, memoryBytes: 8 << 30)
        let allocatable = NodeAllocatable.compute(capacity: capacity, config: config)
        #expect(allocatable == NodeResources(cpuMillis: 1250, memoryBytes: (8 << 30) - (1 << 30) - (512 << 20) - (100 << 20)))
        config.evictionHard = ["memory.available": "10%"]
        #expect(NodeAllocatable.compute(capacity: NodeResources(cpuMillis: 1000, memoryBytes: 1000), config: KubeletConfiguration()
            .with { $0.evictionHard = ["memory.available": "10%"] }).memoryBytes == 900)
        #expect(NodeAllocatable.compute(capacity: NodeResources(cpuMillis: 100, memoryBytes: 10), config: config).cpuMillis == 0)
    }

    @Test func podRequestsCountSidecarsAndTheLargestInitStep() throws {
        #expect(PodRequests.of(try pod("a", cpu: "500m", memory: "64Mi")) == NodeResources(cpuMillis: 500, memoryBytes: 64 << 20))
        // App 500m + sidecar 200m = 700m; the init container runs beside the sidecar: 1 + 0.2.
        #expect(PodRequests.of(try pod("b", cpu: "500m", initCPU: "1", sidecarCPU: "200m")).cpuMillis == 1200)
        #expect(PodRequests.of(try pod("c", cpu: "2", initCPU: "1", sidecarCPU: "200m")).cpuMillis == 2200)
        // Limits stand in for missing requests (API defaulting).
        var limited = try pod("d")
        limited.spec.containers[0].resources = ResourceRequirements(limits: ["cpu": try Quantity(parsing: "300m")])
        #expect(PodRequests.of(limited).cpuMillis == 300)
    }

    @Test func rejectsWithUpstreamReasonsAndMessages() throws {
        let admission = PodAdmission(maxPods: 3, allocatable: NodeResources(cpuMillis: 1000, memoryBytes: 1 << 30))
        let running = [try pod("r1", cpu: "600m", memory: "256Mi")]
        #expect(admission.check(try pod("fits", cpu: "400m"), beside: running) == nil)
        #expect(admission.check(try pod("besteffort"), beside: running) == nil)
        let cpu = admission.check(try pod("big", cpu: "500m"), beside: running)
        #expect(cpu?.reason == "OutOfcpu")
        #expect(cpu?.message == "Node didn't have enough resource: cpu, requested: 500, used: 600, capacity: 1000")
        let memory = admission.check(try pod("fat", memory: "1Gi"), beside: running)
        #expect(memory?.reason == "OutOfmemory")
        #expect(memory?.message == "Node didn't have enough resource: memory, requested: 1073741824, used: 268435456, capacity: 1073741824")
        let full = admission.check(try pod("extra"), beside: running + [try pod("r2"), try pod("r3")])
        #expect(full == AdmissionRejection(reason: "OutOfpods", message: "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3"))
    }

    @Test func meminfoTotalIsReadInBytes() {
        let total: Int64? = NodeResources.memTotal("MemTotal:        2048 kB\nMemFree: 1 kB\n")
        #expect(total == Int64(2048 * 1024))
        #expect(NodeResources.memTotal("nothing here") == nil)
        let machine = NodeResources.machineCapacity()
        #expect(machine.cpuMillis >= 1000 && machine.memoryBytes > 0)
    }
}

extension KubeletConfiguration {
    func with(_ change: (inout KubeletConfiguration) -> Void) -> KubeletConfiguration {
        var copy = self
        change(&copy)
        return copy
    }
}
