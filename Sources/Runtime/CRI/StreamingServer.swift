import CRIProto
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Runtime
import SystemCore

/// The streaming server behind Exec, Attach and PortForward (the kubelet's URL flow): the RPC
/// stores the request under a one-time token and returns `http://<address>/<kind>/<token>`; the
/// client upgrades that URL to either
/// - a WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`; `portforward.k8s.io`): frames carry
///   one channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final status (a Kubernetes `Status`
///   JSON), 4 resizes the tty (`{"Width":W,"Height":H}`), 255 (v5) closes stdin; or
/// - SPDY/3.1 (`X-Stream-Protocol-Version` v4/v3/v2.channel.k8s.io, channel.k8s.io;
///   `portforward.k8s.io`), what kubectl, the kubelet and crictl speak: one SPDY stream per
///   `streamType` (see `SPDYCommandSession`, `SPDYPortForwardSession`).
final class StreamingServer: @unchecked Sendable {
    struct Pending: Sendable {
        var containerID: String
        var cmd: [String]
        var stdin: Bool
        var stdout: Bool
        var stderr: Bool
        var tty: Bool
        var created: Date
    }

    /// A started exec: its pid, the pty master with a tty, and what to clean once it exited.
    struct Process: Sendable {
        var pid: pid_t
        var master: Int32?
        var cleanup: @Sendable () -> Void
    }

    /// An Attach request: the monitor's state directory (attach.sock, ctl).
    struct PendingAttach: Sendable {
        var monitorDir: String
        var stdin: Bool
        var stdout: Bool = true
        var stderr: Bool = true
        var tty: Bool
        var created: Date
    }

    /// A PortForward request: the pod's network namespace (nil: the node's) and its ports.
    struct PendingForward: Sendable {
        var netns: String?
        var ports: [Int32]
        var created: Date
    }

    private let lock = NSLock()
    private var pending: [String: Pending] = [:]
    private var forwards: [String: PendingForward] = [:]
    private var attaches: [String: PendingAttach] = [:]
    /// swiftlet-pause, which relays one port inside a pod's network namespace.
    var forwardHelper = ""
    private var channel: Channel?
    private(set) var baseURL = ""
    let logger: Logger
    /// Builds the process JSON and runs `<runtime> exec` with the given stdio.
    /// Starts `<runtime> exec` for a request: with a tty through a console socket (the pipes are
    /// then unused), otherwise on the given stdin/stdout/stderr.
    let spawnExec: @Sendable (Pending, Int32?, Int32, Int32) async throws -> Process

    init(logger: Logger, spawnExec: @escaping @Sendable (Pending, Int32?, Int32, Int32) async throws -> Process) {
        self.logger = logger
        self.spawnExec = spawnExec
    }

    /// What a streaming URL is for, from its path: `/exec/<token>`, `/attach/<token>`,
    /// `/portforward/<token>`.
    enum Kind: Sendable {
        case exec, attach, portForward

        static func parse(_ uri: String) -> (kind: Kind, token: String, query: Substring)? {
            let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let path = parts.first.map(String.init) ?? ""
            let query = parts.count > 1 ? parts[1] : ""
            let token = path.split(separator: "/").last.map(String.init) ?? ""
            if path.hasPrefix("/exec/") { return (.exec, token, query) }
            if path.hasPrefix("/attach/") { return (.attach, token, query) }
            if path.hasPrefix("/portforward/") { return (.portForward, token, query) }
            return nil
        }

        var webSocketProtocols: [String] {
            self == .portForward ? ["v4.channel.k8s.io", "portforward.k8s.io"] : ["v5.channel.k8s.io", "v4.channel.k8s.io"]
        }

        var spdyProtocols: [String] {
            self == .portForward ? [RemoteCommandProtocol.portForward] : RemoteCommandProtocol.spdy.map(\.name)
        }
    }

    /// Whether a token is registered (and unused) for that kind of URL.
    func isKnown(_ kind: Kind, _ token: String) -> Bool {
        lock.withLock {
            switch kind {
            case .exec: pending[token] != nil
            case .attach: attaches[token] != nil
            case .portForward: forwards[token] != nil
            }
        }
    }

