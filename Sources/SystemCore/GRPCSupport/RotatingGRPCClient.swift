import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

/// A gRPC client for unary calls whose connection is replaced every `callsPerConnection` calls.
///
/// Why: Go gRPC servers (etcd 3.4, containerd) end many unary calls with an RST_STREAM frame,
/// and the HTTP/2 stack that grpc-swift-nio-transport configures treats more than 200 of those
/// within 10 s on one connection as an attack and closes it, failing every call in flight with
/// "Stream unexpectedly closed" (the limit is not configurable). A fresh connection every 100
/// calls stays far below it at any call rate. A replaced connection is closed when its last call
/// has ended. Long-lived streams belong on a plain `GRPCConnection`.
public final class RotatingGRPCClient<Stubs: Sendable>: Sendable {
    public typealias Transport = HTTP2ClientTransport.Posix

    public let callsPerConnection: Int
    private let open: @Sendable () throws -> GRPCConnection<Stubs>

    private struct Slot {
        var connection: GRPCConnection<Stubs>
        var inFlight = 0
    }

    private struct State {
        var current: UInt64 = 0
        var calls = 0
        var slots: [UInt64: Slot] = [:]
        /// Shutdowns under way, removed as they finish.
        var closing: [UInt64: Task<Void, Never>] = [:]
    }

    private let state: Mutex<State>

    /// `transport` makes the transport of each new connection, `stubs` the service clients on it.
    public init(
        callsPerConnection: Int = 100,
        transport: @escaping @Sendable () throws -> Transport,
        stubs: @escaping @Sendable (GRPCClient<Transport>) -> Stubs
    ) throws {
        self.callsPerConnection = max(1, callsPerConnection)
        let open: @Sendable () throws -> GRPCConnection<Stubs> = {
            GRPCConnection(transport: try transport(), stubs: stubs)
        }
        self.open = open
        state = Mutex(State(slots: [0: Slot(connection: try open())]))
    }

    /// Runs one call with the current connection's stubs, opening a fresh connection first when
    /// the current one has served `callsPerConnection` calls.
    public func withStubs<T: Sendable>(_ body: (Stubs) async throws -> T) async throws -> T {
        let (id, stubs) = try state.withLock { state throws -> (UInt64, Stubs) in
            state.calls += 1
            if state.slots[state.current] == nil || state.calls > callsPerConnection {
                let retired = state.current
                state.current += 1
                state.calls = 1
                state.slots[state.current] = Slot(connection: try open())
                closeIfIdle(retired, &state)
            }
            let id = state.current
            guard var slot = state.slots[id] else { throw RPCError(code: .unavailable, message: "no connection") }
            slot.inFlight += 1
            state.slots[id] = slot
            return (id, slot.connection.stubs)
        }
        defer {
            state.withLock { state in
                state.slots[id]?.inFlight -= 1
                if id != state.current { closeIfIdle(id, &state) }
            }
        }
        return try await body(stubs)
    }

    private func closeIfIdle(_ id: UInt64, _ state: inout State) {
        guard let slot = state.slots[id], slot.inFlight == 0 else { return }
        state.slots.removeValue(forKey: id)
        state.closing[id] = Task { [weak self] in
            await slot.connection.shutdown()
            _ = self?.state.withLock { $0.closing.removeValue(forKey: id) }
        }
    }

    /// Starts closing every connection without waiting (for a deinit).
    public func beginShutdown() {
        for connection in state.withLock({ $0.slots.values.map(\.connection) }) { connection.beginShutdown() }
    }

    /// Closes every connection, waiting for calls in flight.
    public func shutdown() async {
        let (open, closing) = state.withLock { state in
            defer { state.slots.removeAll() }
            return (state.slots.values.map(\.connection), Array(state.closing.values))
        }
        for task in closing { await task.value }
        for connection in open { await connection.shutdown() }
    }
}
