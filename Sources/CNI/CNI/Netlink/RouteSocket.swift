#if canImport(Glibc)
import Glibc
#endif
import CNL3
import CNLRoute

/// What the plugin needs to know about a link.
public struct LinkInfo: Sendable, Equatable {
    public var index: Int32
    public var name: String
    /// The rtnl_link_ops kind ("bridge", "veth"), empty for plain devices.
    public var kind: String
    public var mac: String
    public var mtu: Int
    public var flags: UInt32
    /// IFLA_MASTER (0 when not enslaved).
    public var master: Int32
    /// IFLA_LINK: for a veth, the peer's index (in the peer's namespace).
    public var peerIndex: Int32
    public var isUp: Bool { flags & UInt32(IFF_UP) != 0 }
    public var isPromiscuous: Bool { flags & UInt32(IFF_PROMISC) != 0 }
}

/// A route as read back from the kernel, for CHECK.
public struct RouteInfo: Sendable, Equatable {
    public var destination: IPNetwork
    public var gateway: IPAddress?
    public var outputIndex: Int32
    public var table: Int
}

/// A NETLINK_ROUTE socket bound to the network namespace it was created in, with the link,
/// address and route operations the bridge plugin needs, all through libnl-route.
public final class RouteSocket {
    let sock: OpaquePointer
    /// Names the namespace in errors ("host" or the netns path).
    public let label: String

    public init(label: String) throws(NetlinkError) {
        guard let sock = nl_socket_alloc() else { throw NetlinkError("nl_socket_alloc", label, code: NLE_NOMEM) }
        let result = nl_connect(sock, NETLINK_ROUTE)
        if result < 0 {
            nl_socket_free(sock)
            throw NetlinkError("nl_connect", label, code: result)
        }
        self.sock = sock
        self.label = label
    }

    deinit { nl_socket_free(sock) }

    // MARK: Links

    /// The link named `name`, or nil when there is none.
    public func link(named name: String) throws(NetlinkError) -> LinkInfo? {
        try link(index: 0, name: name)
    }

    public func link(index: Int32) throws(NetlinkError) -> LinkInfo? {
        try link(index: index, name: nil)
    }

    private func link(index: Int32, name: String?) throws(NetlinkError) -> LinkInfo? {
        var link: OpaquePointer? = nil
        let result = rtnl_link_get_kernel(sock, index, name, &link)
        if result < 0 {
            let error = NetlinkError("get link", name ?? "#\(index)", code: result)
            if error.isNotFound { return nil }
            throw error
        }
        guard let link else { return nil }
        defer { rtnl_link_put(link) }
        return LinkInfo(
            index: rtnl_link_get_ifindex(link),
            name: rtnl_link_get_name(link).map { String(cString: $0) } ?? "",
            kind: rtnl_link_get_type(link).map { String(cString: $0) } ?? "",
            mac: RouteSocket.formatMAC(rtnl_link_get_addr(link)),
            mtu: Int(rtnl_link_get_mtu(link)),
            flags: rtnl_link_get_flags(link),
            master: rtnl_link_get_master(link),
            peerIndex: rtnl_link_get_link(link))
    }

