import Foundation
import Testing

@testable import APIServer

/// Protobuf request bodies exactly as kubectl 1.32 sent them (captured by
/// tests/controlplane/protobuf/capture.py), decoded into JSON and checked against what the
/// command asked for.
@Suite struct ProtobufBodyTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../tests/controlplane/protobuf").standardized

    static func body(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent("\(name).pb")))
    }

    static func decoded(_ name: String) throws -> JSONValue { try Protobuf.decode(body(name)) }

    /// Every path where two JSON values differ ("spec.template.spec.containers[0].image: …").
    static func differences(_ a: JSONValue?, _ b: JSONValue?, _ path: String = "") -> [String] {
        switch (a, b) {
        case (.object(let x)?, .object(let y)?):
            return Set(x.keys).union(y.keys).sorted().flatMap { differences(x[$0], y[$0], path.isEmpty ? $0 : "\(path).\($0)") }
        case (.array(let x)?, .array(let y)?) where x.count == y.count:
            return zip(x, y).enumerated().flatMap { differences($0.element.0, $0.element.1, "\(path)[\($0.offset)]") }
        default:
            return a == b ? [] : ["\(path): \(a?.jsonString ?? "absent") != \(b?.jsonString ?? "absent")"]
        }
    }

    /// No field of the decoded object holds an empty string: Go's non-pointer zero values are
    /// sent on the wire but are not part of the object's JSON.
    static func emptyStrings(_ v: JSONValue, _ path: String = "") -> [String] {
        switch v {
        case .string(let s): return s.isEmpty ? [path] : []
        case .object(let o): return o.flatMap { emptyStrings($0.value, "\(path).\($0.key)") }
        case .array(let a): return a.enumerated().flatMap { emptyStrings($0.element, "\(path)[\($0.offset)]") }
        default: return []
        }
    }

    @Test func richPodTemplateRoundTripsFieldByField() throws {
        // kubectl read the CronJob as JSON (rich-cronjob.served.json) and sent its job template
        // back as protobuf; decoding it must give the same JSON, field by field.
        let served = try JSONValue.parse(Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("rich-cronjob.served.json"))))
        let job = try Self.decoded("job-from-cronjob")
        #expect(job["kind"] == "Job" && job["apiVersion"] == "batch/v1")
        let diffs = Self.differences(served.value(at: ["spec", "jobTemplate", "spec"]), job["spec"])
        #expect(diffs.isEmpty, "\(diffs.joined(separator: "\n"))")
        // Spot checks of the encodings that need care, in case both sides were wrong alike.
        let pod = try #require(job.value(at: ["spec", "template", "spec"]))
        #expect(pod["automountServiceAccountToken"] == .bool(false))  // a pointer false is kept
        #expect(pod["terminationGracePeriodSeconds"] == .int(0))  // a pointer 0 is kept
        #expect(pod.value(at: ["securityContext", "runAsUser"]) == .int(0))
        #expect(pod.value(at: ["securityContext", "supplementalGroups"]) == [4000, 5000])
        let main = try #require(pod["containers"]?.arrayValue?.first)
        #expect(main.value(at: ["livenessProbe", "httpGet", "port"]) == "http")  // IntOrString as a string
        #expect(main.value(at: ["readinessProbe", "tcpSocket", "port"]) == .int(8080))  // … and as a number
        #expect(main.value(at: ["resources", "limits", "memory"]) == "256Mi")  // Quantity
        #expect(main.value(at: ["env"])?.arrayValue?[1] == ["name": "EMPTY"])  // sent as "", which JSON omits
        #expect(main.value(at: ["securityContext", "capabilities", "drop"]) == ["ALL"])
        let volumes = pod["volumes"]?.arrayValue ?? []
        #expect(volumes.count == 13)
        #expect(volumes.first { $0["name"] == "cfg" }?.value(at: ["configMap", "defaultMode"]) == .int(420))
        #expect(Self.emptyStrings(job).isEmpty, "\(Self.emptyStrings(job))")
        // Server-side fields kubectl copied are gone from the body: no zero creationTimestamp.
        #expect(job.value(at: ["metadata", "creationTimestamp"]) == nil)
        #expect(job.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first?["kind"] == "CronJob")
        #expect(job.value(at: ["metadata", "annotations", "cronjob.kubernetes.io/instantiate"]) == "manual")
    }

    @Test func richDeploymentMatchesItsJSONFormFieldByField() throws {
        // build_deployment.py: a Deployment encoded by Python's protobuf package around the
        // template kubectl encoded, and the JSON form of the same Deployment.
        let expected = try JSONValue.parse(Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("deployment-rich.json"))))
        let d = try Self.decoded("deployment-rich")
        let diffs = Self.differences(expected, d)
        #expect(diffs.isEmpty, "\(diffs.joined(separator: "\n"))")
        #expect(d.value(at: ["spec", "replicas"]) == .int(0))
        #expect(d.value(at: ["spec", "revisionHistoryLimit"]) == .int(0))
        #expect(d.value(at: ["spec", "strategy", "rollingUpdate"]) == ["maxUnavailable": "25%", "maxSurge": 2])
        #expect((d.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.count ?? 0) == 2)
        #expect(Self.emptyStrings(d).isEmpty)
    }

    @Test func deploymentFromKubectlCreate() throws {
        let d = try Self.decoded("deployment")
        #expect(d["kind"] == "Deployment" && d["apiVersion"] == "apps/v1")
        #expect(d.value(at: ["metadata", "name"]) == "web")
        #expect(d.value(at: ["metadata", "labels"]) == ["app": "web"])
        #expect(d.value(at: ["spec", "replicas"]) == .int(3))
        #expect(d.value(at: ["spec", "selector"]) == ["matchLabels": ["app": "web"]])
        #expect(d.value(at: ["spec", "template", "metadata", "labels"]) == ["app": "web"])
        let containers = d.value(at: ["spec", "template", "spec", "containers"])?.arrayValue ?? []
        #expect(containers.map { $0["image"] } == ["nginx:1.27", "busybox:1.36"])
        #expect(containers.first?["ports"] == [["containerPort": 8080]])
        #expect(containers.first?["resources"] == .object([:]))
        #expect(d.value(at: ["spec", "strategy"]) == .object([:]))
        #expect(d["status"] == .object([:]))  // all-zero status: only omitempty fields
        #expect(Self.emptyStrings(d).isEmpty)
    }

    @Test func servicesOfEveryType() throws {
        let a = try Self.decoded("service-clusterip")
        #expect(a.value(at: ["spec", "type"]) == "ClusterIP")
        #expect(a.value(at: ["spec", "ports"]) == [
            ["name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080],
            ["name": "443-8443", "protocol": "TCP", "port": 443, "targetPort": 8443],
        ])
        #expect(a.value(at: ["spec", "selector"]) == ["app": "svc-a"])
        let b = try Self.decoded("service-nodeport")
        #expect(b.value(at: ["spec", "type"]) == "NodePort")
        #expect(b.value(at: ["spec", "ports"])?.arrayValue?.first?["nodePort"] == .int(30080))
        let c = try Self.decoded("service-loadbalancer")
        #expect(c.value(at: ["spec", "type"]) == "LoadBalancer")
        #expect(c.value(at: ["status"]) == ["loadBalancer": .object([:])])
        let d = try Self.decoded("service-externalname")
        #expect(d.value(at: ["spec", "type"]) == "ExternalName")
        #expect(d.value(at: ["spec", "externalName"]) == "db.example.com")
        for s in [a, b, c, d] { #expect(Self.emptyStrings(s).isEmpty) }
    }

    @Test func jobsAndCronJobs() throws {
        let job = try Self.decoded("job")
        let c = job.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first
        #expect(c?["command"] == ["echo", "hi"])
        #expect(c?["image"] == "busybox:1.36")
        #expect(job.value(at: ["spec", "template", "spec", "restartPolicy"]) == "Never")
        let cron = try Self.decoded("cronjob")
        #expect(cron["kind"] == "CronJob")
        #expect(cron.value(at: ["spec", "schedule"]) == "*/5 * * * *")
        #expect(cron.value(at: ["spec", "jobTemplate", "spec", "template", "spec", "restartPolicy"]) == "OnFailure")
        #expect(cron.value(at: ["spec", "jobTemplate", "spec", "template", "spec", "containers"])?.arrayValue?.first?["command"] == ["date"])
    }

    @Test func policyQuotaSchedulingAndNetworkingKinds() throws {
        let q = try Self.decoded("quota")
        #expect(q["kind"] == "ResourceQuota")
        #expect(q.value(at: ["spec", "hard"]) == ["cpu": "1", "memory": "1Gi", "pods": "10"])
        #expect(q.value(at: ["spec", "scopes"]) == ["BestEffort"])
        let pc = try Self.decoded("priorityclass")
        #expect(pc["value"] == .int(1000))
        #expect(pc["globalDefault"] == nil)  // a plain bool with omitempty: false is left out
        #expect(pc["description"] == "important")
        #expect(pc["preemptionPolicy"] == "Never")
        let pdb = try Self.decoded("pdb")
        #expect(pdb.value(at: ["spec", "minAvailable"]) == "50%")
        #expect(pdb.value(at: ["spec", "selector", "matchLabels"]) == ["app": "web"])
        let ing = try Self.decoded("ingress")
        #expect(ing.value(at: ["spec", "ingressClassName"]) == "nginx")
        #expect(ing.value(at: ["metadata", "annotations"]) == ["a": "b"])
        #expect(ing.value(at: ["spec", "defaultBackend", "service"]) == ["name": "svc-a", "port": ["name": "http"]])
        let rule = ing.value(at: ["spec", "rules"])?.arrayValue?.first
        #expect(rule?["host"] == "foo.com")
        #expect(rule?.value(at: ["http", "paths"]) == [
            ["path": "/bar", "pathType": "Prefix", "backend": ["service": ["name": "svc-a", "port": ["number": 8080]]]],
        ])
        #expect(ing.value(at: ["spec", "tls"]) == [["hosts": ["foo.com"], "secretName": "cert"]])
        for o in [q, pc, pdb, ing] { #expect(Self.emptyStrings(o).isEmpty) }
    }

    @Test func rbacAuthAndCoreKinds() throws {
        let agg = try Self.decoded("clusterrole-aggregation")
        #expect(agg.value(at: ["aggregationRule", "clusterRoleSelectors"]) == [["matchLabels": ["rbac.example.com/aggregate-to-monitoring": "true"]]])
        let role = try Self.decoded("role")
        #expect(role["rules"] == [
            ["verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["x"]],
            ["verbs": ["get", "list"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["x"]],
        ])
        #expect(try Self.decoded("namespace").value(at: ["metadata", "name"]) == "captured")
        #expect(try Self.decoded("serviceaccount").value(at: ["metadata", "name"]) == "robot")
        let token = try Self.decoded("token")
        #expect(token.value(at: ["spec", "audiences"]) == ["vault"])
        #expect(token.value(at: ["spec", "expirationSeconds"]) == .int(600))
        let review = try Self.decoded("can-i")
        #expect(review.value(at: ["spec", "resourceAttributes"]) == [
            "namespace": "kube-system", "verb": "list", "resource": "pods", "subresource": "log",
        ])
        #expect(review.value(at: ["status", "allowed"]) == .bool(false))  // no omitempty
    }

    // MARK: nothing is dropped silently

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat {
            out.append(UInt8(v & 0x7F) | (v > 0x7F ? 0x80 : 0))
            v >>= 7
        } while v != 0
        return out
    }

    /// The captured body with `extra` appended to the raw message inside the envelope.
    static func withExtraField(_ name: String, _ extra: [UInt8]) throws -> [UInt8] {
        var reader = Protobuf.Reader(bytes: try body(name)[4...])
        var out: [UInt8] = [0x6B, 0x38, 0x73, 0x00]
        while let (field, wire) = try reader.tag() {
            let value = Array(try reader.lengthDelimited())
            #expect(wire == 2)
            let payload = field == 2 ? value + extra : value
            out += varint(UInt64(field << 3 | 2)) + varint(UInt64(payload.count)) + payload
        }
        return out
    }

    @Test func unknownFieldNumbersAreRefusedWithKindAndNumber() throws {
        // Field 99 (a varint) at the Deployment's top level.
        let body = try Self.withExtraField("deployment", Self.varint(99 << 3) + [1])
        let error = #expect(throws: Protobuf.DecodeError.self) { try Protobuf.decode(body) }
        #expect(error?.description.contains("apps/v1 Deployment") == true)
        #expect(error?.description.contains("field number 99") == true)
        // Inside a nested message the path is named too: spec (2) { template (3) { spec (2) { field 77 } } }.
        let inner = Self.varint(77 << 3) + [5]
        let podSpec = Self.varint(2 << 3 | 2) + Self.varint(UInt64(inner.count)) + inner
        let template = Self.varint(3 << 3 | 2) + Self.varint(UInt64(podSpec.count)) + podSpec
        let spec = Self.varint(2 << 3 | 2) + Self.varint(UInt64(template.count)) + template
        let nested = try Self.withExtraField("deployment", spec)
        let e2 = #expect(throws: Protobuf.DecodeError.self) { try Protobuf.decode(nested) }
        #expect(e2?.description.contains("field number 77") == true)
        #expect(e2?.description.contains("spec.template.spec") == true)
        // A known field with the wrong wire type: metadata.name (1) sent as a varint.
        let badWire = Self.varint(1 << 3 | 2) + [2] + Self.varint(1 << 3) + [7]
        let e3 = #expect(throws: Protobuf.DecodeError.self) { try Protobuf.decode(try Self.withExtraField("namespace", badWire)) }
        #expect(e3?.description.contains("wire type 0") == true)
        // A kind without a table.
        var unknownKind = try Self.body("namespace")
        if let i = unknownKind.firstIndex(of: UInt8(ascii: "N")) { unknownKind[i] = UInt8(ascii: "X") }
        let e4 = #expect(throws: Protobuf.DecodeError.self) { try Protobuf.decode(unknownKind) }
        #expect(e4?.description.contains("v1/Xamespace") == true)
    }

    @Test func specialEncodingsFormatLikeGo() {
        #expect(Protobuf.goDuration(0) == "0s")
        #expect(Protobuf.goDuration(1_500_000_000) == "1.5s")
        #expect(Protobuf.goDuration(90 * 1_000_000_000) == "1m30s")
        #expect(Protobuf.goDuration(3600 * 1_000_000_000) == "1h0m0s")
        #expect(Protobuf.goDuration(300_000_000) == "300ms")
        #expect(Protobuf.goDuration(1_000) == "1µs")
        #expect(Protobuf.goDuration(1_500) == "1.5µs")
        #expect(Protobuf.goDuration(-5_000_000_000) == "-5s")
        #expect(Protobuf.format(seconds: 1_700_000_000, nanos: 123_456_789, micro: false) == "2023-11-14T22:13:20Z")
        #expect(Protobuf.format(seconds: 1_700_000_000, nanos: 123_456_789, micro: true) == "2023-11-14T22:13:20.123456Z")
    }
}
