import ArgumentParser
import DaemonMain
import Foundation
import KubeletCore
import Logging
import SystemCore

/// The entry point: the command on the concurrency pool, the main thread waiting (DaemonMain).
@main
enum KubeletdMain {
    static func main() { DaemonMain.run(Kubeletd.self) }
}

/// kubeletd: runs the static pods of this node over a CRI runtime.
struct Kubeletd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubeletd",
        abstract: "The swiftlet kubelet: runs static pods through a CRI runtime (ours or containerd).")

    @Option(name: .customLong("config"), help: "KubeletConfiguration file (kubelet.config.k8s.io/v1beta1).")
    var config: String?

    @Option(name: .customLong("kubeconfig"), help: "kubeconfig for an API server (cluster mode is not built yet; standalone if unset).")
    var kubeconfig: String?

    @Option(name: .customLong("pod-manifest-path"), help: "Static pod directory (overrides staticPodPath).")
    var podManifestPath: String?

    @Option(name: .customLong("container-runtime-endpoint"), help: "CRI socket, unix:///path (overrides containerRuntimeEndpoint).")
    var containerRuntimeEndpoint: String?

    @Option(name: .customLong("root-dir"), help: "Directory for kubelet state.")
    var rootDir: String = "/var/lib/kubelet"

    @Option(name: .customLong("hostname-override"), help: "Node name (default: the host name, lower-cased).")
    var hostnameOverride: String?

    @Option(name: .customLong("node-ip"), help: "The node's IP address (status.hostIP).")
    var nodeIP: String?

    @Option(name: .customLong("read-only-port"), help: "Port of the read-only API (overrides readOnlyPort; 0 disables).")
    var readOnlyPort: Int32?

    @Option(name: .customLong("port"), help: "Port of the secure API (overrides port).")
    var port: Int32?

    @Option(name: .customLong("tls-cert-file"), help: "Serving certificate of the secure API, PEM (overrides tlsCertFile).")
    var tlsCertFile: String?

    @Option(name: .customLong("tls-private-key-file"), help: "Its key, PEM (overrides tlsPrivateKeyFile).")
    var tlsPrivateKeyFile: String?

    @Option(name: .customLong("client-ca-file"), help: "CA bundle for client certificates (overrides authentication.x509.clientCAFile).")
    var clientCAFile: String?

    @Option(name: .customLong("anonymous-auth"), help: "Allow unauthenticated requests as system:anonymous (overrides authentication.anonymous.enabled).")
    var anonymousAuth: Bool?

    @Option(name: .customLong("eviction-monitoring-period"),
            help: "Seconds between eviction manager passes (evictionHard); upstream's fixed 10 s by default.")
    var evictionMonitoringPeriod: Double = 10

    @Option(name: .customLong("v"), help: "Log verbosity (0-5).")
    var verbosity: Int = 0

    func run() async throws {
        // glibc gives each thread that contends for malloc an arena of its own (up to 8 per
        // core), each keeping freed memory: two arenas hold this daemon's RSS down at no
        // measurable cost (its threads are NIO's and the concurrency pool's, a few per core).
        ProcessMemory.limitArenas(2)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbosity >= 4 ? .debug : .info
            return handler
        }
        let logger = Logger(label: "kubeletd")
        let options: KubeletOptions
        do {
            var configuration = KubeletConfiguration()
            if let config {
                let text: String
                do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
                    throw ConfigError(field: "--config", message: "cannot read \"\(config)\": \(error.localizedDescription)")
                }
                configuration = try KubeletConfiguration.parse(text, source: config)
            }
            if let podManifestPath { configuration.staticPodPath = podManifestPath }
            if let containerRuntimeEndpoint { configuration.containerRuntimeEndpoint = containerRuntimeEndpoint }
            if let readOnlyPort { configuration.readOnlyPort = readOnlyPort }
            if let port { configuration.port = port }
            if let tlsCertFile { configuration.tlsCertFile = tlsCertFile }
            if let tlsPrivateKeyFile { configuration.tlsPrivateKeyFile = tlsPrivateKeyFile }
            if let clientCAFile { configuration.authentication.x509.clientCAFile = clientCAFile }
            if let anonymousAuth { configuration.authentication.anonymous.enabled = anonymousAuth }
            let nodeName = (hostnameOverride ?? ProcessInfo.processInfo.hostName).lowercased()
            var parsed = KubeletOptions(config: configuration, rootDirectory: rootDir, nodeName: nodeName, nodeIP: nodeIP,
                                        kubeconfig: kubeconfig)
            parsed.evictionMonitoringPeriod = evictionMonitoringPeriod
            options = parsed
            try options.validate()
            // The secure API's certificate files, client CA and authorization mode.
            _ = try options.config.effectiveAuthorizationMode(kubeconfig: kubeconfig)
            _ = try KubeletSecureServer.makeTLSContext(options: options)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("kubeletd: invalid configuration: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if kubeconfig != nil {
            logger.warning("--kubeconfig given: API server mode is not implemented yet; running static pods only")
        }
        let kubelet = Kubelet(options: options, logger: logger)
        let signals = AsyncStream<Int32> { continuation in
            // Both sources stay alive until the stream ends (one onTermination holds them all:
            // assigning it per source used to drop the SIGTERM source, so SIGTERM was ignored).
            let sources = [SIGTERM, SIGINT].map { sig in
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig)
                source.setEventHandler { continuation.yield(sig) }
                source.resume()
                return source
            }
            nonisolated(unsafe) let keep = sources
            continuation.onTermination = { _ in keep.forEach { $0.cancel() } }
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await kubelet.run() }
                group.addTask {
                    for await sig in signals {
                        logger.info("signal received, stopping (containers keep running)", metadata: ["signal": "\(sig)"])
                        // An RPC in flight (a StopContainer waiting out a pod's grace period) must
                        // not hold the stop up: the runtime finishes it, a restart adopts the rest.
                        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(5)) {
                            logger.warning("still stopping after 5 s: exiting now")
                            Foundation.exit(0)
                        }
                        return
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch let error as KubeletError {
            FileHandle.standardError.write(Data("kubeletd: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}


