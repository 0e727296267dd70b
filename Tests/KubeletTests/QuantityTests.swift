import Testing

@testable import KubeletCore

@Suite struct QuantityTests {
    @Test(arguments: [
        ("100m", Int64(100)), ("1", 1000), ("0.5", 500), ("1.5", 1500), ("2k", 2_000_000), ("1e3", 1_000_000),
        ("1E-3", 1), ("0.0001", 1), ("+3", 3000), ("250u", 1), ("0", 0),
    ])
    func milliValues(text: String, milli: Int64) throws {
        #expect(try Quantity(parsing: text).milliValue == milli)
    }

    @Test(arguments: [
        ("128974848", Int64(128_974_848)), ("129e6", 129_000_000), ("129M", 129_000_000), ("123Mi", 128_974_848),
        ("1Ki", 1024), ("1.5Gi", 1_610_612_736), ("1Ti", 1_099_511_627_776), ("100m", 1), ("1Ei", 1_152_921_504_606_846_976),
    ])
    func values(text: String, value: Int64) throws {
        #expect(try Quantity(parsing: text).value == value)
    }

    @Test(arguments: ["", "abc", "1Qi", "1.2.3", "Mi", "1e", "1e1000", "--1", "1 Mi"])
    func rejectsMalformed(text: String) {
        #expect(throws: Quantity.ParseError.self) { try Quantity(parsing: text) }
    }

    @Test func negativeAndComparison() throws {
        let q = try Quantity(parsing: "-1Gi")
        #expect(q.isNegative)
        #expect(try Quantity(parsing: "1Gi") > Quantity(parsing: "1G"))
        #expect(try Quantity(parsing: "1000m") == Quantity(parsing: "1"))
        #expect(try (Quantity(parsing: "100m") + Quantity(parsing: "0.4")).milliValue == 500)
    }

    @Test func decodesNumbersAndStringsFromJSONAndYAML() throws {
        let pod = try ManifestDecoder.decodePod(Array("""
            {"metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"i",
             "resources":{"limits":{"cpu":2,"memory":"64Mi"},"requests":{"cpu":0.5}}}]}}
            """.utf8), source: "t.json")
        let r = try #require(pod.spec.containers.first?.resources)
        #expect(r.limits?["cpu"]?.milliValue == 2000)
        #expect(r.limits?["memory"]?.value == 67_108_864)
        #expect(r.requests?["cpu"]?.milliValue == 500)
    }
}
