import Testing

@testable import APIServer

@Suite struct ValidationTests {
    let pods = ResourceCatalog.find(group: "", version: "v1", plural: "pods")!
    let services = ResourceCatalog.find(group: "", version: "v1", plural: "services")!
    let deployments = ResourceCatalog.find(group: "apps", version: "v1", plural: "deployments")!

    @Test func podErrorsAreAllReported() {
        let pod: JSONValue = ["metadata": ["name": "UPPER"], "spec": ["containers": [["name": "a"], ["name": "a", "image": "x"]], "restartPolicy": "Sometimes"]]
        let fields = Validation.validate(pods, pod).map(\.field).sorted()
        #expect(fields == ["metadata.name", "spec.containers[0].image", "spec.containers[1].name", "spec.restartPolicy"])
    }

    @Test func defaultedPodIsValid() {
        var pod: JSONValue = ["metadata": ["name": "ok"], "spec": ["containers": [["name": "a", "image": "busybox"]]]]
        Defaults.apply(pods, &pod, creating: true)
        #expect(Validation.validate(pods, pod).isEmpty)
        #expect(pod.value(at: ["spec", "containers"])?.arrayValue?.first?["imagePullPolicy"] == "Always")
        #expect(pod.value(at: ["status", "phase"]) == "Pending")
        #expect(pod.value(at: ["status", "qosClass"]) == "BestEffort")
    }

    @Test func serviceNamesAreDNS1035() {
        let svc: JSONValue = ["metadata": ["name": "1abc"], "spec": ["ports": [["port": 80]]]]
        #expect(Validation.validate(services, svc).map(\.field) == ["metadata.name"])
    }

    @Test func deploymentSelectorMustMatchTemplate() {
        let d: JSONValue = ["metadata": ["name": "d"], "spec": ["selector": ["matchLabels": ["a": "1"]],
                                                              "template": ["metadata": ["labels": ["a": "2"]], "spec": ["containers": [["name": "c", "image": "i"]]]]]]
        #expect(Validation.validate(deployments, d).map(\.field) == ["spec.template.metadata.labels"])
    }

    @Test func invalidStatusListsCauses() {
        let e = APIError.invalid(pods, "p", [.required("spec.containers"), .notSupported("spec.restartPolicy", "X", ["Always"])])
        #expect(e.code == 422)
        #expect(e.status.value(at: ["details", "causes"])?.arrayValue?.count == 2)
        #expect(e.message.hasPrefix("Pod \"p\" is invalid: ["))
    }

    @Test func podSpecImmutableExceptImage() {
        let old: JSONValue = ["spec": ["containers": [["name": "c", "image": "a"]], "restartPolicy": "Always"]]
        var newImage = old
        newImage.set(["spec", "containers"], [["name": "c", "image": "b"]])
        #expect(Validation.validateUpdate(pods, old: old, new: newImage).isEmpty)
        var newPolicy = old
        newPolicy.set(["spec", "restartPolicy"], "Never")
        #expect(Validation.validateUpdate(pods, old: old, new: newPolicy).map(\.field) == ["spec"])
    }
}
