import GRPCCore
import GRPCNIOTransportHTTP2

/// One gRPC client over HTTP/2 (NIO, POSIX), the service stubs made on it, and the task that
/// runs its connections. Owner: whoever made it; `shutdown()` lets calls in flight finish.
public struct GRPCConnection<Stubs: Sendable>: Sendable {
    public typealias Transport = HTTP2ClientTransport.Posix

    public let client: GRPCClient<Transport>
    public let stubs: Stubs
    private let running: Task<Void, Never>

    public init(transport: Transport, stubs: (GRPCClient<Transport>) -> Stubs) {
        let client = GRPCClient(transport: transport)
        self.client = client
        self.stubs = stubs(client)
        running = Task { try? await client.runConnections() }
    }

    /// Stops taking calls; those in flight finish.
    public func beginShutdown() {
        client.beginGracefulShutdown()
    }

    /// Stops taking calls and waits for those in flight and the connections to end.
    public func shutdown() async {
        client.beginGracefulShutdown()
        await running.value
    }
}
