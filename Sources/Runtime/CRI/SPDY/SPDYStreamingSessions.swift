import Foundation
import NIOCore

/// The stream protocol versions of Kubernetes' remote command over SPDY, newest first:
/// v4 reports the exit status as a JSON `Status` on the error stream, v3 added the resize
/// stream, v2 the half-close of stdin; channel.k8s.io is v1.
enum RemoteCommandProtocol {
    static let spdy: [(name: String, version: Int)] = [
        ("v4.channel.k8s.io", 4), ("v3.channel.k8s.io", 3), ("v2.channel.k8s.io", 2), ("channel.k8s.io", 1),
    ]
    static let portForward = "portforward.k8s.io"

    /// The first protocol the client offers that the server speaks (the client's order wins,
    /// as in Kubernetes' httpstream handshake). Offers may be repeated headers or comma lists.
    static func negotiate(offered: [String], supported: [String]) -> String? {
        let offers = offered.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        return offers.first(where: supported.contains)
    }
}

/// An exec or attach over SPDY: the client opens one stream per `streamType` (error, stdin,
/// stdout, stderr, resize); once every stream the request calls for is there, the command runs.
/// At the end stdout and stderr are half-closed, the status goes on the error stream, and the
/// connection is closed.
final class SPDYCommandSession: SPDYStreamDelegate, RemoteCommandOutput, @unchecked Sendable {
    let backend: RemoteCommandBackend
    let version: Int
    let expected: Set<String>
    private let lock = NSLock()
    private var streams: [String: UInt32] = [:]
    private var types: [UInt32: String] = [:]
    private var connection: SPDYConnection?
    private var started = false
    /// The status was sent (finish runs once).
    private var finished = false
    /// The connection is gone.
    private var closed = false
    private var resizeBuffer: [UInt8] = []
    /// How long the client has to open its streams (the kubelet's streamCreationTimeout).
    static let creationTimeout = TimeAmount.seconds(30)

    init(backend: RemoteCommandBackend, version: Int, stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) {
        self.backend = backend
        self.version = version
        var expected: Set<String> = ["error"]
        if stdin { expected.insert("stdin") }
        if stdout { expected.insert("stdout") }
        if stderr && !tty { expected.insert("stderr") }
        if tty && version >= 3 { expected.insert("resize") }
        self.expected = expected
    }

    func connected(_ connection: SPDYConnection) {
        lock.withLock { self.connection = connection }
        connection.channel.eventLoop.scheduleTask(in: Self.creationTimeout) { [self] in
            let waiting = lock.withLock { !started && !finished && !closed }
            if waiting {
                let missing = expected.subtracting(lock.withLock { Set(streams.keys) }).sorted()
                finish(.failure(message: "timed out waiting for the client's streams: \(missing.joined(separator: ", "))", exitCode: nil))
            }
        }
    }

    func opened(_ id: UInt32, headers: [SPDYHeader], connection: SPDYConnection) {
        let type = headers["streamtype"] ?? ""
        let ready: Bool = lock.withLock {
            self.connection = connection
            guard !type.isEmpty, streams[type] == nil else { return false }
            streams[type] = id
            types[id] = type
            guard !started, expected.isSubset(of: Set(streams.keys)) else { return false }
            started = true
            return true
        }
        if type.isEmpty || !["error", "stdin", "stdout", "stderr", "resize"].contains(type) {
            connection.reset(id, status: SPDYFrame.ResetStatus.refusedStream)
            return
        }
        if ready { backend.start(output: self) }
    }

    func received(_ bytes: [UInt8], on id: UInt32) {
        switch lock.withLock({ types[id] }) {
        case "stdin":
            backend.input(bytes)
        case "resize":
            let sizes: [TerminalSize] = lock.withLock {
                resizeBuffer += bytes
                if resizeBuffer.count > 1 << 16 { resizeBuffer.removeAll() }
                return TerminalSize.drain(&resizeBuffer)
            }
            for size in sizes { backend.resize(width: size.Width, height: size.Height) }
        default:
            break
        }
    }

    func remoteFinished(_ id: UInt32) {
        if lock.withLock({ types[id] }) == "stdin" { backend.closeInput() }
    }

    func reset(_ id: UInt32) {
        if lock.withLock({ types[id] }) == "stdin" { backend.closeInput() }
    }

    func connectionClosed() {
        let wasStarted = lock.withLock {
            closed = true
            return started
        }
        if wasStarted { backend.connectionLost() }
    }

    // MARK: RemoteCommandOutput

    func write(_ stream: UInt8, _ bytes: ArraySlice<UInt8>) {
        let (id, connection) = lock.withLock { (streams[stream == 2 ? "stderr" : "stdout"], self.connection) }
        guard let id, let connection else { return }
        // Waits until the frame is on the socket: a slow client slows the reader, nothing piles up.
        _ = try? connection.sendAndWait(Array(bytes), on: id).wait()
    }

