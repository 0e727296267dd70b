import Foundation
import Testing

@testable import KubeletCore

@Suite struct ManifestTests {
    static let fullYAML = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          labels: {app: web}
        spec:
          restartPolicy: OnFailure
          dnsPolicy: None
          dnsConfig:
            nameservers: [10.96.0.10]
            searches: [svc.cluster.local]
            options: [{name: ndots, value: "5"}]
          securityContext:
            runAsUser: 1000
            seccompProfile: {type: RuntimeDefault}
          volumes:
          - name: scratch
            emptyDir: {sizeLimit: 64Mi}
          - name: host
            hostPath: {path: /var/log, type: Directory}
          initContainers:
          - name: setup
            image: busybox:1.36
            command: [sh, -c, "echo init"]
          - name: proxy
            image: busybox:1.36
            restartPolicy: Always
            readinessProbe:
              tcpSocket: {port: 8080}
          containers:
          - name: app
            image: busybox
            args: ["--port=$(PORT)"]
            ports: [{name: http, containerPort: 8080}]
            env:
            - {name: PORT, value: "8080"}
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: MEM
              valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
            resources:
              limits: {cpu: 500m, memory: 128Mi}
            livenessProbe:
              httpGet: {path: /healthz, port: http}
              initialDelaySeconds: 3
            startupProbe:
              grpc: {port: 9090}
            readinessProbe:
              exec: {command: [cat, /tmp/ready]}
            lifecycle:
              postStart: {exec: {command: [touch, /tmp/started]}}
              preStop: {sleep: {seconds: 2}}
            securityContext:
              allowPrivilegeEscalation: false
              capabilities: {drop: [ALL]}
            volumeMounts:
            - {name: scratch, mountPath: /scratch}
        """

    @Test func decodesEveryFieldFromYAML() throws {
        let pod = try ManifestDecoder.decodePod(Array(Self.fullYAML.utf8), source: "web.yaml")
        #expect(pod.metadata.name == "web")
        #expect(pod.spec.restartPolicy == "OnFailure")
        #expect(pod.spec.dnsConfig?.nameservers == ["10.96.0.10"])
        #expect(pod.spec.dnsConfig?.options?.first?.value == "5")
        #expect(pod.spec.securityContext?.seccompProfile?.type == "RuntimeDefault")
        #expect(pod.spec.volumes?[0].emptyDir?.sizeLimit?.value == 67_108_864)
        #expect(pod.spec.volumes?[1].hostPath?.path == "/var/log")
        #expect(pod.spec.initContainers?.map(\.isSidecar) == [false, true])
        #expect(pod.spec.sidecars.map(\.name) == ["proxy"])
        let app = pod.spec.containers[0]
        #expect(app.livenessProbe?.httpGet?.port == .string("http"))
        #expect(app.livenessProbe?.initialDelaySeconds == 3)
        #expect(app.startupProbe?.grpc?.port == 9090)
        #expect(app.readinessProbe?.exec?.command == ["cat", "/tmp/ready"])
        #expect(app.lifecycle?.preStop?.sleep?.seconds == 2)
        #expect(app.env?[1].valueFrom?.fieldRef?.fieldPath == "metadata.name")
        #expect(app.env?[2].valueFrom?.resourceFieldRef?.divisor?.value == 1_048_576)
        #expect(app.securityContext?.capabilities?.drop == ["ALL"])
        #expect(PodValidation.problems(pod).isEmpty)
    }

    @Test func jsonAndYAMLDecodeToTheSamePod() throws {
        let yaml = try ManifestDecoder.decodePod(Array(Self.fullYAML.utf8), source: "a.yaml")
        let json = try JSONEncoder().encode(yaml)
        let again = try ManifestDecoder.decodePod(Array(json), source: "a.json")
        #expect(again == yaml)
    }

    @Test func typeErrorsNameTheField() {
        let bad = """
            metadata: {name: x}
            spec:
              containers:
              - name: c
                image: i
                ports: [{containerPort: eighty}]
            """
        #expect {
            try ManifestDecoder.decodePod(Array(bad.utf8), source: "x.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains("spec.containers[0].ports[0].containerPort") && text.contains("x.yaml")
        }
    }

    @Test func rejectsEmptyAndMultiDocumentFiles() {
        #expect(throws: ManifestError.self) { try ManifestDecoder.decodePod(Array("  \n".utf8), source: "e") }
        let two = "metadata: {name: a}\n---\nmetadata: {name: b}\n"
        #expect { try ManifestDecoder.decodePod(Array(two.utf8), source: "two") } throws: { "\($0)".contains("2 documents") }
        #expect(throws: ManifestError.self) { try ManifestDecoder.decodePod(Array("a: [b".utf8), source: "broken") }
    }
}
