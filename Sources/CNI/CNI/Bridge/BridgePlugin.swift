import SystemCore

/// The bridge plugin: a Linux bridge on the host, one veth pair per attachment with its
/// container end renamed to CNI_IFNAME inside CNI_NETNS, addresses and routes from IPAM,
/// optionally the gateway on the bridge and masquerading for the pod addresses.
public struct BridgePlugin {
    public let config: NetworkConfig
    public let bridge: BridgeConfig
    public let environment: CNIEnvironment
    public let ipam: IPAMDelegate?
    var masquerade = Masquerade()

    public init(config: NetworkConfig, environment: CNIEnvironment, rawEnvironment: [String: String], stdin: [UInt8]) throws(CNIError) {
        self.config = config
        self.environment = environment
        bridge = try BridgeConfig(config: config, args: environment.args)
        ipam = bridge.ipamType.map {
            IPAMDelegate(type: $0, environment: rawEnvironment, stdin: stdin, config: config, cni: environment)
        }
    }

    // MARK: ADD

    public func add() throws(CNIError) -> CNIResult {
        let home = try openHome()
        let container = try openContainer(for: .add)
        try validate(container, home: home)
        let host = try wrap("open netlink socket") { () throws(NetlinkError) in try RouteSocket(label: "host") }
        let inside = try containerSocket(container, home: home)
        if try wrap("look up \(environment.ifname)", { () throws(NetlinkError) in try inside.link(named: environment.ifname) }) != nil {
            throw CNIError(.invalidEnvironment, "CNI_IFNAME: \(environment.ifname) already exists in \(container.path)")
        }

        // IPAM first: a bad IPAM config then fails before any interface exists.
        var result = CNIResult()
        if let ipam {
            guard let ipamResult = try ipam.run(.add) else { throw CNIError(.internalError, "IPAM plugin returned no result") }
            result = ipamResult
            if result.ips.isEmpty {
                _ = try? ipam.run(.del)
                throw CNIError(.internalError, "IPAM plugin returned no IP configuration")
            }
        }
        var hostVeth: LinkInfo? = nil
        do throws(CNIError) {
            let gateways = assignGateways(&result)
            let bridgeLink = try ensureBridge(host)
            hostVeth = try createVeth(host, bridge: bridgeLink, container: container)
            guard let hostVeth else { throw CNIError(.internalError, "veth was not created") }
            if bridge.hairpinMode {
                try wrap("set hairpin mode on \(hostVeth.name)") { () throws(NetlinkError) in
                    try host.setHairpin(index: hostVeth.index, name: hostVeth.name, enabled: true)
                }
            }
            let containerLink = try configureContainer(inside, container: container, home: home, result: result)
            if bridge.isGateway {
                try configureGateways(host, bridge: bridgeLink, gateways: gateways)
            }
            if bridge.ipMasq {
                try wrap("set up masquerading") { () throws(NftablesError) in
                    try masquerade.setUp(
                        addresses: result.ips.map(\.address), network: config.name,
                        ifname: environment.ifname, containerID: environment.containerID)
                }
            }
            // The bridge's MAC can change when its first port is added; report the final one.
            let finalBridge = try wrap("look up \(bridge.bridge)") { () throws(NetlinkError) in try host.link(named: bridge.bridge) } ?? bridgeLink
            let finalVeth = try wrap("look up \(hostVeth.name)") { () throws(NetlinkError) in try host.link(index: hostVeth.index) } ?? hostVeth
            result.interfaces = [
                CNIResult.Interface(name: finalBridge.name, mac: finalBridge.mac),
                CNIResult.Interface(name: finalVeth.name, mac: finalVeth.mac),
                CNIResult.Interface(name: containerLink.name, mac: containerLink.mac, sandbox: environment.netns),
            ]
            if let dns = config.dns, !dns.isEmpty { result.dns = dns }
            return result
        } catch {
            // Undo in reverse: masquerade rules, the veth pair (deleting one end removes both), IPAM.
            if bridge.ipMasq {
                try? masquerade.tearDown(network: config.name, ifname: environment.ifname, containerID: environment.containerID)
            }
            if let hostVeth { try? host.deleteLink(index: hostVeth.index, name: hostVeth.name) }
            if let ipam { _ = try? ipam.run(.del) }
            throw error
        }
    }

