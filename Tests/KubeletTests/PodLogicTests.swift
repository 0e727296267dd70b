import Testing

@testable import KubeletCore

@Suite struct PodLogicTests {
    func pod(_ yaml: String) throws -> Pod {
        var p = try ManifestDecoder.decodePod(Array(yaml.utf8), source: "t")
        PodDefaults.apply(&p)
        return p
    }

    static func resources(_ r: String) -> String {
        "metadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x, resources: \(r)}\n"
    }

    @Test(arguments: [
        ("{}", QOSClass.bestEffort),
        ("{limits: {cpu: 1, memory: 1Gi}}", .guaranteed),
        ("{limits: {cpu: 1, memory: 1Gi}, requests: {cpu: 1, memory: 1Gi}}", .guaranteed),
        ("{limits: {cpu: 1, memory: 1Gi}, requests: {cpu: 500m}}", .burstable),
        ("{requests: {cpu: 100m}}", .burstable),
        ("{limits: {cpu: 1}}", .burstable),
        ("{requests: {ephemeral-storage: 1Gi}}", .bestEffort),
        ("{requests: {cpu: 0}}", .bestEffort),
    ])
    func qos(resources: String, expected: QOSClass) throws {
        #expect(QOSClass(pod: try pod(Self.resources(resources))) == expected)
    }

    @Test func qosCountsInitContainers() throws {
        let p = try pod("""
            metadata: {name: p}
            spec:
              initContainers: [{name: i, image: x}]
              containers: [{name: a, image: x, resources: {limits: {cpu: 1, memory: 1Gi}}}]
            """)
        #expect(QOSClass(pod: p) == .burstable)
    }

    @Test func defaults() throws {
        let p = try pod("""
            metadata: {name: p}
            spec:
              containers:
              - {name: a, image: "busybox", ports: [{containerPort: 80}], readinessProbe: {httpGet: {port: 80}}}
              - {name: b, image: "registry:5000/busybox:1.36"}
              - {name: c, image: "busybox:latest"}
              - {name: d, image: "busybox@sha256:abcd"}
            """)
        #expect(p.metadata.namespace == "default")
        #expect(p.spec.restartPolicy == "Always")
        #expect(p.spec.dnsPolicy == "ClusterFirst")
        #expect(p.spec.terminationGracePeriodSeconds == 30)
        #expect(p.spec.containers.map(\.imagePullPolicy) == ["Always", "IfNotPresent", "Always", "IfNotPresent"])
        #expect(p.spec.containers[0].ports?[0].protocol == "TCP")
        let probe = try #require(p.spec.containers[0].readinessProbe)
        #expect(probe.periodSeconds == 10 && probe.timeoutSeconds == 1 && probe.failureThreshold == 3)
        #expect(probe.httpGet?.path == "/" && probe.httpGet?.scheme == "HTTP")
    }

    @Test func envExpansionFollowsUpstream() {
        let vars = ["VAR_A": "A", "VAR_B": "B", "EMPTY": ""]
        let cases: [(String, String)] = [
            ("$(VAR_A)", "A"), ("___$(VAR_B)___", "___B___"), ("$(VAR_A)-$(VAR_B)", "A-B"),
            ("$$(VAR_A)", "$(VAR_A)"), ("$$$(VAR_A)", "$A"), ("$$$$(VAR_A)", "$$(VAR_A)"),
            ("$(UNKNOWN)", "$(UNKNOWN)"), ("$(VAR_A", "$(VAR_A"), ("$VAR_A", "$VAR_A"), ("$", "$"),
            ("foo$", "foo$"), ("$(EMPTY)x", "x"), ("$()", "$()"), ("a$$b", "a$b"), ("(VAR_A)", "(VAR_A)"),
        ]
        for (input, want) in cases {
            #expect(EnvExpansion.expand(input) { vars[$0] } == want, "\(input)")
        }
    }

