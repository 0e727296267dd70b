import Testing
@testable import CNI

@Suite struct ResultVersionTests {
    static let current = #"""
    {"cniVersion":"1.1.0",
     "interfaces":[{"name":"cni0","mac":"aa:bb:cc:dd:ee:ff"},{"name":"eth0","mac":"00:11:22:33:44:55","sandbox":"/run/netns/x","mtu":1400}],
     "ips":[{"address":"10.0.0.5/24","gateway":"10.0.0.1","interface":1},{"address":"fd00::5/64","interface":1}],
     "routes":[{"dst":"0.0.0.0/0","gw":"10.0.0.1","mtu":1400,"priority":5}],
     "dns":{"nameservers":["10.0.0.1"],"search":["svc.local"]}}
    """#

    func parse(_ text: String) throws -> CNIResult {
        try CNIResult(json: JSONField(try JSONParser.parse(text), path: "prevResult"))
    }

    @Test func readsEveryField() throws {
        let result = try parse(Self.current)
        #expect(result.interfaces.count == 2)
        #expect(result.interfaces[1].sandbox == "/run/netns/x")
        #expect(result.ips[0].gateway?.description == "10.0.0.1")
        #expect(result.ips[1].interface == 1)
        #expect(result.routes[0].mtu == 1400)
        #expect(result.dns.search == ["svc.local"])
    }

    @Test func writesPre1_0ResultsWithIPVersionAndWithoutNewFields() throws {
        let result = try parse(Self.current)
        for version in [CNIVersion.v0_3_0, .v0_3_1, .v0_4_0] {
            let json = result.json(version: version)
            #expect(json["cniVersion"] == .string(version.description))
            #expect(json["ips"]?.arrayValue?[0]["version"] == .string("4"))
            #expect(json["ips"]?.arrayValue?[1]["version"] == .string("6"))
            #expect(json["routes"]?.arrayValue?[0]["mtu"] == nil)
            #expect(json["interfaces"]?.arrayValue?[1]["mtu"] == nil)
        }
    }

    @Test func writes1_xResultsWithoutIPVersion() throws {
        let result = try parse(Self.current)
        let v100 = result.json(version: .v1_0_0)
        #expect(v100["ips"]?.arrayValue?[0]["version"] == nil)
        #expect(v100["routes"]?.arrayValue?[0]["priority"] == nil)
        let v110 = result.json(version: .v1_1_0)
        #expect(v110["routes"]?.arrayValue?[0]["priority"] == .number("5"))
        #expect(v110["interfaces"]?.arrayValue?[1]["mtu"] == .number("1400"))
    }

    @Test func roundTripsThroughEveryVersion() throws {
        let result = try parse(Self.current)
        for version in CNIVersion.supported {
            let reread = try parse(result.json(version: version).serialized)
            #expect(reread.ips == result.ips)
            #expect(reread.interfaces.map(\.name) == result.interfaces.map(\.name))
            #expect(reread.dns == result.dns)
        }
    }

    @Test func readsOldResultsWithVersionField() throws {
        let old = #"{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.5/24","gateway":"10.0.0.1"}]}"#
        #expect(try parse(old).ips.count == 1)
        let mismatched = #"{"cniVersion":"0.3.1","ips":[{"version":"6","address":"10.0.0.5/24"}]}"#
        #expect(throws: CNIError.self) { try parse(mismatched) }
    }

    @Test func versionsCompareAndGateCommands() {
        #expect(CNIVersion("1.1.0") == .v1_1_0)
        #expect(CNIVersion("1.1") == nil)
        #expect(CNIVersion("a.b.c") == nil)
        #expect(CNIVersion.v0_4_0 < .v1_0_0)
        #expect(!CNIVersion.v0_3_1.allowsCheck)
        #expect(CNIVersion.v0_4_0.allowsCheck)
        #expect(!CNIVersion.v1_0_0.allowsGCAndStatus)
        #expect(CNIVersion.v1_1_0.allowsGCAndStatus)
        #expect(!CNIVersion(0, 2, 0).isSupported)
    }
}
