/// The ADD success result (section 5), independent of the version it is read from or written as.
public struct CNIResult: Sendable, Equatable {
    public struct Interface: Sendable, Equatable {
        public var name: String
        public var mac: String?
        public var mtu: Int?
        public var sandbox: String?
        public var socketPath: String?
        public var pciID: String?

        public init(name: String, mac: String? = nil, mtu: Int? = nil, sandbox: String? = nil) {
            self.name = name
            self.mac = mac
            self.mtu = mtu
            self.sandbox = sandbox
        }
    }

    public struct IPConfig: Sendable, Equatable {
        public var address: IPNetwork
        public var gateway: IPAddress?
        /// Index into `interfaces`; IPAM results leave it out.
        public var interface: Int?

        public init(address: IPNetwork, gateway: IPAddress? = nil, interface: Int? = nil) {
            self.address = address
            self.gateway = gateway
            self.interface = interface
        }
    }

    public struct Route: Sendable, Equatable {
        public var destination: IPNetwork
        public var gateway: IPAddress?
        public var mtu: Int?
        public var advmss: Int?
        public var priority: Int?
        public var table: Int?
        public var scope: Int?

        public init(destination: IPNetwork, gateway: IPAddress? = nil) {
            self.destination = destination
            self.gateway = gateway
        }
    }

    public struct DNS: Sendable, Equatable {
        public var nameservers: [String] = []
        public var domain: String?
        public var search: [String] = []
        public var options: [String] = []

        public init() {}

        public var isEmpty: Bool { nameservers.isEmpty && domain == nil && search.isEmpty && options.isEmpty }
    }

    public var interfaces: [Interface] = []
    public var ips: [IPConfig] = []
    public var routes: [Route] = []
    public var dns = DNS()

    public init() {}
}

// MARK: - Reading

extension CNIResult {
    /// Reads a result of any supported version (0.3.0 and later); `path` names it in errors.
    public init(json: JSONField) throws(CNIError) {
        self.init()
        for field in try json["interfaces"].elements() {
            var interface = Interface(name: try field["name"].string())
            interface.mac = try field["mac"].optionalString()
            interface.mtu = try field["mtu"].optionalInt()
            interface.sandbox = try field["sandbox"].optionalString()
            interface.socketPath = try field["socketPath"].optionalString()
            interface.pciID = try field["pciID"].optionalString()
            interfaces.append(interface)
        }
        for field in try json["ips"].elements() {
            var ip = IPConfig(address: try field["address"].cidr())
            ip.gateway = try field["gateway"].optionalIPAddress()
            if let index = try field["interface"].optionalInt() {
                guard index >= 0 else { throw CNIError.config(field["interface"].path, "must not be negative") }
                ip.interface = index
            }
            if let version = try field["version"].optionalString(), version != ip.address.family.versionString {
                throw CNIError.config(field["version"].path, "\"\(version)\" does not match address \(ip.address)")
            }
            ips.append(ip)
        }
        for field in try json["routes"].elements() {
            var route = Route(destination: try field["dst"].cidr().masked)
            route.gateway = try field["gw"].optionalIPAddress()
            route.mtu = try field["mtu"].optionalInt()
            route.advmss = try field["advmss"].optionalInt()
            route.priority = try field["priority"].optionalInt()
            route.table = try field["table"].optionalInt()
            route.scope = try field["scope"].optionalInt()
            routes.append(route)
        }
        let dnsField = json["dns"]
        if try dnsField.optionalObject() != nil {
            dns.nameservers = try dnsField["nameservers"].stringArray()
            dns.domain = try dnsField["domain"].optionalString()
            dns.search = try dnsField["search"].stringArray()
            dns.options = try dnsField["options"].stringArray()
        }
    }
}

// MARK: - Writing

extension CNIResult {
    /// The result as `version` spells it: "version" in IPs before 1.0.0, route attributes from 1.1.0.
    public func json(version: CNIVersion) -> JSON {
        var object = JSONObject()
        object["cniVersion"] = .string(version.description)
        if !interfaces.isEmpty {
            object["interfaces"] = .array(interfaces.map { interface in
                var entry = JSONObject()
                entry["name"] = .string(interface.name)
                if let mac = interface.mac, !mac.isEmpty { entry["mac"] = .string(mac) }
                if version >= .v1_0_0, let mtu = interface.mtu, mtu > 0 { entry["mtu"] = .int(mtu) }
                if let sandbox = interface.sandbox, !sandbox.isEmpty { entry["sandbox"] = .string(sandbox) }
                if version >= .v1_1_0 {
                    if let socketPath = interface.socketPath { entry["socketPath"] = .string(socketPath) }
                    if let pciID = interface.pciID { entry["pciID"] = .string(pciID) }
                }
                return .object(entry)
            })
        }
        if !ips.isEmpty {
            object["ips"] = .array(ips.map { ip in
                var entry = JSONObject()
                if version.resultHasIPVersion { entry["version"] = .string(ip.address.family.versionString) }
                if let interface = ip.interface { entry["interface"] = .int(interface) }
                entry["address"] = .string(ip.address.description)
                if let gateway = ip.gateway { entry["gateway"] = .string(gateway.description) }
                return .object(entry)
            })
        }
        if !routes.isEmpty {
            object["routes"] = .array(routes.map { route in
                var entry = JSONObject()
                entry["dst"] = .string(route.destination.description)
                if let gateway = route.gateway { entry["gw"] = .string(gateway.description) }
                if version.resultHasRouteAttributes {
                    if let mtu = route.mtu { entry["mtu"] = .int(mtu) }
                    if let advmss = route.advmss { entry["advmss"] = .int(advmss) }
                    if let priority = route.priority { entry["priority"] = .int(priority) }
                    if let table = route.table { entry["table"] = .int(table) }
                    if let scope = route.scope { entry["scope"] = .int(scope) }
                }
                return .object(entry)
            })
        }
        var dnsObject = JSONObject()
        if !dns.nameservers.isEmpty { dnsObject["nameservers"] = .array(dns.nameservers.map(JSON.string)) }
        if let domain = dns.domain { dnsObject["domain"] = .string(domain) }
        if !dns.search.isEmpty { dnsObject["search"] = .array(dns.search.map(JSON.string)) }
        if !dns.options.isEmpty { dnsObject["options"] = .array(dns.options.map(JSON.string)) }
        object["dns"] = .object(dnsObject)
        return .object(object)
    }
}
