/// The `ipam` section for host-local, with everything host-local accepts: a single legacy range
/// (subnet/rangeStart/rangeEnd/gateway), `ranges` (a list of range sets), routes, dataDir,
/// resolvConf, and requested addresses from CNI_ARGS `IP`, `args.cni.ips` and `runtimeConfig.ips`.
public struct HostLocalConfig: Sendable {
    public static let defaultDataDir = "/var/lib/cni/networks"

    public var network: String
    public var rangeSets: [RangeSet]
    public var routes: [CNIResult.Route]
    public var dataDir: String
    public var resolvConf: String?
    public var requestedIPs: [IPAddress]

    public init(config: NetworkConfig, args: [(key: String, value: String)] = []) throws(CNIError) {
        let ipam = config.root["ipam"]
        _ = try ipam.object()
        network = config.name
        dataDir = try ipam["dataDir"].optionalString() ?? ""
        if dataDir.isEmpty { dataDir = HostLocalConfig.defaultDataDir }
        resolvConf = try ipam["resolvConf"].optionalString()

        var sets: [RangeSet] = []
        // Runtime-provided ranges (the ipRanges capability) come first, then the legacy range.
        for (index, field) in try config.root["runtimeConfig"]["ipRanges"].elements().enumerated() {
            sets.append(try HostLocalConfig.rangeSet(field, path: "runtimeConfig.ipRanges[\(index)]"))
        }
        if !ipam["subnet"].isAbsent {
            let range = try HostLocalConfig.range(ipam, path: ipam.path)
            sets.append(try RangeSet(ranges: [range], path: ipam.path))
        }
        for field in try ipam["ranges"].elements() {
            sets.append(try HostLocalConfig.rangeSet(field, path: field.path))
        }
        if sets.isEmpty { throw CNIError.config("ipam.ranges", "no IP ranges specified (set ipam.subnet or ipam.ranges)") }
        for (index, set) in sets.enumerated() {
            for (otherIndex, other) in sets[..<index].enumerated() where other.overlaps(set) {
                throw CNIError.config("ipam.ranges[\(index)]", "range set overlaps range set \(otherIndex)")
            }
        }
        rangeSets = sets

        routes = []
        for field in try ipam["routes"].elements() {
            var route = CNIResult.Route(destination: try field["dst"].cidr().masked)
            route.gateway = try field["gw"].optionalIPAddress()
            if let gateway = route.gateway, gateway.family != route.destination.family {
                throw CNIError.config(field["gw"].path, "\(gateway) is not in the address family of \(route.destination)")
            }
            routes.append(route)
        }

        var requested: [IPAddress] = []
        if let text = args.last(where: { $0.key == "IP" })?.value {
            for piece in text.split(separator: ",") {
                guard let address = HostLocalConfig.parseRequested(String(piece)) else {
                    throw CNIError(.invalidEnvironment, "CNI_ARGS: IP=\(text) is not an IP address")
                }
                requested.append(address)
            }
        }
        for field in try config.root["args"]["cni"]["ips"].elements() + config.root["runtimeConfig"]["ips"].elements() {
            let text = try field.string()
            guard let address = HostLocalConfig.parseRequested(text) else {
                throw CNIError.config(field.path, "invalid IP address \"\(text)\"")
            }
            requested.append(address)
        }
        requestedIPs = requested
    }

    /// "10.0.0.5" or "10.0.0.5/24" (the prefix is ignored, as host-local does).
    static func parseRequested(_ text: String) -> IPAddress? {
        if let network = IPNetwork(text) { return network.address }
        return IPAddress(text)
    }

    static func rangeSet(_ field: JSONField, path: String) throws(CNIError) -> RangeSet {
        guard try field.optionalArray() != nil else { throw CNIError.type(path, expected: "array of ranges", found: field.value ?? .null) }
        var ranges: [IPRange] = []
        for (index, element) in try field.elements().enumerated() {
            ranges.append(try range(element, path: "\(path)[\(index)]"))
        }
        return try RangeSet(ranges: ranges, path: path)
    }

    static func range(_ field: JSONField, path: String) throws(CNIError) -> IPRange {
        _ = try field.object()
        let subnetField = field["subnet"]
        let subnetText = try subnetField.string()
        guard let subnet = IPNetwork(subnetText) else {
            throw CNIError.config("\(path).subnet", "invalid CIDR \"\(subnetText)\"")
        }
        func address(_ key: String) throws(CNIError) -> IPAddress? {
            guard let text = try field[key].optionalString(), !text.isEmpty else { return nil }
            guard let address = IPAddress(text) else { throw CNIError.config("\(path).\(key)", "invalid IP address \"\(text)\"") }
            return address
        }
        return try IPRange(
            subnet: subnet, start: try address("rangeStart"), end: try address("rangeEnd"),
            gateway: try address("gateway"), path: path)
    }
}
