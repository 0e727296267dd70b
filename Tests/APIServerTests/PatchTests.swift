import Testing

@testable import APIServer

@Suite struct PatchTests {
    func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    @Test func mergePatchRemovesNullsAndReplacesLists() throws {
        let target = try json(#"{"a":1,"b":{"c":2,"d":3},"l":[1,2]}"#)
        let patched = Patch.mergePatch(target, try json(#"{"b":{"c":null,"e":4},"l":[9]}"#))
        #expect(patched == (try json(#"{"a":1,"b":{"d":3,"e":4},"l":[9]}"#)))
    }

    @Test func jsonPatchOperations() throws {
        let target = try json(#"{"spec":{"replicas":1,"list":["a","b"]}}"#)
        let ops = try json(#"[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/spec/list/-","value":"c"},{"op":"remove","path":"/spec/list/0"},{"op":"copy","from":"/spec/replicas","path":"/spec/copy"},{"op":"test","path":"/spec/copy","value":3}]"#)
        #expect(try Patch.jsonPatch(target, ops) == (try json(#"{"spec":{"replicas":3,"list":["b","c"],"copy":3}}"#)))
    }

    @Test func jsonPatchOnMissingPathFails() throws {
        let target = try json(#"{"a":1}"#)
        #expect(throws: APIError.self) { try Patch.jsonPatch(target, try json(#"[{"op":"replace","path":"/nope","value":1}]"#)) }
        #expect(throws: APIError.self) { try Patch.jsonPatch(target, try json(#"[{"op":"test","path":"/a","value":2}]"#)) }
    }

    @Test func strategicMergeMergesContainersByName() throws {
        let target = try json(#"{"spec":{"containers":[{"name":"a","image":"a:1","env":[{"name":"X","value":"1"}]},{"name":"b","image":"b:1"}]}}"#)
        let patch = try json(#"{"spec":{"containers":[{"name":"a","image":"a:2","env":[{"name":"Y","value":"2"}]},{"name":"c","image":"c:1"}]}}"#)
        let out = try Patch.strategicMerge(target, patch)
        let containers = out.value(at: ["spec", "containers"])?.arrayValue ?? []
        #expect(containers.compactMap { $0["name"]?.stringValue } == ["a", "b", "c"])
        #expect(containers[0]["image"] == "a:2")
        #expect(containers[0]["env"]?.arrayValue?.count == 2)
    }

    @Test func strategicMergeDirectives() throws {
        let target = try json(#"{"spec":{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"}]},"metadata":{"finalizers":["x"],"labels":{"k":"v","z":"1"}}}"#)
        let patch = try json(#"{"spec":{"containers":[{"name":"a","$patch":"delete"}],"$setElementOrder/containers":[{"name":"b"}]},"metadata":{"finalizers":["y"],"labels":{"$patch":"replace","only":"this"}}}"#)
        let out = try Patch.strategicMerge(target, patch)
        #expect(out.value(at: ["spec", "containers"]) == (try json(#"[{"name":"b","image":"b"}]"#)))
        #expect(out.value(at: ["metadata", "finalizers"]) == ["x", "y"])
        #expect(out.value(at: ["metadata", "labels"]) == ["only": "this"])
        let reordered = try Patch.strategicMerge(target, try json(#"{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}]}}"#))
        #expect(reordered.value(at: ["spec", "containers"])?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["b", "a"])
    }

    @Test func servicePortsMergeByPort() throws {
        let target = try json(#"{"spec":{"ports":[{"port":80,"nodePort":30001},{"port":443}]}}"#)
        let out = try Patch.strategicMerge(target, try json(#"{"spec":{"ports":[{"port":80,"targetPort":8080}]}}"#))
        #expect(out.value(at: ["spec", "ports"]) == (try json(#"[{"port":80,"nodePort":30001,"targetPort":8080},{"port":443}]"#)))
    }
}

@Suite struct WireTests {
    @Test func resourceVersionSplicedWithoutParsing() throws {
        let object: JSONValue = ["kind": "Pod", "apiVersion": "v1", "metadata": ["name": "p", "labels": ["a": "b"]], "spec": [:]]
        let spliced = try #require(APIServer.withResourceVersion(object.serialized(), 42))
        let parsed = try JSONValue.parse(spliced)
        #expect(parsed.value(at: ["metadata", "resourceVersion"]) == "42")
        #expect(parsed.value(at: ["metadata", "labels", "a"]) == "b")
        let empty: JSONValue = ["kind": "X", "metadata": [:]]
        #expect(try JSONValue.parse(try #require(APIServer.withResourceVersion(empty.serialized(), 7))).value(at: ["metadata", "resourceVersion"]) == "7")
        // metadata nested under another object first: not spliced
        #expect(APIServer.withResourceVersion(Array(#"{"spec":{"metadata":{}},"metadata":{}}"#.utf8), 1) == nil)
    }
}
