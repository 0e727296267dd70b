import Testing
@testable import CNI

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("10.1.2.3", "10.1.2.3"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("fd00::1", "fd00::1"), ("FD00:0:0:0:0:0:0:1", "fd00::1"), ("::", "::"), ("::1", "::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1"), ("::ffff:10.0.0.1", "::ffff:a00:1"), ("fe80::", "fe80::"),
    ])
    func roundTripsCanonicalText(_ input: String, _ canonical: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == canonical)
        #expect(IPAddress(bytes: address.bytes) == address)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "::1::", "1:2:3:4:5:6:7:8:9", "g::1", "1:::2", "12345::", "1:2:3:4:5:6:7:", "a b"])
    func rejectsInvalidText(_ input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func networksMaskAndContain() throws {
        let network = try #require(IPNetwork("10.1.2.3/24"))
        #expect(network.network.description == "10.1.2.0")
        #expect(network.lastAddress.description == "10.1.2.255")
        #expect(network.hasHostBits)
        #expect(network.contains(try #require(IPAddress("10.1.2.200"))))
        #expect(!network.contains(try #require(IPAddress("10.1.3.1"))))
        #expect(!network.contains(try #require(IPAddress("fd00::1"))))
        let v6 = try #require(IPNetwork("fd00:1::/64"))
        #expect(v6.lastAddress.description == "fd00:1::ffff:ffff:ffff:ffff")
        #expect(!v6.hasHostBits)
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("10.0.0.0/") == nil)
        #expect(IPNetwork("10.0.0.0") == nil)
        #expect(IPNetwork("0.0.0.0/0")?.mask == 0)
    }

    @Test func advancesWithinTheFamily() throws {
        #expect(IPAddress("10.0.0.255")?.advanced(by: 1)?.description == "10.0.1.0")
        #expect(IPAddress("255.255.255.255")?.advanced(by: 1) == nil)
        #expect(IPAddress("0.0.0.0")?.advanced(by: -1) == nil)
        #expect(IPAddress("fd00::ffff")?.advanced(by: 1)?.description == "fd00::1:0")
    }
}
