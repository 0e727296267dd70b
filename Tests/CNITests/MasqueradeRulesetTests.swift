import Testing
@testable import CNI

/// The nftables rules, built into libnftnl objects and printed by libnftnl: no netlink, no root.
@Suite struct MasqueradeRulesetTests {
    @Test func ipv4RuleMatchesSourceAndNegatedSubnet() throws {
        let rule = MasqueradeRuleset.rule(for: try #require(IPNetwork("10.9.0.5/24")), comment: "c")
        #expect(rule.chain == "masq_checks")
        #expect(rule.expressions == [
            .loadNFProto, .compare(.equal, [2]),
            .loadNetworkHeader(offset: 12, length: 4), .compare(.equal, [10, 9, 0, 5]),
            .loadNetworkHeader(offset: 16, length: 4), .mask([255, 255, 255, 0]), .compare(.notEqual, [10, 9, 0, 0]),
            .masquerade,
        ])
        let text = NftablesSocket.debugDescription(of: rule, table: MasqueradeRuleset.table)
        #expect(text.contains("[ meta load nfproto => reg 1 ]"), "\(text)")
        #expect(text.contains("[ payload load 4b @ network header + 12 => reg 1 ]"), "\(text)")
        #expect(text.contains("[ cmp eq reg 1 0x0500090a ]"), "\(text)")
        #expect(text.contains("[ bitwise reg 1 = ( reg 1 & 0x00ffffff ) ^ 0x00000000 ]"), "\(text)")
        #expect(text.contains("[ cmp neq reg 1 0x0000090a ]"), "\(text)")
        #expect(text.contains("[ masq ]"), "\(text)")
    }

    @Test func ipv6RuleUsesIPv6Offsets() throws {
        let rule = MasqueradeRuleset.rule(for: try #require(IPNetwork("fd09::5/64")), comment: "c")
        #expect(rule.expressions[1] == .compare(.equal, [10]))
        #expect(rule.expressions[2] == .loadNetworkHeader(offset: 8, length: 16))
        #expect(rule.expressions[4] == .loadNetworkHeader(offset: 24, length: 16))
        #expect(rule.expressions[5] == .mask([255, 255, 255, 255, 255, 255, 255, 255] + Array(repeating: 0, count: 8)))
    }

    @Test func postroutingSkipsMulticastThenJumps() {
        let rules = MasqueradeRuleset.postroutingRules
        #expect(rules.count == 3)
        #expect(rules[0].expressions.last == .verdict(.return))
        #expect(rules[2].expressions == [.verdict(.goto("masq_checks"))])
        let text = NftablesSocket.debugDescription(of: rules[2], table: MasqueradeRuleset.table)
        #expect(text.contains("[ immediate reg 0 goto -> masq_checks ]"), "\(text)")
    }

    @Test func commentsCarryStableTagsAndFitTheLimit() {
        let comment = MasqueradeRuleset.comment(network: "net", ifname: "eth0", containerID: "abc")
        #expect(comment.hasPrefix(MasqueradeRuleset.attachmentTag(network: "net", ifname: "eth0", containerID: "abc") + ", net: net"))
        #expect(MasqueradeRuleset.attachmentTag(network: "net", ifname: "eth0", containerID: "abc").hasPrefix(MasqueradeRuleset.networkTag("net") + "-"))
        #expect(MasqueradeRuleset.networkTag("net") != MasqueradeRuleset.networkTag("net2"))
        let long = MasqueradeRuleset.comment(network: "net", ifname: "eth0", containerID: String(repeating: "x", count: 300))
        #expect(long.utf8.count == 128)
        #expect(MasqueradeRuleset.hash16("") == "cbf29ce484222325")
    }

    @Test func userDataRoundTrips() {
        let encoded = UserData.encodeComment("hello")
        #expect(encoded == [0, 6] + Array("hello".utf8) + [0])
        let decoded = encoded.withUnsafeBytes { UserData.comment(in: $0) }
        #expect(decoded == "hello")
    }
}
