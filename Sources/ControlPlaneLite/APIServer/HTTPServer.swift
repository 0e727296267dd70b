import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import StreamRelay
import Synchronization

/// The HTTPS listener: TLS (client certificates optional, verified against the cluster CA when
/// presented), HTTP/1.1 with keep-alive, one task per connection. Requests go to `handler`.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (APIRequest, NIOSSLCertificate?) async -> APIResponse

    let host: String
    let port: Int
    let tls: NIOSSLContext
    let handler: Handler
    let logger: Logger

    public init(host: String, port: Int, tls: NIOSSLContext, logger: Logger, handler: @escaping Handler) {
        self.host = host
        self.port = port
        self.tls = tls
        self.handler = handler
        self.logger = logger
    }

    /// Makes the TLS context from PEM files.
    public static func makeTLSContext(certFile: String, keyFile: String, clientCAFile: String?) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certFile).map { NIOSSLCertificateSource.certificate($0) }
        // NIOSSL guesses a key file's format from its extension (".key" = DER); kubeadm's are PEM.
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw ConfigError("--tls-private-key-file \(keyFile): not a PEM private key (\(error))")
        }
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(key))
        config.minimumTLSVersion = .tlsv12
        config.applicationProtocols = ["http/1.1"]
        if let clientCAFile {
            config.trustRoots = .file(clientCAFile)
            config.certificateVerification = .optionalVerification
        }
        return try NIOSSLContext(configuration: config)
    }

    /// Binds and serves until the task is cancelled. `onBound` gets the bound port.
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let tls = self.tls
        let logger = self.logger
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelInitializer { channel in
                // A failing accept (EMFILE, ENFILE, ENOBUFS) must not end the accept loop: NIO
                // keeps the listening socket open for those; the error stops here.
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorLogger(logger: logger))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: tls))
                    // configureHTTPServerPipeline(withErrorHandling: true), with names (an upgrade
                    // proxy removes them) and the decoder handing on bytes it read past the head.
                    try sync.addHandler(HTTPResponseEncoder(), name: ClientConnection.encoderName)
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)),
                                        name: ClientConnection.decoderName)
                    try sync.addHandler(HTTPServerPipelineHandler(), name: ClientConnection.pipelineName)
                    try sync.addHandler(HTTPServerProtocolErrorHandler(), name: ClientConnection.errorName)
                    try sync.addHandler(RelayHandler(relaying: false))
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        onBound(server.channel.localAddress?.port ?? port)
        logger.info("serving", metadata: ["address": "\(host):\(server.channel.localAddress?.port ?? port)"])
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body = []
                    case .body(var buffer):
                        if body.count + buffer.readableBytes > 3 * 1024 * 1024 {
                            throw APIError.badRequest("request entity too large")
                        }
                        body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
                    case .end:
                        guard let h = head else { continue }
                        let cert = try? await connection.channel.nioSSL_peerCertificate().get()
                        let request = APIRequest(
                            method: h.method.rawValue, uri: h.uri,
                            headers: h.headers.map { ($0.name, $0.value) }, body: body, user: .anonymous)
                        let client = ClientConnection(channel: connection.channel, uri: h.uri)
                        let response = await ClientConnection.$current.withValue(client) { await handler(request, cert) }
                        // An upgrade proxy took the connection over (and has finished with it).
                        if client.isHijacked { return }
                        try await write(response, keepAlive: h.isKeepAlive, version: h.version, to: outbound, channel: connection.channel)
                        if !h.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    private func write(
        _ response: APIResponse, keepAlive: Bool, version: HTTPVersion,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, channel: any Channel
    ) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Cache-Control", value: "no-cache, private")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        switch response.body {
        case .bytes(let bytes):
            headers.add(name: "Content-Length", value: String(bytes.count))
            try await outbound.write(.head(HTTPResponseHead(version: version, status: status, headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
            try await outbound.write(.end(nil))
        case .stream(let stream):
            headers.add(name: "Transfer-Encoding", value: "chunked")
            try await outbound.write(.head(HTTPResponseHead(version: version, status: status, headers: headers)))
            // Stream until the producer ends or the client goes away.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await chunk in stream {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: chunk))))
                    }
                    try await outbound.write(.end(nil))
                }
                group.addTask {
                    // closeFuture can't be cancelled; a cheap poll can.
                    while channel.isActive { try await Task.sleep(for: .seconds(2)) }
                    throw CancellationError()
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }
}

/// The connection a request came on, for the handler's task: what an upgrade proxy needs to take
/// it over (the channel, the raw request URI with repeated query parameters).
public final class ClientConnection: Sendable {
    @TaskLocal public static var current: ClientConnection?
    static let encoderName = "http-encoder"
    static let decoderName = "http-decoder"
    static let pipelineName = "http-pipelining"
    static let errorName = "http-errors"
    /// Removed in this order when the connection becomes a byte stream (the decoder last: it
    /// hands bytes it already read to the relay).
    static let httpHandlerNames = [errorName, pipelineName, encoderName, decoderName]

    let channel: Channel
    public let uri: String
    private let hijacked = Mutex(false)

    init(channel: Channel, uri: String) {
        self.channel = channel
        self.uri = uri
    }

    var isHijacked: Bool { hijacked.withLock { $0 } }
    func markHijacked() { hijacked.withLock { $0 = true } }
}

