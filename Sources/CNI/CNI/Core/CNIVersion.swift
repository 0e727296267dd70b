/// A CNI spec version ("1.1.0") and what each version allows.
public struct CNIVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses "major.minor.patch" (semver without pre-release tags, as the spec uses).
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(part) else { return nil }
            numbers.append(number)
        }
        self.init(numbers[0], numbers[1], numbers[2])
    }

    public static let v0_3_0 = CNIVersion(0, 3, 0)
    public static let v0_3_1 = CNIVersion(0, 3, 1)
    public static let v0_4_0 = CNIVersion(0, 4, 0)
    public static let v1_0_0 = CNIVersion(1, 0, 0)
    public static let v1_1_0 = CNIVersion(1, 1, 0)

    /// The versions this plugin speaks, oldest first. 0.1.0 and 0.2.0 (ip4/ip6 results) are not.
    public static let supported: [CNIVersion] = [.v0_3_0, .v0_3_1, .v0_4_0, .v1_0_0, .v1_1_0]
    public static let current = CNIVersion.v1_1_0

    public var isSupported: Bool { CNIVersion.supported.contains(self) }
    /// CHECK arrived in 0.4.0.
    public var allowsCheck: Bool { self >= .v0_4_0 }
    /// GC and STATUS arrived in 1.1.0.
    public var allowsGCAndStatus: Bool { self >= .v1_1_0 }
    /// Results before 1.0.0 carry "version" in each IP config.
    public var resultHasIPVersion: Bool { self < .v1_0_0 }
    /// Route metrics (mtu, advmss, priority, table, scope) arrived in 1.1.0.
    public var resultHasRouteAttributes: Bool { self >= .v1_1_0 }

    public static func < (lhs: CNIVersion, rhs: CNIVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }
}
