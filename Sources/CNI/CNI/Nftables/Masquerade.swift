import SystemCore

/// Masquerading for pod addresses in the plugin's own nftables table (see `MasqueradeRuleset`).
///
/// Owner of the table: this type, in whichever plugin process holds `lockPath`. The lock makes
/// "remove the table when its last rule goes" safe against a concurrent ADD.
public struct Masquerade {
    public var lockPath = "/run/swiftlet-cni/masquerade.lock"
    public var table = MasqueradeRuleset.table

    public init() {}

    /// Installs one rule per address for the attachment, replacing any it already had.
    public func setUp(addresses: [IPNetwork], network: String, ifname: String, containerID: String) throws(NftablesError) {
        try locked { () throws(NftablesError) in
            let socket = try NftablesSocket(table: table)
            let tag = MasqueradeRuleset.attachmentTag(network: network, ifname: ifname, containerID: containerID)
            let stale = try socket.listRules().filter { $0.chain == MasqueradeRuleset.checksChain && ($0.comment?.hasPrefix(tag) ?? false) }
            var changes: [NftChange] = [
                .addTable,
                .addChain(name: MasqueradeRuleset.checksChain, hook: false),
                .addChain(name: MasqueradeRuleset.postroutingChain, hook: true),
                .flushChain(MasqueradeRuleset.postroutingChain),
            ]
            changes += MasqueradeRuleset.postroutingRules.map(NftChange.addRule)
            changes += stale.map { .deleteRule(chain: $0.chain, handle: $0.handle) }
            let comment = MasqueradeRuleset.comment(network: network, ifname: ifname, containerID: containerID)
            changes += addresses.map { .addRule(MasqueradeRuleset.rule(for: $0, comment: comment)) }
            try socket.commit(changes)
        }
    }

    /// Removes the attachment's rules, and the table once no rule is left in it.
    public func tearDown(network: String, ifname: String, containerID: String) throws(NftablesError) {
        let tag = MasqueradeRuleset.attachmentTag(network: network, ifname: ifname, containerID: containerID)
        try remove { $0.hasPrefix(tag) }
    }

    /// Removes the rules of `network` that belong to no valid attachment.
    public func collectGarbage(network: String, valid: [NetworkConfig.Attachment]) throws(NftablesError) {
        let networkTag = MasqueradeRuleset.networkTag(network)
        let keep = Set(valid.map { MasqueradeRuleset.attachmentTag(network: network, ifname: $0.ifname, containerID: $0.containerID) })
        try remove { comment in
            guard comment.hasPrefix(networkTag + "-") else { return false }
            let tag = String(comment.prefix { $0 != "," })
            return !keep.contains(tag)
        }
    }

    /// Whether the attachment has a rule for every address.
    public func isSetUp(addresses: [IPNetwork], network: String, ifname: String, containerID: String) throws(NftablesError) -> Bool {
        let socket = try NftablesSocket(table: table)
        let tag = MasqueradeRuleset.attachmentTag(network: network, ifname: ifname, containerID: containerID)
        let rules = try socket.listRules()
        let ours = rules.filter { $0.chain == MasqueradeRuleset.checksChain && ($0.comment?.hasPrefix(tag) ?? false) }
        let hook = rules.contains { $0.chain == MasqueradeRuleset.postroutingChain }
        return hook && ours.count >= addresses.count
    }

    private func remove(where matches: @escaping (String) -> Bool) throws(NftablesError) {
        try locked { () throws(NftablesError) in
            let socket = try NftablesSocket(table: table)
            let rules = try socket.listRules()
            let checks = rules.filter { $0.chain == MasqueradeRuleset.checksChain }
            let doomed = checks.filter { rule in rule.comment.map(matches) ?? false }
            if doomed.isEmpty { return }
            if doomed.count == checks.count {
                try socket.commit([.deleteTable])
            } else {
                try socket.commit(doomed.map { .deleteRule(chain: $0.chain, handle: $0.handle) })
            }
        }
    }

    private func locked<T>(_ body: () throws(NftablesError) -> T) throws(NftablesError) -> T {
        let directory = String(lockPath[..<(lockPath.lastIndex(of: "/") ?? lockPath.endIndex)])
        let lock: FileLock
        do {
            if !directory.isEmpty { try FileSystem.createDirectories(directory) }
            lock = try FileLock(path: lockPath)
        } catch {
            throw NftablesError(operation: "lock \(lockPath)", errno: error.errno)
        }
        return try withExtendedLifetime(lock) { () throws(NftablesError) -> T in try body() }
    }
}
