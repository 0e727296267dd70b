import Dispatch
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SystemCore

/// Serves both CRI services on a unix socket until SIGTERM/SIGINT, then removes the socket.
public enum CRIServer {
    /// Concurrent RPCs per client connection.
    static let maxConcurrentStreams = 4096

    public static func run(service: CRIService, logger: Logger) async throws {
        let path = service.config.listen
        let dir = (path as NSString).deletingLastPathComponent
        do { try FileSystem.createDirectories(dir, mode: 0o755) } catch {
            throw CRIError.system(context: "creating \(dir)", error)
        }
        // A socket left by a killed daemon would make bind fail.
        try? FileSystem.removeEntry(path)
        let transport = HTTP2ServerTransport.Posix(
            address: .unixDomainSocket(path: path), transportSecurity: .plaintext,
            config: .defaults {
                $0.rpc.maxRequestPayloadSize = 16 << 20
                // Advertised, so clients queue beyond it. Unset, NIO still enforces 100 streams
                // per connection without telling the client, and the 101st concurrent RPC (a
                // kubelet tearing down 100 pods while it relists) ends the whole connection
                // with GOAWAY PROTOCOL_ERROR.
                $0.http2.maxConcurrentStreams = Self.maxConcurrentStreams
            })
        let server = GRPCServer(
            transport: transport,
            services: [RuntimeServiceHandler(service: service), ImageServiceHandler(service: service)])
        try await service.streaming.start(host: service.config.streamAddress, port: service.config.streamPort)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let serving = Task { try await server.serve() }
        // Graceful: no new RPCs, running ones may finish; long-lived ones (an event stream whose
        // client vanished) are cut after a few seconds so a stop never hangs.
        let grace = 5
        let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
        for source in sources {
            source.setEventHandler {
                logger.info("shutting down", metadata: ["grace": "\(grace)s"])
                server.beginGracefulShutdown()
                DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(grace)) {
                    logger.warning("RPCs still open after the grace period: closing them")
                    serving.cancel()
                    // A handler that ignores cancellation must not keep the daemon alive: every
                    // record is on disk and the monitors own the containers.
                    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(2)) {
                        logger.warning("exiting with RPCs still running")
                        exit(0)
                    }
                }
            }
            source.resume()
        }
        if let address = try await transport.listeningAddress.unixDomainSocket {
            chmod(address.path, 0o660)
            logger.info("serving CRI v1", metadata: ["socket": "\(address.path)", "runtime": "\(service.runtime.path)"])
        }
        do {
            try await serving.value
        } catch is CancellationError {
        }
        for source in sources { source.cancel() }
        await service.streaming.stop()
        try? FileSystem.removeEntry(path)
        logger.info("stopped")
    }
}