    /// The backend of an exec or attach token (the token is used up).
    func takeCommand(_ kind: Kind, _ token: String) -> (RemoteCommandBackend, stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool)? {
        switch kind {
        case .exec:
            guard let request = take(token) else { return nil }
            return (ExecProcess(request: request, spawn: spawnExec), request.stdin, request.stdout, request.stderr, request.tty)
        case .attach:
            guard let request = lock.withLock({ attaches.removeValue(forKey: token) }) else { return nil }
            return (AttachClient(request: request), request.stdin, request.stdout, request.stderr, request.tty)
        case .portForward:
            return nil
        }
    }

    /// A port-forward token's request (used up); ports in the query (?port=80&port=8080, as
    /// kubectl sends them over WebSocket) take the place of the request's.
    func takeForward(_ token: String, query: Substring) -> PendingForward? {
        guard var request = lock.withLock({ forwards.removeValue(forKey: token) }) else { return nil }
        let queried = query.split(separator: "&").compactMap { item -> Int32? in
            let kv = item.split(separator: "=", maxSplits: 1)
            return kv.count == 2 && kv[0] == "port" ? Int32(kv[1]) : nil
        }
        if !queried.isEmpty { request.ports = queried }
        return request
    }

    func start(host: String, port: Int) async throws {
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20,
            shouldUpgrade: { [self] channel, head in
                let offered = head.headers["Sec-WebSocket-Protocol"]
                guard let (kind, token, _) = Kind.parse(head.uri), isKnown(kind, token),
                      let chosen = RemoteCommandProtocol.negotiate(offered: offered, supported: kind.webSocketProtocols) else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                var headers = HTTPHeaders()
                headers.add(name: "Sec-WebSocket-Protocol", value: chosen)
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { [self] channel, head in
                guard let (kind, token, query) = Kind.parse(head.uri) else { return channel.close() }
                let v5 = head.headers["Sec-WebSocket-Protocol"].joined(separator: ",").contains("v5.channel.k8s.io")
                let handler: ChannelHandler & Sendable
                if kind == .portForward {
                    guard let request = takeForward(token, query: query) else { return channel.close() }
                    handler = WebSocketForwardSession(helper: forwardHelper, netns: request.netns, ports: request.ports)
                } else {
                    guard let command = takeCommand(kind, token) else { return channel.close() }
                    handler = WebSocketCommandSession(backend: command.0, v5: v5)
                }
                return channel.pipeline.removeHandler(name: "cri-not-found").flatMap {
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
            })
        let spdy = SPDYUpgrader(server: self)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader, spdy], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(NotFoundHandler(server: self), name: "cri-not-found")
                }
            }
        let bound = try await bootstrap.bind(host: host, port: port).get()
        lock.withLock {
            channel = bound
            baseURL = "http://\(host):\(bound.localAddress?.port ?? port)"
        }
        logger.info("streaming server", metadata: ["url": "\(baseURL)", "protocols": "WebSocket, SPDY/3.1"])
    }

    func stop() async {
        let c = lock.withLock { channel }
        try? await c?.close()
    }

    /// Registers an exec and returns its URL (valid once, for a minute).
    func register(_ request: Pending) -> String {
        let token = newID().prefix(32)
        lock.withLock {
            pending = pending.filter { Date().timeIntervalSince($0.value.created) < 60 }
            pending[String(token)] = request
        }
        return "\(baseURL)/exec/\(token)"
    }

    /// Registers an attach and returns its URL (valid once, for a minute).
    func register(_ request: PendingAttach) -> String {
        let token = String(newID().prefix(32))
        lock.withLock {
            attaches = attaches.filter { Date().timeIntervalSince($0.value.created) < 60 }
            attaches[token] = request
        }
        return "\(baseURL)/attach/\(token)"
    }

    /// Registers a port forward and returns its URL (valid once, for a minute).
    func register(_ request: PendingForward) -> String {
        let token = String(newID().prefix(32))
        lock.withLock {
            forwards = forwards.filter { Date().timeIntervalSince($0.value.created) < 60 }
            forwards[token] = request
        }
        return "\(baseURL)/portforward/\(token)"
    }

    private func take(_ token: String) -> Pending? { lock.withLock { pending.removeValue(forKey: token) } }
}

