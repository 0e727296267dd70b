import Testing

@testable import APIServer

@Suite struct SelectorTests {
    @Test func labelSelectorForms() throws {
        let s = try LabelSelector(parsing: "app=web, tier!=db,env in (prod, staging),!legacy,release")
        #expect(s.matches(["app": "web", "env": "prod", "release": "1"]))
        #expect(!s.matches(["app": "web", "env": "dev", "release": "1"]))
        #expect(!s.matches(["app": "web", "env": "prod", "release": "1", "legacy": "y"]))
        #expect(!s.matches(["app": "web", "env": "prod", "release": "1", "tier": "db"]))
        #expect(!s.matches(["app": "web", "env": "prod"]))
        let notIn = try LabelSelector(parsing: "env notin (prod)")
        #expect(notIn.matches([:]) && !notIn.matches(["env": "prod"]))
    }

    @Test func badLabelSelectorIsA400() {
        #expect(throws: APIError.self) { try LabelSelector(parsing: "a in b") }
        #expect(throws: APIError.self) { try LabelSelector(parsing: "=x") }
    }

    @Test func fieldSelectorOnPaths() throws {
        let pod: JSONValue = ["metadata": ["name": "p", "namespace": "n"], "spec": ["nodeName": "node1"], "status": ["phase": "Running"]]
        #expect(try FieldSelector(parsing: "spec.nodeName=node1,status.phase!=Failed").matches(pod))
        #expect(!(try FieldSelector(parsing: "spec.nodeName=").matches(pod)))
        #expect(try FieldSelector(parsing: "metadata.name==p").exactName == "p")
        #expect(throws: APIError.self) { try FieldSelector(parsing: "nonsense") }
    }

    @Test func matchExpressionsObject() {
        let sel = LabelSelector(object: ["matchLabels": ["a": "b"], "matchExpressions": [["key": "c", "operator": "In", "values": ["1", "2"]]]])
        #expect(sel.matches(["a": "b", "c": "2"]))
        #expect(!sel.matches(["a": "b"]))
    }
}
