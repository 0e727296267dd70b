import Foundation
import Testing

@testable import APIServer

@Suite struct DiscoveryNegotiationTests {
    let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    let v2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

    @Test func clientGoOrderPicksTheFirstServedForm() {
        let proto = "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        #expect(DiscoveryFormat.negotiate(accept: "\(proto),\(v2),\(v2beta1),application/json") == .aggregated(version: "v2"))
        #expect(DiscoveryFormat.negotiate(accept: "\(v2beta1),application/json") == .aggregated(version: "v2beta1"))
        #expect(DiscoveryFormat.negotiate(accept: "application/json, \(v2)") == .legacy)
        #expect(DiscoveryFormat.negotiate(accept: "application/json; g = apidiscovery.k8s.io ; v=v2 ; as=apigroupdiscoverylist") == .aggregated(version: "v2"))
    }

    @Test func legacyAndRefusals() {
        #expect(DiscoveryFormat.negotiate(accept: nil) == .legacy)
        #expect(DiscoveryFormat.negotiate(accept: "*/*") == .legacy)
        #expect(DiscoveryFormat.negotiate(accept: "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList") == nil)
        #expect(DiscoveryFormat.negotiate(accept: "application/json;g=other.io;v=v2;as=APIGroupDiscoveryList") == nil)
        #expect(DiscoveryFormat.negotiate(accept: "text/html") == nil)
        #expect(DiscoveryFormat.negotiate(accept: "\(v2);q=0,application/json") == .legacy)
        #expect(DiscoveryFormat.aggregated(version: "v2").contentType == v2)
    }
}

@Suite struct ControlPlaneImageTests {
    @Test func loaderTraceParsing() throws {
        let trace = """
            \tlinux-vdso.so.1 (0x00007ffd)
            \tlibsqlite3.so.0 => /lib/x86_64-linux-gnu/libsqlite3.so.0 (0x00007efe)
            \tlibswiftCore.so => /opt/swift/usr/lib/swift/linux/libswiftCore.so (0x00007efe)
            \t/lib64/ld-linux-x86-64.so.2 (0x00007efe)
            """
        #expect(try SharedLibraries.parse(trace, executable: "x") == [
            "/lib/x86_64-linux-gnu/libsqlite3.so.0", "/opt/swift/usr/lib/swift/linux/libswiftCore.so", "/lib64/ld-linux-x86-64.so.2",
        ])
        #expect(try SharedLibraries.parse("\tstatically linked\n", executable: "x").isEmpty)
        #expect(throws: ConfigError.self) { try SharedLibraries.parse("\tlibgone.so.1 => not found\n", executable: "x") }
    }

    @Test func resolvesThisTestBinarysLibraries() throws {
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let libs = try SharedLibraries.resolve(executable: exe)
        #expect(libs.contains { $0.hasSuffix("/libc.so.6") })
        #expect(libs.contains { $0.contains("ld-linux") })
        #expect(libs.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }

    @Test func tarHeaderChecksumAndLongNames() throws {
        let header = try TarWriter.header(name: "usr/local/bin/x", size: 1234, mode: 0o755, type: "0")
        #expect(header.count == 512)
        let bytes = [UInt8](header)
        let stored = Int(String(decoding: bytes[148..<154], as: UTF8.self), radix: 8)
        let sum = bytes.enumerated().reduce(0) { $0 + (($1.offset >= 148 && $1.offset < 156) ? 32 : Int($1.element)) }
        #expect(stored == sum)
        #expect(String(decoding: bytes[124..<135], as: UTF8.self) == String(format: "%011o", 1234))
        let long = String(repeating: "d/", count: 60) + "file.so"
        let split = [UInt8](try TarWriter.header(name: long, size: 0, mode: 0o644, type: "0"))
        let name = String(decoding: split[0..<100].prefix { $0 != 0 }, as: UTF8.self)
        let prefix = String(decoding: split[345..<500].prefix { $0 != 0 }, as: UTF8.self)
        #expect(prefix + "/" + name == long)
        #expect(throws: ConfigError.self) { try TarWriter.header(name: String(repeating: "x", count: 300), size: 0, mode: 0o644, type: "0") }
    }

    @Test func layoutIsAValidOCIImage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cp-image-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let built = try ControlPlaneImage(executables: [exe], reference: "localhost/test:1").writeLayout(to: dir)
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/index.json"))) as? [String: Any]
        let entry = (index?["manifests"] as? [[String: Any]])?.first
        #expect((entry?["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == "localhost/test:1")
        #expect(entry?["digest"] as? String == built.manifestDigest)
        // A tar: whole 512-byte blocks, the executable first at its image path.
        let layer = dir + "/blobs/sha256/" + built.layerDigest.dropFirst(7)
        let size = try FileManager.default.attributesOfItem(atPath: layer)[.size] as? Int ?? 0
        #expect(size % 512 == 0 && size > 1024)
        #expect(built.files.first?.image.hasPrefix("/usr/local/bin/") == true)
        #expect(built.files.contains { $0.image.hasSuffix("/libc.so.6") })
        #expect(throws: ConfigError.self) { try ControlPlaneImage(executables: [exe], reference: "x:1").writeLayout(to: dir) }
    }
}

