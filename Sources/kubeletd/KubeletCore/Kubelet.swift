import Foundation
import Logging
import NIOHTTP1
import SystemCore

/// Start-up settings: the configuration file plus the command-line flags that override it.
public struct KubeletOptions: Sendable {
    public var config: KubeletConfiguration
    public var rootDirectory: String
    public var nodeName: String
    public var nodeIP: String?
    public var kubeconfig: String?
    /// Seconds between eviction manager passes (upstream: 10 s, fixed).
    public var evictionMonitoringPeriod: Double = 10

    public init(config: KubeletConfiguration, rootDirectory: String, nodeName: String, nodeIP: String?, kubeconfig: String?) {
        self.config = config
        self.rootDirectory = rootDirectory
        self.nodeName = nodeName
        self.nodeIP = nodeIP
        self.kubeconfig = kubeconfig
    }

    /// Checks what flags add on top of the file; the first failure names the flag.
    public func validate() throws(ConfigError) {
        try config.validate()
        _ = try EvictionThreshold.parse(config.evictionHard)
        if evictionMonitoringPeriod <= 0 {
            throw ConfigError(field: "--eviction-monitoring-period", message: "must be positive, got \(evictionMonitoringPeriod)")
        }
        if !rootDirectory.hasPrefix("/") {
            throw ConfigError(field: "--root-dir", message: "must be an absolute path, got \"\(rootDirectory)\"")
        }
        if let problem = Names.dns1123SubdomainProblem(nodeName) {
            throw ConfigError(field: "--hostname-override", message: "invalid node name \"\(nodeName)\": \(problem)")
        }
        if let ip = nodeIP, !IPAddress.isValid(ip) {
            throw ConfigError(field: "--node-ip", message: "invalid IP address \"\(ip)\"")
        }
        if let kubeconfig, !FileSystem.exists(kubeconfig) {
            throw ConfigError(field: "--kubeconfig", message: "file \"\(kubeconfig)\" does not exist")
        }
    }
}

/// Wires the parts: static pod source → pod manager (workers over CRI) ← event generator, and the
/// read-only HTTP API. Runs until cancelled; running containers are left for the next start.
public final class Kubelet: Sendable {
    public let options: KubeletOptions
    let logger: Logger

    public init(options: KubeletOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        try FileSystem.createDirectories(options.rootDirectory)
        try FileSystem.createDirectories("\(options.rootDirectory)/pods")
        // One kubelet per root directory: a second one waits here.
        let lock = try FileLock(path: "\(options.rootDirectory)/kubeletd.lock")
        do {
            try await runLocked()
        } catch {
            _ = consume lock
            throw error
        }
        _ = consume lock
    }

    func runLocked() async throws {
        let config = options.config
        // The QoS cgroups first: a host that cannot have them stops start-up before anything else.
        let podCgroups: PodCgroups?  // nil with cgroupsPerQOS: false
        do { podCgroups = try PodCgroups.start(config: config, logger: logger) } catch {
            throw KubeletError.cgroups(error)
        }
        let metrics = KubeletMetrics()
        let cri = try CRIClient(socketPath: config.runtimeSocketPath, metrics: metrics)
        let version: String
        do {
            let v = try await cri.version()
            version = "\(v.runtimeName) \(v.runtimeVersion)"
        } catch {
            await cri.shutdown()
            throw KubeletError.runtimeUnavailable(endpoint: config.containerRuntimeEndpoint, underlying: "\(error)")
        }
        logger.info("connected to the container runtime", metadata: ["endpoint": "\(config.containerRuntimeEndpoint)", "runtime": "\(version)"])
        let builder = CRIConfigBuilder(rootDirectory: options.rootDirectory, cgroupLayout: nil, podCgroups: podCgroups,
                                       clusterDNS: config.clusterDNS, clusterDomain: config.clusterDomain,
                                       hostResolvConf: config.resolvConf, nodeIP: options.nodeIP)
        let admission = PodAdmission(config: config)
        logger.info("node allocatable for admission", metadata: [
            "cpu_millis": "\(admission.allocatable.cpuMillis)", "memory_bytes": "\(admission.allocatable.memoryBytes)",
            "max_pods": "\(admission.maxPods)"])
        let manager = PodManager(cri: cri, builder: builder,
                                 backoffs: BackoffStore(path: "\(options.rootDirectory)/backoff.json"),
                                 metrics: metrics, maxPods: Int(config.maxPods), admission: admission,
                                 resyncInterval: config.syncFrequency.seconds, logger: logger)
        let api = KubeletAPI(manager: manager, nodeName: options.nodeName)
        let housekeeping = Housekeeping(cri: cri, config: config, manager: manager, logger: logger)
        var servers: [HTTPServer] = []
        var secure: KubeletSecureServer?
        do {
            if config.readOnlyPort > 0 {
                servers.append(try await HTTPServer(host: config.address, port: Int(config.readOnlyPort), route: api.handle))
                logger.info("read-only API listening", metadata: ["address": "\(config.address):\(config.readOnlyPort)"])
            }
            if config.healthzPort > 0 {
                servers.append(try await HTTPServer(host: config.healthzBindAddress, port: Int(config.healthzPort)) { _, uri in
                    uri.hasPrefix("/healthz") ? HTTPReply(.ok, text: "ok") : HTTPReply(.notFound, text: "404 page not found\n")
                })
            }
            secure = try await KubeletSecureServer.start(options: options, api: api, logger: logger)
        } catch {
            for server in servers { await server.close() }
            await cri.shutdown()
            throw KubeletError.listen(underlying: "\(error)")
        }
        let source = StaticPodSource(path: config.staticPodPath, nodeName: options.nodeName,
                                     resyncInterval: config.fileCheckFrequency.seconds, logger: logger)
        source.start()
        logger.info("watching static pods", metadata: ["path": "\(config.staticPodPath)", "node": "\(options.nodeName)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var first = true
                for await events in source.events {
                    await manager.handle(events)
                    if first {
                        first = false
                        await manager.removeOrphans()
                        housekeeping.markSourcesReady()
                    }
                }
            }
            group.addTask { await manager.runEventGenerator() }
            let eviction = EvictionManager(
                thresholds: (try? EvictionThreshold.parse(config.evictionHard)) ?? [], manager: manager, cri: cri,
                signals: NodeSignals(rootDirectory: options.rootDirectory, podCgroups: podCgroups),
                period: options.evictionMonitoringPeriod, logger: logger)
            group.addTask { await eviction.run() }
            if let podCgroups { group.addTask { await podCgroups.runHousekeeping() } }
            group.addTask { await housekeeping.run() }
            await group.waitForAll()
        }
        source.stop()
        await manager.shutdown()
        for server in servers { await server.close() }
        await secure?.close()
        await cri.shutdown()
    }
}

public enum KubeletError: Error, CustomStringConvertible {
    case runtimeUnavailable(endpoint: String, underlying: String)
    case listen(underlying: String)
    case cgroups(PodCgroupError)
    public var description: String {
        switch self {
        case .runtimeUnavailable(let endpoint, let underlying):
            return "containerRuntimeEndpoint: cannot reach the CRI runtime at \(endpoint): \(underlying)"
        case .listen(let underlying):
            // The secure API's errors name their field themselves (port, tlsCertFile, ...).
            return underlying.hasPrefix("port: ") ? underlying : "readOnlyPort: cannot listen: \(underlying)"
        case .cgroups(let error): return "\(error)"
        }
    }
}
