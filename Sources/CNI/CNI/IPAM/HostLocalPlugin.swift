import SystemCore

/// The host-local IPAM plugin's verbs. Used as a binary (argv[0] "host-local") and in-process by
/// the bridge when the host-local it would exec is this very binary.
public enum HostLocalPlugin {
    /// ADD: one address per range set, routes and DNS from the config. The result has no
    /// interfaces (an IPAM result) and is written in the config's version.
    public static func add(config: NetworkConfig, environment: CNIEnvironment) throws(CNIError) -> CNIResult {
        let ipam = try HostLocalConfig(config: config, args: environment.args)
        var result = CNIResult()
        if let path = ipam.resolvConf, !path.isEmpty {
            result.dns = try ResolvConf.parse(path: path)
        }
        let store = try openStore(ipam)
        result.ips = try Allocator(config: ipam, store: store).allocate(
            containerID: environment.containerID, ifname: environment.ifname)
        result.routes = ipam.routes
        return result
    }

    /// DEL: releases the attachment's addresses; succeeds when there are none.
    public static func del(config: NetworkConfig, environment: CNIEnvironment) throws(CNIError) {
        let ipam = try HostLocalConfig(config: config, args: environment.args)
        let store = try openStore(ipam)
        try Allocator(config: ipam, store: store).release(containerID: environment.containerID, ifname: environment.ifname)
    }

    /// CHECK: the attachment holds an address, and every address prevResult claims is its own.
    public static func check(config: NetworkConfig, environment: CNIEnvironment) throws(CNIError) {
        let ipam = try HostLocalConfig(config: config, args: environment.args)
        let store = try openStore(ipam)
        let held = try Allocator(config: ipam, store: store).holdsAddress(
            containerID: environment.containerID, ifname: environment.ifname)
        if held.isEmpty {
            throw CNIError(.internalError, "host-local: no address is allocated to \(environment.containerID)/\(environment.ifname)")
        }
        for ip in config.prevResult?.ips ?? [] where ipam.rangeSets.contains(where: { $0.contains(ip.address.address) }) {
            if !held.contains(ip.address.address) {
                throw CNIError(.internalError, "host-local: \(ip.address.address) is not allocated to \(environment.containerID)/\(environment.ifname)")
            }
        }
    }

    /// GC: releases every allocation not named in `cni.dev/valid-attachments`.
    public static func gc(config: NetworkConfig) throws(CNIError) {
        guard let valid = config.validAttachments else {
            throw CNIError.config("cni.dev/valid-attachments", "missing")
        }
        let ipam = try HostLocalConfig(config: config)
        let store = try openStore(ipam)
        _ = try Allocator(config: ipam, store: store).collectGarbage(valid: valid)
    }

    /// STATUS: ready while every range set has an address left; code 50 otherwise.
    public static func status(config: NetworkConfig) throws(CNIError) {
        let ipam = try HostLocalConfig(config: config)
        let store = try openStore(ipam)
        let free = try Allocator(config: ipam, store: store).freeCounts()
        for (index, count) in free.enumerated() where count == 0 {
            throw CNIError(.notAvailable, "host-local: no addresses left in range set \(index) (\(ipam.rangeSets[index]))")
        }
    }

    private static func openStore(_ ipam: HostLocalConfig) throws(CNIError) -> AllocationStore {
        do {
            return try AllocationStore(dataDir: ipam.dataDir, network: ipam.network)
        } catch {
            throw CNIError(.ioFailure, "host-local: cannot open the store for network \(ipam.network): \(error)")
        }
    }
}

/// The nameserver/domain/search/options lines of a resolv.conf, for host-local's `resolvConf`.
enum ResolvConf {
    static func parse(path: String) throws(CNIError) -> CNIResult.DNS {
        let text: String
        do {
            text = try FileSystem.readString(path)
        } catch {
            throw CNIError(.invalidNetworkConfig, "ipam.resolvConf: \(error)")
        }
        return parse(text: text)
    }

    static func parse(text: String) -> CNIResult.DNS {
        var dns = CNIResult.DNS()
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            let values = Array(words.dropFirst())
            switch keyword {
            case "nameserver": dns.nameservers += values.prefix(1)
            case "domain": dns.domain = values.first
            case "search": dns.search = values
            case "options": dns.options += values
            default: break
            }
        }
        return dns
    }
}
