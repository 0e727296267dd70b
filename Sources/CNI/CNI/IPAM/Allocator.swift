import SystemCore

/// host-local's allocation policy over an `AllocationStore` (whose lock the caller holds):
/// one address per range set per (container ID, ifname), handed out round-robin starting after
/// the last reserved address, never the gateway, requested addresses honoured when free.
public struct Allocator {
    public let config: HostLocalConfig
    public let store: AllocationStore

    public init(config: HostLocalConfig, store: AllocationStore) {
        self.config = config
        self.store = store
    }

    /// Allocates one address from every range set; on any failure releases what it took.
    public func allocate(containerID: String, ifname: String) throws(CNIError) -> [CNIResult.IPConfig] {
        let owner = AllocationStore.Owner(containerID: containerID, ifname: ifname)
        let existing = try storeCall { () throws(SystemCallError) in try store.allocations() }
        var taken = Set(existing.map(\.address))
        for (address, holder) in existing where holder.matches(containerID: containerID, ifname: ifname) {
            if config.rangeSets.contains(where: { $0.contains(address) }) {
                throw CNIError(.internalError, "\(address) is already allocated to \(containerID)/\(ifname); duplicate allocation is not allowed")
            }
        }

        var requested = config.requestedIPs
        var reserved: [IPAddress] = []
        var results: [CNIResult.IPConfig] = []
        do throws(CNIError) {
            for (index, set) in config.rangeSets.enumerated() {
                let address: IPAddress
                let range: IPRange
                if let position = requested.firstIndex(where: { set.contains($0) }) {
                    address = requested.remove(at: position)
                    guard let found = set.range(for: address) else { continue }
                    range = found
                    if address == range.gateway {
                        throw CNIError(.invalidNetworkConfig, "requested IP \(address) is the gateway of \(range.subnet)")
                    }
                    guard try storeCall({ () throws(SystemCallError) in try store.reserve(address, for: owner, rangeSet: index) }) else {
                        throw CNIError(.tryAgainLater, "requested IP \(address) is not available in range set \(set)")
                    }
                } else {
                    guard let (found, foundRange) = try nextFree(in: set, index: index, taken: taken, owner: owner) else {
                        throw CNIError(.tryAgainLater, "no IP addresses available in range set \(set)")
                    }
                    address = found
                    range = foundRange
                }
                reserved.append(address)
                taken.insert(address)
                let network = IPNetwork(address: address, prefixLength: range.subnet.prefixLength) ?? range.subnet
                results.append(CNIResult.IPConfig(address: network, gateway: range.gateway))
            }
            if !requested.isEmpty {
                throw CNIError(.invalidNetworkConfig, "requested IPs are in no range set: \(requested.map(\.description).joined(separator: ", "))")
            }
        } catch {
            for address in reserved { try? store.release(address) }
            throw error
        }
        return results
    }

    /// Walks the set from the address after the last reserved one, wrapping around once.
    private func nextFree(
        in set: RangeSet, index: Int, taken: Set<IPAddress>, owner: AllocationStore.Owner
    ) throws(CNIError) -> (IPAddress, IPRange)? {
        var rangeIndex = 0
        var cursor: IPAddress? = nil
        if let last = store.lastReserved(rangeSet: index), let position = set.ranges.firstIndex(where: { $0.contains(last) }) {
            rangeIndex = position
            cursor = last
        }
        // Every address of the set is visited once, the last reserved one last.
        let total = set.ranges.reduce(UInt128(0)) { $0 &+ $1.size }
        var visited: UInt128 = 0
        while visited < total {
            visited += 1
            if let current = cursor, current < set.ranges[rangeIndex].end, let next = current.advanced(by: 1) {
                cursor = next
            } else {
                if cursor != nil { rangeIndex = (rangeIndex + 1) % set.ranges.count }
                cursor = set.ranges[rangeIndex].start
            }
            guard let candidate = cursor else { break }
            let range = set.ranges[rangeIndex]
            if candidate == range.gateway || taken.contains(candidate) { continue }
            if try storeCall({ () throws(SystemCallError) in try store.reserve(candidate, for: owner, rangeSet: index) }) {
                return (candidate, range)
            }
        }
        return nil
    }

    /// Releases every address held by (container ID, ifname) in this network.
    public func release(containerID: String, ifname: String) throws(CNIError) {
        let existing = try storeCall { () throws(SystemCallError) in try store.allocations() }
        for (address, holder) in existing where holder.matches(containerID: containerID, ifname: ifname) {
            try storeCall { () throws(SystemCallError) in try store.release(address) }
        }
    }

    /// Whether (container ID, ifname) holds any address.
    public func holdsAddress(containerID: String, ifname: String) throws(CNIError) -> [IPAddress] {
        let existing = try storeCall { () throws(SystemCallError) in try store.allocations() }
        return existing.filter { $0.owner.matches(containerID: containerID, ifname: ifname) }.map(\.address)
    }

    /// Releases every allocation whose owner is not a valid attachment; returns what it released.
    public func collectGarbage(valid: [NetworkConfig.Attachment]) throws(CNIError) -> [IPAddress] {
        let validSet = Set(valid)
        let validIDs = Set(valid.map(\.containerID))
        var released: [IPAddress] = []
        for (address, owner) in try storeCall({ () throws(SystemCallError) in try store.allocations() }) {
            let keep: Bool
            if let ifname = owner.ifname {
                keep = validSet.contains(.init(containerID: owner.containerID, ifname: ifname))
            } else {
                keep = validIDs.contains(owner.containerID)
            }
            if !keep {
                try storeCall { () throws(SystemCallError) in try store.release(address) }
                released.append(address)
            }
        }
        return released
    }

    /// Free addresses per range set (gateway and reservations excluded).
    public func freeCounts() throws(CNIError) -> [UInt128] {
        let taken = try storeCall { () throws(SystemCallError) in try store.allocations() }.map(\.address)
        return config.rangeSets.map { set in
            var free = set.ranges.reduce(UInt128(0)) { $0 &+ $1.size }
            for range in set.ranges {
                if let gateway = range.gateway, range.contains(gateway) { free -= 1 }
            }
            for address in Set(taken) where set.contains(address) && !set.ranges.contains(where: { $0.gateway == address }) {
                free -= 1
            }
            return free
        }
    }

    private func storeCall<T>(_ body: () throws(SystemCallError) -> T) throws(CNIError) -> T {
        do {
            return try body()
        } catch {
            throw CNIError(.ioFailure, "host-local store \(store.directory): \(error)")
        }
    }
}
