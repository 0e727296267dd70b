import Testing

@testable import KubeletCore

@Suite struct ValidationTests {
    func pod(_ yaml: String) throws -> Pod { try ManifestDecoder.decodePod(Array(yaml.utf8), source: "t") }
    func messages(_ yaml: String) throws -> [String] { PodValidation.problems(try pod(yaml)).map(\.description) }

    @Test func missingImageNamesTheContainerIndex() throws {
        let errors = try messages("""
            metadata: {name: p}
            spec:
              containers:
              - {name: a, image: busybox}
              - {name: b}
            """)
        #expect(errors == ["spec.containers[1].image: Required value"])
    }

    @Test func collectsEveryProblemWithItsPath() throws {
        let errors = try messages("""
            metadata: {name: Bad_Name}
            spec:
              restartPolicy: Sometimes
              dnsPolicy: None
              initContainers:
              - {name: init, image: i, restartPolicy: Never}
              containers:
              - name: init
                image: i
                restartPolicy: Always
                ports: [{containerPort: 70000, protocol: HTTP}]
                env: [{name: "A=B", value: x}]
                resources:
                  limits: {cpu: 100m}
                  requests: {cpu: 200m, memory: -1}
                volumeMounts: [{name: nope, mountPath: /x}]
                livenessProbe: {exec: {command: [true]}, tcpSocket: {port: 80}}
                readinessProbe: {periodSeconds: 0, httpGet: {port: 0}}
            """)
        let expected = [
            "metadata.name: Invalid value: \"Bad_Name\"",
            "spec.initContainers[0].restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            "spec.containers[0].name: Duplicate value: \"init\"",
            "spec.containers[0].restartPolicy: Forbidden",
            "spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
            "spec.containers[0].readinessProbe.httpGet.port: Invalid value: \"0\"",
            "spec.containers[0].readinessProbe.periodSeconds: Invalid value: \"0\"",
            "spec.containers[0].ports[0].containerPort: Invalid value: \"70000\"",
            "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\"",
            "spec.containers[0].env[0].name: Invalid value: \"A=B\"",
            "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\"",
            "spec.containers[0].resources.requests[cpu]: Invalid value: \"200m\": must be less than or equal to cpu limit of 100m",
            "spec.containers[0].volumeMounts[0].name: Not found: \"nope\"",
            "spec.restartPolicy: Unsupported value: \"Sometimes\"",
            "spec.dnsConfig: Required value",
        ]
        for prefix in expected {
            #expect(errors.contains { $0.hasPrefix(prefix) }, "missing \(prefix) in \(errors)")
        }
        #expect(errors.count == expected.count, "\(errors)")
    }

    @Test func containersRequiredAndVolumeRules() throws {
        let errors = try messages("""
            metadata: {name: p}
            spec:
              volumes:
              - {name: a, hostPath: {path: relative}}
              - {name: a, emptyDir: {}}
              - {name: c, configMap: {name: x}}
              - {name: d}
            """)
        #expect(errors.contains("spec.containers: Required value"))
        #expect(errors.contains { $0.hasPrefix("spec.volumes[0].hostPath.path: Invalid value: \"relative\": must be an absolute path") })
        #expect(errors.contains("spec.volumes[1].name: Duplicate value: \"a\""))
        #expect(errors.contains { $0.hasPrefix("spec.volumes[2].configMap: Forbidden") })
        #expect(errors.contains("spec.volumes[3]: Required value: must specify a volume type"))
    }

    @Test func probesAndHooksOnPlainInitContainersAreForbidden() throws {
        let errors = try messages("""
            metadata: {name: p}
            spec:
              initContainers:
              - name: i
                image: x
                livenessProbe: {exec: {command: [true]}}
                lifecycle: {preStop: {sleep: {seconds: 1}}}
              - name: side
                image: x
                restartPolicy: Always
                livenessProbe: {exec: {command: [true]}, successThreshold: 2}
              containers: [{name: c, image: x}]
            """)
        #expect(errors.contains { $0.hasPrefix("spec.initContainers[0].livenessProbe: Forbidden") })
        #expect(errors.contains { $0.hasPrefix("spec.initContainers[0].lifecycle: Forbidden") })
        #expect(errors.contains("spec.initContainers[1].livenessProbe.successThreshold: Invalid value: \"2\": must be 1"))
        #expect(errors.count == 3)
    }

    @Test func downwardAPIAndSecretRefs() throws {
        let errors = try messages("""
            metadata: {name: p}
            spec:
              containers:
              - name: c
                image: x
                env:
                - {name: A, valueFrom: {fieldRef: {fieldPath: spec.bogus}}}
                - {name: B, valueFrom: {resourceFieldRef: {resource: limits.gpu}}}
                - {name: C, valueFrom: {secretKeyRef: {name: s, key: k}}}
                - {name: D, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
                - {name: "", value: x}
            """)
        #expect(errors.contains { $0.hasPrefix("spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.bogus\"") })
        #expect(errors.contains { $0.hasPrefix("spec.containers[0].env[1].valueFrom.resourceFieldRef.resource: Unsupported value: \"limits.gpu\"") })
        #expect(errors.contains { $0.hasPrefix("spec.containers[0].env[2].valueFrom: Forbidden") })
        #expect(errors.contains("spec.containers[0].env[4].name: Required value"))
        #expect(errors.count == 4, "\(errors)")
    }

    @Test func dnsConfigLimits() throws {
        let errors = try messages("""
            metadata: {name: p}
            spec:
              dnsPolicy: None
              dnsConfig: {nameservers: [1.1.1.1, 8.8.8.8, 9.9.9.9, "::1", not-an-ip]}
              containers: [{name: c, image: x}]
            """)
        #expect(errors.contains { $0.hasPrefix("spec.dnsConfig.nameservers: Invalid value") && $0.hasSuffix("must not have more than 3 nameservers") })
        #expect(errors.contains("spec.dnsConfig.nameservers[4]: Invalid value: \"not-an-ip\": must be a valid IP address"))
    }

    @Test func nameRules() {
        #expect(Names.dns1123LabelProblem("web-1") == nil)
        #expect(Names.dns1123LabelProblem("-web") != nil)
        #expect(Names.dns1123LabelProblem(String(repeating: "a", count: 64)) != nil)
        #expect(Names.dns1123SubdomainProblem("kube-apiserver.node1") == nil)
        #expect(Names.dns1123SubdomainProblem("a..b") != nil)
        #expect(Names.portNameProblem("http") == nil)
        #expect(Names.portNameProblem("8080") != nil)
        #expect(Names.portNameProblem("a--b") != nil)
    }
}