@Suite struct EventConversionTests {
    @Test func coreAndEventsFormsRoundTrip() throws {
        let core = try JSONValue.parse(Array("""
            {"apiVersion":"v1","kind":"Event","metadata":{"name":"e"},"involvedObject":{"name":"p"},"message":"m",
             "reason":"R","count":2,"source":{"component":"kubelet"},"firstTimestamp":"t1","lastTimestamp":"t2","reportingComponent":"k"}
            """.utf8))
        let events = EventConversion.toEvents(core)
        #expect(events["apiVersion"] == "events.k8s.io/v1")
        #expect(events["note"] == "m" && events["message"] == nil)
        #expect(events.value(at: ["regarding", "name"]) == "p" && events["deprecatedCount"] == .int(2))
        #expect(events["reportingController"] == "k" && events["deprecatedSource"] != nil && events["reason"] == "R")
        #expect(EventConversion.toCore(events) == core)
        let list: JSONValue = ["kind": "EventList", "apiVersion": "v1", "items": [core]]
        #expect(EventConversion.toEvents(list)["items"]?.arrayValue?.first?["note"] == "m")
        // Not an Event: untouched.
        let status: JSONValue = ["kind": "Status", "message": "x"]
        #expect(EventConversion.toEvents(status) == status)
    }

    @Test func jsonPatchPathsAndWatchChunks() throws {
        let patch: JSONValue = [["op": "replace", "path": "/note", "value": "x"], ["op": "move", "from": "/regarding/name", "path": "/reason"]]
        let core = EventConversion.patchToCore(patch).arrayValue ?? []
        #expect(core[0]["path"] == "/message")
        #expect(core[1]["from"] == "/involvedObject/name" && core[1]["path"] == "/reason")
        let chunk = Array(#"{"type":"ADDED","object":{"kind":"Event","apiVersion":"v1","message":"m"}}"#.utf8) + [0x0A]
        let out = EventConversion.watchChunk(chunk)
        #expect(out.last == 0x0A)
        let event = try JSONValue.parse(out.dropLast())
        #expect(event.value(at: ["object", "note"]) == "m" && event["type"] == "ADDED")
    }
}

@Suite struct NodePortUpdateTests {
    @Test func leavingNodePortDropsTheAllocatedPortsOnly() throws {
        let old: JSONValue = ["spec": ["type": "NodePort", "ports": [["port": 80, "nodePort": 30001], ["port": 81, "nodePort": 30002]]]]
        let new: JSONValue = ["spec": ["type": "ClusterIP", "ports": [["port": 80, "nodePort": 30001], ["port": 81, "nodePort": 30999]]]]
        let out = ServiceAllocator.dropTypeDependentFields(new, old: old).value(at: ["spec", "ports"])?.arrayValue ?? []
        #expect(out[0]["nodePort"] == nil)
        #expect(out[1]["nodePort"] == .int(30999))  // the user's own change stays, for validation to refuse
        let stillNodePort: JSONValue = ["spec": ["type": "LoadBalancer", "ports": [["port": 80, "nodePort": 30001]]]]
        #expect(ServiceAllocator.dropTypeDependentFields(stillNodePort, old: old) == stillNodePort)
    }
}

@Suite struct KubeletEndpointTests {
    @Test func preferredAddressAndPort() {
        let node: JSONValue = ["status": [
            "addresses": [["type": "Hostname", "address": "n1"], ["type": "InternalIP", "address": "10.0.0.5"]],
            "daemonEndpoints": ["kubeletEndpoint": ["Port": 10333]],
        ]]
        #expect(KubeletClient.endpoint(node: node)! == ("10.0.0.5", 10333))
        let hostnameOnly: JSONValue = ["status": ["addresses": [["type": "Hostname", "address": "n1"]]]]
        #expect(KubeletClient.endpoint(node: hostnameOnly)! == ("n1", 10250))
        #expect(KubeletClient.endpoint(node: ["status": ["addresses": []]]) == nil)
    }
}
