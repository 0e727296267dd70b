import Testing
@testable import CNI

/// The dispatcher driven with an environment dictionary: error codes and messages for bad input.
@Suite struct PluginMainTests {
    static let attachment = ["CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/none", "CNI_IFNAME": "eth0", "CNI_PATH": "/nonexistent"]

    func run(_ env: [String: String], _ stdin: String, role: PluginRole = .bridge) throws -> (JSON, Int32) {
        let output = PluginMain.run(role: role, environment: env, stdin: Array(stdin.utf8))
        return (try JSONParser.parse(output.stdout), output.exitCode)
    }

    func expectError(
        _ env: [String: String], _ stdin: String, role: PluginRole = .bridge, code: Int, mentions: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (json, status) = try run(env, stdin, role: role)
        #expect(status == 1, sourceLocation: sourceLocation)
        #expect(json["code"] == .int(code), "\(json.serialized)", sourceLocation: sourceLocation)
        let message = json["msg"]?.stringValue ?? ""
        #expect(message.contains(mentions), "\(message)", sourceLocation: sourceLocation)
    }

    @Test func versionReportsSupportedVersions() throws {
        let (json, status) = try run(["CNI_COMMAND": "VERSION"], #"{"cniVersion":"0.4.0"}"#)
        #expect(status == 0)
        #expect(json["cniVersion"] == .string("0.4.0"))
        #expect(json["supportedVersions"]?.arrayValue?.count == CNIVersion.supported.count)
        let (empty, _) = try run(["CNI_COMMAND": "VERSION"], "")
        #expect(empty["cniVersion"] == .string("1.1.0"))
    }

    @Test func roleFollowsArgv0() {
        #expect(PluginRole(argv0: "/opt/cni/bin/host-local") == .hostLocal)
        #expect(PluginRole(argv0: "/opt/cni/bin/bridge") == .bridge)
        #expect(PluginRole(argv0: "swiftlet-cni") == .bridge)
    }

    @Test func unknownOrMissingCommandIsCode4() throws {
        try expectError(["CNI_COMMAND": "FROB"], "{}", code: 4, mentions: "CNI_COMMAND")
        try expectError([:], "{}", code: 4, mentions: "CNI_COMMAND")
    }

    @Test func invalidJSONIsCode6() throws {
        var env = Self.attachment
        env["CNI_COMMAND"] = "ADD"
        try expectError(env, "{not json", code: 6, mentions: "stdin")
        try expectError(env, "[1]", code: 6, mentions: "expected an object")
    }

    @Test func versionProblemsAreCode1() throws {
        var env = Self.attachment
        env["CNI_COMMAND"] = "ADD"
        try expectError(env, #"{"name":"n","type":"bridge"}"#, code: 1, mentions: "cniVersion")
        try expectError(env, #"{"cniVersion":"0.2.0","name":"n","type":"bridge"}"#, code: 1, mentions: "0.2.0")
        env["CNI_COMMAND"] = "CHECK"
        try expectError(env, #"{"cniVersion":"0.3.1","name":"n","type":"bridge"}"#, code: 1, mentions: "CHECK")
        env["CNI_COMMAND"] = "GC"
        try expectError(env, #"{"cniVersion":"1.0.0","name":"n","type":"bridge"}"#, code: 1, mentions: "GC")
    }

    @Test func missingEnvironmentIsCode4NamingTheVariable() throws {
        let config = #"{"cniVersion":"1.1.0","name":"n","type":"bridge"}"#
        try expectError(["CNI_COMMAND": "ADD", "CNI_NETNS": "/x", "CNI_IFNAME": "eth0"], config, code: 4, mentions: "CNI_CONTAINERID")
        try expectError(["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0"], config, code: 4, mentions: "CNI_NETNS")
        try expectError(["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c"], config, code: 4, mentions: "CNI_IFNAME")
        try expectError(["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "-bad", "CNI_NETNS": "/x", "CNI_IFNAME": "eth0"], config, code: 4, mentions: "CNI_CONTAINERID")
        try expectError(["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_NETNS": "/x", "CNI_IFNAME": "waytoolonginterface"], config, code: 4, mentions: "CNI_IFNAME")
        try expectError(["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_NETNS": "/x", "CNI_IFNAME": "a/b"], config, code: 4, mentions: "CNI_IFNAME")
        try expectError(["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_NETNS": "/x", "CNI_IFNAME": "eth0", "CNI_ARGS": "novalue"], config, code: 4, mentions: "CNI_ARGS")
    }

    @Test func badBridgeFieldsAreNamed() throws {
        var env = Self.attachment
        env["CNI_COMMAND"] = "ADD"
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n","type":"bridge","mtu":"big"}"#, code: 6, mentions: "mtu")
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n","type":"bridge","mtu":20}"#, code: 7, mentions: "mtu")
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n","type":"bridge","isGateway":"yes"}"#, code: 6, mentions: "isGateway")
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n","type":"bridge","bridge":"a/b"}"#, code: 7, mentions: "bridge")
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n","type":"bridge","hairpinMode":true,"promiscMode":true}"#, code: 7, mentions: "hairpinMode")
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n","type":"bridge","vlan":5}"#, code: 2, mentions: "vlan")
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n/../x","type":"bridge"}"#, code: 7, mentions: "name")
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n","type":"bridge","runtimeConfig":{"mac":"zz:zz"}}"#, code: 7, mentions: "runtimeConfig.mac")
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n","type":"bridge","ipMasq":true}"#, code: 7, mentions: "ipMasq")
    }

    @Test func badHostLocalFieldsAreNamed() throws {
        var env = Self.attachment
        env["CNI_COMMAND"] = "ADD"
        let prefix = #"{"cniVersion":"1.1.0","name":"n","type":"host-local","ipam":"#
        try expectError(env, #"{"cniVersion":"1.1.0","name":"n","type":"x"}"#, role: .hostLocal, code: 7, mentions: "ipam")
        try expectError(env, prefix + #"{"type":"host-local"}}"#, role: .hostLocal, code: 7, mentions: "ipam.ranges")
        try expectError(env, prefix + #"{"subnet":"10.0.0/24"}}"#, role: .hostLocal, code: 7, mentions: "ipam.subnet")
        try expectError(env, prefix + #"{"subnet":"10.0.0.1/24"}}"#, role: .hostLocal, code: 7, mentions: "host bits")
        try expectError(env, prefix + #"{"subnet":"10.0.0.0/31"}}"#, role: .hostLocal, code: 7, mentions: "too small")
        try expectError(env, prefix + #"{"ranges":[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.1.5"}]]}}"#, role: .hostLocal, code: 7, mentions: "ipam.ranges[0][0].rangeStart")
        try expectError(env, prefix + #"{"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.0.0.0/25"}]]}}"#, role: .hostLocal, code: 7, mentions: "overlaps")
        try expectError(env, prefix + #"{"ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"fd00::/64"}]]}}"#, role: .hostLocal, code: 7, mentions: "families")
        try expectError(env, prefix + #"{"ranges":[{"subnet":"10.0.0.0/24"}]}}"#, role: .hostLocal, code: 6, mentions: "ipam.ranges[0]")
        try expectError(env, prefix + #"{"subnet":"10.0.0.0/24","routes":[{"dst":"nope"}]}}"#, role: .hostLocal, code: 7, mentions: "ipam.routes[0].dst")
        try expectError(env, prefix + #"{"subnet":"10.0.0.0/24","gateway":"10.0.0"}}"#, role: .hostLocal, code: 7, mentions: "ipam.gateway")
    }
}
