import CRIProto
import Foundation
import ImageStore
import Runtime
import Testing

@testable import CRI

/// OCI config generation from CRI requests, merged with the image config the Kubernetes way.
@Suite struct SpecBuilderTests {
    static let passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n"
    static let group = "root:x:0:\napp:x:1001:\nextra:x:2000:app\n"

    func environment(readHostFile: @escaping (String) throws -> Data = { _ in throw CocoaError(.fileNoSuchFile) }) -> SpecBuilder.Environment {
        SpecBuilder.Environment(
            rootfs: "/snap/rootfs", netnsPath: "/run/swiftlet/netns/abc", infraPid: 4242,
            etcHosts: "/var/lib/x/hosts", resolvConf: "/var/lib/x/resolv.conf", etcHostname: "/var/lib/x/hostname",
            cgroupsPath: "/swiftlet/pod-abc/c1", passwd: Self.passwd, group: Self.group,
            readHostFile: readHostFile, device: { path in
                guard path == "/dev/fuse" else { throw CocoaError(.fileNoSuchFile) }
                return ("c", 10, 229)
            })
    }

    func container(_ body: (inout Runtime_V1_ContainerConfig) -> Void = { _ in }) -> Runtime_V1_ContainerConfig {
        var c = Runtime_V1_ContainerConfig()
        c.metadata.name = "c"
        c.image.image = "busybox"
        body(&c)
        return c
    }