    /// Creates a bridge; returns false when a link of that name already exists.
    public func createBridge(name: String, mtu: Int, mac: [UInt8]?) throws(NetlinkError) -> Bool {
        guard let link = rtnl_link_alloc() else { throw NetlinkError("rtnl_link_alloc", name, code: NLE_NOMEM) }
        defer { rtnl_link_put(link) }
        try nl("set type bridge", name) { rtnl_link_set_type(link, "bridge") }
        rtnl_link_set_name(link, name)
        if mtu > 0 { rtnl_link_set_mtu(link, UInt32(mtu)) }
        if let mac { try withMAC(mac) { rtnl_link_set_addr(link, $0) } }
        rtnl_link_set_flags(link, UInt32(IFF_UP))
        let result = rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL)
        if result == -NLE_EXIST { return false }
        try nl("create bridge", name) { result }
        return true
    }

    /// Creates a veth pair: `hostName` here (enslaved to `master`, up), `peerName` created
    /// directly inside the namespace `peerNamespaceFD` (down, with `peerMAC` if given).
    public func createVeth(
        hostName: String, peerName: String, peerNamespaceFD: Int32, mtu: Int, master: Int32, peerMAC: [UInt8]?
    ) throws(NetlinkError) {
        guard let link = rtnl_link_veth_alloc() else { throw NetlinkError("rtnl_link_veth_alloc", hostName, code: NLE_NOMEM) }
        defer { rtnl_link_put(link) }
        guard let peer = rtnl_link_veth_get_peer(link) else { throw NetlinkError("rtnl_link_veth_get_peer", hostName, code: NLE_NOMEM) }
        defer { rtnl_link_put(peer) }
        rtnl_link_set_name(link, hostName)
        rtnl_link_set_name(peer, peerName)
        if mtu > 0 {
            rtnl_link_set_mtu(link, UInt32(mtu))
            rtnl_link_set_mtu(peer, UInt32(mtu))
        }
        if master > 0 { rtnl_link_set_master(link, master) }
        // Only the host end can be created up: the kernel opens the peer before it is paired
        // (veth_open then fails with ENOTCONN), so the caller brings the peer up afterwards.
        rtnl_link_set_flags(link, UInt32(IFF_UP))
        rtnl_link_set_ns_fd(peer, peerNamespaceFD)
        if let peerMAC { try withMAC(peerMAC) { rtnl_link_set_addr(peer, $0) } }
        try nl("create veth", "\(hostName)/\(peerName)") { rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL) }
    }

    /// Sets or clears IFF_UP / IFF_PROMISC.
    public func setFlags(index: Int32, name: String, up: Bool? = nil, promiscuous: Bool? = nil) throws(NetlinkError) {
        guard let original = rtnl_link_alloc(), let change = rtnl_link_alloc() else {
            throw NetlinkError("rtnl_link_alloc", name, code: NLE_NOMEM)
        }
        defer { rtnl_link_put(original); rtnl_link_put(change) }
        rtnl_link_set_ifindex(original, index)
        rtnl_link_set_name(original, name)
        if let up {
            if up { rtnl_link_set_flags(change, UInt32(IFF_UP)) } else { rtnl_link_unset_flags(change, UInt32(IFF_UP)) }
        }
        if let promiscuous {
            if promiscuous { rtnl_link_set_flags(change, UInt32(IFF_PROMISC)) } else { rtnl_link_unset_flags(change, UInt32(IFF_PROMISC)) }
        }
        try nl("set link flags", name) { rtnl_link_change(sock, original, change, 0) }
    }

    /// Sets a bridge port's hairpin mode (IFLA_PROTINFO/IFLA_BRPORT_MODE on an AF_BRIDGE RTM_SETLINK).
    public func setHairpin(index: Int32, name: String, enabled: Bool) throws(NetlinkError) {
        guard let message = nlmsg_alloc_simple(Int32(RTM_SETLINK), NLM_F_REQUEST | NLM_F_ACK) else {
            throw NetlinkError("nlmsg_alloc", name, code: NLE_NOMEM)
        }
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_BRIDGE)
        header.ifi_index = index
        try nl("build hairpin request", name) { nlmsg_append(message, &header, MemoryLayout<ifinfomsg>.size, Int32(NLMSG_ALIGNTO)) }
        guard let nest = nla_nest_start(message, Int32(IFLA_PROTINFO) | NLA_F_NESTED) else {
            nlmsg_free(message)
            throw NetlinkError("build hairpin request", name, code: NLE_NOMEM)
        }
        try nl("build hairpin request", name) { nla_put_u8(message, Int32(IFLA_BRPORT_MODE), enabled ? 1 : 0) }
        try nl("build hairpin request", name) { nla_nest_end(message, nest) }
        try nl("set hairpin mode", name) { nl_send_sync(sock, message) }
    }

    public func deleteLink(index: Int32, name: String) throws(NetlinkError) {
        guard let link = rtnl_link_alloc() else { throw NetlinkError("rtnl_link_alloc", name, code: NLE_NOMEM) }
        defer { rtnl_link_put(link) }
        rtnl_link_set_ifindex(link, index)
        try nl("delete link", name) { rtnl_link_delete(sock, link) }
    }

    // MARK: Addresses

    /// Addresses on a link, of one family or all.
    public func addresses(index: Int32, family: IPAddress.Family? = nil) throws(NetlinkError) -> [IPNetwork] {
        var cache: OpaquePointer? = nil
        try nl("list addresses", label) { rtnl_addr_alloc_cache(sock, &cache) }
        guard let cache else { return [] }
        defer { nl_cache_free(cache) }
        var result: [IPNetwork] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            let addr = current
            if rtnl_addr_get_ifindex(addr) == index, let local = RouteSocket.address(rtnl_addr_get_local(addr)),
                family == nil || local.family == family,
                let network = IPNetwork(address: local, prefixLength: Int(rtnl_addr_get_prefixlen(addr)))
            {
                result.append(network)
            }
            object = nl_cache_get_next(current)
        }
        return result
    }

    public func addAddress(index: Int32, _ network: IPNetwork, noDAD: Bool) throws(NetlinkError) {
        guard let addr = rtnl_addr_alloc() else { throw NetlinkError("rtnl_addr_alloc", "\(network)", code: NLE_NOMEM) }
        defer { rtnl_addr_put(addr) }
        rtnl_addr_set_ifindex(addr, index)
        try withAddress(network.address, prefix: network.prefixLength) { local throws(NetlinkError) in
            try nl("set address", "\(network)") { rtnl_addr_set_local(addr, local) }
        }
        if network.family == .v4 && network.prefixLength < 31 {
            try withAddress(network.lastAddress, prefix: network.prefixLength) { broadcast throws(NetlinkError) in
                try nl("set broadcast", "\(network)") { rtnl_addr_set_broadcast(addr, broadcast) }
            }
        }
        if noDAD && network.family == .v6 { rtnl_addr_set_flags(addr, UInt32(IFA_F_NODAD)) }
        try nl("add address", "\(network) on \(label)") { rtnl_addr_add(sock, addr, 0) }
    }

    public func deleteAddress(index: Int32, _ network: IPNetwork) throws(NetlinkError) {
        guard let addr = rtnl_addr_alloc() else { throw NetlinkError("rtnl_addr_alloc", "\(network)", code: NLE_NOMEM) }
        defer { rtnl_addr_put(addr) }
        rtnl_addr_set_ifindex(addr, index)
        try withAddress(network.address, prefix: network.prefixLength) { local throws(NetlinkError) in
            try nl("set address", "\(network)") { rtnl_addr_set_local(addr, local) }
        }
        try nl("delete address", "\(network)") { rtnl_addr_delete(sock, addr, 0) }
    }

    // MARK: Routes

    /// Adds a route through `index`; an existing identical route is not an error.
    public func addRoute(_ route: CNIResult.Route, gateway: IPAddress?, index: Int32) throws(NetlinkError) {
        guard let r = rtnl_route_alloc(), let hop = rtnl_route_nh_alloc() else {
            throw NetlinkError("rtnl_route_alloc", "\(route.destination)", code: NLE_NOMEM)
        }
        defer { rtnl_route_put(r) }
        let family = route.destination.family
        try nl("set route family", "\(route.destination)") { rtnl_route_set_family(r, UInt8(family == .v4 ? AF_INET : AF_INET6)) }
        try withAddress(route.destination.network, prefix: route.destination.prefixLength) { dst throws(NetlinkError) in
            try nl("set route destination", "\(route.destination)") { rtnl_route_set_dst(r, dst) }
        }
        rtnl_route_nh_set_ifindex(hop, index)
        if let gateway {
            withAddress(gateway, prefix: gateway.family.bitWidth) { gw in rtnl_route_nh_set_gateway(hop, gw) }
        } else {
            rtnl_route_set_scope(r, UInt8(RT_SCOPE_LINK.rawValue))
        }
        rtnl_route_add_nexthop(r, hop)
        if let table = route.table { rtnl_route_set_table(r, UInt32(table)) }
        if let scope = route.scope { rtnl_route_set_scope(r, UInt8(truncatingIfNeeded: scope)) }
        if let priority = route.priority { rtnl_route_set_priority(r, UInt32(priority)) }
        if let mtu = route.mtu { try nl("set route mtu", "\(route.destination)") { rtnl_route_set_metric(r, Int32(RTAX_MTU), UInt32(mtu)) } }
        if let advmss = route.advmss { try nl("set route advmss", "\(route.destination)") { rtnl_route_set_metric(r, Int32(RTAX_ADVMSS), UInt32(advmss)) } }
        let result = rtnl_route_add(sock, r, NLM_F_EXCL)
        if result == -NLE_EXIST { return }
        try nl("add route", "\(route.destination) via \(gateway.map(\.description) ?? "link")") { result }
    }

    /// Every unicast route of a family, in every table.
    public func routes(family: IPAddress.Family) throws(NetlinkError) -> [RouteInfo] {
        var cache: OpaquePointer? = nil
        try nl("list routes", label) { rtnl_route_alloc_cache(sock, family == .v4 ? AF_INET : AF_INET6, 0, &cache) }
        guard let cache else { return [] }
        defer { nl_cache_free(cache) }
        var result: [RouteInfo] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            let route = current
            let dstAddr = rtnl_route_get_dst(route)
            let destination: IPNetwork
            if let dst = RouteSocket.address(dstAddr), let network = IPNetwork(address: dst, prefixLength: Int(nl_addr_get_prefixlen(dstAddr))) {
                destination = network
            } else {
                destination = IPNetwork.defaultRoute(family)
            }
            var gateway: IPAddress? = nil
            var outputIndex: Int32 = 0
            if rtnl_route_get_nnexthops(route) > 0, let hop = rtnl_route_nexthop_n(route, 0) {
                gateway = RouteSocket.address(rtnl_route_nh_get_gateway(hop))
                outputIndex = rtnl_route_nh_get_ifindex(hop)
            }
            result.append(RouteInfo(destination: destination, gateway: gateway, outputIndex: outputIndex, table: Int(rtnl_route_get_table(route))))
            object = nl_cache_get_next(current)
        }
        return result
    }

    // MARK: Helpers

    private func withAddress<T, E: Error>(_ address: IPAddress, prefix: Int, _ body: (OpaquePointer) throws(E) -> T) throws(E) -> T {
        var bytes = address.bytes
        let family = address.family == .v4 ? AF_INET : AF_INET6
        // nl_addr_build only fails on allocation failure.
        let nlAddr = bytes.withUnsafeMutableBytes { nl_addr_build(family, $0.baseAddress, $0.count) }
        guard let nlAddr else { fatalError("nl_addr_build: out of memory") }
        defer { nl_addr_put(nlAddr) }
        nl_addr_set_prefixlen(nlAddr, Int32(prefix))
        return try body(nlAddr)
    }

    private func withMAC(_ mac: [UInt8], _ body: (OpaquePointer) -> Void) throws(NetlinkError) {
        var bytes = mac
        let nlAddr = bytes.withUnsafeMutableBytes { nl_addr_build(AF_LLC, $0.baseAddress, $0.count) }
        guard let nlAddr else { throw NetlinkError("nl_addr_build", "mac", code: NLE_NOMEM) }
        defer { nl_addr_put(nlAddr) }
        body(nlAddr)
    }

    static func address(_ nlAddr: OpaquePointer?) -> IPAddress? {
        guard let nlAddr, let data = nl_addr_get_binary_addr(nlAddr) else { return nil }
        let length = Int(nl_addr_get_len(nlAddr))
        guard length == 4 || length == 16 else { return nil }
        return IPAddress(bytes: UnsafeRawBufferPointer(start: data, count: length))
    }

    static func formatMAC(_ nlAddr: OpaquePointer?) -> String {
        guard let nlAddr, let data = nl_addr_get_binary_addr(nlAddr) else { return "" }
        let bytes = UnsafeRawBufferPointer(start: data, count: Int(nl_addr_get_len(nlAddr)))
        return bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}
