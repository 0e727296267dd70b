import Foundation
import Testing
@testable import Runtime

/// A throwaway bundle directory with a rootfs, for plan validation.
final class TempBundle {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path + "/rootfs", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func plan(_ edit: (inout Spec) -> Void = { _ in }) throws -> ContainerPlan {
        var spec = Spec.defaultConfig()
        spec.process?.terminal = false
        edit(&spec)
        return try ContainerPlan(spec: spec, bundle: path)
    }
}

/// The field a plan error names, or nil when the plan was accepted.
func rejectedField(_ bundle: TempBundle, _ edit: (inout Spec) -> Void) -> String? {
    do {
        _ = try bundle.plan(edit)
        return nil
    } catch let error as RuntimeError {
        if case .invalidConfig(let field, _) = error { return field }
        return "other: \(error)"
    } catch {
        return "other: \(error)"
    }
}

@Suite struct ContainerPlanTests {
    @Test func defaultConfigIsAccepted() throws {
        let bundle = try TempBundle()
        let plan = try bundle.plan()
        #expect(plan.rootfs.hasSuffix("/rootfs"))
        #expect(plan.readonlyRoot)
        #expect(plan.newNamespaces & NamespaceKind.pid.cloneFlag != 0)
        #expect(plan.newNamespaces & NamespaceKind.user.cloneFlag == 0)
        #expect(plan.hostname == "swiftlet")
        #expect(plan.devices.map(\.path).contains("/dev/null"))
        #expect(plan.process.noNewPrivileges)
        // The three default capabilities, in every set they are listed in.
        let caps = try #require(plan.process.capabilities)
        #expect(caps.bounding == (1 << 29) | (1 << 5) | (1 << 10))
        #expect(caps.inheritable == 0)
    }

    @Test func cgroupMountBecomesCgroup2() throws {
        let plan = try TempBundle().plan()
        #expect(plan.mounts.first { $0.destination == "/sys/fs/cgroup" }?.type == "cgroup2")
    }

