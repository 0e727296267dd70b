#if canImport(Glibc)
import Glibc
#endif
import SystemCore
import Testing
@testable import CNI

/// host-local against a temporary data directory: no root needed.
@Suite struct HostLocalTests {
    let dataDir: String

    init() throws {
        var template = Array("/tmp/cni-hostlocal-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        dataDir = try #require(made.map { String(cString: $0) })
    }

    func config(_ ipam: String, name: String = "net", version: String = "1.1.0", extra: String = "") throws -> NetworkConfig {
        try NetworkConfig(bytes: Array(#"{"cniVersion":"\#(version)","name":"\#(name)","type":"host-local"\#(extra),"ipam":{"type":"host-local","dataDir":"\#(dataDir)",\#(ipam)}}"#.utf8))
    }

    func env(_ id: String, _ ifname: String = "eth0", _ command: CNICommand = .add, args: String? = nil) throws(CNIError) -> CNIEnvironment {
        var values = ["CNI_COMMAND": command.rawValue, "CNI_CONTAINERID": id, "CNI_NETNS": "/x", "CNI_IFNAME": ifname]
        if let args { values["CNI_ARGS"] = args }
        return try CNIEnvironment(values)
    }

    func cleanup() { try? FileSystem.removeTree(dataDir) }

    @Test func allocatesInOrderSkippingGatewayAndWritesReferenceLayout() throws {
        defer { cleanup() }
        let conf = try config(#""subnet":"10.1.0.0/29""#)
        let first = try HostLocalPlugin.add(config: conf, environment: try env("a"))
        let second = try HostLocalPlugin.add(config: conf, environment: try env("b"))
        #expect(first.ips.map(\.address.description) == ["10.1.0.2/29"])
        #expect(first.ips[0].gateway?.description == "10.1.0.1")
        #expect(second.ips.map(\.address.description) == ["10.1.0.3/29"])
        #expect(try FileSystem.readString("\(dataDir)/net/10.1.0.2") == "a\r\neth0")
        #expect(try FileSystem.readString("\(dataDir)/net/last_reserved_ip.0") == "10.1.0.3")
    }

    @Test func exhaustsTheRangeThenReleasesAndResumesAfterTheLast() throws {
        defer { cleanup() }
        let conf = try config(#""subnet":"10.1.0.0/29""#)  // .2 ... .6 usable (gateway .1, broadcast .7)
        for index in 0..<5 { _ = try HostLocalPlugin.add(config: conf, environment: try env("c\(index)")) }
        do {
            _ = try HostLocalPlugin.add(config: conf, environment: try env("c5"))
            Issue.record("expected exhaustion")
        } catch {
            #expect(error.code == .tryAgainLater)
            #expect(error.message.contains("no IP addresses available"))
        }
        #expect(throws: CNIError.self) { try HostLocalPlugin.status(config: conf) }
        try HostLocalPlugin.del(config: conf, environment: try env("c1", "eth0", .del))
        try HostLocalPlugin.status(config: conf)
        let again = try HostLocalPlugin.add(config: conf, environment: try env("c6"))
        #expect(again.ips[0].address.address.description == "10.1.0.3")
    }

    @Test func roundRobinContinuesAfterLastReservedNotFirstFree() throws {
        defer { cleanup() }
        let conf = try config(#""subnet":"10.1.0.0/24""#)
        _ = try HostLocalPlugin.add(config: conf, environment: try env("a"))  // .2
        _ = try HostLocalPlugin.add(config: conf, environment: try env("b"))  // .3
        try HostLocalPlugin.del(config: conf, environment: try env("a", "eth0", .del))
        let next = try HostLocalPlugin.add(config: conf, environment: try env("c"))
        #expect(next.ips[0].address.address.description == "10.1.0.4")
    }

    @Test func dualStackRangeSetsAndRoutes() throws {
        defer { cleanup() }
        let conf = try config(#""ranges":[[{"subnet":"10.2.0.0/24","rangeStart":"10.2.0.10","rangeEnd":"10.2.0.20"}],[{"subnet":"fd02::/64","gateway":"fd02::fe"}]],"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0","gw":"fd02::fe"}]"#)
        let result = try HostLocalPlugin.add(config: conf, environment: try env("a"))
        #expect(result.ips.map(\.address.description) == ["10.2.0.10/24", "fd02::1/64"])
        #expect(result.ips[1].gateway?.description == "fd02::fe")
        #expect(result.routes.count == 2)
        let json = result.json(version: .v0_3_1)
        #expect(json["ips"]?.arrayValue?[1]["version"] == .string("6"))
        #expect(json["interfaces"] == nil)
    }

    @Test func multipleRangesInOneSetAreWalkedInTurn() throws {
        defer { cleanup() }
        let conf = try config(#""ranges":[[{"subnet":"10.3.0.0/30"},{"subnet":"10.3.1.0/30"}]]"#)
        let addresses = try (0..<2).map { try HostLocalPlugin.add(config: conf, environment: try env("x\($0)")).ips[0].address.address.description }
        #expect(addresses == ["10.3.0.2", "10.3.1.2"])
    }

    @Test func requestedAddressesFromArgsAndRuntimeConfig() throws {
        defer { cleanup() }
        let conf = try config(#""subnet":"10.4.0.0/24""#)
        let viaArgs = try HostLocalPlugin.add(config: conf, environment: try env("a", args: "IP=10.4.0.77"))
        #expect(viaArgs.ips[0].address.address.description == "10.4.0.77")
        do {
            _ = try HostLocalPlugin.add(config: conf, environment: try env("b", args: "IP=10.4.0.77"))
            Issue.record("expected a conflict")
        } catch {
            #expect(error.message.contains("10.4.0.77"))
        }
        let withRuntime = try config(#""subnet":"10.4.0.0/24""#, extra: #","runtimeConfig":{"ips":["10.4.0.88/24"]}"#)
        #expect(try HostLocalPlugin.add(config: withRuntime, environment: try env("c")).ips[0].address.address.description == "10.4.0.88")
        do {
            _ = try HostLocalPlugin.add(config: conf, environment: try env("d", args: "IP=10.4.0.1"))
            Issue.record("expected the gateway to be refused")
        } catch {
            #expect(error.message.contains("gateway"))
        }
        // Nothing was left behind by the failures.
        let files = try FileSystem.listDirectory("\(dataDir)/net").filter { IPAddress($0) != nil }.sorted()
        #expect(files == ["10.4.0.77", "10.4.0.88"])
    }

    @Test func duplicateAttachmentIsRefusedAndDeleteIsIdempotent() throws {
        defer { cleanup() }
        let conf = try config(#""subnet":"10.5.0.0/24""#)
        _ = try HostLocalPlugin.add(config: conf, environment: try env("a"))
        #expect(throws: CNIError.self) { try HostLocalPlugin.add(config: conf, environment: try env("a")) }
        _ = try HostLocalPlugin.add(config: conf, environment: try env("a", "eth1"))
        try HostLocalPlugin.check(config: conf, environment: try env("a", "eth0", .check))
        try HostLocalPlugin.del(config: conf, environment: try env("a", "eth0", .del))
        try HostLocalPlugin.del(config: conf, environment: try env("a", "eth0", .del))
        #expect(throws: CNIError.self) { try HostLocalPlugin.check(config: conf, environment: try env("a", "eth0", .check)) }
        try HostLocalPlugin.check(config: conf, environment: try env("a", "eth1", .check))
    }

    @Test func gcReleasesEverythingNotValidIncludingOldFormatFiles() throws {
        defer { cleanup() }
        let conf = try config(#""subnet":"10.6.0.0/24""#)
        for id in ["keep", "drop1", "drop2"] { _ = try HostLocalPlugin.add(config: conf, environment: try env(id)) }
        // A file written by an old host-local names only the container.
        try FileSystem.writeAtomically("\(dataDir)/net/10.6.0.99", "oldkeep")
        try FileSystem.writeAtomically("\(dataDir)/net/10.6.0.98", "olddrop")
        let gc = try config(#""subnet":"10.6.0.0/24""#, extra: #","cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"},{"containerID":"oldkeep","ifname":"eth0"}]"#)
        try HostLocalPlugin.gc(config: gc)
        let left = try FileSystem.listDirectory("\(dataDir)/net").filter { IPAddress($0) != nil }.sorted()
        #expect(left == ["10.6.0.2", "10.6.0.99"])
    }

    @Test func staleTempFilesFromACrashAreRemovedUnderTheLock() throws {
        defer { cleanup() }
        let conf = try config(#""subnet":"10.7.0.0/24""#)
        try FileSystem.createDirectories("\(dataDir)/net")
        try FileSystem.writeAtomically("\(dataDir)/net/.reserving.12345", "dead\r\neth0")
        _ = try HostLocalPlugin.add(config: conf, environment: try env("a"))
        #expect(!FileSystem.exists("\(dataDir)/net/.reserving.12345"))
    }

    @Test func parsesResolvConf() {
        let dns = ResolvConf.parse(text: "# comment\nnameserver 10.0.0.2\nnameserver fd00::2\nsearch a.local b.local\noptions ndots:5\ndomain x.local\n")
        #expect(dns.nameservers == ["10.0.0.2", "fd00::2"])
        #expect(dns.search == ["a.local", "b.local"])
        #expect(dns.options == ["ndots:5"])
        #expect(dns.domain == "x.local")
    }
}
