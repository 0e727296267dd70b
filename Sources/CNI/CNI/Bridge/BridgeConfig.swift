/// The bridge plugin's fields, with the reference plugin's names and defaults.
public struct BridgeConfig: Sendable, Equatable {
    public var bridge = "cni0"
    public var isGateway = false
    public var isDefaultGateway = false
    public var forceAddress = false
    public var ipMasq = false
    /// 0 leaves the kernel default.
    public var mtu = 0
    public var hairpinMode = false
    public var promiscMode = false
    public var enableDAD = false
    /// The IPAM plugin type; nil for a layer-2-only network.
    public var ipamType: String?
    /// The container interface's MAC (runtimeConfig.mac, args.cni.mac or CNI_ARGS MAC).
    public var mac: [UInt8]?

    public init() {}

    public init(config: NetworkConfig, args: [(key: String, value: String)]) throws(CNIError) {
        let root = config.root
        if let name = try root["bridge"].optionalString(), !name.isEmpty {
            do {
                try CNIEnvironment.validateInterfaceName(name)
            } catch {
                throw CNIError.config("bridge", "invalid interface name \"\(name)\"")
            }
            bridge = name
        }
        isDefaultGateway = try root["isDefaultGateway"].bool()
        isGateway = try root["isGateway"].bool() || isDefaultGateway
        forceAddress = try root["forceAddress"].bool()
        ipMasq = try root["ipMasq"].bool()
        mtu = try root["mtu"].optionalInt() ?? 0
        if mtu != 0 && !(68...65535).contains(mtu) {
            throw CNIError.config("mtu", "\(mtu) is out of range 68...65535")
        }
        hairpinMode = try root["hairpinMode"].bool()
        promiscMode = try root["promiscMode"].bool()
        if hairpinMode && promiscMode {
            throw CNIError.config("hairpinMode", "cannot be set together with promiscMode")
        }
        enableDAD = try root["enabledad"].bool()

        if !root["ipam"].isAbsent {
            _ = try root["ipam"].object()
            let type = try root["ipam"]["type"].optionalString() ?? ""
            if !type.isEmpty {
                if type.contains("/") { throw CNIError.config("ipam.type", "must not contain '/'") }
                ipamType = type
            }
        }
        if ipMasq && ipamType == nil {
            throw CNIError.config("ipMasq", "needs an ipam section to know which addresses to masquerade")
        }

        if let vlan = try root["vlan"].optionalInt(), vlan != 0 {
            throw CNIError(.unsupportedField, "vlan: \(vlan) is not supported by this plugin")
        }
        for key in ["macspoofchk", "portIsolation", "disableContainerInterface"] where try root[key].bool() {
            throw CNIError(.unsupportedField, "\(key): true is not supported by this plugin")
        }
        if let trunk = try root["vlanTrunk"].optionalArray(), !trunk.isEmpty {
            throw CNIError(.unsupportedField, "vlanTrunk: \(JSON.array(trunk).serialized) is not supported by this plugin")
        }
        if let backend = try root["ipMasqBackend"].optionalString(), backend != "nftables" {
            throw CNIError(.unsupportedField, "ipMasqBackend: \"\(backend)\" is not supported; this plugin masquerades with nftables")
        }

        // Later sources win, as in the reference plugin: CNI_ARGS, then args, then runtimeConfig.
        var macSource: (path: String, text: String)? = nil
        if let text = args.last(where: { $0.key == "MAC" })?.value, !text.isEmpty { macSource = ("CNI_ARGS MAC", text) }
        if let text = try root["args"]["cni"]["mac"].optionalString(), !text.isEmpty { macSource = ("args.cni.mac", text) }
        if let text = try root["runtimeConfig"]["mac"].optionalString(), !text.isEmpty { macSource = ("runtimeConfig.mac", text) }
        if let (path, text) = macSource {
            guard let bytes = BridgeConfig.parseMAC(text) else {
                throw CNIError.config(path, "invalid MAC address \"\(text)\"")
            }
            if bytes[0] & 1 != 0 { throw CNIError.config(path, "\(text) is a multicast address") }
            mac = bytes
        }
    }

    /// "aa:bb:cc:dd:ee:ff" (or with '-').
    static func parseMAC(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let pieces = parts.count == 6 ? parts : text.split(separator: "-", omittingEmptySubsequences: false)
        guard pieces.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for piece in pieces {
            guard piece.count == 2, let byte = UInt8(piece, radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
