import ArgumentParser
import CRI
import DaemonMain
import Foundation
import Logging

/// The entry point: the command on the concurrency pool, the main thread waiting (DaemonMain).
@main
enum SwiftletCRIMain {
    static func main() { DaemonMain.run(SwiftletCRI.self) }
}

/// swiftlet-cri: the CRI v1 runtime and image service on a unix socket.
struct SwiftletCRI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet-cri",
        abstract: "The CRI v1 runtime and image service (kubelet, crictl) over a unix socket.",
        version: "0.1.0")

    @Option(help: "Config file (JSON; see docs/cri.md).")
    var config: String?

    @Option(help: "Socket to serve on (overrides the config's listen).")
    var listen: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String?

    func run() async throws {
        var settings = CRIConfig()
        if let config { settings = try CRIConfig.load(path: config) }
        if let listen { settings.listen = listen }
        if let logLevel { settings.logLevel = logLevel }
        guard let level = Logger.Level(rawValue: settings.logLevel) else {
            throw ValidationError("log level \"\(settings.logLevel)\" is not one of trace, debug, info, notice, warning, error")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "swiftlet-cri")
        let binDir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        do {
            let service = try CRIService(config: settings, binDir: binDir, logger: logger)
            try await service.recover()
            try await CRIServer.run(service: service, logger: logger)
        } catch let error as CRIError {
            logger.critical("cannot serve", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

