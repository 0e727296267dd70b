import Foundation
import Testing
@testable import Runtime

/// Decodes `linux.resources` from JSON, as config.json would carry it.
func resources(_ json: String) throws -> Spec.Resources {
    try JSONDecoder().decode(Spec.Resources.self, from: Data(json.utf8))
}

/// The (file, value) pairs of the settings, in order.
func pairs(_ json: String, bfq: Bool = false) throws -> [String] {
    try CgroupSettings(resources(json), ioBFQ: bfq).writes.map { "\($0.file)=\($0.value)" }
}

/// The field an invalid config is reported against.
func invalidField(_ json: String) throws -> String? {
    do {
        _ = try CgroupSettings(resources(json))
        return nil
    } catch let error as RuntimeError {
        if case .invalidConfig(let field, _) = error { return field }
        return "unexpected: \(error)"
    }
}

@Suite struct CgroupSettingsTests {
    @Test func emptyResourcesWriteNothing() throws {
        #expect(try CgroupSettings(nil).writes.isEmpty)
        #expect(try pairs("{}").isEmpty)
        #expect(try CgroupSettings(resources("{}")).controllers.isEmpty)
    }

    @Test(arguments: [
        (#"{"memory":{"limit":1048576}}"#, ["memory.max=1048576"]),
        (#"{"memory":{"limit":-1}}"#, ["memory.swap.max=max", "memory.max=max"]),
        (#"{"memory":{"limit":0}}"#, []),
        (#"{"memory":{"reservation":524288}}"#, ["memory.low=524288"]),
        (#"{"memory":{"reservation":-1}}"#, ["memory.low=max"]),
        (#"{"memory":{"limit":1000,"swap":3000}}"#, ["memory.swap.max=2000", "memory.max=1000"]),
        (#"{"memory":{"limit":1000,"swap":1000}}"#, ["memory.swap.max=0", "memory.max=1000"]),
        (#"{"memory":{"limit":1000,"swap":-1}}"#, ["memory.swap.max=max", "memory.max=1000"]),
        (#"{"memory":{"limit":-1,"swap":5000}}"#, ["memory.swap.max=5000", "memory.max=max"]),
        (#"{"memory":{"limit":1000,"reservation":500,"swap":2000}}"#,
         ["memory.swap.max=1000", "memory.max=1000", "memory.low=500"]),
    ])
    func memory(json: String, expected: [String]) throws {
        #expect(try pairs(json) == expected)
    }

    @Test func swapMaxOrZeroMayBeMissingButRealLimitsMayNot() throws {
        let writes = try CgroupSettings(resources(#"{"memory":{"limit":1000,"swap":1000}}"#)).writes
        #expect(writes[0].optional)
        #expect(!writes[1].optional)
        let limited = try CgroupSettings(resources(#"{"memory":{"limit":1000,"swap":3000}}"#)).writes
        #expect(!limited[0].optional)
    }

    @Test(arguments: [
        (#"{"memory":{"limit":-2}}"#, "linux.resources.memory.limit"),
        (#"{"memory":{"reservation":-5}}"#, "linux.resources.memory.reservation"),
        (#"{"memory":{"limit":2000,"swap":1000}}"#, "linux.resources.memory.swap"),
        (#"{"memory":{"swap":1000}}"#, "linux.resources.memory.swap"),
        (#"{"memory":{"limit":1000,"swap":-3}}"#, "linux.resources.memory.swap"),
    ])
    func invalidMemory(json: String, field: String) throws {
        #expect(try invalidField(json) == field)
    }

    @Test func v1OnlyMemoryFieldsAreIgnoredAndReported() throws {
        let settings = try CgroupSettings(resources(#"{"memory":{"limit":4096,"swappiness":60,"disableOOMKiller":true}}"#))
        #expect(settings.writes.map(\.file) == ["memory.max"])
        #expect(settings.ignored.count == 2)
        #expect(settings.ignored[0].hasPrefix("linux.resources.memory.swappiness"))
        #expect(settings.ignored[1].hasPrefix("linux.resources.memory.disableOOMKiller"))
    }

    @Test(arguments: [
        (UInt64(2), UInt64(1)), (1, 1), (1024, 39), (512, 20), (262_144, 10_000), (1_000_000, 10_000), (100, 4),
    ])
    func sharesToWeight(shares: UInt64, weight: UInt64) {
        #expect(CgroupSettings.cpuWeight(shares: shares) == weight)
    }

    @Test(arguments: [
        (#"{"cpu":{"shares":1024}}"#, ["cpu.weight=39"]),
        (#"{"cpu":{"shares":0}}"#, []),
        (#"{"cpu":{"quota":50000}}"#, ["cpu.max=50000 100000"]),
        (#"{"cpu":{"quota":50000,"period":200000}}"#, ["cpu.max=50000 200000"]),
        (#"{"cpu":{"quota":-1}}"#, ["cpu.max=max 100000"]),
        (#"{"cpu":{"period":50000}}"#, ["cpu.max=max 50000"]),
        (#"{"cpu":{"quota":50000,"burst":10000}}"#, ["cpu.max=50000 100000", "cpu.max.burst=10000"]),
        (#"{"cpu":{"idle":1,"shares":2}}"#, ["cpu.weight=1", "cpu.idle=1"]),
        (#"{"cpu":{"idle":0,"shares":2}}"#, ["cpu.idle=0", "cpu.weight=1"]),
        (#"{"cpu":{"cpus":"0-3, 6","mems":"0"}}"#, ["cpuset.cpus=0-3,6", "cpuset.mems=0"]),
        (#"{"cpu":{"cpus":""}}"#, []),
    ])
    func cpu(json: String, expected: [String]) throws {
        #expect(try pairs(json) == expected)
    }

    @Test(arguments: [
        (#"{"cpu":{"quota":-2}}"#, "linux.resources.cpu.quota"),
        (#"{"cpu":{"quota":500}}"#, "linux.resources.cpu.quota"),
        (#"{"cpu":{"quota":5000,"period":100}}"#, "linux.resources.cpu.period"),
        (#"{"cpu":{"quota":5000,"period":2000000}}"#, "linux.resources.cpu.period"),
        (#"{"cpu":{"quota":5000,"burst":6000}}"#, "linux.resources.cpu.burst"),
        (#"{"cpu":{"idle":2}}"#, "linux.resources.cpu.idle"),
        (#"{"cpu":{"cpus":"0-3;rm -rf"}}"#, "linux.resources.cpu.cpus"),
        (#"{"cpu":{"mems":"-1"}}"#, "linux.resources.cpu.mems"),
    ])
    func invalidCPU(json: String, field: String) throws {
        #expect(try invalidField(json) == field)
    }

    @Test(arguments: [
        (#"{"pids":{"limit":100}}"#, ["pids.max=100"]),
        (#"{"pids":{"limit":0}}"#, ["pids.max=max"]),
        (#"{"pids":{"limit":-1}}"#, ["pids.max=max"]),
    ])
    func pids(json: String, expected: [String]) throws {
        #expect(try pairs(json) == expected)
    }

    @Test(arguments: [(UInt16(10), UInt64(1)), (1000, 10_000), (500, 4950), (100, 910)])
    func blkioWeightToIOWeight(blkio: UInt16, io: UInt64) {
        #expect(CgroupSettings.ioWeight(blkioWeight: blkio) == io)
    }

    @Test func blockIOWithoutBFQ() throws {
        let json = #"""
            {"blockIO":{"weight":500,"leafWeight":300,
              "weightDevice":[{"major":8,"minor":0,"weight":100}],
              "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],
              "throttleWriteBpsDevice":[{"major":8,"minor":16,"rate":2048}],
              "throttleReadIOPSDevice":[{"major":8,"minor":0,"rate":100}],
              "throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":0}]}}
            """#
        #expect(
            try pairs(json) == [
                "io.weight=4950", "io.weight=8:0 910", "io.max=8:0 rbps=1048576", "io.max=8:16 wbps=2048",
                "io.max=8:0 riops=100", "io.max=8:0 wiops=max",
            ])
        let settings = try CgroupSettings(resources(json))
        #expect(settings.controllers == ["io"])
        #expect(settings.ignored.count == 1)
    }

    @Test func blockIOWithBFQUsesRawWeights() throws {
        let json = #"{"blockIO":{"weight":500,"weightDevice":[{"major":8,"minor":0,"weight":100}]}}"#
        #expect(try pairs(json, bfq: true) == ["io.bfq.weight=500", "io.bfq.weight=8:0 100"])
    }

    @Test(arguments: [
        (#"{"blockIO":{"weight":5}}"#, "linux.resources.blockIO.weight"),
        (#"{"blockIO":{"weight":1001}}"#, "linux.resources.blockIO.weight"),
        (#"{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":2000}]}}"#, "linux.resources.blockIO.weightDevice[0].weight"),
        (#"{"blockIO":{"throttleReadBpsDevice":[{"major":-1,"minor":0,"rate":1}]}}"#, "linux.resources.blockIO.throttleReadBpsDevice[0].major"),
    ])
    func invalidBlockIO(json: String, field: String) throws {
        #expect(try invalidField(json) == field)
    }

    @Test func hugepages() throws {
        let json = #"{"hugepageLimits":[{"pageSize":"2MB","limit":209715200},{"pageSize":"1GB","limit":0}]}"#
        #expect(
            try pairs(json) == [
                "hugetlb.2MB.max=209715200", "hugetlb.2MB.rsvd.max=209715200", "hugetlb.1GB.max=0", "hugetlb.1GB.rsvd.max=0",
            ])
        let writes = try CgroupSettings(resources(json)).writes
        #expect(writes.map(\.optional) == [false, true, false, true])
        #expect(try invalidField(#"{"hugepageLimits":[{"pageSize":"2MB/../x","limit":1}]}"#) == "linux.resources.hugepageLimits[0].pageSize")
        #expect(try invalidField(#"{"hugepageLimits":[{"pageSize":"huge","limit":1}]}"#) == "linux.resources.hugepageLimits[0].pageSize")
    }

    @Test func unifiedIsWrittenLastSortedLineByLine() throws {
        let json = #"""
            {"memory":{"limit":1000},
             "unified":{"memory.high":"900","io.max":"8:0 rbps=1\n8:16 wbps=2","cgroup.max.depth":"3"}}
            """#
        #expect(
            try pairs(json) == [
                "memory.max=1000", "cgroup.max.depth=3", "io.max=8:0 rbps=1", "io.max=8:16 wbps=2", "memory.high=900",
            ])
        let settings = try CgroupSettings(resources(json))
        #expect(settings.controllers == ["io", "memory"])
        #expect(settings.fields(needing: "memory") == ["linux.resources.memory", "linux.resources.unified.memory.high"])
    }

    @Test(arguments: [
        "../memory.max", "memory/../../x", "cgroup.procs", "cgroup.subtree_control", "cgroup.kill", "bogus.value",
        "memory", ".max", "memory.", "devices.allow", "",
    ])
    func invalidUnifiedKey(key: String) throws {
        let json = #"{"unified":{"\#(key)":"1"}}"#
        #expect(try invalidField(json) == "linux.resources.unified.\(key)")
    }

    @Test func controllersAndSections() throws {
        let settings = try CgroupSettings(
            resources(#"""
                {"memory":{"limit":1000},"cpu":{"shares":1024,"cpus":"0"},"pids":{"limit":5},
                 "blockIO":{"weight":100},"hugepageLimits":[{"pageSize":"2MB","limit":0}]}
                """#))
        #expect(settings.controllers == ["memory", "cpu", "cpuset", "pids", "io", "hugetlb"])
        #expect(settings.fields(needing: "memory") == ["linux.resources.memory"])
        #expect(settings.fields(needing: "cpuset") == ["linux.resources.cpu.cpus"])
        #expect(settings.fields(needing: "hugetlb") == ["linux.resources.hugepageLimits"])
        #expect(settings.fields(needing: "io") == ["linux.resources.blockIO"])
        // runc's order: pids, memory, io, cpu, cpuset, hugetlb.
        #expect(
            settings.writes.map(\.file) == [
                "pids.max", "memory.max", "io.weight", "cpu.weight", "cpuset.cpus", "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max",
            ])
        #expect(settings.removing(controllers: ["memory", "hugetlb"]).controllers == ["cpu", "cpuset", "pids", "io"])
    }
}
