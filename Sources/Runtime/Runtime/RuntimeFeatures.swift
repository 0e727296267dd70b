/// The runtime-spec "features" document (`swiftlet-runc features`).
public struct RuntimeFeatures: Codable, Sendable {
    public var ociVersionMin: String
    public var ociVersionMax: String
    public var hooks: [String]
    public var mountOptions: [String]
    public var linux: Linux

    public struct Linux: Codable, Sendable {
        public var namespaces: [String]
        public var capabilities: [String]
        public var cgroup: Cgroup
        public var seccomp: Seccomp
        public var apparmor: Enabled
        public var selinux: Enabled
    }

    public struct Cgroup: Codable, Sendable {
        public var v1: Bool
        public var v2: Bool
        public var systemd: Bool
        public var systemdUser: Bool
    }

    public struct Seccomp: Codable, Sendable {
        public var enabled: Bool
        public var actions: [String]
        public var operators: [String]
        public var archs: [String]
    }

    public struct Enabled: Codable, Sendable {
        public var enabled: Bool
    }

    public static func current() -> RuntimeFeatures {
        RuntimeFeatures(
            ociVersionMin: "1.0.0", ociVersionMax: Spec.version,
            hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
            mountOptions: (Array(MountOptions.flagOptions.keys) + Array(MountOptions.propagationOptions.keys) + ["bind", "rbind"]).sorted(),
            linux: Linux(
                namespaces: NamespaceKind.allCases.map(\.rawValue),
                capabilities: Capabilities.all,
                cgroup: Cgroup(v1: false, v2: true, systemd: false, systemdUser: false),
                seccomp: Seccomp(
                    enabled: true,
                    actions: ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                              "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                    operators: ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                    archs: ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
                apparmor: Enabled(enabled: false), selinux: Enabled(enabled: false)))
    }
}
