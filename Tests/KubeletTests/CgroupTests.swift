import Testing

@testable import KubeletCore

@Suite struct CgroupTests {
    func pod(_ yaml: String) throws -> Pod {
        var p = try ManifestDecoder.decodePod(Array(yaml.utf8), source: "t")
        PodDefaults.apply(&p)
        return p
    }

    @Test func hierarchyNames() {
        let layout = CgroupLayout()
        #expect(layout.kubepods == "/kubepods")
        #expect(layout.pod(uid: "u1", qos: .guaranteed) == "/kubepods/podu1")
        #expect(layout.pod(uid: "u1", qos: .burstable) == "/kubepods/burstable/podu1")
        #expect(layout.pod(uid: "u1", qos: .bestEffort) == "/kubepods/besteffort/podu1")
        #expect(CgroupLayout(cgroupRoot: "/swiftlet/").pod(uid: "x", qos: .burstable) == "/swiftlet/kubepods/burstable/podx")
    }

    @Test func conversions() {
        #expect(CgroupResources.shares(milliCPU: 0) == 2)
        #expect(CgroupResources.shares(milliCPU: 1000) == 1024)
        #expect(CgroupResources.shares(milliCPU: 100) == 102)
        #expect(CgroupResources.weight(shares: 2) == 1)
        #expect(CgroupResources.weight(shares: 1024) == 39)
        #expect(CgroupResources.weight(shares: 262_144) == 10000)
        #expect(CgroupResources.quota(milliCPU: 0) == nil)
        #expect(CgroupResources.quota(milliCPU: 250) == 25000)
        #expect(CgroupResources.quota(milliCPU: 1) == 1000)
    }

    @Test func containerValues() throws {
        let p = try pod("""
            metadata: {name: p}
            spec:
              containers:
              - {name: a, image: x, resources: {limits: {cpu: 500m, memory: 128Mi}}}
              - {name: b, image: x, resources: {requests: {cpu: 250m}}}
            """)
        let a = CgroupResources(container: p.spec.containers[0])
        #expect(a.cpuWeight == 20)
        #expect(a.cpuMaxValue == "50000 100000")
        #expect(a.memoryMaxValue == "134217728")
        let b = CgroupResources(container: p.spec.containers[1])
        #expect(b.cpuMaxValue == "max 100000")
        #expect(b.memoryMaxValue == "max")
        // The pod: one container lacks limits, so no pod-level limit; weight from summed requests.
        let podValues = CgroupResources(pod: p)
        #expect(podValues.cpuWeight == CgroupResources.weight(shares: CgroupResources.shares(milliCPU: 750)))
        #expect(podValues.cpuMaxValue == "max 100000")
        #expect(podValues.memoryMaxValue == "max")
    }

    @Test func podValuesTakeTheInitPeakAndSidecars() throws {
        let p = try pod("""
            metadata: {name: p}
            spec:
              initContainers:
              - {name: big, image: x, resources: {limits: {cpu: 2, memory: 1Gi}}}
              - {name: side, image: x, restartPolicy: Always, resources: {limits: {cpu: 100m, memory: 64Mi}}}
              containers:
              - {name: a, image: x, resources: {limits: {cpu: 500m, memory: 256Mi}}}
            """)
        #expect(QOSClass(pod: p) == .guaranteed)
        let r = PodResources(pod: p)
        #expect(r.requestMilliCPU == 2000)
        #expect(r.limitMemory == 1_073_741_824)
        let values = CgroupResources(pod: p)
        #expect(values.cpuMaxValue == "200000 100000")
        #expect(values.memoryMaxValue == "1073741824")
        let steady = try pod("""
            metadata: {name: p}
            spec:
              initContainers:
              - {name: side, image: x, restartPolicy: Always, resources: {limits: {cpu: 600m, memory: 64Mi}}}
              containers:
              - {name: a, image: x, resources: {limits: {cpu: 500m, memory: 256Mi}}}
            """)
        #expect(PodResources(pod: steady).limitMilliCPU == 1100)
        #expect(PodResources(pod: steady).limitMemory == 335_544_320)
    }

    @Test func bestEffortGetsMinimumWeight() throws {
        let p = try pod("metadata: {name: p}\nspec: {containers: [{name: a, image: x}]}\n")
        #expect(CgroupResources(pod: p).cpuWeight == 1)
    }
}
