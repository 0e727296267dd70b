import CgroupTestSupport
import Testing
@testable import Runtime

@Suite struct CgroupContainerTests {
    // MARK: path resolution

    @Test(arguments: [
        ("/kubepods/pod1/ctr", "/kubepods/pod1/ctr"),
        ("swiftlet/ctr", "/swiftlet/ctr"),
        ("//a/./b//", "/a/b"),
        ("", "/swiftlet/default"),
        (nil, "/swiftlet/default"),
    ] as [(String?, String)])
    func resolvesCgroupsPath(input: String?, expected: String) throws {
        #expect(try ContainerCgroup.resolve(cgroupsPath: input, defaultPath: "/swiftlet/default") == expected)
    }

    @Test(arguments: ["system.slice:docker:abc", ":swiftlet:abc", "/a/../b", "..", "/", "/./"])
    func rejectsBadCgroupsPaths(input: String) {
        #expect {
            try ContainerCgroup.resolve(cgroupsPath: input, defaultPath: "/swiftlet/x")
        } throws: { error in
            guard case .invalidConfig(let field, _) = error as? RuntimeError else { return false }
            return field == "linux.cgroupsPath"
        }
    }

    @Test func systemdSyntaxErrorExplainsTheDriver() {
        do {
            _ = try ContainerCgroup.resolve(cgroupsPath: "system.slice:crio:abc", defaultPath: "/x")
            Issue.record("accepted systemd syntax")
        } catch {
            #expect(error.description.contains("systemd"))
        }
    }

    // MARK: create

    static let limits = #"{"memory":{"limit":1048576},"cpu":{"shares":1024,"quota":20000},"pids":{"limit":64}}"#

    @Test func createEnablesControllersDownThePathAndWritesLimits() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "io", "memory", "pids", "hugetlb"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/swiftlet/pod/c1", defaultPath: "/x")
        let applied = try cgroup.create(resources: resources(Self.limits), alsoEnable: [])
        #expect(applied.skippedControllers.isEmpty)
        #expect(
            fake.writes.map(\.description) == [
                "cgroup.subtree_control=+cpu +memory +pids",
                "swiftlet/cgroup.subtree_control=+cpu +memory +pids",
                "swiftlet/pod/cgroup.subtree_control=+cpu +memory +pids",
                "swiftlet/pod/c1/pids.max=64",
                "swiftlet/pod/c1/memory.max=1048576",
                "swiftlet/pod/c1/cpu.weight=39",
                "swiftlet/pod/c1/cpu.max=20000 100000",
            ])
        #expect(fake.contents("swiftlet/pod/c1/memory.max") == "1048576")
        #expect(fake.contents("swiftlet/pod/c1/cgroup.controllers") == "cpu memory pids")
        #expect(cgroup.directory == fake.root + "/swiftlet/pod/c1")
    }

    @Test func createAlsoEnablesAccountingControllersWhereAvailable() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "memory", "pids"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/c2", defaultPath: "/x")
        try cgroup.create(resources: resources(#"{"pids":{"limit":10}}"#))
        #expect(fake.writes.first?.description == "cgroup.subtree_control=+pids +cpu +memory")
        #expect(fake.contents("c2/cgroup.controllers") == "cpu memory pids")
        let stats = try cgroup.stats()
        #expect(stats.memoryBytes == 4096)
        #expect(stats.cpuUsageMicroseconds == 1234)
        #expect(stats.pids == 4096)
        #expect(stats.memoryLimitBytes == nil)
    }

    @Test func alreadyEnabledControllersAreNotWrittenAgain() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "memory", "pids"])
        let parent = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/pod", defaultPath: "/x")
        try parent.create(resources: resources(#"{"memory":{"limit":8192}}"#), alsoEnable: [])
        let child = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/pod/c", defaultPath: "/x")
        try child.create(resources: resources(#"{"memory":{"limit":4096}}"#), alsoEnable: [])
        #expect(
            fake.writes.map(\.description) == [
                "cgroup.subtree_control=+memory", "pod/memory.max=8192", "pod/cgroup.subtree_control=+memory",
                "pod/c/memory.max=4096",
            ])
    }

    @Test func missingControllerIsAClearErrorAndLeavesNothingBehind() throws {
        // The dev host's hybrid layout: a v2 hierarchy with no memory controller.
        let fake = FakeCgroupFileSystem(controllers: ["hugetlb"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/swiftlet/c3", defaultPath: "/x")
        let limits = try resources(Self.limits)
        do {
            try cgroup.create(resources: limits)
            Issue.record("created a cgroup without the memory controller")
        } catch {
            guard case .unsupported(let message) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(
                message
                    == "cgroup v2 controller \"cpu\" is not available at \(fake.root) (needed by linux.resources.cpu); pass --no-cgroup-enforcement to run without resource limits")
        }
        #expect(!fake.exists(fake.root + "/swiftlet"))
        #expect(fake.writes.isEmpty)
    }

    @Test func missingMemoryControllerMessage() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "pids"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/c", defaultPath: "/x")
        #expect {
            try cgroup.create(resources: resources(Self.limits))
        } throws: { error in
            (error as? RuntimeError)?.description
                == "unsupported on this host: cgroup v2 controller \"memory\" is not available at \(fake.root) (needed by linux.resources.memory); pass --no-cgroup-enforcement to run without resource limits"
        }
    }

    @Test func controllerIsEnabledDownThroughAnExistingAncestor() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "memory", "pids"])
        fake.makeCgroup("kubepods")  // created while the root enabled nothing: offers no controllers yet
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/kubepods/c", defaultPath: "/x")
        try cgroup.create(resources: resources(#"{"pids":{"limit":3}}"#))
        #expect(try fake.read(fake.root + "/cgroup.subtree_control").contains("pids"))
        #expect(try fake.read(fake.root + "/kubepods/cgroup.subtree_control").contains("pids"))
        #expect(try fake.read(fake.root + "/kubepods/c/pids.max") == "3")
    }

    @Test func withoutEnforcementMissingControllersAreSkippedAndWarnedOnce() throws {
        let fake = FakeCgroupFileSystem(controllers: ["pids"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/c4", defaultPath: "/x")
        var warnings: [String] = []
        let json = #"{"memory":{"limit":1048576,"reservation":1024},"cpu":{"shares":1024},"pids":{"limit":64},"unified":{"memory.high":"2000"}}"#
        let applied = try cgroup.create(resources: resources(json), enforce: false, alsoEnable: []) { warnings.append($0) }
        #expect(applied.skippedControllers == ["cpu", "memory"])
        #expect(applied.settings.writes.map(\.file) == ["pids.max"])
        #expect(
            warnings == [
                "cgroup v2 controller \"cpu\" is not available at \(fake.root): linux.resources.cpu not enforced",
                "cgroup v2 controller \"memory\" is not available at \(fake.root): linux.resources.memory, linux.resources.unified.memory.high not enforced",
            ])
        #expect(fake.writes.map(\.description) == ["cgroup.subtree_control=+pids", "c4/pids.max=64"])
        try cgroup.addProcess(4242)
        #expect(try cgroup.processes() == [4242])
    }

    @Test func failureAfterMkdirRemovesEverythingCreated() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "memory", "pids"])
        try fake.write(fake.root + "/cgroup.subtree_control", "+cpu +memory +pids")
        fake.makeCgroup("existing")
        fake.failWrites(to: "cpu.max", errno: .invalidArgument)
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/existing/a/b", defaultPath: "/x")
        #expect {
            try cgroup.create(resources: resources(Self.limits))
        } throws: { error in
            guard case .system(let context, let underlying) = error as? RuntimeError else { return false }
            return context.contains("linux.resources.cpu.quota") && underlying.errno == .invalidArgument
        }
        #expect(fake.exists(fake.root + "/existing"))
        #expect(!fake.exists(fake.root + "/existing/a"))
    }

    @Test func invalidConfigCreatesNothing() throws {
        let fake = FakeCgroupFileSystem(controllers: ["memory"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/c5", defaultPath: "/x")
        #expect(throws: RuntimeError.self) { try cgroup.create(resources: resources(#"{"memory":{"limit":-7}}"#)) }
        #expect(!fake.exists(fake.root + "/c5"))
    }

    @Test func swapFileMissingIsFineForMaxButNotForALimit() throws {
        let fake = FakeCgroupFileSystem(controllers: ["memory"], hasSwap: false)
        let first = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/s1", defaultPath: "/x")
        try first.create(resources: resources(#"{"memory":{"limit":4096,"swap":-1}}"#))
        #expect(fake.contents("s1/memory.max") == "4096")
        let second = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/s2", defaultPath: "/x")
        #expect(throws: RuntimeError.self) {
            try second.create(resources: resources(#"{"memory":{"limit":4096,"swap":8192}}"#))
        }
        #expect(!fake.exists(fake.root + "/s2"))
    }

    @Test func bfqIsUsedWhenPresent() throws {
        let fake = FakeCgroupFileSystem(controllers: ["io"], hasBFQ: true)
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/b", defaultPath: "/x")
        try cgroup.create(resources: resources(#"{"blockIO":{"weight":500}}"#))
        #expect(fake.contents("b/io.bfq.weight") == "500")
        #expect(fake.contents("b/io.weight") == "default 100", "io.weight is left as the kernel made it")
    }

    @Test func v1OnlyFieldsAreWarned() throws {
        let fake = FakeCgroupFileSystem(controllers: ["memory"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/w", defaultPath: "/x")
        var warnings: [String] = []
        try cgroup.create(resources: resources(#"{"memory":{"swappiness":10}}"#)) { warnings.append($0) }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("swappiness") == true)
    }

    @Test func updateWritesNewLimitsAndEnablesNewControllers() throws {
        let fake = FakeCgroupFileSystem(controllers: ["cpu", "memory", "pids"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/u", defaultPath: "/x")
        try cgroup.create(resources: resources(#"{"memory":{"limit":4096}}"#), alsoEnable: [])
        try cgroup.update(resources: resources(#"{"memory":{"limit":8192},"pids":{"limit":7}}"#))
        #expect(fake.contents("u/memory.max") == "8192")
        #expect(fake.contents("u/pids.max") == "7")
        #expect(fake.contents("cgroup.subtree_control") == "memory pids")
    }

    // MARK: processes, kill, remove

    @Test func killAllUsesCgroupKill() throws {
        let fake = FakeCgroupFileSystem(controllers: ["pids"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/k", defaultPath: "/x")
        try cgroup.create(resources: nil)
        fake.populate("k", pids: [11, 12])
        fake.makeCgroup("k/nested")
        fake.populate("k/nested", pids: [13])
        #expect(try cgroup.processes() == [11, 12, 13])
        try cgroup.killAll()
        #expect(try cgroup.processes().isEmpty)
        #expect(fake.signals.isEmpty)
        #expect(fake.writes.last?.description == "k/cgroup.kill=1")
    }

    @Test func killAllFallsBackToSignalsWithoutCgroupKill() throws {
        let fake = FakeCgroupFileSystem(controllers: ["pids"], hasKill: false)
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/k", defaultPath: "/x")
        try cgroup.create(resources: nil)
        fake.populate("k", pids: [21, 22])
        try cgroup.killAll()
        #expect(fake.signals == [21, 22])
        #expect(try cgroup.processes().isEmpty)
        // frozen while signalling, thawed after
        #expect(fake.writes.map(\.description).suffix(2) == ["k/cgroup.freeze=1", "k/cgroup.freeze=0"])
    }

    @Test func removeKillsRemovesNestedAndToleratesGone() throws {
        let fake = FakeCgroupFileSystem(controllers: ["pids"])
        let cgroup = try ContainerCgroup(hierarchy: fake.hierarchy, cgroupsPath: "/parent/r", defaultPath: "/x")
        try cgroup.create(resources: resources(#"{"pids":{"limit":5}}"#))
        fake.populate("parent/r", pids: [31])
        fake.makeCgroup("parent/r/inner")
        try cgroup.remove()
        #expect(!fake.exists(cgroup.directory))
        #expect(fake.exists(fake.root + "/parent"))
        try cgroup.remove()  // already gone
        try cgroup.killAll()
        #expect(try cgroup.processes().isEmpty)
    }
}