    @Test(arguments: [
        ("ociVersion", { @Sendable (s: inout Spec) in s.ociVersion = "2.0.0" }),
        ("root.path", { @Sendable (s: inout Spec) in s.root = Spec.Root(path: "missing") }),
        ("process", { @Sendable (s: inout Spec) in s.process = nil }),
        ("process.args", { @Sendable (s: inout Spec) in s.process?.args = [] }),
        ("process.cwd", { @Sendable (s: inout Spec) in s.process?.cwd = "relative" }),
        ("process.env[1]", { @Sendable (s: inout Spec) in s.process?.env = ["A=1", "broken"] }),
        ("process.capabilities.bounding[1]", { @Sendable (s: inout Spec) in s.process?.capabilities?.bounding = ["CAP_KILL", "CAP_NOPE"] }),
        ("process.rlimits[0].type", { @Sendable (s: inout Spec) in s.process?.rlimits = [.init(type: "RLIMIT_BOGUS", hard: 1, soft: 1)] }),
        ("process.rlimits[0].soft", { @Sendable (s: inout Spec) in s.process?.rlimits = [.init(type: "RLIMIT_NOFILE", hard: 1, soft: 2)] }),
        ("process.oomScoreAdj", { @Sendable (s: inout Spec) in s.process?.oomScoreAdj = 1001 }),
        ("process.consoleSize", { @Sendable (s: inout Spec) in s.process?.consoleSize = .init(height: 1, width: 1) }),
        ("linux.namespaces[0].type", { @Sendable (s: inout Spec) in s.linux?.namespaces = [.init(type: "bogus")] }),
        ("linux.namespaces[1].type", { @Sendable (s: inout Spec) in s.linux?.namespaces = [.init(type: "mount"), .init(type: "mount")] }),
        ("linux.namespaces", { @Sendable (s: inout Spec) in s.linux?.namespaces = [.init(type: "pid")] }),
        ("linux.namespaces[1].path", { @Sendable (s: inout Spec) in s.linux?.namespaces = [.init(type: "mount"), .init(type: "network", path: "/no/such/ns")] }),
        ("linux.uidMappings", { @Sendable (s: inout Spec) in s.linux?.namespaces?.append(.init(type: "user")) }),
        ("mounts[0].destination", { @Sendable (s: inout Spec) in s.mounts = [.init(destination: "proc", type: "proc", source: "proc")] }),
        ("mounts[0].destination", { @Sendable (s: inout Spec) in s.mounts = [.init(destination: "/a/../b", type: "tmpfs", source: "tmpfs")] }),
        ("mounts[0].type", { @Sendable (s: inout Spec) in s.mounts = [.init(destination: "/x", source: "tmpfs")] }),
        ("mounts[0].source", { @Sendable (s: inout Spec) in s.mounts = [.init(destination: "/x", type: "bind", source: "/no/such/dir", options: ["rbind"])] }),
        ("hostname", { @Sendable (s: inout Spec) in s.linux?.namespaces = [.init(type: "mount")] }),
        ("linux.sysctl.kernel.panic", { @Sendable (s: inout Spec) in s.linux?.sysctl = ["kernel.panic": "1"] }),
        ("linux.devices[0].path", { @Sendable (s: inout Spec) in s.linux?.devices = [.init(type: "c", path: "/etc/x", major: 1, minor: 3)] }),
        ("linux.devices[0].type", { @Sendable (s: inout Spec) in s.linux?.devices = [.init(type: "z", path: "/dev/x", major: 1, minor: 3)] }),
        ("linux.rootfsPropagation", { @Sendable (s: inout Spec) in s.linux?.rootfsPropagation = "sideways" }),
        ("linux.maskedPaths[0]", { @Sendable (s: inout Spec) in s.linux?.maskedPaths = ["proc/kcore"] }),
        ("hooks.prestart[0].path", { @Sendable (s: inout Spec) in var h = Spec.Hooks(); h.prestart = [.init(path: "rel")]; s.hooks = h }),
        ("linux.timeOffsets", { @Sendable (s: inout Spec) in s.linux?.timeOffsets = ["monotonic": .init(secs: 1, nanosecs: 0)] }),
    ] as [(String, @Sendable (inout Spec) -> Void)])
    func invalidConfigNamesTheField(field: String, edit: @Sendable (inout Spec) -> Void) throws {
        let bundle = try TempBundle()
        #expect(rejectedField(bundle, edit) == field)
    }

    @Test func netSysctlNeedsNetworkNamespace() throws {
        let bundle = try TempBundle()
        #expect(rejectedField(bundle) { $0.linux?.sysctl = ["net.ipv4.ip_forward": "1"] } == nil)
        #expect(rejectedField(bundle) {
            $0.linux?.sysctl = ["net.ipv4.ip_forward": "1"]
            $0.linux?.namespaces?.removeAll { $0.type == "network" }
        } == "linux.sysctl.net.ipv4.ip_forward")
    }

    @Test func userNamespaceMapsAndDeviceBinds() throws {
        let plan = try TempBundle().plan {
            $0.linux?.namespaces?.append(.init(type: "user"))
            $0.linux?.uidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
            $0.linux?.gidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
        }
        #expect(plan.uidMap == "0 100000 65536\n")
        #expect(plan.bindDevices)
    }

    @Test func relativeBindSourceIsUnderTheBundle() throws {
        let bundle = try TempBundle()
        try FileManager.default.createDirectory(atPath: bundle.path + "/data", withIntermediateDirectories: true)
        let plan = try bundle.plan { $0.mounts = [.init(destination: "/data", type: "bind", source: "data", options: ["rbind", "ro"])] }
        let mount = try #require(plan.mounts.first)
        #expect(mount.source == bundle.path + "/data")
        #expect(mount.sourceIsDirectory)
        #expect(mount.options.isBind && mount.options.recursive)
    }

    @Test func configuredDeviceReplacesDefault() throws {
        let plan = try TempBundle().plan {
            $0.linux?.devices = [.init(type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o600)]
        }
        #expect(plan.devices.filter { $0.path == "/dev/null" }.map(\.fileMode) == [0o600])
    }
}
