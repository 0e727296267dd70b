import Foundation
import SystemCore
import Testing
@testable import Runtime

@Suite struct CgroupDeviceFilterTests {
    typealias I = CgroupDeviceFilter.Instruction

    static let prologue: [I] = [
        I(code: 0x61, dst: 2, src: 1, offset: 0),  // r2 = ctx->access_type
        I(code: 0x54, dst: 2, imm: 0xffff),  // r2 &= 0xffff (type)
        I(code: 0x61, dst: 3, src: 1, offset: 0),  // r3 = ctx->access_type
        I(code: 0x74, dst: 3, imm: 16),  // r3 >>= 16 (access)
        I(code: 0x61, dst: 4, src: 1, offset: 4),  // r4 = ctx->major
        I(code: 0x61, dst: 5, src: 1, offset: 8),  // r5 = ctx->minor
    ]
    static let denyByDefault: [I] = [I(code: 0xb4, dst: 0, imm: 0), I(code: 0x95)]

    func rule(_ allow: Bool, _ type: String?, _ major: Int64?, _ minor: Int64?, _ access: String?) -> Spec.DeviceRule {
        Spec.DeviceRule(allow: allow, type: type, major: major, minor: minor, access: access)
    }

    @Test func noRulesDeniesEverything() throws {
        #expect(try CgroupDeviceFilter(rules: []).instructions == Self.prologue + Self.denyByDefault)
    }

    @Test func oneAllowRule() throws {
        let filter = try CgroupDeviceFilter(rules: [rule(true, "c", 1, 3, "rw")])
        #expect(
            filter.instructions == Self.prologue + [
                I(code: 0x55, dst: 2, offset: 7, imm: 2),  // type != char → next
                I(code: 0xbc, dst: 1, src: 3),  // r1 = access
                I(code: 0x54, dst: 1, imm: 6),  // r1 &= read|write
                I(code: 0x5d, dst: 1, src: 3, offset: 4),  // requested ⊄ rule → next
                I(code: 0x55, dst: 4, offset: 3, imm: 1),  // major != 1 → next
                I(code: 0x55, dst: 5, offset: 2, imm: 3),  // minor != 3 → next
                I(code: 0xb4, dst: 0, imm: 1), I(code: 0x95),  // allow
            ] + Self.denyByDefault)
    }

    @Test func lastRuleIsTestedFirstAndWildcardsSkipChecks() throws {
        let filter = try CgroupDeviceFilter(rules: [
            rule(false, nil, nil, nil, "rwm"),  // the usual "deny all" head
            rule(true, "b", 8, nil, "rwm"),
            rule(false, "b", 8, 1, "w"),
        ])
        #expect(
            filter.instructions == Self.prologue + [
                // rules[2]: deny write to b 8:1 (any requested access in "w")
                I(code: 0x55, dst: 2, offset: 7, imm: 1),
                I(code: 0xbc, dst: 1, src: 3), I(code: 0x54, dst: 1, imm: 4),
                I(code: 0x15, dst: 1, offset: 4, imm: 0),
                I(code: 0x55, dst: 4, offset: 3, imm: 8), I(code: 0x55, dst: 5, offset: 2, imm: 1),
                I(code: 0xb4, dst: 0, imm: 0), I(code: 0x95),
                // rules[1]: allow b 8:*
                I(code: 0x55, dst: 2, offset: 3, imm: 1), I(code: 0x55, dst: 4, offset: 2, imm: 8),
                I(code: 0xb4, dst: 0, imm: 1), I(code: 0x95),
                // rules[0]: deny everything, so no default tail (it would be unreachable)
                I(code: 0xb4, dst: 0, imm: 0), I(code: 0x95),
            ])
    }

    @Test func rawLayoutIsStructBpfInsn() {
        let instruction = I(code: 0x61, dst: 2, src: 1, offset: 4, imm: -2)
        var raw = instruction.raw
        let bytes = withUnsafeBytes(of: &raw) { Array($0) }
        #if _endian(little)
        #expect(bytes == [0x61, 0x12, 0x04, 0x00, 0xfe, 0xff, 0xff, 0xff])
        #endif
    }

    @Test func errorsNameTheField() {
        func field(_ rules: [Spec.DeviceRule]) -> String? {
            do {
                _ = try CgroupDeviceFilter(rules: rules)
                return nil
            } catch {
                if case .invalidConfig(let field, _) = error { return field }
                return "\(error)"
            }
        }
        #expect(field([rule(true, "c", 1, 3, "r"), rule(true, "x", 1, 3, "r")]) == "linux.resources.devices[1].type")
        #expect(field([rule(true, "c", 1, 3, "rwx")]) == "linux.resources.devices[0].access")
        #expect(field([rule(true, "c", 1 << 33, 3, "r")]) == "linux.resources.devices[0].major")
        #expect(field([rule(true, "c", 1, -5, "r")]) == "linux.resources.devices[0].minor")
        // A rule hidden behind an allow-all is still checked.
        #expect(field([rule(true, "c", 1, 3, "rq"), rule(true, "a", nil, nil, nil)]) == "linux.resources.devices[0].access")
    }

    @Test func allowAllEndsTheProgram() throws {
        let filter = try CgroupDeviceFilter(rules: [rule(false, "c", 1, 3, "r"), rule(true, "a", nil, nil, "rwm")])
        #expect(filter.instructions == Self.prologue + [I(code: 0xb4, dst: 0, imm: 1), I(code: 0x95)])
    }

    @Test func defaultRulesCompile() throws {
        let filter = try CgroupDeviceFilter(rules: [rule(false, "a", nil, nil, "rwm")] + CgroupDeviceFilter.defaultRules)
        #expect(filter.instructions.count > 40)
    }
}

/// Root only: attaches a filter to a real cgroup (the host's v2 hierarchy needs no controllers
/// for this) and checks that a process inside may open /dev/null but not /dev/zero.
@Suite(.enabled(if: getuid() == 0 && FileSystem.exists("/usr/bin/python3")))
struct CgroupDeviceFilterRootTests {
    @Test func filterDecidesOpens() throws {
        let hierarchy = try CgroupHierarchy.discover()
        let cgroup = try ContainerCgroup(
            hierarchy: hierarchy, cgroupsPath: "/swiftlet-test/devices-\(getpid())", defaultPath: "/x")
        try cgroup.create(resources: nil, enforce: false, alsoEnable: [])
        defer { try? cgroup.remove() }
        try cgroup.applyDeviceRules([
            Spec.DeviceRule(allow: false, type: "a", major: nil, minor: nil, access: "rwm"),
            Spec.DeviceRule(allow: true, type: "c", major: 1, minor: 3, access: "rw"),
        ])
        // Replacing works too (the second filter is the one in force).
        try cgroup.applyDeviceRules([
            Spec.DeviceRule(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
            Spec.DeviceRule(allow: false, type: "c", major: 1, minor: 5, access: "r"),
        ])
        let script = """
            import os, sys
            open(sys.argv[1] + "/cgroup.procs", "w").write(str(os.getpid()))
            os.close(os.open("/dev/null", os.O_RDWR))
            try:
                os.close(os.open("/dev/zero", os.O_RDONLY))
            except PermissionError:
                sys.exit(0)
            sys.exit(3)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, cgroup.directory]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        try cgroup.remove()
        #expect(!FileSystem.exists(cgroup.directory))
        try? ContainerCgroup(hierarchy: hierarchy, cgroupsPath: "/swiftlet-test", defaultPath: "/x").remove()
    }
}
