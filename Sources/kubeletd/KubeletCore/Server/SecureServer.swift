import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import StreamRelay
import SystemCore

/// The kubelet's secure API on `port` (10250), like upstream's: HTTPS, clients authenticated by
/// x509 certificates from `authentication.x509.clientCAFile` (user = CN, groups = O) or, when
/// `authentication.anonymous.enabled`, as system:anonymous; authorization AlwaysAllow (standalone).
/// Serves everything the read-only API serves plus exec, attach and portForward, which go to the
/// runtime's streaming server through CRI and are proxied there (not redirected).
public final class KubeletSecureServer: Sendable {
    let channel: Channel
    let acceptor: Task<Void, Never>
    public var port: Int { channel.localAddress?.port ?? 0 }

    /// Names of the HTTP handlers, removed when a connection becomes a stream.
    static let decoderName = "kubelet-http-decoder"
    static let encoderName = "kubelet-http-encoder"

    /// Makes the TLS context: the configured pair or the self-signed one; client certificates
    /// verified against clientCAFile when set. Errors name the field.
    public static func makeTLSContext(options: KubeletOptions) throws(ConfigError) -> NIOSSLContext {
        let config = options.config
        var certFile = config.tlsCertFile, keyFile = config.tlsPrivateKeyFile
        if certFile.isEmpty {
            do {
                (certFile, keyFile) = try ServingCertificate.ensure(rootDirectory: options.rootDirectory, nodeName: options.nodeName, nodeIP: options.nodeIP)
            } catch {
                throw ConfigError(field: "tlsCertFile", message: "unset, and no self-signed certificate could be made under \(options.rootDirectory)/pki: \(error)")
            }
        }
        let caFile = config.authentication.x509.clientCAFile
        for (field, path) in [("tlsCertFile", certFile), ("tlsPrivateKeyFile", keyFile), ("authentication.x509.clientCAFile", caFile)]
        where !path.isEmpty && !FileSystem.exists(path) {
            throw ConfigError(field: field, message: "file \"\(path)\" does not exist")
        }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certFile) } catch {
            throw ConfigError(field: "tlsCertFile", message: "\(certFile): not a PEM certificate (\(error))")
        }
        if chain.isEmpty { throw ConfigError(field: "tlsCertFile", message: "\(certFile): no certificate in the file") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw ConfigError(field: "tlsPrivateKeyFile", message: "\(keyFile): not a PEM private key (\(error))")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        if !caFile.isEmpty {
            let roots: [NIOSSLCertificate]
            do { roots = try NIOSSLCertificate.fromPEMFile(caFile) } catch {
                throw ConfigError(field: "authentication.x509.clientCAFile", message: "\(caFile): not a PEM certificate bundle (\(error))")
            }
            if roots.isEmpty { throw ConfigError(field: "authentication.x509.clientCAFile", message: "\(caFile): no certificate in the file") }
            tls.trustRoots = .certificates(roots)
            // Requested, verified when presented; requests without one are anonymous (or 401).
            tls.certificateVerification = .optionalVerification
        }
        do { return try NIOSSLContext(configuration: tls) } catch {
            throw ConfigError(field: "tlsCertFile", message: "\(certFile) with \(keyFile): \(error)")
        }
    }

    public static func start(options: KubeletOptions, api: KubeletAPI, logger: Logger) async throws -> KubeletSecureServer {
        let tls = try makeTLSContext(options: options)
        _ = try options.config.effectiveAuthorizationMode(kubeconfig: options.kubeconfig)
        let config = options.config
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(AcceptErrorLogger(logger: logger))
                    }
                }
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .bind(host: config.address, port: Int(config.port)) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(NIOSSLServerHandler(context: tls))
                        try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), name: decoderName)
                        try sync.addHandler(HTTPResponseEncoder(), name: encoderName)
                        try sync.addHandler(RelayHandler(relaying: false))
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ConfigError(field: "port", message: "cannot listen on \(config.address):\(config.port): \(error)")
        }
        let connection = Connection(api: api, anonymous: config.authentication.anonymous.enabled,
                                    debuggingHandlers: config.enableDebuggingHandlers, logger: logger)
        let acceptor = Task {
            do {
                try await withThrowingDiscardingTaskGroup { group in
                    try await server.executeThenClose { inbound in
                        for try await client in inbound {
                            group.addTask { await connection.serve(client) }
                        }
                    }
                }
            } catch {
                logger.error("secure API stopped accepting", metadata: ["error": "\(error)"])
            }
        }
        logger.info("secure API listening", metadata: [
            "address": "\(config.address):\(server.channel.localAddress?.port ?? Int(config.port))",
            "clientCAFile": "\(config.authentication.x509.clientCAFile)", "anonymous": "\(config.authentication.anonymous.enabled)",
            "authorization": "AlwaysAllow"])
        return KubeletSecureServer(channel: server.channel, acceptor: acceptor)
    }

    init(channel: Channel, acceptor: Task<Void, Never>) {
        self.channel = channel
        self.acceptor = acceptor
    }

    public func close() async {
        acceptor.cancel()
        try? await channel.close()
    }

    /// What a request turned into.
    enum Outcome: Sendable {
        case reply(HTTPReply)
        /// The connection is a stream to the runtime now; nothing more is written.
        case spliced
    }

    /// Serves one client connection.
    struct Connection: Sendable {
        let api: KubeletAPI
        let anonymous: Bool
        /// enableDebuggingHandlers: false turns off exec, attach, portForward and containerLogs.
        let debuggingHandlers: Bool
        let logger: Logger

        func serve(_ client: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
            do {
                try await client.executeThenClose { inbound, outbound in
                    var head: HTTPRequestHead?
                    for try await part in inbound {
                        switch part {
                        case .head(let h): head = h
                        case .body: break  // GET and upgrade requests only; bodies are ignored
                        case .end:
                            guard let h = head else { continue }
                            head = nil
                            let certificate = try? await client.channel.nioSSL_peerCertificate().get()
                            let user = certificate.flatMap { try? $0.toDERBytes() }.flatMap(ServingCertificate.user(fromDER:))
                            switch await handle(h, user: user, channel: client.channel) {
                            case .spliced:
                                return
                            case .reply(let reply):
                                // An upgrade request that got an error: the connection is not
                                // reused (a proxy in front relays bytes until it closes).
                                let keepAlive = h.isKeepAlive && h.headers["Upgrade"].isEmpty
                                try await write(reply, head: h, keepAlive: keepAlive, to: outbound)
                                if !keepAlive { return }
                            }
                        }
                    }
                }
            } catch {
                logger.debug("secure API connection ended", metadata: ["error": "\(error)"])
            }
        }

        func write(_ reply: HTTPReply, head: HTTPRequestHead, keepAlive: Bool, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: reply.contentType)
            headers.add(name: "Content-Length", value: String(reply.body.count))
            if reply.status == .unauthorized { headers.add(name: "WWW-Authenticate", value: "Basic realm=\"kubelet\"") }
            headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            try await outbound.write(.head(HTTPResponseHead(version: head.version, status: reply.status, headers: headers)))
            if head.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: reply.body)))) }
            try await outbound.write(.end(nil))
        }

        func handle(_ head: HTTPRequestHead, user: KubeletAuth.User?, channel: Channel) async -> Outcome {
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            guard case .allow(let who) = KubeletAuth.decide(path: path, certificateUser: user, anonymousEnabled: anonymous) else {
                return .reply(Self.status(.unauthorized, reason: "Unauthorized", "Unauthorized"))
            }
            if !debuggingHandlers && (StreamRequest.kind(of: path) != nil || path.hasPrefix("/containerLogs/")) {
                return .reply(Self.status(.notFound, reason: "NotFound", "\(path): debugging handlers are disabled (enableDebuggingHandlers: false)"))
            }
            let request: StreamRequest?
            do { request = try StreamRequest.parse(uri: head.uri) } catch {
                return .reply(Self.status(.badRequest, reason: "BadRequest", error.message))
            }
            guard let request else {
                guard head.method == .GET || head.method == .HEAD else {
                    return .reply(Self.status(.methodNotAllowed, reason: "MethodNotAllowed", "\(head.method) is not allowed on \(path)"))
                }
                return .reply(await api.handle(head.method, head.uri))
            }
            guard head.method == .GET || head.method == .POST else {
                return .reply(Self.status(.methodNotAllowed, reason: "MethodNotAllowed", "\(head.method) is not allowed on \(path)"))
            }
            guard head.headers["Connection"].joined(separator: ",").lowercased().contains("upgrade"), !head.headers["Upgrade"].isEmpty else {
                return .reply(Self.status(.badRequest, reason: "BadRequest", "Upgrade request required"))
            }
            let url: String
            switch await streamURL(request) {
            case .failure(let reply): return .reply(reply)
            case .success(let u): url = u
            }
            guard let components = URLComponents(string: url), let host = components.host, components.scheme == "http" else {
                return .reply(Self.status(.internalServerError, reason: "InternalError", "the runtime returned an unusable streaming URL \"\(url)\""))
            }
            let port = components.port ?? 80
            let target = components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
            let bytes = UpgradeProxy.requestBytes(method: head.method.rawValue, path: target, host: host, port: port,
                                                 headers: head.headers.map { ($0.name, $0.value) })
            let backend: UpgradeProxy.Backend
            do { backend = try await UpgradeProxy.connect(host: host, port: port, tls: nil, request: bytes) } catch {
                return .reply(Self.status(.internalServerError, reason: "InternalError", "cannot reach the runtime's streaming server at \(host):\(port): \(error)"))
            }
            logger.info("streaming", metadata: ["kind": "\(request.kind.rawValue)", "pod": "\(request.namespace)/\(request.pod)",
                                                "container": "\(request.container)", "user": "\(who.name)"])
            do {
                try await UpgradeProxy.splice(client: channel, removing: [KubeletSecureServer.encoderName, KubeletSecureServer.decoderName], backend: backend)
            } catch {
                logger.warning("stream ended with an error", metadata: ["error": "\(error)"])
                try? await backend.channel.close()
                try? await channel.close()
            }
            return .spliced
        }

        enum URLResult { case success(String), failure(HTTPReply) }

        /// Finds the pod and container, and asks the runtime for a streaming URL.
        func streamURL(_ request: StreamRequest) async -> URLResult {
            let manager = api.manager
            guard let worker = await manager.worker(namespace: request.namespace, name: request.pod) else {
                return .failure(Self.status(.notFound, reason: "NotFound", "pod \(request.namespace)/\(request.pod) not found"))
            }
            if let uid = request.uid, await worker.pod.metadata.uid != uid {
                return .failure(Self.status(.notFound, reason: "NotFound", "pod \(request.namespace)/\(request.pod) with UID \(uid) not found"))
            }
            let cri = manager.cri
            do {
                switch request.kind {
                case .portForward:
                    guard let sandbox = await worker.sandboxID else {
                        return .failure(Self.status(.badRequest, reason: "BadRequest", "pod \(request.namespace)/\(request.pod) has no running sandbox"))
                    }
                    return .success(try await cri.portForward(sandboxID: sandbox, ports: request.ports))
                case .exec, .attach:
                    guard let container = await worker.observedContainers().first(where: { $0.name == request.container }) else {
                        return .failure(Self.status(.notFound, reason: "NotFound", "container \(request.container) not found in pod \(request.namespace)/\(request.pod)"))
                    }
                    guard container.state == .containerRunning else {
                        return .failure(Self.status(.badRequest, reason: "BadRequest", "container \(request.container) in pod \(request.namespace)/\(request.pod) is not running"))
                    }
                    if request.kind == .exec {
                        return .success(try await cri.exec(containerID: container.id, command: request.command, stdin: request.stdin,
                                                           stdout: request.stdout, stderr: request.stderr, tty: request.tty))
                    }
                    return .success(try await cri.attach(containerID: container.id, stdin: request.stdin, stdout: request.stdout,
                                                         stderr: request.stderr, tty: request.tty))
                }
            } catch {
                return .failure(Self.status(.internalServerError, reason: "InternalError", "runtime \(request.kind.rawValue): \(error)"))
            }
        }

        /// A Kubernetes Status body.
        static func status(_ code: HTTPResponseStatus, reason: String, _ message: String) -> HTTPReply {
            let object: [String: Any] = ["kind": "Status", "apiVersion": "v1", "metadata": [String: Any](), "status": "Failure",
                                         "message": message, "reason": reason, "code": Int(code.code)]
            let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { Array($0) } ?? Array(message.utf8)
            return HTTPReply(code, contentType: "application/json", body: body + [0x0A])
        }
    }
}

