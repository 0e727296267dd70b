import APIStorage

/// ClusterIPs from the service CIDR and node ports from 30000–32767. The store's services are
/// the record of what is allocated; the actor holds reservations of creates still in flight.
public actor ServiceAllocator {
    public struct Reservation: Sendable, Hashable {
        var ip: UInt32?
        var ports: [Int]
    }
    struct AllocationError: Error {
        var field: String
        var message: String
    }

    let network: UInt32
    let size: UInt32
    let nodePorts: ClosedRange<Int>
    var reservedIPs: Set<UInt32> = []
    var reservedPorts: Set<Int> = []

    public init(cidr: String, nodePorts: ClosedRange<Int>) throws {
        let parts = cidr.split(separator: "/")
        guard parts.count == 2, let bits = Int(parts[1]), bits >= 8, bits <= 30, let base = Self.parse(String(parts[0])) else {
            throw ConfigError("service CIDR \(cidr): need an IPv4 CIDR with a prefix between /8 and /30")
        }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        network = base & mask
        size = ~mask &+ 1
        self.nodePorts = nodePorts
    }

    static func parse(_ s: String) -> UInt32? {
        let octets = s.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 != nil }) else { return nil }
        return octets.reduce(UInt32(0)) { ($0 << 8) | UInt32($1!) }
    }

    static func format(_ ip: UInt32) -> String {
        "\(ip >> 24).\((ip >> 16) & 255).\((ip >> 8) & 255).\(ip & 255)"
    }

    /// The first usable address (the `kubernetes` service's).
    public var firstIP: String { Self.format(network + 1) }

    func used(_ store: any Store, excluding excludedKey: String? = nil) async throws -> (Set<UInt32>, Set<Int>) {
        let services = ResourceCatalog.find(group: "", version: "v1", plural: "services")!
        let page = try await store.list(prefix: services.storagePrefix, startAfter: nil, limit: nil, revision: nil)
        var ips = Set<UInt32>()
        var ports = Set<Int>()
        for item in page.items where item.key != excludedKey {
            guard let o = try? JSONValue.parse(item.value) else { continue }
            if let ip = o.value(at: ["spec", "clusterIP"])?.stringValue.flatMap(Self.parse) { ips.insert(ip) }
            for p in o.value(at: ["spec", "ports"])?.arrayValue ?? [] {
                if let n = p["nodePort"]?.intValue { ports.insert(Int(n)) }
            }
        }
        return (ips, ports)
    }

    /// Fills spec.clusterIP(s) and node ports; the reservation is released after the write.
    func allocate(_ service: inout JSONValue, store: any Store) async throws -> Reservation {
        let (usedIPs, usedPorts) = try await used(store)
        var reservation = Reservation(ip: nil, ports: [])
        let type = service.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
        if type != "ExternalName" {
            let requested = service.value(at: ["spec", "clusterIP"])?.stringValue ?? ""
            if requested == "None" {
                service.set(["spec", "clusterIPs"], ["None"])
            } else if !requested.isEmpty {
                guard let ip = Self.parse(requested), ip & ~(size &- 1) == network, ip != network, ip != network + size - 1 else {
                    throw AllocationError(field: "spec.clusterIPs", message: "Invalid value: \"\(requested)\": failed to allocate IP \(requested): the provided IP (\(requested)) is not in the valid range. The range of valid IPs is \(Self.format(network))/\(32 - size.trailingZeroBitCount)")
                }
                if usedIPs.contains(ip) || reservedIPs.contains(ip) {
                    throw AllocationError(field: "spec.clusterIPs", message: "Invalid value: [\"\(requested)\"]: failed to allocate IP \(requested): provided IP is already allocated")
                }
                reservation.ip = ip
                service.set(["spec", "clusterIPs"], [.string(requested)])
            } else {
                var candidate: UInt32?
                // Start above the first address, which is kept for the `kubernetes` service.
                var offset: UInt32 = 2
                while offset < size - 1 {
                    let ip = network + offset
                    if !usedIPs.contains(ip) && !reservedIPs.contains(ip) { candidate = ip; break }
                    offset += 1
                }
                guard let ip = candidate else {
                    throw AllocationError(field: "spec.clusterIPs", message: "Internal error: failed to allocate a serviceIP: range is full")
                }
                reservation.ip = ip
                service.set(["spec", "clusterIP"], .string(Self.format(ip)))
                service.set(["spec", "clusterIPs"], [.string(Self.format(ip))])
            }
        }
        if let ip = reservation.ip { reservedIPs.insert(ip) }
        if type == "NodePort" || type == "LoadBalancer", var ports = service.value(at: ["spec", "ports"])?.arrayValue {
            var taken = usedPorts.union(reservedPorts)
            for i in ports.indices {
                if let n = ports[i]["nodePort"]?.intValue {
                    if taken.contains(Int(n)) {
                        release(reservation)
                        throw AllocationError(field: "spec.ports[\(i)].nodePort", message: "Invalid value: \(n): provided port is already allocated")
                    }
                    taken.insert(Int(n)); reservation.ports.append(Int(n))
                    continue
                }
                guard let port = nodePorts.first(where: { !taken.contains($0) }) else {
                    release(reservation)
                    throw AllocationError(field: "spec.ports[\(i)].nodePort", message: "Internal error: range of node ports is full")
                }
                taken.insert(port); reservation.ports.append(port)
                ports[i]["nodePort"] = .int(Int64(port))
            }
            service.set(["spec", "ports"], .array(ports))
            reservedPorts.formUnion(reservation.ports)
        }
        return reservation
    }

    /// Node ports when an existing service changes: a NodePort or LoadBalancer service gets new
    /// ones for ports that have none and is refused a port another service holds; any other type
    /// gives its node ports back (they are dropped from the spec, so the store frees them).
    func updateNodePorts(_ service: inout JSONValue, old: JSONValue, key: String, store: any Store) async throws -> Reservation {
        var reservation = Reservation(ip: nil, ports: [])
        guard var ports = service.value(at: ["spec", "ports"])?.arrayValue else { return reservation }
        let type = service.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
        guard type == "NodePort" || type == "LoadBalancer" else {
            for i in ports.indices { ports[i]["nodePort"] = nil }
            service.set(["spec", "ports"], .array(ports))
            return reservation
        }
        // Ports the service already holds (Defaults.keepAllocated carried them into `service`).
        let ownOld = Set((old.value(at: ["spec", "ports"])?.arrayValue ?? []).compactMap { $0["nodePort"]?.intValue.map(Int.init) })
        let (_, usedPorts) = try await used(store, excluding: key)
        var taken = usedPorts.union(reservedPorts.subtracting(ownOld))
        for i in ports.indices {
            if let n = ports[i]["nodePort"]?.intValue {
                if taken.contains(Int(n)) {
                    release(reservation)
                    throw AllocationError(field: "spec.ports[\(i)].nodePort", message: "Invalid value: \(n): provided port is already allocated")
                }
                guard nodePorts.contains(Int(n)) else {
                    release(reservation)
                    throw AllocationError(field: "spec.ports[\(i)].nodePort", message: "Invalid value: \(n): provided port is not in the valid range. The range of valid ports is \(nodePorts.lowerBound)-\(nodePorts.upperBound)")
                }
                taken.insert(Int(n))
                if !ownOld.contains(Int(n)) { reservation.ports.append(Int(n)) }
                continue
            }
            guard let port = nodePorts.first(where: { !taken.contains($0) }) else {
                release(reservation)
                throw AllocationError(field: "spec.ports[\(i)].nodePort", message: "Internal error: range of node ports is full")
            }
            taken.insert(port); reservation.ports.append(port)
            ports[i]["nodePort"] = .int(Int64(port))
        }
        service.set(["spec", "ports"], .array(ports))
        reservedPorts.formUnion(reservation.ports)
        return reservation
    }

    /// As kube-apiserver's service strategy: a service that stops being NodePort/LoadBalancer loses
    /// the node ports it had (those equal to the old ones; a changed one is the user's and is
    /// validated as such).
    static func dropTypeDependentFields(_ service: JSONValue, old: JSONValue) -> JSONValue {
        let newType = service.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
        let oldType = old.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
        let usesNodePorts = { (t: String) in t == "NodePort" || t == "LoadBalancer" }
        guard usesNodePorts(oldType), !usesNodePorts(newType), var ports = service.value(at: ["spec", "ports"])?.arrayValue else { return service }
        let oldNodePorts = Set((old.value(at: ["spec", "ports"])?.arrayValue ?? []).compactMap { $0["nodePort"]?.intValue })
        for i in ports.indices {
            if let n = ports[i]["nodePort"]?.intValue, oldNodePorts.contains(n) { ports[i]["nodePort"] = nil }
        }
        var out = service
        out.set(["spec", "ports"], .array(ports))
        return out
    }

    func release(_ reservation: Reservation) {
        if let ip = reservation.ip { reservedIPs.remove(ip) }
        for p in reservation.ports { reservedPorts.remove(p) }
    }
}
