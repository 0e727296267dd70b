import CgroupTestSupport
import Logging
import SystemCore
import Testing

@testable import KubeletCore

/// The kubelet's QoS and pod cgroups against a temp directory that behaves like cgroupfs.
@Suite struct PodCgroupTests {
    static let all = ["cpu", "cpuset", "hugetlb", "io", "memory", "pids"]
    let logger = Logger(label: "test")

    func pod(_ yaml: String) throws -> Pod {
        var p = try ManifestDecoder.decodePod(Array(yaml.utf8), source: "t")
        PodDefaults.apply(&p)
        return p
    }

    func burstable(_ uid: String, cpu: String = "250m") throws -> Pod {
        try pod("""
            metadata: {name: b\(uid), uid: \(uid)}
            spec:
              containers:
              - {name: a, image: x, resources: {requests: {cpu: \(cpu), memory: 64Mi}, limits: {memory: 128Mi}}}
            """)
    }

    func guaranteed(_ uid: String) throws -> Pod {
        try pod("""
            metadata: {name: g\(uid), uid: \(uid)}
            spec:
              initContainers:
              - {name: i, image: x, resources: {limits: {cpu: 100m, memory: 32Mi}}}
              containers:
              - {name: a, image: x, resources: {limits: {cpu: 500m, memory: 128Mi}}}
              - {name: b, image: x, resources: {limits: {cpu: 250m, memory: 64Mi}}}
            """)
    }

    func bestEffort(_ uid: String) throws -> Pod {
        try pod("metadata: {name: e\(uid), uid: \(uid)}\nspec: {containers: [{name: a, image: x}]}")
    }

    func cgroups(_ fake: FakeCgroupFileSystem, root: String = "/", pids: Int64 = -1,
                 allocatable: KubepodsLimits? = KubepodsLimits(milliCPU: 2000, memoryBytes: 2_000_000_000, pids: 4096)) throws -> PodCgroups {
        let c = PodCgroups(mountPoint: fake.root, layout: CgroupLayout(cgroupRoot: root), podPidsLimit: pids, allocatable: allocatable,
                           files: fake, logger: logger)
        try c.setUpQOS()
        return c
    }

    // MARK: mount discovery

    @Test func findsTheV2MountLikeTheRuntime() {
        let hybrid = """
            24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
            25 24 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
            26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
            27 25 0:25 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,memory
            """
        #expect(Cgroup2Mounts.preferred(Cgroup2Mounts.mountPoints(inMountInfo: hybrid)) == "/sys/fs/cgroup/unified")
        let pure = "40 30 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n"
            + "41 30 0:27 / /mnt/other\\040cg rw - cgroup2 cgroup2 rw\n"
        #expect(Cgroup2Mounts.mountPoints(inMountInfo: pure) == ["/sys/fs/cgroup", "/mnt/other cg"])
        #expect(Cgroup2Mounts.preferred(Cgroup2Mounts.mountPoints(inMountInfo: pure)) == "/sys/fs/cgroup")
        #expect(Cgroup2Mounts.preferred(Cgroup2Mounts.mountPoints(inMountInfo: "24 30 0:22 / /sys rw - sysfs sysfs rw")) == nil)
    }

    // MARK: start-up

