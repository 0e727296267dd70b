import Testing
@testable import CNI

@Suite struct JSONTests {
    @Test func parsesNestedDocumentKeepingOrderAndNumberText() throws {
        let json = try JSONParser.parse(#"{"b": [1, 2.50, -3e2], "a": {"x": null, "y": true}, "s": "h\u00e9\n\"q\""}"#)
        #expect(json.objectValue?.keys == ["b", "a", "s"])
        #expect(json["b"] == .array([.number("1"), .number("2.50"), .number("-3e2")]))
        #expect(json["a"]?["y"] == .bool(true))
        #expect(json["s"]?.stringValue == "hé\n\"q\"")
        #expect(json.serialized == #"{"b":[1,2.50,-3e2],"a":{"x":null,"y":true},"s":"hé\n\"q\""}"#)
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"abc", "{} x", "\"\\ud800\"", "\"\u{01}\"",
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
    ])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test func serializesControlCharactersAndPrettyPrints() {
        let value = JSON.object(JSONObject([("k", .string("a\u{01}b")), ("e", .array([])), ("o", .object(JSONObject()))]))
        #expect(value.serialized == #"{"k":"a\u0001b","e":[],"o":{}}"#)
        #expect(value.prettySerialized == "{\n  \"k\": \"a\\u0001b\",\n  \"e\": [],\n  \"o\": {}\n}")
    }

    @Test func fieldErrorsNameThePath() throws {
        let root = JSONField(try JSONParser.parse(#"{"ipam": {"ranges": [[{"subnet": 5}]]}}"#), path: "")
        let subnet = root["ipam"]["ranges"].element(0, of: try root["ipam"]["ranges"].optionalArray() ?? [])
        #expect(subnet.path == "ipam.ranges[0]")
        do {
            _ = try root["ipam"]["missing"].string()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidNetworkConfig)
            #expect(error.message == "ipam.missing: missing")
        }
        do {
            _ = try root["ipam"]["ranges"].string()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .decodingFailure)
            #expect(error.message == "ipam.ranges: expected string, found array")
        }
    }
}
