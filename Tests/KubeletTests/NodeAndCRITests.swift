import CRIProto
import Foundation
import Testing

@testable import KubeletCore

@Suite struct NodeAndCRITests {
    func pod(_ yaml: String) throws -> Pod {
        var p = try StaticPod.load(Array(yaml.utf8), source: "/m/p.yaml", nodeName: "n1")
        PodDefaults.apply(&p)
        return p
    }

    @Test func probeThresholds() {
        var probe = Probe(exec: ExecAction(command: ["true"]))
        probe.failureThreshold = 2
        probe.successThreshold = 2
        var state = ProbeState()
        let changedFirst = state.record(.failure("x"), probe: probe)
        #expect(!changedFirst)
        #expect(state.healthy == nil)
        let changedSecond = state.record(.failure("x"), probe: probe)
        #expect(changedSecond)
        #expect(state.healthy == false)
        state.record(.success, probe: probe)
        #expect(state.healthy == false)
        state.record(.success, probe: probe)
        #expect(state.healthy == true)
    }

    @Test func dnsPerPolicy() throws {
        let builder = CRIConfigBuilder(rootDirectory: "/var/lib/kubelet", cgroupLayout: CgroupLayout(),
                                       clusterDNS: ["10.96.0.10"], clusterDomain: "cluster.local")
        let host = "nameserver 192.168.1.1\nsearch corp.example\noptions rotate\n"
        let first = try pod("metadata: {name: a, namespace: ns1}\nspec: {containers: [{name: c, image: x}]}\n")
        let dns = builder.dnsConfig(first, hostResolvConf: host)
        #expect(dns.servers == ["10.96.0.10"])
        #expect(dns.searches == ["ns1.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"])
        #expect(dns.options == ["ndots:5"])
        let def = try pod("metadata: {name: a}\nspec: {dnsPolicy: Default, containers: [{name: c, image: x}]}\n")
        #expect(builder.dnsConfig(def, hostResolvConf: host).servers == ["192.168.1.1"])
        #expect(builder.dnsConfig(def, hostResolvConf: host).options == ["rotate"])
        let none = try pod("""
            metadata: {name: a}
            spec:
              dnsPolicy: None
              dnsConfig: {nameservers: [1.1.1.1], searches: [x.y], options: [{name: ndots, value: "2"}, {name: edns0}]}
              containers: [{name: c, image: x}]
            """)
        let n = builder.dnsConfig(none, hostResolvConf: host)
        #expect(n.servers == ["1.1.1.1"] && n.searches == ["x.y"] && n.options == ["ndots:2", "edns0"])
    }

    @Test func sandboxAndContainerConfigs() throws {
        let p = try pod("""
            metadata: {name: web, labels: {app: web}}
            spec:
              hostNetwork: true
              volumes: [{name: data, emptyDir: {}}]
              containers:
              - name: c
                image: busybox:1
                command: [sh, -c, "echo $(A)"]
                resources: {limits: {cpu: 250m, memory: 64Mi}}
                volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
                securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
            """)
        let builder = CRIConfigBuilder(rootDirectory: "/var/lib/kubelet", cgroupLayout: CgroupLayout())
        let sandbox = builder.sandboxConfig(p, attempt: 1)
        #expect(sandbox.metadata.name == "web-n1" && sandbox.metadata.attempt == 1)
        #expect(sandbox.labels["app"] == "web" && sandbox.labels[KubeLabels.podUID] == p.metadata.uid)
        #expect(sandbox.linux.cgroupParent == "/kubepods/pod\(p.metadata.uid ?? "")")
        #expect(sandbox.linux.securityContext.namespaceOptions.network == .node)
        #expect(sandbox.logDirectory == "/var/log/pods/default_web-n1_\(p.metadata.uid ?? "")")
        let c = builder.containerConfig(p, p.spec.containers[0], attempt: 2, environment: [("A", "hello")])
        #expect(c.command == ["sh", "-c", "echo hello"])
        #expect(c.logPath == "c/2.log")
        #expect(c.annotations[KubeLabels.restartCount] == "2")
        #expect(c.linux.resources.cpuQuota == 25000 && c.linux.resources.cpuPeriod == 100_000)
        #expect(c.linux.resources.memoryLimitInBytes == 67_108_864)
        #expect(c.linux.securityContext.noNewPrivs)
        #expect(c.linux.securityContext.capabilities.dropCapabilities == ["ALL"])
        #expect(c.linux.securityContext.seccomp.profileType == .runtimeDefault)
        #expect(c.mounts.first?.hostPath == "/var/lib/kubelet/pods/\(p.metadata.uid ?? "")/volumes/kubernetes.io~empty-dir/data")
        #expect(c.mounts.first?.readonly == true)
    }

    @Test func criLogLinesJoinPartials() {
        let text = "2026-01-01T00:00:00.1Z stdout P hel\n2026-01-01T00:00:00.2Z stdout F lo\n2026-01-01T00:00:00.3Z stderr F \n"
        #expect(CRILog.messages(text) == ["hello", ""])
    }

    @Test func podTable() throws {
        var p = try pod("metadata: {name: web}\nspec: {containers: [{name: c, image: busybox}]}\n")
        var status = PodStatus(phase: .running)
        var c = ContainerStatus(name: "c", image: "busybox", state: ContainerState(waiting: ContainerStateWaiting(reason: "CrashLoopBackOff")))
        c.restartCount = 3
        status.containerStatuses = [c]
        status.podIP = "10.0.0.5"
        status.startTime = "2026-01-01T00:00:00Z"
        p.status = status
        let table = NodeTables.pods([p], now: try Date("2026-01-01T00:05:00Z", strategy: .iso8601))
        let lines = table.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("NAMESPACE"))
        #expect(lines[1].split(separator: " ", omittingEmptySubsequences: true) ==
                ["default", "web-n1", "0/1", "CrashLoopBackOff", "3", "5m", "10.0.0.5"])
    }
}
