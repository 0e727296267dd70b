/// One allocatable range within a subnet: [start, end], with the subnet's gateway (never handed out).
public struct IPRange: Sendable, Equatable, CustomStringConvertible {
    public let subnet: IPNetwork
    public let start: IPAddress
    public let end: IPAddress
    public let gateway: IPAddress?

    public var family: IPAddress.Family { subnet.family }

    /// Fills in defaults the way host-local does: gateway = first address, start = first address,
    /// end = last address (before the IPv4 broadcast). `path` names the range in errors.
    public init(subnet: IPNetwork, start: IPAddress?, end: IPAddress?, gateway: IPAddress?, path: String) throws(CNIError) {
        let width = subnet.family.bitWidth
        if subnet.prefixLength > width - 2 {
            throw CNIError.config("\(path).subnet", "network \(subnet) is too small to allocate from")
        }
        if subnet.hasHostBits {
            throw CNIError.config("\(path).subnet", "\(subnet) has host bits set; the network address is \(subnet.masked)")
        }
        let first = subnet.network.advanced(by: 1) ?? subnet.network
        var last = subnet.lastAddress
        if subnet.family == .v4 { last = last.advanced(by: -1) ?? last }

        for (name, address) in [("rangeStart", start), ("rangeEnd", end), ("gateway", gateway)] {
            guard let address else { continue }
            if address.family != subnet.family {
                throw CNIError.config("\(path).\(name)", "\(address) is not in the address family of \(subnet)")
            }
        }
        if let start, !subnet.contains(start) {
            throw CNIError.config("\(path).rangeStart", "\(start) is not in network \(subnet)")
        }
        if let end, !subnet.contains(end) {
            throw CNIError.config("\(path).rangeEnd", "\(end) is not in network \(subnet)")
        }
        self.subnet = subnet
        self.start = start ?? first
        self.end = end ?? last
        self.gateway = gateway ?? first
        if self.start > self.end {
            throw CNIError.config("\(path).rangeStart", "\(self.start) is after rangeEnd \(self.end)")
        }
    }

    public func contains(_ address: IPAddress) -> Bool {
        subnet.contains(address) && address >= start && address <= end
    }

    public func overlaps(_ other: IPRange) -> Bool {
        family == other.family && start <= other.end && other.start <= end
    }

    /// How many addresses the range holds.
    public var size: UInt128 { end.value - start.value + 1 }

    public var description: String { "\(start)-\(end)" }
}

/// Ranges of one address family from which one address is allocated (a host-local "range set").
public struct RangeSet: Sendable, Equatable, CustomStringConvertible {
    public let ranges: [IPRange]

    public init(ranges: [IPRange], path: String) throws(CNIError) {
        guard let first = ranges.first else { throw CNIError.config(path, "empty range set") }
        for (index, range) in ranges.enumerated() {
            if range.family != first.family {
                throw CNIError.config("\(path)[\(index)]", "mixes address families within one range set")
            }
            for other in ranges[..<index] where other.overlaps(range) {
                throw CNIError.config("\(path)[\(index)]", "range \(range) overlaps range \(other)")
            }
        }
        self.ranges = ranges
    }

    public var family: IPAddress.Family { ranges[0].family }

    public func range(for address: IPAddress) -> IPRange? { ranges.first { $0.contains(address) } }

    public func contains(_ address: IPAddress) -> Bool { range(for: address) != nil }

    public func overlaps(_ other: RangeSet) -> Bool {
        ranges.contains { range in other.ranges.contains { range.overlaps($0) } }
    }

    public var description: String { ranges.map(\.description).joined(separator: ",") }
}
