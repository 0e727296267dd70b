import Foundation

/// The daemon's configuration (`swiftlet-cri --config FILE`, JSON; every key optional, snake_case).
/// Documented in docs/cri.md.
public struct CRIConfig: Codable, Sendable, Equatable {
    /// The gRPC socket.
    public var listen = "/run/swiftlet/cri.sock"
    /// Durable records: sandboxes, containers, bundles.
    public var rootDir = "/var/lib/swiftlet/cri"
    /// Volatile state (monitor files, bundles of running containers); cleared by a reboot.
    public var stateDir = "/run/swiftlet/cri"
    /// Where pinned pod network namespaces are bind mounted.
    public var netnsDir = "/run/swiftlet/netns"
    /// The image store's root.
    public var imageDir = "/var/lib/swiftlet/images"
    /// Registry settings for pulls (the image store's YAML: mirrors, plainHTTP, credentials).
    public var registryConfig = ""
    /// OCI runtime binary with the runc CLI; empty: `swiftlet-runc` next to `swiftlet-cri`.
    public var runtimePath = ""
    /// The runtime's `--root` (its state directory).
    public var runtimeRoot = "/run/swiftlet/runc"
    /// Per-container monitor and pod infra binaries; empty: next to `swiftlet-cri`.
    public var monitorPath = ""
    public var pausePath = ""
    public var cniConfDir = "/etc/cni/net.d"
    public var cniBinDirs = ["/opt/cni/bin"]
    /// false: run containers although the cgroup v2 hierarchy lacks controllers (passes
    /// `--no-cgroup-enforcement` to swiftlet-runc). Default: such hosts are refused.
    public var cgroupEnforcement = true
    /// true: where oom_score_adj cannot be lowered, clamp to the daemon's own value (passes
    /// `--clamp-oom-score-adj`), like containerd's `restrict_oom_score_adj`.
    public var restrictOOMScoreAdj = false
    /// The cgroup under which pod cgroups are made when the sandbox names no parent.
    public var cgroupParent = "/swiftlet"
    public var logLevel = "info"
    /// Where the streaming server (Exec URLs) listens; port 0 picks a free one.
    public var streamAddress = "127.0.0.1"
    public var streamPort = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case listen, registryConfig = "registry_config", rootDir = "root_dir", stateDir = "state_dir", netnsDir = "netns_dir", imageDir = "image_dir"
        case runtimePath = "runtime_path", runtimeRoot = "runtime_root", monitorPath = "monitor_path"
        case pausePath = "pause_path", cniConfDir = "cni_conf_dir", cniBinDirs = "cni_bin_dirs"
        case cgroupEnforcement = "cgroup_enforcement", restrictOOMScoreAdj = "restrict_oom_score_adj"
        case cgroupParent = "cgroup_parent", logLevel = "log_level", streamAddress = "stream_address", streamPort = "stream_port"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CRIConfig()
        listen = try c.decodeIfPresent(String.self, forKey: .listen) ?? d.listen
        rootDir = try c.decodeIfPresent(String.self, forKey: .rootDir) ?? d.rootDir
        registryConfig = try c.decodeIfPresent(String.self, forKey: .registryConfig) ?? d.registryConfig
        stateDir = try c.decodeIfPresent(String.self, forKey: .stateDir) ?? d.stateDir
        netnsDir = try c.decodeIfPresent(String.self, forKey: .netnsDir) ?? d.netnsDir
        imageDir = try c.decodeIfPresent(String.self, forKey: .imageDir) ?? d.imageDir
        runtimePath = try c.decodeIfPresent(String.self, forKey: .runtimePath) ?? d.runtimePath
        runtimeRoot = try c.decodeIfPresent(String.self, forKey: .runtimeRoot) ?? d.runtimeRoot
        monitorPath = try c.decodeIfPresent(String.self, forKey: .monitorPath) ?? d.monitorPath
        pausePath = try c.decodeIfPresent(String.self, forKey: .pausePath) ?? d.pausePath
        cniConfDir = try c.decodeIfPresent(String.self, forKey: .cniConfDir) ?? d.cniConfDir
        cniBinDirs = try c.decodeIfPresent([String].self, forKey: .cniBinDirs) ?? d.cniBinDirs
        cgroupEnforcement = try c.decodeIfPresent(Bool.self, forKey: .cgroupEnforcement) ?? d.cgroupEnforcement
        restrictOOMScoreAdj = try c.decodeIfPresent(Bool.self, forKey: .restrictOOMScoreAdj) ?? d.restrictOOMScoreAdj
        cgroupParent = try c.decodeIfPresent(String.self, forKey: .cgroupParent) ?? d.cgroupParent
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? d.logLevel
        streamAddress = try c.decodeIfPresent(String.self, forKey: .streamAddress) ?? d.streamAddress
        streamPort = try c.decodeIfPresent(Int.self, forKey: .streamPort) ?? d.streamPort
    }

    /// Reads a config file; unknown keys are refused so typos do not pass silently.
    public static func load(path: String) throws -> CRIConfig {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CRIError.invalidArgument(field: "--config", reason: "cannot read \(path): \(error.localizedDescription)")
        }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            let known = Set(CodingKeys.allKeys)
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw CRIError.invalidArgument(field: "config \(unknown)", reason: "unknown key in \(path)")
            }
        }
        do { return try JSONDecoder().decode(CRIConfig.self, from: data) } catch {
            throw CRIError.invalidArgument(field: "--config", reason: "\(path) is not a valid config: \(error)")
        }
    }

    /// The runtime's global flags for every invocation.
    public var runtimeGlobalArguments: [String] {
        var args = ["--root", runtimeRoot]
        if !cgroupEnforcement { args.append("--no-cgroup-enforcement") }
        if restrictOOMScoreAdj { args.append("--clamp-oom-score-adj") }
        return args
    }
}

extension CRIConfig.CodingKeys {
    static let allKeys: [String] = [
        "listen", "registry_config", "root_dir", "state_dir", "netns_dir", "image_dir", "runtime_path", "runtime_root",
        "monitor_path", "pause_path", "cni_conf_dir", "cni_bin_dirs", "cgroup_enforcement",
        "restrict_oom_score_adj", "cgroup_parent", "log_level", "stream_address", "stream_port",
    ]
}
