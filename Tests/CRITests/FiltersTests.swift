import CRIProto
import Foundation
import Testing

@testable import CRI

@Suite struct FiltersTests {
    func record(_ id: String, sandbox: String, state: ContainerRecord.State) -> ContainerRecord {
        ContainerRecord(id: id, sandboxID: sandbox, config: Data(), imageRef: "i", imageID: "sha256:x", createdAt: 0,
                        state: state, logPath: "", hasSnapshot: false)
    }

    @Test func containerFilterByIDPrefixStateSandboxAndLabels() {
        var config = Runtime_V1_ContainerConfig()
        config.labels = ["app": "web", "tier": "front"]
        let running = record("abcdef", sandbox: "s1", state: .running)
        #expect(Filters.matches(running, config: config, filter: nil))
        var f = Runtime_V1_ContainerFilter()
        f.id = "abc"
        #expect(Filters.matches(running, config: config, filter: f))
        f.id = "abd"
        #expect(!Filters.matches(running, config: config, filter: f))
        f = Runtime_V1_ContainerFilter()
        f.state.state = .containerExited
        #expect(!Filters.matches(running, config: config, filter: f))
        f.state.state = .containerRunning
        #expect(Filters.matches(running, config: config, filter: f))
        f.podSandboxID = "s2"
        #expect(!Filters.matches(running, config: config, filter: f))
        f = Runtime_V1_ContainerFilter()
        f.labelSelector = ["app": "web"]
        #expect(Filters.matches(running, config: config, filter: f))
        f.labelSelector = ["app": "web", "tier": "back"]
        #expect(!Filters.matches(running, config: config, filter: f))
    }

    @Test func sandboxFilterByState() {
        let sandbox = SandboxRecord(id: "s1", config: Data(), state: .notReady, createdAt: 0, runtimeHandler: "",
                                    netnsPath: nil, ips: [], cniConfList: nil, cniResult: nil, infraPid: nil, cgroupPath: "/p")
        var f = Runtime_V1_PodSandboxFilter()
        f.state.state = .sandboxReady
        #expect(!Filters.matches(sandbox, config: .init(), filter: f))
        f.state.state = .sandboxNotready
        #expect(Filters.matches(sandbox, config: .init(), filter: f))
    }

    @Test func configRejectsUnknownKeysAndReadsSnakeCase() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cri-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.json")
        try Data(#"{"cgroup_enforcement": false, "restrict_oom_score_adj": true, "runtime_root": "/r"}"#.utf8).write(to: good)
        let config = try CRIConfig.load(path: good.path)
        #expect(config.runtimeGlobalArguments == ["--root", "/r", "--no-cgroup-enforcement", "--clamp-oom-score-adj"])
        let bad = dir.appendingPathComponent("bad.json")
        try Data(#"{"cgroup_enforcment": false}"#.utf8).write(to: bad)
        #expect { try CRIConfig.load(path: bad.path) } throws: { "\($0)".contains("cgroup_enforcment") }
    }
}

@Suite struct ResourceUpdateTests {
    @Test func cgroupFilesForResources() throws {
        var r = Runtime_V1_LinuxContainerResources()
        r.memoryLimitInBytes = 1 << 20
        r.cpuShares = 1024
        r.cpuQuota = 50000
        r.cpuPeriod = 100_000
        r.unified = ["pids.max": "10"]
        let writes = try CRIService.cgroupWrites(r).map { "\($0.file)=\($0.value)" }
        #expect(writes == ["memory.max=1048576", "cpu.weight=39", "cpu.max=50000 100000", "pids.max=10"])
        r.unified = ["../x": "1"]
        #expect { try CRIService.cgroupWrites(r) } throws: { "\($0)".contains("unified[../x]") }
    }
}