    @Test func commandReplacesEntrypointAndCmd() throws {
        let image = ImageConfig(entrypoint: ["/entry"], cmd: ["default"])
        #expect(try SpecBuilder.arguments(config: container(), image: image) == ["/entry", "default"])
        #expect(try SpecBuilder.arguments(config: container { $0.args = ["x"] }, image: image) == ["/entry", "x"])
        #expect(try SpecBuilder.arguments(config: container { $0.command = ["sh"] }, image: image) == ["sh"])
        #expect(try SpecBuilder.arguments(config: container { $0.command = ["sh"]; $0.args = ["-c", "true"] }, image: image)
                == ["sh", "-c", "true"])
    }

    @Test func noCommandAnywhereIsInvalid() {
        #expect(throws: CRIError.self) { try SpecBuilder.arguments(config: container(), image: ImageConfig()) }
        do {
            _ = try SpecBuilder.arguments(config: container(), image: ImageConfig())
        } catch let error as CRIError {
            #expect(error.description.contains("config.command"))
        } catch {}
    }

    @Test func environmentMergesImageThenContainer() throws {
        let image = ImageConfig(env: ["PATH=/bin", "A=image", "B=image"])
        let config = container { c in
            var a = Runtime_V1_KeyValue(); a.key = "A"; a.value = Data("container".utf8)
            var z = Runtime_V1_KeyValue(); z.key = "Z"; z.value = Data("=x=".utf8)
            c.envs = [a, z]
        }
        #expect(try SpecBuilder.environment(config: config, image: image) == ["PATH=/bin", "A=container", "B=image", "Z==x="])
        #expect(try SpecBuilder.environment(config: container(), image: ImageConfig()).first?.hasPrefix("PATH=/usr/local/sbin") == true)
    }

    @Test func badEnvironmentKeyNamesTheField() {
        let config = container { c in
            var bad = Runtime_V1_KeyValue(); bad.key = "A=B"
            c.envs = [bad]
        }
        #expect { try SpecBuilder.environment(config: config, image: ImageConfig()) } throws: { error in
            "\(error)".contains("config.envs[0].key")
        }
    }

    @Test func userFromImageNameAndSecurityContext() throws {
        let byName = try SpecBuilder.user(config: container(), image: ImageConfig(user: "app"), passwd: Self.passwd, group: Self.group)
        #expect(byName.uid == 1000 && byName.gid == 1001 && byName.additionalGids == [2000])
        let numeric = try SpecBuilder.user(config: container(), image: ImageConfig(user: "5:6"), passwd: nil, group: nil)
        #expect(numeric.uid == 5 && numeric.gid == 6)
        let overridden = try SpecBuilder.user(config: container { c in
            c.linux.securityContext.runAsUser.value = 1000
            c.linux.securityContext.runAsGroup.value = 3000
            c.linux.securityContext.supplementalGroups = [4000]
        }, image: ImageConfig(user: "root"), passwd: Self.passwd, group: Self.group)
        #expect(overridden.uid == 1000 && overridden.gid == 3000 && overridden.additionalGids == [2000, 4000])
        #expect(throws: CRIError.self) {
            try SpecBuilder.user(config: container(), image: ImageConfig(user: "ghost"), passwd: Self.passwd, group: nil)
        }
    }

    @Test func capabilitiesAddDropAll() throws {
        var sc = Runtime_V1_LinuxContainerSecurityContext()
        sc.capabilities.dropCapabilities = ["ALL"]
        sc.capabilities.addCapabilities = ["NET_ADMIN"]
        #expect(try SpecBuilder.capabilities(sc) == ["CAP_NET_ADMIN"])
        sc.capabilities.dropCapabilities = ["CAP_CHOWN"]
        sc.capabilities.addCapabilities = []
        let caps = try SpecBuilder.capabilities(sc)
        #expect(!caps.contains("CAP_CHOWN") && caps.contains("CAP_KILL"))
        sc.capabilities.addCapabilities = ["NOT_A_CAP"]
        #expect { try SpecBuilder.capabilities(sc) } throws: { "\($0)".contains("add_capabilities[0]") }
        sc.privileged = true
        #expect(try SpecBuilder.capabilities(sc).count == Capabilities.all.count)
    }

    @Test func seccompProfiles() throws {
        var sc = Runtime_V1_LinuxContainerSecurityContext()
        #expect(try SpecBuilder.seccomp(sc, capabilities: [], readHostFile: { _ in Data() }) == nil)
        sc.seccomp.profileType = .runtimeDefault
        let filter = try SpecBuilder.seccomp(sc, capabilities: [], readHostFile: { _ in Data() })
        #expect(filter?.defaultAction == "SCMP_ACT_ERRNO")
        sc.seccomp.profileType = .localhost
        sc.seccomp.localhostRef = "/profiles/p.json"
        let local = try SpecBuilder.seccomp(sc, capabilities: [], readHostFile: { path in
            #expect(path == "/profiles/p.json")
            return Data(#"{"defaultAction":"SCMP_ACT_LOG"}"#.utf8)
        })
        #expect(local?.defaultAction == "SCMP_ACT_LOG")
        sc.seccomp.localhostRef = "relative.json"
        #expect { try SpecBuilder.seccomp(sc, capabilities: [], readHostFile: { _ in Data() }) } throws: {
            "\($0)".contains("seccomp.localhost_ref")
        }
    }

    @Test func fullSpecJoinsPodNamespacesAndMounts() throws {
        let config = container { c in
            c.command = ["sh"]
            c.linux.securityContext.readonlyRootfs = true
            c.linux.securityContext.noNewPrivs = true
            c.linux.securityContext.namespaceOptions.pid = .pod
            var m = Runtime_V1_Mount(); m.containerPath = "/data"; m.hostPath = "/srv/data"; m.readonly = true
            m.propagation = .propagationHostToContainer
            c.mounts = [m]
            var d = Runtime_V1_Device(); d.containerPath = "/dev/fuse"; d.hostPath = "/dev/fuse"; d.permissions = "rw"
            c.devices = [d]
            c.linux.resources.memoryLimitInBytes = 64 << 20
            c.linux.resources.cpuQuota = 50000
            c.linux.resources.cpuPeriod = 100000
        }
        let spec = try SpecBuilder.build(config: config, sandbox: Runtime_V1_PodSandboxConfig(), image: ImageConfig(), env: environment())
        let ns = Dictionary(uniqueKeysWithValues: (spec.linux?.namespaces ?? []).map { ($0.type, $0.path) })
        #expect(ns["network"] == "/run/swiftlet/netns/abc")
        #expect(ns["ipc"] == "/proc/4242/ns/ipc")
        #expect(ns["uts"] == "/proc/4242/ns/uts")
        #expect(ns["pid"] == "/proc/4242/ns/pid")
        #expect(spec.root?.readonly == true)
        #expect(spec.process?.noNewPrivileges == true)
        #expect(spec.linux?.cgroupsPath == "/swiftlet/pod-abc/c1")
        #expect(spec.linux?.resources?.memory?.limit == 64 << 20)
        #expect(spec.linux?.resources?.cpu?.quota == 50000)
        #expect(spec.linux?.devices?.first?.major == 10)
        let data = spec.mounts?.first { $0.destination == "/data" }
        #expect(data?.source == "/srv/data" && data?.options == ["rbind", "rslave", "ro"])
        #expect(spec.mounts?.contains { $0.destination == "/etc/resolv.conf" && $0.source == "/var/lib/x/resolv.conf" } == true)
        #expect(spec.linux?.maskedPaths == Spec.defaultMaskedPaths)
    }

    @Test func badMountAndDeviceNameTheField() {
        let relative = container { c in
            c.command = ["sh"]
            var m = Runtime_V1_Mount(); m.containerPath = "data"; m.hostPath = "/srv"
            c.mounts = [m]
        }
        #expect { try SpecBuilder.build(config: relative, sandbox: .init(), image: ImageConfig(), env: environment()) } throws: {
            "\($0)".contains("config.mounts[0].container_path")
        }
        let device = container { c in
            c.command = ["sh"]
            var d = Runtime_V1_Device(); d.containerPath = "/dev/x"; d.hostPath = "/dev/nothing"
            c.devices = [d]
        }
        #expect { try SpecBuilder.build(config: device, sandbox: .init(), image: ImageConfig(), env: environment()) } throws: {
            "\($0)".contains("config.devices[0].host_path")
        }
    }

    @Test func privilegedDropsMasksAndSeccomp() throws {
        let config = container { c in
            c.command = ["sh"]
            c.linux.securityContext.privileged = true
            c.linux.securityContext.seccomp.profileType = .runtimeDefault
        }
        let spec = try SpecBuilder.build(config: config, sandbox: .init(), image: ImageConfig(), env: environment())
        #expect(spec.linux?.seccomp == nil)
        #expect(spec.linux?.maskedPaths == nil)
        #expect(spec.process?.capabilities?.bounding?.count == Capabilities.all.count)
    }
}
