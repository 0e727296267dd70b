import APIServer
import APIStorage
import ArgumentParser
import DaemonMain
import Foundation
import Logging

/// The entry point: the command on the concurrency pool, the main thread waiting (DaemonMain).
@main
enum SwiftletControlPlaneMain {
    static func main() { DaemonMain.run(SwiftletControlPlane.self) }
}

struct SwiftletControlPlane: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet-control-plane",
        abstract: "ControlPlaneLite: a Kubernetes apiserver (SQLite or etcd) and its bootstrap.",
        subcommands: [APIServerCommand.self, InitCommand.self])
}

struct APIServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apiserver", abstract: "Serve the Kubernetes API over HTTPS.")

    @Option(help: "Store URL: sqlite:///path/state.db or etcd://host:port[,host:port].")
    var store = "sqlite:///var/lib/swiftlet/apiserver/state.db"
    @Option(name: .customLong("tls-cert-file")) var tlsCertFile: String
    @Option(name: .customLong("tls-private-key-file")) var tlsPrivateKeyFile: String
    @Option(name: .customLong("client-ca-file"), help: "CA that signs client certificates (CN = user, O = groups).")
    var clientCAFile: String?
    @Option(name: .customLong("token-auth-file"), help: "Static tokens: token,user,uid,\"group1,group2\".")
    var tokenAuthFile: String?
    @Option(name: .customLong("service-account-key-file"), help: "EC P-256 private key (PEM) that signs and verifies service-account tokens.")
    var serviceAccountKeyFile: String?
    @Option(name: .customLong("secure-port")) var securePort = 6443
    @Option(name: .customLong("bind-address")) var bindAddress = "127.0.0.1"
    @Option(name: .customLong("advertise-address")) var advertiseAddress: String?
    @Option(name: .customLong("service-cluster-ip-range")) var serviceClusterIPRange = "10.96.0.0/12"
    @Option(name: .customLong("service-node-port-range")) var serviceNodePortRange = "30000-32767"
    @Option(name: .customLong("kubelet-client-certificate"), help: "Client certificate (PEM) for the apiserver's requests to kubelets (pods/log).")
    var kubeletClientCertificate: String?
    @Option(name: .customLong("kubelet-client-key"), help: "Its private key (PEM).")
    var kubeletClientKey: String?
    @Option(name: .customLong("kubelet-certificate-authority"), help: "CA that signs kubelets' serving certificates (default: kubelets are not verified).")
    var kubeletCertificateAuthority: String?
    @Option(name: .customLong("v"), help: "Log verbosity (0 info, 4+ debug).") var verbosity = 0

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var log = Logger(label: "apiserver")
        log.logLevel = verbosity >= 4 ? .debug : .info
        let logger = log
        let ports = serviceNodePortRange.split(separator: "-").compactMap { Int($0) }
        guard ports.count == 2, ports[0] <= ports[1], ports[0] > 0, ports[1] < 65536 else {
            throw ValidationError("--service-node-port-range \(serviceNodePortRange): need FIRST-LAST")
        }
        var config = APIServerConfig()
        config.serviceCIDR = serviceClusterIPRange
        config.nodePortRange = ports[0]...ports[1]
        config.securePort = securePort
        config.advertiseAddress = advertiseAddress ?? bindAddress
        switch (kubeletClientCertificate, kubeletClientKey) {
        case (let cert?, let key?):
            config.kubeletClient = try KubeletClient.make(certFile: cert, keyFile: key, caFile: kubeletCertificateAuthority)
        case (nil, nil): break
        default: throw ValidationError("--kubelet-client-certificate and --kubelet-client-key go together")
        }
        let tokens = try tokenAuthFile.map { try Authenticator.loadTokenFile($0) } ?? [:]
        let serviceAccounts = try serviceAccountKeyFile.map { try ServiceAccountTokens(pemFile: $0) }
        let tls = try HTTPServer.makeTLSContext(certFile: tlsCertFile, keyFile: tlsPrivateKeyFile, clientCAFile: clientCAFile)
        let backend = try await StoreFactory.open(url: store)
        let server = try APIServer(
            store: backend, authenticator: Authenticator(tokens: tokens, serviceAccounts: serviceAccounts), config: config, logger: logger)
        try await server.bootstrap()
        let http = HTTPServer(host: bindAddress, port: securePort, tls: tls, logger: logger) { request, cert in
            await server.handle(request, certificate: cert)
        }
        let signals = SignalStream.make()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await http.run() }
            group.addTask {
                for await signal in signals {
                    logger.info("shutting down", metadata: ["signal": "\(signal)"])
                    return
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
        await backend.close()
    }
}