    /// Sets each IP's interface to the container's, fills in gateways (isGateway) and default
    /// routes (isDefaultGateway). Returns the gateway addresses to put on the bridge.
    func assignGateways(_ result: inout CNIResult) -> [IPNetwork] {
        var gateways: [IPNetwork] = []
        var defaultRouteDone: Set<IPAddress.Family> = []
        for index in result.ips.indices {
            result.ips[index].interface = 2
            let address = result.ips[index].address
            if result.ips[index].gateway == nil && bridge.isGateway {
                result.ips[index].gateway = address.network.advanced(by: 1)
            }
            let family = address.family
            if bridge.isDefaultGateway && !defaultRouteDone.contains(family) {
                let defaultRoute = IPNetwork.defaultRoute(family)
                let exists = result.routes.contains { $0.destination == defaultRoute && $0.gateway != nil }
                if !exists {
                    result.routes.append(CNIResult.Route(destination: defaultRoute, gateway: result.ips[index].gateway))
                }
                defaultRouteDone.insert(family)
            }
            if bridge.isGateway, let gateway = result.ips[index].gateway,
                let network = IPNetwork(address: gateway, prefixLength: address.prefixLength)
            {
                gateways.append(network)
            }
        }
        return gateways
    }

    /// Creates the bridge (up, fixed MAC) or checks the existing link is one.
    func ensureBridge(_ host: RouteSocket) throws(CNIError) -> LinkInfo {
        let name = bridge.bridge
        let created = try wrap("create bridge \(name)") { () throws(NetlinkError) in
            try host.createBridge(name: name, mtu: bridge.mtu, mac: BridgePlugin.randomMAC())
        }
        guard let link = try wrap("look up \(name)", { () throws(NetlinkError) in try host.link(named: name) }) else {
            throw CNIError(.tryAgainLater, "bridge \(name) disappeared while being set up")
        }
        if link.kind != "bridge" {
            throw CNIError.config("bridge", "\(name) already exists and is not a bridge (it is a \(link.kind.isEmpty ? "device" : link.kind))")
        }
        if created {
            // The plugin owns the bridge's routes: no router advertisements.
            try? Sysctl.set("net/ipv6/conf/\(name)/accept_ra", "0")
        }
        if !link.isUp || link.isPromiscuous != bridge.promiscMode && bridge.promiscMode {
            try wrap("bring up \(name)") { () throws(NetlinkError) in
                try host.setFlags(index: link.index, name: name, up: true, promiscuous: bridge.promiscMode ? true : nil)
            }
        }
        return link
    }

    /// A veth pair: "veth<random>" on the bridge here, CNI_IFNAME inside the container.
    func createVeth(_ host: RouteSocket, bridge bridgeLink: LinkInfo, container: NetworkNamespace) throws(CNIError) -> LinkInfo {
        var lastError: NetlinkError? = nil
        for _ in 0..<4 {
            let name = "veth" + BridgePlugin.randomHex(4)
            do {
                try host.createVeth(
                    hostName: name, peerName: environment.ifname, peerNamespaceFD: container.fd,
                    mtu: bridge.mtu, master: bridgeLink.index, peerMAC: bridge.mac)
            } catch {
                lastError = error
                if error.isExists { continue }
                throw mapNetlink(error, "create veth pair for \(environment.ifname)")
            }
            guard let link = try wrap("look up \(name)", { () throws(NetlinkError) in try host.link(named: name) }) else {
                throw CNIError(.internalError, "veth \(name) vanished after creation")
            }
            return link
        }
        throw mapNetlink(lastError ?? NetlinkError("create veth", environment.ifname, code: 6), "create veth pair for \(environment.ifname)")
    }

