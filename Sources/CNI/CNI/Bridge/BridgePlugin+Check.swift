extension BridgePlugin {
    /// CHECK: the interfaces, addresses and routes prevResult claims are there, the veth joins
    /// the container interface to the bridge, IPAM still holds the addresses, and masquerade
    /// rules exist when ipMasq is on.
    public func check() throws(CNIError) {
        guard let previous = config.prevResult else {
            throw CNIError.config("prevResult", "missing; CHECK needs the result of ADD")
        }
        if let ipam { try ipam.run(.check) }

        let home = try openHome()
        let container = try openContainer(for: .check)
        try validate(container, home: home)
        let host = try wrap("open netlink socket") { () throws(NetlinkError) in try RouteSocket(label: "host") }
        let inside = try containerSocket(container, home: home)

        // The bridge.
        guard let bridgeEntry = previous.interfaces.first(where: { $0.name == bridge.bridge && ($0.sandbox ?? "").isEmpty }) else {
            throw CNIError(.internalError, "prevResult lists no bridge \(bridge.bridge)")
        }
        guard let bridgeLink = try wrap("look up \(bridge.bridge)", { () throws(NetlinkError) in try host.link(named: bridge.bridge) }) else {
            throw CNIError(.internalError, "bridge \(bridge.bridge) not found")
        }
        if bridgeLink.kind != "bridge" { throw CNIError(.internalError, "\(bridge.bridge) is not a bridge") }
        if let mac = bridgeEntry.mac, !mac.isEmpty, mac.lowercased() != bridgeLink.mac {
            throw CNIError(.internalError, "bridge \(bridge.bridge) has MAC \(bridgeLink.mac), prevResult says \(mac)")
        }
        if bridgeLink.isPromiscuous != bridge.promiscMode {
            throw CNIError(.internalError, "bridge \(bridge.bridge) promiscuous mode is \(bridgeLink.isPromiscuous), configured \(bridge.promiscMode)")
        }

        // The container interface.
        let ifname = environment.ifname
        guard let containerIndex = previous.interfaces.firstIndex(where: { $0.name == ifname && $0.sandbox == environment.netns }) else {
            throw CNIError(.internalError, "prevResult lists no interface \(ifname) in sandbox \(environment.netns)")
        }
        let containerEntry = previous.interfaces[containerIndex]
        guard let containerLink = try wrap("look up \(ifname)", { () throws(NetlinkError) in try inside.link(named: ifname) }) else {
            throw CNIError(.internalError, "interface \(ifname) not found in \(environment.netns)")
        }
        if containerLink.kind != "veth" { throw CNIError(.internalError, "\(ifname) in \(environment.netns) is not a veth") }
        if let mac = containerEntry.mac, !mac.isEmpty, mac.lowercased() != containerLink.mac {
            throw CNIError(.internalError, "\(ifname) has MAC \(containerLink.mac), prevResult says \(mac)")
        }

        // The host end: a listed veth whose peer is the container interface, on the bridge.
        var vethFound = false
        for entry in previous.interfaces where entry.name != bridge.bridge && (entry.sandbox ?? "").isEmpty {
            guard let link = try wrap("look up \(entry.name)", { () throws(NetlinkError) in try host.link(named: entry.name) }),
                link.kind == "veth", link.index == containerLink.peerIndex, link.master == bridgeLink.index
            else { continue }
            if let mac = entry.mac, !mac.isEmpty, mac.lowercased() != link.mac {
                throw CNIError(.internalError, "\(entry.name) has MAC \(link.mac), prevResult says \(mac)")
            }
            vethFound = true
        }
        if !vethFound {
            throw CNIError(.internalError, "no veth on bridge \(bridge.bridge) is the peer of \(ifname)")
        }

        // Addresses and routes inside the container.
        let addresses = try wrap("list addresses of \(ifname)") { () throws(NetlinkError) in try inside.addresses(index: containerLink.index) }
        for ip in previous.ips where ip.interface == nil || ip.interface == containerIndex {
            if !addresses.contains(ip.address) {
                throw CNIError(.internalError, "\(ifname) is missing address \(ip.address)")
            }
        }
        for route in previous.routes {
            let routes = try wrap("list routes") { () throws(NetlinkError) in try inside.routes(family: route.destination.family) }
            let gateway = route.gateway ?? previous.ips.first { $0.address.family == route.destination.family }?.gateway
            let found = routes.contains { candidate in
                candidate.destination == route.destination && (gateway == nil || candidate.gateway == gateway)
            }
            if !found {
                throw CNIError(.internalError, "route \(route.destination) via \(gateway.map(\.description) ?? "link") is missing in \(environment.netns)")
            }
        }

        if bridge.ipMasq {
            let present = try wrap("list masquerade rules") { () throws(NftablesError) in
                try masquerade.isSetUp(
                    addresses: previous.ips.map(\.address), network: config.name,
                    ifname: ifname, containerID: environment.containerID)
            }
            if !present { throw CNIError(.internalError, "masquerade rules for \(environment.containerID)/\(ifname) are missing") }
        }
    }
}