/// SIGTERM/SIGINT as an async sequence (so the store is closed cleanly).
enum SignalStream {
    static func make() -> AsyncStream<Int32> {
        AsyncStream { continuation in
            var sources: [any DispatchSourceSignal] = []
            for sig in [SIGTERM, SIGINT] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { continuation.yield(sig) }
                source.resume()
                sources.append(source)
            }
            nonisolated(unsafe) let keep = sources
            continuation.onTermination = { _ in keep.forEach { $0.cancel() } }
        }
    }
}

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write the CA, certificates, kubeconfigs and static pod manifests (like kubeadm init).")

    @Option(name: .customLong("root-dir"), help: "Prefix for /etc/kubernetes and /var/lib/swiftlet (tests use a temp dir).")
    var rootDir = "/"
    @Option(name: .customLong("node-name")) var nodeName: String?
    @Option(name: .customLong("node-ip")) var nodeIP = "127.0.0.1"
    @Option(name: .customLong("advertise-address")) var advertiseAddress = "127.0.0.1"
    @Option(name: .customLong("secure-port")) var securePort = 6443
    @Option(name: .customLong("service-cluster-ip-range")) var serviceCIDR = "10.96.0.0/12"
    @Option(help: "Image of the control-plane static pods (built locally from our binaries).")
    var image = ClusterInit.defaultImage
    @Option(name: .customLong("image-store"), help: ArgumentHelp(
        "Build the image from this executable, its shared libraries and the loader, and import it into this image store (the node's, e.g. /var/lib/swiftlet/images).",
        discussion: "swiftlet-scheduler and swiftlet-controller-manager join the image when they sit next to this executable; their manifests go to manifests-pending/ until then."))
    var imageStore: String?
    @Option(name: .customLong("swiftlet-image"), help: "The swiftlet-image executable that imports the image (default: next to this one, else PATH).")
    var swiftletImage: String?

    func run() throws {
        var initializer = ClusterInit(nodeName: nodeName ?? ProcessInfo.processInfo.hostName.lowercased())
        initializer.rootDir = rootDir
        initializer.nodeIP = nodeIP
        initializer.advertiseAddress = advertiseAddress
        initializer.securePort = securePort
        initializer.serviceCIDR = serviceCIDR
        initializer.image = image
        let selfPath = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let binDir = URL(fileURLWithPath: selfPath).deletingLastPathComponent().path
        let components = [ClusterInit.scheduler, ClusterInit.controllerManager].filter {
            FileManager.default.isExecutableFile(atPath: binDir + "/" + $0)
        }
        initializer.imageComponents = Set(components)
        if let imageStore {
            let importer = try swiftletImage ?? findExecutable("swiftlet-image", preferring: binDir)
            guard FileManager.default.isExecutableFile(atPath: importer) else {
                throw ValidationError("--swiftlet-image \(importer): not an executable file")
            }
            let layout = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-cp-image-\(UInt32.random(in: 0...UInt32.max))").path
            defer { try? FileManager.default.removeItem(atPath: layout) }
            let builder = ControlPlaneImage(executables: [selfPath] + components.map { binDir + "/" + $0 }, reference: image)
            let built = try builder.writeLayout(to: layout)
            print("built \(image) (\(built.files.count) files, manifest \(built.manifestDigest))")
            fflush(nil)  // our stdout before the importer's own output
            let process = Process()
            process.executableURL = URL(fileURLWithPath: importer)
            process.arguments = ["import", "--root", imageStore, "--quiet", layout, "--tag", image]
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ValidationError("--image-store \(imageStore): \(importer) import exited \(process.terminationStatus)")
            }
        }
        for path in try initializer.run() { print("wrote \(path)") }
        for component in [ClusterInit.scheduler, ClusterInit.controllerManager] where !components.contains(component) {
            print("note: \(component) is not next to \(selfPath): its manifest is in \(initializer.pendingManifestsDir), not run")
        }
    }

    func findExecutable(_ name: String, preferring dir: String) throws -> String {
        let dirs = [dir] + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        for candidate in dirs.map({ $0 + "/" + name }) where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw ValidationError("--image-store needs \(name): not next to this executable nor on PATH (set --swiftlet-image)")
    }
}
