import Testing
@testable import Runtime

@Suite struct SpecDecodingTests {
    func field(_ json: String) -> String? {
        do {
            _ = try Spec.decode(Array(json.utf8))
            return nil
        } catch {
            if case .invalidConfig(let field, _) = error { return field }
            return "other"
        }
    }

    @Test func wrongTypeNamesTheField() {
        #expect(field(#"{"ociVersion":"1.2.0","process":{"user":{"uid":"root","gid":0},"cwd":"/"}}"#) == "process.user.uid")
    }

    @Test func missingRequiredFieldNamesIt() {
        #expect(field(#"{"process":{"user":{"uid":0,"gid":0},"cwd":"/"}}"#) == "ociVersion")
        #expect(field(#"{"ociVersion":"1.2.0","mounts":[{"type":"tmpfs"}]}"#) == "mounts[0].destination")
    }

    @Test func malformedJSONIsReported() {
        #expect(field("{not json") == "config.json")
    }

    @Test func unknownFieldsAreIgnored() {
        #expect(field(#"{"ociVersion":"1.2.0","vm":{"hypervisor":{}},"linux":{"intelRdt":{}}}"#) == nil)
    }

    @Test func roundTripsTheDefaultConfig() throws {
        let text = try JSONText.encode(Spec.defaultConfig())
        #expect(try Spec.decode(Array(text.utf8)) == Spec.defaultConfig())
    }
}

@Suite struct MountOptionsTests {
    @Test func flagsPropagationAndData() throws {
        let options = try MountOptions(["ro", "nosuid", "rslave", "mode=755", "size=64k", "rbind"], field: "mounts[0].options")
        #expect(options.flags == UInt(0x1 | 0x2))  // MS_RDONLY | MS_NOSUID
        #expect(options.propagation == UInt(0x80000 | 0x4000))  // MS_SLAVE | MS_REC
        #expect(options.data == ["mode=755", "size=64k"])
        #expect(options.isBind && options.recursive)
    }

    @Test func laterOptionsWin() throws {
        let options = try MountOptions(["ro", "rw", "nosuid", "suid"], field: "o")
        #expect(options.flags == 0)
        #expect(options.clearFlags == UInt(0x1 | 0x2))
    }
}

@Suite struct CapabilitiesTests {
    @Test func namesToMask() throws {
        #expect(try Capabilities.mask(["CAP_CHOWN", "CAP_KILL"], field: "f") == 0b100001)
        #expect(Capabilities.number(of: "cap_net_admin") == 12)
        #expect(Capabilities.number(of: "12") == nil)
        #expect(Capabilities.number(of: "NET_ADMIN") == nil)
    }

    @Test func unknownNameNamesTheIndex() {
        #expect(throws: RuntimeError.self) { try Capabilities.mask(["CAP_KILL", "CAP_FLY"], field: "process.capabilities.effective") }
        do {
            _ = try Capabilities.mask(["CAP_KILL", "CAP_FLY"], field: "process.capabilities.effective")
        } catch {
            #expect(error.description.contains("process.capabilities.effective[1]"))
        }
    }
}
