/// One nftables expression, as the kernel sees it (register machine form, not nft syntax).
public enum NftExpression: Equatable, Sendable {
    public enum CompareOperator: Sendable { case equal, notEqual }
    public enum Verdict: Equatable, Sendable {
        case `return`
        case goto(String)
    }

    /// meta nfproto → register 1.
    case loadNFProto
    /// Network-header payload → register 1.
    case loadNetworkHeader(offset: UInt32, length: UInt32)
    /// register 1 = register 1 & mask (xor 0).
    case mask([UInt8])
    case compare(CompareOperator, [UInt8])
    case verdict(Verdict)
    case masquerade
}

/// A rule: its chain, its expressions and an optional comment (stored as nft's rule user data).
public struct NftRule: Equatable, Sendable {
    public var chain: String
    public var expressions: [NftExpression]
    public var comment: String?
}

/// The plugin's own masquerade table and how its rules are built.
///
/// Layout (table `inet swiftlet_cni_masquerade`):
/// - chain `postrouting` (nat, hook postrouting, priority srcnat): multicast returns, then
///   `goto masq_checks`. Rewritten whole in every ADD transaction, so it is always complete.
/// - chain `masq_checks`: one rule per pod address, `ip saddr <pod> ip daddr != <subnet>
///   masquerade`, commented with a hash of the network and a hash of (ifname, container ID), so
///   DEL and GC find exactly their own rules even when an address was reused.
public enum MasqueradeRuleset {
    public static let table = "swiftlet_cni_masquerade"
    public static let postroutingChain = "postrouting"
    public static let checksChain = "masq_checks"
    /// NF_IP_PRI_NAT_SRC.
    public static let srcnatPriority: Int32 = 100
    /// nftables' limit on a rule comment (NFT_USERDATA_MAXLEN is 256 but nft keeps 128).
    static let commentLimit = 128

    static let nfprotoIPv4: UInt8 = 2
    static let nfprotoIPv6: UInt8 = 10

    /// The rules of the postrouting chain: skip multicast, hand everything else to masq_checks.
    public static var postroutingRules: [NftRule] {
        [
            NftRule(chain: postroutingChain, expressions: [
                .loadNFProto, .compare(.equal, [nfprotoIPv4]),
                .loadNetworkHeader(offset: 16, length: 4), .mask([0xF0, 0, 0, 0]), .compare(.equal, [0xE0, 0, 0, 0]),
                .verdict(.return),
            ]),
            NftRule(chain: postroutingChain, expressions: [
                .loadNFProto, .compare(.equal, [nfprotoIPv6]),
                .loadNetworkHeader(offset: 24, length: 16),
                .mask([0xFF] + Array(repeating: 0, count: 15)), .compare(.equal, [0xFF] + Array(repeating: 0, count: 15)),
                .verdict(.return),
            ]),
            NftRule(chain: postroutingChain, expressions: [.verdict(.goto(checksChain))]),
        ]
    }

    /// `ip saddr <address> ip daddr != <subnet> masquerade` for one pod address.
    public static func rule(for address: IPNetwork, comment: String) -> NftRule {
        let v4 = address.family == .v4
        let width = UInt32(address.family.byteCount)
        var expressions: [NftExpression] = [
            .loadNFProto, .compare(.equal, [v4 ? nfprotoIPv4 : nfprotoIPv6]),
            .loadNetworkHeader(offset: v4 ? 12 : 8, length: width), .compare(.equal, address.address.bytes),
            .loadNetworkHeader(offset: v4 ? 16 : 24, length: width),
        ]
        if address.prefixLength < address.family.bitWidth {
            let mask = IPAddress(family: address.family, value: address.mask).bytes
            expressions.append(.mask(mask))
        }
        expressions += [.compare(.notEqual, address.network.bytes), .masquerade]
        return NftRule(chain: checksChain, expressions: expressions, comment: comment)
    }

    /// The comment prefix shared by every rule of a network.
    public static func networkTag(_ network: String) -> String { hash16(network) }

    /// The comment prefix of one attachment's rules.
    public static func attachmentTag(network: String, ifname: String, containerID: String) -> String {
        "\(networkTag(network))-\(hash16("\(ifname):\(containerID)"))"
    }

    /// "<tag>, net: <network>, if: <ifname>, id: <container ID>", cut to nft's comment limit.
    public static func comment(network: String, ifname: String, containerID: String) -> String {
        let text = "\(attachmentTag(network: network, ifname: ifname, containerID: containerID)), net: \(network), if: \(ifname), id: \(containerID)"
        let bytes = Array(text.utf8.prefix(commentLimit))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// FNV-1a 64-bit as 16 hex digits: stable across runs and builds, which is all a tag needs.
    static func hash16(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
