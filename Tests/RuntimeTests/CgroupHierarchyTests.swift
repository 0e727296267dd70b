import CgroupTestSupport
import SystemCore
import Testing
@testable import Runtime

@Suite struct CgroupHierarchyTests {
    static let hybrid = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """

    static let unified = """
        22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw
        27 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        99 22 0:26 / /mnt/with\\040space rw,relatime shared:9 - cgroup2 cgroup2 rw
        """

    @Test func findsTheHybridUnifiedMount() {
        let mounts = Cgroup2Mounts.mountPoints(inMountInfo: Self.hybrid)
        #expect(mounts == ["/sys/fs/cgroup/unified"])
        #expect(Cgroup2Mounts.preferred(mounts) == "/sys/fs/cgroup/unified")
    }

    @Test func prefersSysFsCgroupAndUnescapes() {
        let mounts = Cgroup2Mounts.mountPoints(inMountInfo: Self.unified)
        #expect(mounts == ["/sys/fs/cgroup", "/mnt/with space"])
        #expect(Cgroup2Mounts.preferred(mounts) == "/sys/fs/cgroup")
        #expect(Cgroup2Mounts.preferred(["/mnt/with space"]) == "/mnt/with space")
        #expect(Cgroup2Mounts.preferred([]) == nil)
    }

    @Test func optionalFieldsBeforeTheSeparatorAreSkipped() {
        let line = "27 22 0:26 / /cg rw shared:9 master:3 - cgroup2 none rw"
        #expect(Cgroup2Mounts.mountPoints(inMountInfo: line) == ["/cg"])
        #expect(Cgroup2Mounts.mountPoints(inMountInfo: "garbage\n\n1 2 3") == [])
    }

    @Test func discoversThisHostsMount() throws {
        // Every host this runs on (the dev machine's hybrid layout, CI, the VM) has a cgroup2 mount.
        let hierarchy = try CgroupHierarchy.discover()
        #expect(hierarchy.mountPoint.hasPrefix("/sys/fs/cgroup"))
        _ = try hierarchy.availableControllers()
    }

    @Test func statfsDiscoveryAgreesWithTheMountTable() throws {
        // The fast path (statfs of the well-known places) must find what the mount table says.
        let fast = try CgroupHierarchy.discover()
        let table = try CgroupHierarchy.discover(mountInfoPath: "/proc/self/mountinfo")
        #expect(fast.mountPoint == table.mountPoint)
        #expect(CgroupHierarchy.isCgroup2(fast.mountPoint))
        #expect(!CgroupHierarchy.isCgroup2("/proc"))
        #expect(!CgroupHierarchy.isCgroup2("/nonexistent"))
    }

    @Test func missingMountInfoIsASystemError() {
        #expect(throws: RuntimeError.self) { try CgroupHierarchy.discover(mountInfoPath: "/nonexistent/mountinfo") }
    }

    @Test func readsControllersOfATempHierarchy() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "memory", "pids"])
        let hierarchy = CgroupHierarchy(mountPoint: fake.root + "/", fileSystem: fake)
        #expect(hierarchy.mountPoint == fake.root)
        #expect(try hierarchy.availableControllers() == ["cpu", "memory", "pids"])
        #expect(try hierarchy.enabledControllers().isEmpty)
        #expect(hierarchy.directory("/a/b/") == fake.root + "/a/b")
        #expect(hierarchy.directory("/") == fake.root)
    }
}

extension FakeCgroupFileSystem {
    /// The runtime's view of the fake hierarchy.
    var hierarchy: CgroupHierarchy { CgroupHierarchy(mountPoint: root, fileSystem: self) }
}
