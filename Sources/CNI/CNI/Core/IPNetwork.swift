/// An address with a prefix length ("10.1.2.3/24"). The address may have host bits set, as an
/// interface address does; `network` is the masked form.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(address: IPAddress, prefixLength: Int) {
        guard prefixLength >= 0, prefixLength <= address.family.bitWidth else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses "address/prefix".
    public init?(_ text: String) {
        guard let slash = text.lastIndex(of: "/") else { return nil }
        let prefixText = text[text.index(after: slash)...]
        guard let address = IPAddress(String(text[..<slash])), !prefixText.isEmpty, prefixText.count <= 3,
            prefixText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let prefix = Int(prefixText)
        else { return nil }
        self.init(address: address, prefixLength: prefix)
    }

    public var family: IPAddress.Family { address.family }

    /// The prefix mask as an integer of the family's width.
    public var mask: UInt128 {
        let width = family.bitWidth
        if prefixLength == 0 { return 0 }
        let ones: UInt128 = width == 128 ? .max : 0xFFFF_FFFF
        return ones << UInt128(width - prefixLength) & ones
    }

    /// The network address (host bits cleared).
    public var network: IPAddress { IPAddress(family: family, value: address.value & mask) }

    /// The same network with host bits cleared ("10.1.2.0/24").
    public var masked: IPNetwork { IPNetwork(address: network, prefixLength: prefixLength) ?? self }

    /// The last address in the network (the IPv4 broadcast address).
    public var lastAddress: IPAddress {
        let hostBits: UInt128 = family == .v4 ? ~mask & 0xFFFF_FFFF : ~mask
        return IPAddress(family: family, value: network.value | hostBits)
    }

    public var hasHostBits: Bool { address.value & mask != address.value }

    public func contains(_ other: IPAddress) -> Bool {
        other.family == family && other.value & mask == network.value
    }

    /// Whether two networks share any address.
    public func overlaps(_ other: IPNetwork) -> Bool {
        other.family == family && (contains(other.network) || other.contains(network))
    }

    public var description: String { "\(address)/\(prefixLength)" }

    /// The default route for a family ("0.0.0.0/0" or "::/0").
    public static func defaultRoute(_ family: IPAddress.Family) -> IPNetwork {
        IPNetwork(address: IPAddress(family: family, value: 0), prefixLength: 0)!
    }
}