    func finish(_ status: RemoteCommandStatus) {
        let state: (SPDYConnection?, [String: UInt32])? = lock.withLock {
            guard !finished, !closed else { return nil }
            finished = true
            return (connection, streams)
        }
        guard let (connection, streams) = state, let connection else { return }
        for type in ["stdout", "stderr"] { if let id = streams[type] { connection.finish(id) } }
        if let id = streams["error"] {
            if version >= 4 {
                connection.send(Array(status.json.utf8), on: id, fin: true)
            } else if let message = status.message {
                connection.send(Array(message.utf8), on: id, fin: true)
            } else {
                connection.finish(id)
            }
        }
        connection.close()
    }
}

/// Port forwarding over SPDY (portforward.k8s.io): each forwarded connection is a pair of
/// client streams, `error` and `data`, with the same `requestID` and a `port` header. Data
/// goes to and from the port inside the pod; a failure is written on the error stream; both are
/// half-closed when the connection in the pod ends. The SPDY connection stays up for more pairs.
final class SPDYPortForwardSession: SPDYStreamDelegate, @unchecked Sendable {
    let helper: String
    let netns: String?
    /// The ports the PortForward request named (empty: any port).
    let ports: [Int32]

    private struct Pair {
        var error: UInt32?
        var data: UInt32?
        var port: String
        var relay: PortRelay?
        var started = false
    }

    private let lock = NSLock()
    private var pairs: [String: Pair] = [:]
    private var requestOf: [UInt32: String] = [:]

    init(helper: String, netns: String?, ports: [Int32]) {
        self.helper = helper
        self.netns = netns
        self.ports = ports
    }

    func connected(_ connection: SPDYConnection) {}

    func opened(_ id: UInt32, headers: [SPDYHeader], connection: SPDYConnection) {
        let type = headers["streamtype"] ?? ""
        guard type == "error" || type == "data" else {
            connection.reset(id, status: SPDYFrame.ResetStatus.refusedStream)
            return
        }
        // Clients before requestID paired streams by ID: the data stream follows its error stream.
        let request = headers["requestid"] ?? "\(type == "error" ? id : id &- 2)"
        let ready: Pair? = lock.withLock {
            var pair = pairs[request] ?? Pair(port: headers["port"] ?? "")
            if type == "error" { pair.error = id } else { pair.data = id }
            if pair.port.isEmpty { pair.port = headers["port"] ?? "" }
            requestOf[id] = request
            let complete = pair.error != nil && pair.data != nil && !pair.started
            if complete { pair.started = true }
            pairs[request] = pair
            return complete ? pair : nil
        }
        guard let pair = ready, let errorID = pair.error, let dataID = pair.data else { return }
        start(request: request, errorID: errorID, dataID: dataID, portText: pair.port, connection: connection)
    }

    private func start(request: String, errorID: UInt32, dataID: UInt32, portText: String, connection: SPDYConnection) {
        let fail = { (message: String) in
            connection.send(Array(message.utf8), on: errorID, fin: true)
            connection.finish(dataID)
            self.forget(request)
        }
        guard let port = Int32(portText), (1...65535).contains(port) else {
            fail("invalid port header \"\(portText)\": must be a number in 1...65535")
            return
        }
        guard ports.isEmpty || ports.contains(port) else {
            fail("port \(port) is not one of the ports of this port-forward request (\(ports.map(String.init).joined(separator: ", ")))")
            return
        }
        do {
            let relay = try PortRelay(
                helper: helper, netns: netns, port: port,
                data: { bytes in _ = try? connection.sendAndWait(Array(bytes), on: dataID).wait() },
                failure: { bytes in connection.send(Array(bytes), on: errorID) },
                done: {
                    connection.finish(dataID)
                    connection.finish(errorID)
                    self.forget(request)
                })
            lock.withLock { pairs[request]?.relay = relay }
        } catch {
            fail("forwarding port \(port): \(error)")
        }
    }

    private func forget(_ request: String) {
        lock.withLock {
            if let pair = pairs.removeValue(forKey: request) {
                for id in [pair.error, pair.data].compactMap({ $0 }) { requestOf.removeValue(forKey: id) }
            }
        }
    }

    private func relay(for id: UInt32) -> PortRelay? {
        lock.withLock {
            guard let request = requestOf[id], let pair = pairs[request], pair.data == id else { return nil }
            return pair.relay
        }
    }

    func received(_ bytes: [UInt8], on id: UInt32) {
        relay(for: id)?.input(bytes)
    }

    func remoteFinished(_ id: UInt32) {
        relay(for: id)?.closeInput()
    }

    func reset(_ id: UInt32) {
        relay(for: id)?.closeInput()
    }

    func connectionClosed() {
        let relays = lock.withLock { pairs.values.compactMap(\.relay) }
        for relay in relays { relay.closeInput() }
    }
}
