/// An IPv4 or IPv6 address held as an integer, so range arithmetic is plain addition.
public struct IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public enum Family: Sendable, Hashable {
        case v4, v6

        public var bitWidth: Int { self == .v4 ? 32 : 128 }
        public var byteCount: Int { bitWidth / 8 }
        /// "4" or "6", as pre-1.0 results spell an IP's version.
        public var versionString: String { self == .v4 ? "4" : "6" }
    }

    public let family: Family
    /// The address bits; an IPv4 address uses the low 32.
    public let value: UInt128

    public init(family: Family, value: UInt128) {
        self.family = family
        self.value = family == .v4 ? value & 0xFFFF_FFFF : value
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (no zone, no brackets).
    public init?(_ text: String) {
        if text.contains(":") {
            guard let value = IPAddress.parseV6(Substring(text)) else { return nil }
            self.init(family: .v6, value: value)
        } else {
            guard let value = IPAddress.parseV4(Substring(text)) else { return nil }
            self.init(family: .v4, value: UInt128(value))
        }
    }

    /// Builds an address from network-order bytes (4 or 16 of them).
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        var value: UInt128 = 0
        for byte in bytes { value = value << 8 | UInt128(byte) }
        self.init(family: bytes.count == 4 ? .v4 : .v6, value: value)
    }

    /// Network-order bytes.
    public var bytes: [UInt8] {
        let count = family.byteCount
        return (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt128(8 * (count - 1 - $0))) }
    }

    /// The largest value an address of this family can hold.
    var maxValue: UInt128 { family == .v4 ? 0xFFFF_FFFF : UInt128.max }

    /// The address `delta` further on, or nil when that leaves the family's address space.
    public func advanced(by delta: Int) -> IPAddress? {
        if delta >= 0 {
            let step = UInt128(delta)
            guard value <= maxValue - step else { return nil }
            return IPAddress(family: family, value: value + step)
        }
        let step = UInt128(-delta)
        guard value >= step else { return nil }
        return IPAddress(family: family, value: value - step)
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        if lhs.family != rhs.family { return lhs.family == .v4 }
        return lhs.value < rhs.value
    }

    public var description: String {
        family == .v4 ? formatV4(UInt32(truncatingIfNeeded: value)) : formatV6(value)
    }

    // MARK: Parsing

    static func parseV4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
            guard !part.isEmpty, part.count <= 3, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                part == "0" || !part.hasPrefix("0"), let octet = UInt32(part), octet <= 255
            else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    static func parseV6(_ text: Substring) -> UInt128? {
        var groups: [UInt16] = []
        var compressAt: Int? = nil
        var rest = text
        if rest.hasPrefix("::") {
            compressAt = 0
            rest = rest.dropFirst(2)
        }
        while !rest.isEmpty {
            let end = rest.firstIndex(of: ":") ?? rest.endIndex
            let piece = rest[rest.startIndex..<end]
            if piece.contains(".") {
                // An embedded IPv4 address, only as the last 32 bits.
                guard end == rest.endIndex, let v4 = parseV4(piece) else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xFFFF))
                rest = rest[end...]
                break
            }
            guard !piece.isEmpty, piece.count <= 4, let group = UInt16(piece, radix: 16),
                piece.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) })
            else { return nil }
            groups.append(group)
            rest = rest[end...]
            if rest.hasPrefix("::") {
                guard compressAt == nil else { return nil }
                compressAt = groups.count
                rest = rest.dropFirst(2)
            } else if rest.hasPrefix(":") {
                rest = rest.dropFirst()
                guard !rest.isEmpty else { return nil }
            }
        }
        if let compressAt {
            guard groups.count < 8 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: compressAt)
        }
        guard groups.count == 8 else { return nil }
        return groups.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }

    // MARK: Formatting

    private func formatV4(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    /// RFC 5952: lower-case hex, the longest run of two or more zero groups (leftmost on a tie)
    /// written as "::". This is also how Go prints addresses, so file names match host-local's.
    private func formatV6(_ value: UInt128) -> String {
        let groups = (0..<8).map { UInt16(truncatingIfNeeded: value >> UInt128(16 * (7 - $0))) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                let length = index - runStart
                if length > bestLength && length >= 2 { bestStart = runStart; bestLength = length }
                runStart = -1
            }
        }
        var out = ""
        var index = 0
        while index < 8 {
            if index == bestStart {
                out += "::"
                index += bestLength
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            out += String(groups[index], radix: 16)
            index += 1
        }
        return out
    }
}
