import NIOCore
import NIOHTTP1
import NIOPosix

/// A response from a route.
public struct HTTPReply: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]
    public init(_ status: HTTPResponseStatus = .ok, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
    public init(_ status: HTTPResponseStatus = .ok, text: String) {
        self.init(status, body: Array(text.utf8))
    }
}

/// A small read-only HTTP/1.1 server over NIO: GET only, one async route function.
///
/// Runs on NIO's process-wide event loop group (the CRI client's gRPC transport uses the same
/// one), so a server adds no threads of its own (each thread costs a stack and a malloc arena).
public final class HTTPServer: Sendable {
    public typealias Route = @Sendable (_ method: HTTPMethod, _ uri: String) async -> HTTPReply
    let channel: Channel

    public var port: Int { channel.localAddress?.port ?? 0 }

    public init(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                route: @escaping Route) async throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RouteHandler(route: route))
                }
            }
        channel = try await bootstrap.bind(host: host, port: port).get()
    }

    public func close() async {
        try? await channel.close()
    }
}

final class RouteHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let route: HTTPServer.Route
    private var head: HTTPRequestHead?

    init(route: @escaping HTTPServer.Route) { self.route = route }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let route = self.route
            let loop = context.eventLoop
            let bound = NIOLoopBound(context, eventLoop: loop)
            let keepAlive = head.isKeepAlive
            let version = head.version
            let promise = loop.makePromise(of: HTTPReply.self)
            promise.completeWithTask {
                if head.method != .GET && head.method != .HEAD {
                    return HTTPReply(.methodNotAllowed, text: "method not allowed: this API is read-only\n")
                }
                return await route(head.method, head.uri)
            }
            promise.futureResult.whenSuccess { reply in
                let context = bound.value
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: reply.contentType)
                headers.add(name: "Content-Length", value: String(reply.body.count))
                headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
                context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: reply.status, headers: headers))), promise: nil)
                if head.method != .HEAD {
                    var buffer = context.channel.allocator.buffer(capacity: reply.body.count)
                    buffer.writeBytes(reply.body)
                    context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
                }
                let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
                if !keepAlive {
                    let channel = context.channel
                    done.whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }
    }
}