    @Test func startUpMakesTheQoSTiersWithControllersAndAllocatable() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        _ = try cgroups(fake, root: "/node1")
        for cgroup in ["node1", "node1/kubepods", "node1/kubepods/burstable", "node1/kubepods/besteffort"] {
            #expect(fake.isCgroup(cgroup), "\(cgroup) missing")
        }
        for cgroup in ["cgroup.subtree_control", "node1/cgroup.subtree_control", "node1/kubepods/cgroup.subtree_control",
                       "node1/kubepods/burstable/cgroup.subtree_control"] {
            #expect(fake.value(cgroup) == "cpu cpuset hugetlb io memory pids", "\(cgroup)")
        }
        // 2 CPUs → 2048 shares → weight 79; memory and pids as allocatable.
        #expect(fake.value("node1/kubepods/cpu.weight") == "79")
        #expect(fake.value("node1/kubepods/memory.max") == "2000000000")
        #expect(fake.value("node1/kubepods/pids.max") == "4096")
        #expect(fake.value("node1/kubepods/besteffort/cpu.weight") == "1")
        #expect(fake.value("node1/kubepods/burstable/cpu.weight") == "1")
    }

    @Test func onlyOfferedOptionalControllersAreEnabled() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "memory", "pids"])
        _ = try cgroups(fake)
        #expect(fake.value("kubepods/cgroup.subtree_control") == "cpu memory pids")
    }

    @Test func aHierarchyWithoutControllersIsRefusedNamingCgroupsPerQOS() throws {
        let fake = FakeCgroupFileSystem(controllers: [])
        let mountinfo = fake.root + "/../mountinfo-\(fake.root.split(separator: "/").last ?? "")"
        try FileSystem.writeAtomically(mountinfo, fake.mountInfo, durable: false)
        defer { try? FileSystem.removeEntry(mountinfo) }
        var config = KubeletConfiguration()
        config.cgroupRoot = "/x"
        let error = #expect(throws: PodCgroupError.self) {
            try PodCgroups.start(config: config, logger: logger, mountInfoPath: mountinfo, files: fake)
        }
        #expect(error == .missingControllers(mountPoint: fake.root, missing: ["cpu", "memory", "pids"], available: []))
        let text = error?.description ?? ""
        #expect(text.hasPrefix("cgroupsPerQOS: "))
        #expect(text.contains("\(fake.root)/cgroup.controllers offers: none"))
        #expect(text.contains("lacks the cpu, memory, pids controllers"))
        #expect(text.contains("set cgroupsPerQOS: false"))
        #expect(!fake.isCgroup("x"), "nothing is created on a refused host")
        #expect(fake.writes.isEmpty)

        config.cgroupsPerQOS = false
        #expect(try PodCgroups.start(config: config, logger: logger, mountInfoPath: mountinfo, files: fake) == nil)
        #expect(fake.writes.isEmpty)
    }

    @Test func noCgroup2MountIsRefused() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let mountinfo = fake.root + "/../mountinfo-none-\(fake.root.split(separator: "/").last ?? "")"
        try FileSystem.writeAtomically(mountinfo, "24 30 0:22 / /sys rw - sysfs sysfs rw\n", durable: false)
        defer { try? FileSystem.removeEntry(mountinfo) }
        #expect(throws: PodCgroupError.noCgroup2) {
            try PodCgroups.start(config: KubeletConfiguration(), logger: logger, mountInfoPath: mountinfo, files: fake)
        }
    }

    @Test func startFindsTheMountAndPassesConfigThrough() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let mountinfo = fake.root + "/../mountinfo-ok-\(fake.root.split(separator: "/").last ?? "")"
        try FileSystem.writeAtomically(mountinfo, fake.mountInfo, durable: false)
        defer { try? FileSystem.removeEntry(mountinfo) }
        var config = KubeletConfiguration()
        config.podPidsLimit = 100
        let c = try #require(try PodCgroups.start(config: config, logger: logger, mountInfoPath: mountinfo, files: fake))
        #expect(c.mountPoint == fake.root)
        #expect(!c.isUnifiedHierarchy)
        try c.ensure(try bestEffort("e1"))
        #expect(fake.value("kubepods/besteffort/pode1/pids.max") == "100")
        // Node allocatable from this machine: memory.max is MemTotal, a plain number.
        #expect(Int64(fake.value("kubepods/memory.max") ?? "") ?? 0 > 0)
    }

    // MARK: pods

    @Test func podCgroupsGetTheirValuesAndTheBurstableTierGrows() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let c = try cgroups(fake, pids: 256)
        try c.ensure(try burstable("u1", cpu: "250m"))
        let dir = "kubepods/burstable/podu1"
        #expect(fake.isCgroup(dir))
        #expect(fake.value("\(dir)/cpu.weight") == String(CgroupResources.weight(shares: 256)))
        #expect(fake.value("\(dir)/cpu.max") == "max 100000")
        #expect(fake.value("\(dir)/memory.max") == "134217728")
        #expect(fake.value("\(dir)/pids.max") == "256")
        #expect(fake.value("\(dir)/cgroup.subtree_control") == "cpu cpuset hugetlb io memory pids")
        #expect(fake.value("kubepods/burstable/cpu.weight") == String(CgroupResources.weight(shares: 256)))
        try c.ensure(try burstable("u2", cpu: "1"))
        #expect(fake.value("kubepods/burstable/cpu.weight") == String(CgroupResources.weight(shares: CgroupResources.shares(milliCPU: 1250))))

        try c.ensure(try guaranteed("g1"))
        #expect(fake.isCgroup("kubepods/podg1"), "Guaranteed pods sit directly under kubepods")
        #expect(fake.value("kubepods/podg1/cpu.max") == "75000 100000")
        #expect(fake.value("kubepods/podg1/memory.max") == String(192 * 1024 * 1024))
        #expect(fake.value("kubepods/podg1/cpu.weight") == String(CgroupResources.weight(shares: CgroupResources.shares(milliCPU: 750))))

        try c.ensure(try bestEffort("e1"))
        #expect(fake.value("kubepods/besteffort/pode1/cpu.weight") == "1")
        #expect(fake.value("kubepods/besteffort/pode1/memory.max") == "max")
        #expect(fake.value("kubepods/besteffort/pode1/cpu.max") == "max 100000")
        // Other tiers do not move the burstable weight.
        #expect(fake.value("kubepods/burstable/cpu.weight") == String(CgroupResources.weight(shares: CgroupResources.shares(milliCPU: 1250))))
    }

    @Test func ensureIsANoOpForAKnownPod() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let c = try cgroups(fake)
        let p = try burstable("u1")
        try c.ensure(p)
        fake.clearWrites()
        try c.ensure(p)
        #expect(fake.writes.isEmpty)
    }

    @Test func noPidsLimitWithoutPodPidsLimit() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let c = try cgroups(fake)
        try c.ensure(try burstable("u1"))
        #expect(!fake.writes.contains { $0.path.hasSuffix("podu1/pids.max") })
        #expect(fake.value("kubepods/burstable/podu1/pids.max") == "max")
    }

    @Test func aFailedWriteLeavesNothingAndNamesTheFile() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let c = try cgroups(fake)
        fake.failWrites(to: "memory.max", errno: .invalidArgument)
        let p = try burstable("u1", cpu: "500m")
        let error = #expect(throws: PodCgroupError.self) { try c.ensure(p) }
        let text = error?.description ?? ""
        #expect(text.contains("(memory.max = 134217728) of cgroup /kubepods/burstable/podu1"))
        #expect(text.contains("\(fake.root)/kubepods/burstable/podu1/memory.max: Invalid argument"))
        #expect(!fake.isCgroup("kubepods/burstable/podu1"))
        #expect(fake.value("kubepods/burstable/cpu.weight") == "1", "the tier weight is restored")
    }

    @Test func removalKillsWhatIsLeftAndShrinksTheTier() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let c = try cgroups(fake)
        let p = try burstable("u1", cpu: "500m")
        try c.ensure(p)
        fake.makeCgroup("kubepods/burstable/podu1/pod-sandbox")
        fake.makeCgroup("kubepods/burstable/podu1/pod-sandbox/c1")
        fake.populate("kubepods/burstable/podu1/pod-sandbox/c1", pids: [4242])
        try c.remove(p)
        #expect(fake.writes.contains(.init(path: "kubepods/burstable/podu1/cgroup.kill", value: "1")))
        #expect(!fake.isCgroup("kubepods/burstable/podu1"))
        #expect(fake.value("kubepods/burstable/cpu.weight") == "1")
        try c.remove(p)  // gone already: fine
    }

    @Test func withoutCgroupKillEachProcessIsSignalled() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all, hasKill: false)
        let c = try cgroups(fake)
        let p = try bestEffort("e1")
        try c.ensure(p)
        fake.populate("kubepods/besteffort/pode1", pids: [11, 12])
        try c.remove(p)
        #expect(fake.signals.sorted() == [11, 12])
        #expect(!fake.isCgroup("kubepods/besteffort/pode1"))
    }

    @Test func restartAdoptsExistingPodCgroupsWithoutRewritingThem() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let first = try cgroups(fake)
        let p = try burstable("u1", cpu: "1")
        try first.ensure(p)
        // A new kubelet: the tier starts from nothing, the pod's worker adopts the cgroup.
        let second = try cgroups(fake)
        #expect(fake.value("kubepods/burstable/cpu.weight") == "1")
        fake.clearWrites()
        try second.ensure(p)
        #expect(!fake.writes.contains { $0.path.hasPrefix("kubepods/burstable/podu1/") })
        #expect(fake.value("kubepods/burstable/cpu.weight") == String(CgroupResources.weight(shares: 1024)))
    }

    @Test func orphanedPodCgroupsGoOnceEmpty() throws {
        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let c = try cgroups(fake)
        try c.ensure(try burstable("known"))
        fake.makeCgroup("kubepods/besteffort/podgone")
        fake.makeCgroup("kubepods/podbusy")
        fake.populate("kubepods/podbusy", pids: [77])
        fake.makeCgroup("kubepods/notapod")
        #expect(c.removeOrphans() == ["gone"])
        #expect(!fake.isCgroup("kubepods/besteffort/podgone"))
        #expect(fake.isCgroup("kubepods/podbusy"), "a pod cgroup with processes waits for the runtime")
        #expect(fake.isCgroup("kubepods/burstable/podknown"))
        #expect(fake.isCgroup("kubepods/notapod"))
    }

    // MARK: what CRI gets

    @Test func criCgroupParentFollowsCgroupsPerQOS() throws {
        let p = try burstable("u1")
        let off = CRIConfigBuilder(rootDirectory: "/var/lib/kubelet", cgroupLayout: nil)
        #expect(off.sandboxConfig(p, attempt: 0).linux.cgroupParent == "")
        #expect(off.containerConfig(p, p.spec.containers[0], attempt: 0, environment: []).linux.resources.unified.isEmpty)

        let fake = FakeCgroupFileSystem(controllers: Self.all)
        let on = CRIConfigBuilder(rootDirectory: "/var/lib/kubelet", cgroupLayout: nil, podCgroups: try cgroups(fake, root: "/n"))
        #expect(on.sandboxConfig(p, attempt: 0).linux.cgroupParent == "/n/kubepods/burstable/podu1")
        // Not the unified hierarchy at /sys/fs/cgroup: no memory.oom.group.
        #expect(on.containerConfig(p, p.spec.containers[0], attempt: 0, environment: []).linux.resources.unified.isEmpty)

        let unified = PodCgroups(mountPoint: "/sys/fs/cgroup", layout: CgroupLayout(), allocatable: nil, files: fake, logger: logger)
        let v2 = CRIConfigBuilder(rootDirectory: "/var/lib/kubelet", cgroupLayout: nil, podCgroups: unified)
        #expect(v2.containerConfig(p, p.spec.containers[0], attempt: 0, environment: []).linux.resources.unified == ["memory.oom.group": "1"])
        #expect(v2.sandboxConfig(p, attempt: 0).linux.cgroupParent == "/kubepods/burstable/podu1")
    }
}