    @Test func environmentRefersToEarlierVariablesOnly() {
        let env = [EnvVar(name: "A", value: "x$(B)"), EnvVar(name: "B", value: "b"), EnvVar(name: "C", value: "$(A)$(B)"),
                   EnvVar(name: "D", valueFrom: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.name")))]
        let result = EnvExpansion.environment(env) { _ in "pod-1" }
        #expect(result.map(\.0) == ["A", "B", "C", "D"])
        #expect(result.map(\.1) == ["x$(B)", "b", "x$(B)b", "pod-1"])
    }

    @Test func commandAndArgsAgainstImageConfig() {
        let entry = ["/entry"], cmd = ["default-arg"]
        #expect(ProcessArgs.resolve(command: nil, args: nil, entrypoint: entry, cmd: cmd) == ["/entry", "default-arg"])
        #expect(ProcessArgs.resolve(command: nil, args: ["x"], entrypoint: entry, cmd: cmd) == ["/entry", "x"])
        #expect(ProcessArgs.resolve(command: ["sh"], args: nil, entrypoint: entry, cmd: cmd) == ["sh"])
        #expect(ProcessArgs.resolve(command: ["sh"], args: ["-c", "echo $(MSG) $$(MSG)"], entrypoint: entry, cmd: cmd,
                                    environment: ["MSG": "hi"]) == ["sh", "-c", "echo hi $(MSG)"])
    }

    @Test func backoffDoublesCapsAndResets() {
        var b = Backoff()
        var now = 1000.0
        var delays: [Double] = []
        for _ in 0..<7 {
            delays.append(b.next("c", now: now))
            now += 1
        }
        #expect(delays == [10, 20, 40, 80, 160, 300, 300])
        #expect(b.isInBackoff("c", since: now, now: now + 299))
        #expect(!b.isInBackoff("c", since: now, now: now + 301))
        // Quiet for more than 10 minutes: starts over.
        #expect(b.next("c", now: now + 601) == 10)
        #expect(b.delay("other") == 0)
        b.garbageCollect(now: now + 2000)
        #expect(b.entries.isEmpty)
    }

    @Test func staticPodNameAndUID() throws {
        let yaml = Array("metadata: {name: web}\nspec: {containers: [{name: c, image: busybox}]}\n".utf8)
        let a = try StaticPod.load(yaml, source: "/m/web.yaml", nodeName: "Node1")
        #expect(a.metadata.name == "web-node1")
        #expect(a.metadata.namespace == "default")
        #expect(a.spec.nodeName == "Node1")
        let uid = try #require(a.metadata.uid)
        #expect(uid.count == 32 && uid.allSatisfy(\.isHexDigit))
        #expect(a.metadata.annotations?["kubernetes.io/config.hash"] == uid)
        #expect(a.metadata.annotations?["kubernetes.io/config.source"] == "file")
        // Same manifest, same UID; another node, path or content, another UID.
        #expect(try StaticPod.load(yaml, source: "/m/web.yaml", nodeName: "Node1").metadata.uid == uid)
        #expect(try StaticPod.load(yaml, source: "/m/web.yaml", nodeName: "node2").metadata.uid != uid)
        #expect(try StaticPod.load(yaml, source: "/m/other.yaml", nodeName: "Node1").metadata.uid != uid)
        let edited = Array("metadata: {name: web}\nspec: {containers: [{name: c, image: busybox:1}]}\n".utf8)
        #expect(try StaticPod.load(edited, source: "/m/web.yaml", nodeName: "Node1").metadata.uid != uid)
        // A UID in the manifest is kept.
        let fixed = Array("metadata: {name: web, uid: abc}\nspec: {containers: [{name: c, image: busybox}]}\n".utf8)
        #expect(try StaticPod.load(fixed, source: "/m/web.yaml", nodeName: "n").metadata.uid == "abc")
    }

    @Test func md5MatchesRFC1321Vectors() {
        #expect(MD5.hex(Array("".utf8)) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex(Array("12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8))
                == "57edf4a22be3c955ac49da2e2107b67a")
    }
}