    /// Inside the container: ARP/NDP notification, addresses, link up, routes.
    func configureContainer(_ inside: RouteSocket, container: NetworkNamespace, home: NetworkNamespace, result: CNIResult) throws(CNIError) -> LinkInfo {
        let ifname = environment.ifname
        guard let link = try wrap("look up \(ifname)", { () throws(NetlinkError) in try inside.link(named: ifname) }) else {
            throw CNIError(.internalError, "\(ifname) not found in \(container.path) after creation")
        }
        do {
            try container.perform(returningTo: home) { () throws(SystemCallError) in
                try Sysctl.set("net/ipv4/conf/\(ifname)/arp_notify", "1")
                try Sysctl.set("net/ipv6/conf/\(ifname)/ndisc_notify", "1")
                if bridge.enableDAD {
                    try Sysctl.set("net/ipv6/conf/\(ifname)/accept_dad", "1")
                }
            }
        } catch {
            throw CNIError(.internalError, "configure \(ifname) in \(container.path): \(error)")
        }
        for ip in result.ips where ip.interface == nil || ip.interface == 2 {
            try wrap("add \(ip.address) to \(ifname)") { () throws(NetlinkError) in
                try inside.addAddress(index: link.index, ip.address, noDAD: !bridge.enableDAD)
            }
        }
        if !link.isUp {
            try wrap("bring up \(ifname)") { () throws(NetlinkError) in try inside.setFlags(index: link.index, name: ifname, up: true) }
        }
        for route in result.routes {
            let gateway = route.gateway ?? result.ips.first { $0.address.family == route.destination.family }?.gateway
            try wrap("add route \(route.destination) in \(container.path)") { () throws(NetlinkError) in
                try inside.addRoute(route, gateway: gateway, index: link.index)
            }
        }
        return try wrap("look up \(ifname)") { () throws(NetlinkError) in try inside.link(index: link.index) } ?? link
    }

    /// Gateway addresses on the bridge (forceAddress replaces a conflicting one) and forwarding on.
    func configureGateways(_ host: RouteSocket, bridge bridgeLink: LinkInfo, gateways: [IPNetwork]) throws(CNIError) {
        for gateway in gateways {
            let existing = try wrap("list addresses of \(bridgeLink.name)") { () throws(NetlinkError) in
                try host.addresses(index: bridgeLink.index, family: gateway.family)
            }
            if existing.contains(gateway) { continue }
            for address in existing where gateway.family == .v4 || address.overlaps(gateway) {
                guard bridge.forceAddress else {
                    throw CNIError(.internalError, "\(bridgeLink.name) already has address \(address), not \(gateway); set forceAddress to replace it")
                }
                try wrap("remove \(address) from \(bridgeLink.name)") { () throws(NetlinkError) in
                    try host.deleteAddress(index: bridgeLink.index, address)
                }
            }
            do {
                try host.addAddress(index: bridgeLink.index, gateway, noDAD: true)
            } catch where error.isExists {
                // A concurrent ADD put the same gateway there.
            } catch {
                throw mapNetlink(error, "add \(gateway) to \(bridgeLink.name)")
            }
        }
        let families = Set(gateways.map(\.family))
        do {
            if families.contains(.v4) { try Sysctl.set("net/ipv4/ip_forward", "1") }
            if families.contains(.v6) { try Sysctl.set("net/ipv6/conf/all/forwarding", "1") }
        } catch {
            throw CNIError(.internalError, "enable forwarding: \(error)")
        }
    }

    // MARK: DEL

    /// Best effort and idempotent: succeeds when the netns, the interface or the rules are gone.
    public func del() throws(CNIError) {
        if !environment.netns.isEmpty, let container = try openContainerForDelete() {
            let home = try openHome()
            let inside = try containerSocket(container, home: home)
            if let link = try wrap("look up \(environment.ifname)", { () throws(NetlinkError) in try inside.link(named: environment.ifname) }) {
                do {
                    try inside.deleteLink(index: link.index, name: link.name)
                } catch where error.isNotFound {
                    // Gone already.
                } catch {
                    throw mapNetlink(error, "delete \(environment.ifname) in \(environment.netns)")
                }
            }
        }
        if let ipam { try ipam.run(.del) }
        if bridge.ipMasq {
            try wrap("remove masquerading") { () throws(NftablesError) in
                try masquerade.tearDown(network: config.name, ifname: environment.ifname, containerID: environment.containerID)
            }
        }
    }

