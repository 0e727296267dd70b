import FoundationEssentials
import SystemCore
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Runtime

/// `Spec.fastDecode` (JSONReader) must decode exactly what JSONDecoder decodes, and leave to
/// JSONDecoder everything it is not sure of.
@Suite struct SpecFastDecodingTests {
    /// Every field of the spec, with escapes and non-ASCII text.
    static let everyField = #"""
    {
      "ociVersion": "1.2.0",
      "process": {
        "terminal": true, "consoleSize": {"height": 24, "width": 80},
        "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 6]},
        "args": ["/bin/sh", "-c", "echo \"hi\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 caf\u00E9"],
        "env": ["PATH=/usr/bin", "LANG=C.UTF-8", "GRÜSSE=café"],
        "cwd": "/home/me",
        "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "inheritable": [],
                         "permitted": ["CAP_KILL", "CAP_CHOWN"], "ambient": ["CAP_KILL"]},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024}],
        "noNewPrivileges": true, "apparmorProfile": "p", "oomScoreAdj": -999, "selinuxLabel": "l"
      },
      "root": {"path": "rootfs", "readonly": true},
      "hostname": "h", "domainname": "d",
      "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro"]},
        {"destination": "/empty", "type": null, "source": null, "options": null}
      ],
      "hooks": {
        "prestart": [{"path": "/bin/a", "args": ["a", "1"], "env": ["X=1"], "timeout": 5}],
        "createRuntime": [{"path": "/bin/b"}], "createContainer": [], "startContainer": [{"path": "/bin/c"}],
        "poststart": null, "poststop": [{"path": "/bin/d", "timeout": 0}]
      },
      "annotations": {"io.kubernetes.cri.container-type": "container", "empty": ""},
      "linux": {
        "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"}, {"type": "mount"}],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "timeOffsets": {"monotonic": {"secs": -5, "nanosecs": 7}, "boottime": {}},
        "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}],
        "cgroupsPath": "/swiftlet/x",
        "resources": {
          "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
          "memory": {"limit": 104857600, "reservation": 1, "swap": -1, "swappiness": 10, "disableOOMKiller": false},
          "cpu": {"shares": 1024, "quota": 50000, "burst": 0, "period": 100000, "cpus": "0-1", "mems": "0", "idle": 0},
          "pids": {"limit": 64},
          "blockIO": {"weight": 500, "leafWeight": 10, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                      "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                      "throttleWriteBpsDevice": [], "throttleReadIOPSDevice": null,
                      "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 9}]},
          "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
          "unified": {"memory.high": "max"}
        },
        "rootfsPropagation": "rslave",
        "seccomp": {
          "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
          "flags": ["SECCOMP_FILTER_FLAG_LOG"], "listenerPath": "/run/l",
          "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                       {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "errnoRet": 2,
                        "args": [{"index": 0, "value": 18446744073709551615, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]
        },
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
        "personality": {"domain": "LINUX32", "flags": []},
        "intelRdt": {"closID": "x", "schemata": [1, 2.5e-3, -0.0, true, null, {"a": [[]]}]}
      },
      "vm": {"hypervisor": {"path": "/x"}}
    }
    """#

    static func codable(_ bytes: [UInt8]) -> Spec? {
        try? JSONDecoder().decode(Spec.self, from: Data(bytes))
    }

    @Test func decodesEveryFieldAsJSONDecoderDoes() throws {
        let bytes = Array(Self.everyField.utf8)
        let fast = try #require(Spec.fastDecode(bytes))
        #expect(fast == Self.codable(bytes))
        #expect(fast.process?.args?[2] == "echo \"hi\" \\ / \u{8}\u{c}\n\r\t é 😀 café")
        #expect(fast.process?.rlimits?.first?.hard == UInt64.max)
        #expect(fast.linux?.seccomp?.syscalls?.last?.args?.first?.value == UInt64.max)
        #expect(fast.linux?.timeOffsets?["monotonic"]?.secs == -5)
        #expect(fast.mounts?.last == Spec.Mount(destination: "/empty"))
    }

    @Test func decodesTheDefaultConfigs() throws {
        let ours = Array(try JSONText.encode(Spec.defaultConfig()).utf8)
        #expect(Spec.fastDecode(ours) == Spec.defaultConfig())
        let compact = Array(try JSONText.encode(Spec.defaultConfig(), pretty: false).utf8)
        #expect(Spec.fastDecode(compact) == Spec.defaultConfig())
    }

    @Test func decodesAnExecProcess() throws {
        let json = #"{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0},"env":["A=b"],"terminal":false}"#
        let process = try #require(Spec.Process.fastDecode(Array(json.utf8)))
        #expect(process == (try JSONDecoder().decode(Spec.Process.self, from: Data(json.utf8))))
    }

    /// Forms the reader leaves to JSONDecoder, valid or not; `Spec.decode` still gives
    /// JSONDecoder's answer for each.
    @Test(arguments: [
        #"{"ociVersion":"1.2.0","process":{"user":{"uid":1.0,"gid":0},"cwd":"/"}}"#,  // fraction
        #"{"ociVersion":"1.2.0","process":{"user":{"uid":1e2,"gid":0},"cwd":"/"}}"#,  // exponent
        #"{"ociVersion":"1.2.0","hostname":"a","hostname":"b"}"#,  // repeated key
        #"{"process":{"user":{"uid":0,"gid":0},"cwd":"/"}}"#,  // required field missing
        #"{"ociVersion":null}"#,  // required field null
        #"{"ociVersion":"1.2.0","process":{"user":{"uid":"0","gid":0},"cwd":"/"}}"#,  // wrong type
        #"{"ociVersion":"1.2.0","process":{"user":{"uid":4294967296,"gid":0},"cwd":"/"}}"#,  // out of range
        #"{"ociVersion":"1.2.0","process":{"user":{"uid":-1,"gid":0},"cwd":"/"}}"#,  // negative unsigned
        #"{"ociVersion":"1.2.0","process":{"user":{"uid":01,"gid":0},"cwd":"/"}}"#,  // leading zero
        #"{"ociVersion":"1.2.0"} x"#,  // trailing text
        #"{"ociVersion":"1.2.0","x":01}"#,  // bad number in an unknown field
        #"{"ociVersion":"1.2.0","x":[1,]}"#,  // trailing comma
        #"{"ociVersion":"\ud800"}"#,  // lone surrogate
        #"{"ociVersion":"a\qb"}"#,  // unknown escape
        "{\"ociVersion\":\"a\tb\"}",  // raw control character
        #"["ociVersion"]"#,  // not an object
        "",
    ])
    func leavesTheRestToJSONDecoder(_ json: String) {
        let bytes = Array(json.utf8)
        #expect(Spec.fastDecode(bytes) == nil)
        let viaDecode = Result { () throws(RuntimeError) in try Spec.decode(bytes) }
        let viaCodable = Result { () throws(RuntimeError) in try decodeJSON(Spec.self, bytes, file: "config.json") }
        #expect("\(viaDecode)" == "\(viaCodable)")
    }

    @Test func invalidUTF8IsLeftToJSONDecoder() {
        var bytes = Array(#"{"ociVersion":"1.2.0","hostname":"ab"}"#.utf8)
        bytes[bytes.count - 3] = 0xFF
        #expect(Spec.fastDecode(bytes) == nil)
    }

    /// Every one-byte change of a small document: whatever the reader accepts, JSONDecoder
    /// accepts too and decodes to the same spec.
    @Test func acceptsNothingJSONDecoderWouldNot() {
        let document = Array(#"""
        {"ociVersion":"1.2.0","process":{"user":{"uid":10,"gid":0,"additionalGids":[1]},"args":["a\n"],
         "cwd":"/","oomScoreAdj":-5,"terminal":false},"hostname":null,"x":[1.5e3,{"y":true}],
         "linux":{"namespaces":[{"type":"pid"}],"resources":{"pids":{"limit":7}}}}
        """#.utf8)
        let replacements: [UInt8?] = [nil, UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "0"), UInt8(ascii: "-"),
                                      UInt8(ascii: "}"), UInt8(ascii: ","), UInt8(ascii: "n"), UInt8(ascii: "\\")]
        var accepted = 0
        for position in document.indices {
            for replacement in replacements {
                var mutated = document
                if let replacement { mutated[position] = replacement } else { mutated.remove(at: position) }
                guard let fast = Spec.fastDecode(mutated) else { continue }
                accepted += 1
                #expect(fast == Self.codable(mutated), "\(String(decoding: mutated, as: UTF8.self))")
            }
        }
        #expect(accepted > 100)  // the mutations do reach the reader's accepting paths
    }
}

/// state.json: written without JSONEncoder, read without JSONDecoder, and compatible both ways.
@Suite struct ContainerRecordJSONTests {
    static func record(hooks: Bool) -> ContainerRecord {
        var all = Spec.Hooks()
        all.prestart = [Spec.Hook(path: "/bin/a", args: ["a", "x\"y\\z\n"], env: ["K=v/w"], timeout: 3)]
        all.poststop = [Spec.Hook(path: "/bin/b"), Spec.Hook(path: "/bin/c", timeout: 0)]
        all.startContainer = []
        return ContainerRecord(
            id: "c-1.x", pid: 4242, initStartTime: 123_456_789_012, bundle: "/run/b ü/\u{1}", rootfs: "/run/b/rootfs",
            created: "2026-11-24T01:02:03.000000004Z", owner: "", cgroupPath: hooks ? "/swiftlet/c-1.x" : nil,
            annotations: hooks ? ["io.k8s/a": "1", "b": "é\t"] : nil, hooks: hooks ? all : nil)
    }

    @Test(arguments: [true, false])
    func roundTripsAndMatchesTheCodableForm(hooks: Bool) throws {
        let record = Self.record(hooks: hooks)
        let written = record.jsonBytes()
        #expect(ContainerRecord.fastDecode(written) == record)
        // JSONDecoder reads what this writes, and this reads what JSONEncoder wrote (older state).
        #expect(try JSONDecoder().decode(ContainerRecord.self, from: Data(written)) == record)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let codable = Array(try encoder.encode(record))
        #expect(ContainerRecord.fastDecode(codable) == record)
    }

    @Test func incompleteStateIsLeftToJSONDecoder() {
        #expect(ContainerRecord.fastDecode(Array(#"{"id":"x","pid":1}"#.utf8)) == nil)
        #expect(ContainerRecord.fastDecode(Array("{".utf8)) == nil)
    }
}

@Suite struct StateDocumentJSONTests {
    @Test(arguments: [nil, [:], ["b": "2", "a\"": "é\n"]] as [[String: String]?])
    func decodesToTheSameDocument(annotations: [String: String]?) throws {
        let document = ContainerStateDocument(
            ociVersion: "1.2.0", id: "x", pid: 7, status: .running, bundle: "/b\\", rootfs: "/b/rootfs",
            created: "2026-11-24T01:02:03Z", owner: "", annotations: annotations)
        let decoded = try JSONDecoder().decode(ContainerStateDocument.self, from: Data(document.jsonText().utf8))
        #expect(decoded.id == "x" && decoded.pid == 7 && decoded.status == .running && decoded.bundle == "/b\\")
        #expect(decoded.annotations == ((annotations?.isEmpty ?? true) ? nil : annotations))
    }
}

@Suite struct HookStateJSONTests {
    @Test func isTheRuntimeSpecState() throws {
        let root = "/tmp/swiftlet-hookstate-\(getpid())"
        defer { try? FileSystem.removeTree(root) }
        let runtime = try ContainerRuntime(options: RuntimeOptions(root: root))
        struct State: Decodable, Equatable {
            var ociVersion: String, id: String, status: String, pid: Int32, bundle: String, annotations: [String: String]
        }
        let bytes = runtime.hookState("c1", pid: 9, status: .created, bundle: "/b\"x", annotations: ["k": "v\n"])
        let state = try JSONDecoder().decode(State.self, from: Data(bytes))
        #expect(state == State(ociVersion: Spec.version, id: "c1", status: "created", pid: 9, bundle: "/b\"x", annotations: ["k": "v\n"]))
        let empty = try JSONDecoder().decode(State.self, from: Data(runtime.hookState("c1", pid: 9, status: .stopped, bundle: "/b", annotations: nil)))
        #expect(empty.annotations.isEmpty && empty.status == "stopped")
    }
}

@Suite struct ProcessTableTests {
    @Test func parsesStateAndStartTimeAfterTheLastParenthesis() throws {
        let fields = (4...52).map { $0 == 22 ? "987654321" : String($0) }.joined(separator: " ")
        let line = "4242 (we(ird) name)) R " + fields + "\n"
        let parsed = try #require(ProcessTable.parseStat(Array(line.utf8)))
        #expect(parsed.state == "R" && parsed.startTime == 987_654_321)
        #expect(ProcessTable.parseStat(Array("1 (x) S 2 3".utf8)) == nil)  // too short
    }

    @Test func readsThisProcess() throws {
        let text = try FileSystem.readString("/proc/self/stat")
        let after = text[text.index(after: try #require(text.lastIndex(of: ")")))...].split(separator: " ")
        let parsed = try #require(ProcessTable.stat(getpid()))
        #expect(parsed.startTime == UInt64(after[19]))
        #expect(ProcessTable.isAlive(getpid(), startTime: parsed.startTime))
        #expect(!ProcessTable.isAlive(getpid(), startTime: parsed.startTime + 1))
    }
}
