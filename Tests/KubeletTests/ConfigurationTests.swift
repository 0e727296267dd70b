import Testing

@testable import KubeletCore

@Suite struct ConfigurationTests {
    let header = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"

    @Test func parsesSettingsAndKeepsDefaults() throws {
        let config = try KubeletConfiguration.parse(header + """
            staticPodPath: /tmp/manifests
            containerRuntimeEndpoint: unix:///run/swiftlet/cri.sock
            clusterDNS: [10.96.0.10]
            clusterDomain: cluster.local
            maxPods: 50
            evictionHard: {memory.available: 200Mi, nodefs.available: 5%}
            containerLogMaxSize: 5Mi
            containerLogMaxFiles: 3
            syncFrequency: 1m30s
            fileCheckFrequency: 500ms
            readOnlyPort: 10255
            serializeImagePulls: false
            maxParallelImagePulls: 4
            """, source: "c.yaml")
        #expect(config.staticPodPath == "/tmp/manifests")
        #expect(config.runtimeSocketPath == "/run/swiftlet/cri.sock")
        #expect(config.maxPods == 50)
        #expect(config.syncFrequency.seconds == 90)
        #expect(config.fileCheckFrequency.seconds == 0.5)
        #expect(config.evictionHard["nodefs.available"] == "5%")
        #expect(config.imageGCHighThresholdPercent == 85)
        #expect(config.port == 10250)
    }

    @Test(arguments: [
        ("staticPodPaht: /x", "staticPodPaht"),
        ("maxPods: 0", "maxPods"),
        ("maxPods: many", "maxPods"),
        ("clusterDNS: [10.0.0.300]", "clusterDNS[0]"),
        ("syncFrequency: soon", "syncFrequency"),
        ("fileCheckFrequency: 0s", "fileCheckFrequency"),
        ("imageGCHighThresholdPercent: 50\nimageGCLowThresholdPercent: 60", "imageGCLowThresholdPercent"),
        ("containerLogMaxFiles: 1", "containerLogMaxFiles"),
        ("containerLogMaxSize: big", "containerLogMaxSize"),
        ("evictionHard: {memory.free: 1Gi}", "evictionHard[memory.free]"),
        ("evictionHard: {memory.available: 120%}", "evictionHard[memory.available]"),
        ("readOnlyPort: 70000", "readOnlyPort"),
        ("cgroupDriver: systemd", "cgroupDriver"),
        ("staticPodPath: relative/dir", "staticPodPath"),
        ("containerRuntimeEndpoint: tcp://1.2.3.4:1", "containerRuntimeEndpoint"),
    ])
    func invalidSettingsNameTheField(body: String, field: String) {
        #expect {
            try KubeletConfiguration.parse(header + body + "\n", source: "c.yaml")
        } throws: { error in
            (error as? ConfigError)?.field == field
        }
    }

    @Test func wrongKindOrVersionIsRefused() {
        #expect { try KubeletConfiguration.parse("apiVersion: v1\nkind: KubeletConfiguration\n", source: "c") }
            throws: { ($0 as? ConfigError)?.field == "apiVersion" }
        #expect { try KubeletConfiguration.parse("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: Pod\n", source: "c") }
            throws: { ($0 as? ConfigError)?.field == "kind" }
        #expect(throws: ConfigError.self) { try KubeletConfiguration.parse("- a\n- b\n", source: "c") }
    }

    @Test func goDurations() {
        #expect(GoDuration(parsing: "1h2m3s")?.seconds == 3723)
        #expect(GoDuration(parsing: "250ms")?.seconds == 0.25)
        #expect(GoDuration(parsing: "0")?.seconds == 0)
        #expect(GoDuration(parsing: "10") == nil)
        #expect(GoDuration(parsing: "1d") == nil)
        #expect(GoDuration(seconds: 90).description == "1m30s")
    }
}
