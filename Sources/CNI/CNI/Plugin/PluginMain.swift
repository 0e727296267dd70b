/// Which plugin the binary acts as, from the name it was run under.
public enum PluginRole: String, Sendable {
    case bridge
    case hostLocal = "host-local"

    /// "host-local" (or anything ending in it) is IPAM; every other name, including
    /// "swiftlet-cni" and "bridge", is the bridge.
    public init(argv0: String) {
        let base = argv0.split(separator: "/").last.map(String.init) ?? argv0
        self = base == "host-local" || base.hasSuffix("-host-local") ? .hostLocal : .bridge
    }
}

/// What the process writes and how it exits.
public struct PluginOutput: Sendable, Equatable {
    public var stdout: String
    public var exitCode: Int32
}

/// The dispatcher: CNI_* environment and stdin in, result or error JSON out. Pure apart from what
/// the plugins themselves do, so tests drive it with an environment dictionary.
public enum PluginMain {
    public static func run(role: PluginRole, environment: [String: String], stdin: [UInt8]) -> PluginOutput {
        var versionForErrors = NetworkConfig.declaredVersion(in: stdin).flatMap { CNIVersion($0)?.isSupported == true ? $0 : nil }
            ?? CNIVersion.current.description
        do {
            let command = try CNIEnvironment.command(from: environment)
            if command == .version { return try version(stdin: stdin) }
            let config = try NetworkConfig(bytes: stdin)
            versionForErrors = config.cniVersion.description
            let cni = try CNIEnvironment(environment)
            try checkVersionAllows(command, config.cniVersion)
            switch role {
            case .hostLocal:
                return try runHostLocal(command, config: config, environment: cni)
            case .bridge:
                let plugin = try BridgePlugin(config: config, environment: cni, rawEnvironment: environment, stdin: stdin)
                switch command {
                case .add: return success(try plugin.add().json(version: config.cniVersion))
                case .del: try plugin.del()
                case .check: try plugin.check()
                case .gc: try plugin.gc()
                case .status: try plugin.status()
                case .version: break
                }
                return PluginOutput(stdout: "", exitCode: 0)
            }
        } catch {
            return PluginOutput(stdout: error.json(cniVersion: versionForErrors).prettySerialized + "\n", exitCode: 1)
        }
    }

    static func runHostLocal(_ command: CNICommand, config: NetworkConfig, environment: CNIEnvironment) throws(CNIError) -> PluginOutput {
        switch command {
        case .add:
            return success(try HostLocalPlugin.add(config: config, environment: environment).json(version: config.cniVersion))
        case .del: try HostLocalPlugin.del(config: config, environment: environment)
        case .check: try HostLocalPlugin.check(config: config, environment: environment)
        case .gc: try HostLocalPlugin.gc(config: config)
        case .status: try HostLocalPlugin.status(config: config)
        case .version: break
        }
        return PluginOutput(stdout: "", exitCode: 0)
    }

    static func checkVersionAllows(_ command: CNICommand, _ version: CNIVersion) throws(CNIError) {
        switch command {
        case .check where !version.allowsCheck:
            throw CNIError(.incompatibleVersion, "cniVersion: \(version) does not support CHECK (0.4.0 or later needed)")
        case .gc where !version.allowsGCAndStatus, .status where !version.allowsGCAndStatus:
            throw CNIError(.incompatibleVersion, "cniVersion: \(version) does not support \(command.rawValue) (1.1.0 or later needed)")
        default:
            break
        }
    }

    /// VERSION: the input's cniVersion (any well-formed one) and what this plugin supports.
    static func version(stdin: [UInt8]) throws(CNIError) -> PluginOutput {
        var requested = CNIVersion.current.description
        if !stdin.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            let json: JSON
            do {
                json = try JSONParser.parse(stdin)
            } catch {
                throw CNIError(.decodingFailure, "version request on stdin: \(error.description)")
            }
            if let text = try JSONField(json, path: "")["cniVersion"].optionalString(), !text.isEmpty {
                guard CNIVersion(text) != nil else { throw CNIError(.decodingFailure, "cniVersion: \"\(text)\" is not a version") }
                requested = text
            }
        }
        var object = JSONObject()
        object["cniVersion"] = .string(requested)
        object["supportedVersions"] = .array(CNIVersion.supported.map { .string($0.description) })
        return success(.object(object))
    }

    static func success(_ json: JSON) -> PluginOutput {
        PluginOutput(stdout: json.prettySerialized + "\n", exitCode: 0)
    }
}