    // MARK: GC and STATUS

    public func gc() throws(CNIError) {
        guard let valid = config.validAttachments else {
            throw CNIError.config("cni.dev/valid-attachments", "missing")
        }
        var errors: [CNIError] = []
        do throws(CNIError) {
            if let ipam { try ipam.run(.gc) }
        } catch {
            errors.append(error)
        }
        if bridge.ipMasq {
            do throws(CNIError) {
                try wrap("collect masquerade rules") { () throws(NftablesError) in
                    try masquerade.collectGarbage(network: config.name, valid: valid)
                }
            } catch {
                errors.append(error)
            }
        }
        if let first = errors.first {
            throw CNIError(first.code, errors.map(\.message).joined(separator: "; "))
        }
    }

    public func status() throws(CNIError) {
        if let ipam { try ipam.run(.status) }
    }

    // MARK: Helpers

    func openHome() throws(CNIError) -> NetworkNamespace {
        do {
            return try NetworkNamespace.current()
        } catch {
            throw CNIError(.internalError, "open the plugin's own network namespace: \(error)")
        }
    }

    func openContainer(for command: CNICommand) throws(CNIError) -> NetworkNamespace {
        do {
            return try NetworkNamespace(path: environment.netns)
        } catch {
            switch error {
            case .missing(let error):
                throw CNIError(.unknownContainer, "CNI_NETNS: \(environment.netns) does not exist", details: error.description)
            case .notANamespace(let reason):
                throw CNIError(.invalidEnvironment, "CNI_NETNS: \(reason)")
            case .other(let error):
                throw CNIError(.invalidEnvironment, "CNI_NETNS: \(error)")
            }
        }
    }

    /// The container's namespace for DEL, or nil when there is nothing to clean up in it: the
    /// path is gone (and the veth pair with it) or is not a network namespace at all.
    func openContainerForDelete() throws(CNIError) -> NetworkNamespace? {
        let container: NetworkNamespace
        do {
            container = try NetworkNamespace(path: environment.netns)
            try container.validate(returningTo: try NetworkNamespace.current())
        } catch {
            switch error {
            case .missing, .notANamespace: return nil
            case .other(let error): throw CNIError(.internalError, "open CNI_NETNS: \(error)")
            }
        }
        return container
    }

    func validate(_ container: NetworkNamespace, home: NetworkNamespace) throws(CNIError) {
        do {
            try container.validate(returningTo: home)
        } catch {
            switch error {
            case .notANamespace(let reason): throw CNIError(.invalidEnvironment, "CNI_NETNS: \(reason)")
            case .missing(let error), .other(let error): throw CNIError(.invalidEnvironment, "CNI_NETNS: \(error)")
            }
        }
    }

    /// A route socket created inside the container's namespace (it stays bound there).
    func containerSocket(_ container: NetworkNamespace, home: NetworkNamespace) throws(CNIError) -> RouteSocket {
        do {
            return try container.perform(returningTo: home) { () throws(NetlinkError) in
                try RouteSocket(label: container.path)
            }
        } catch {
            throw CNIError(.internalError, "open netlink socket in \(container.path): \(error)")
        }
    }

    func wrap<T>(_ what: String, _ body: () throws(NetlinkError) -> T) throws(CNIError) -> T {
        do {
            return try body()
        } catch {
            throw mapNetlink(error, what)
        }
    }

    func wrap<T>(_ what: String, _ body: () throws(NftablesError) -> T) throws(CNIError) -> T {
        do {
            return try body()
        } catch {
            let code: CNIError.Code = error.errno == .resourceBusy || error.errno == .resourceTemporarilyUnavailable ? .tryAgainLater : .internalError
            throw CNIError(code, "\(what): \(error)")
        }
    }

    func mapNetlink(_ error: NetlinkError, _ what: String) -> CNIError {
        CNIError(error.isBusy ? .tryAgainLater : .internalError, "\(what): \(error)")
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }.joined()
    }

    /// A random locally administered unicast MAC, so the bridge's address stays fixed.
    static func randomMAC() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var mac = (0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) }
        mac[0] = (mac[0] & 0xFE) | 0x02
        return mac
    }
}
