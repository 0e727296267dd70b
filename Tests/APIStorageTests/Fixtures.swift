import Foundation
import Testing

@testable import APIStorage

/// The two stores every conformance test runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, etcd
    var testDescription: String { rawValue }
}

extension StoreOptions {
    /// Tests compact by hand and want quick bookmarks.
    static var testing: StoreOptions {
        var options = StoreOptions()
        options.compaction = .off
        options.progressInterval = .milliseconds(200)
        return options
    }
}

/// A scratch directory removed on deinit.
final class TemporaryDirectory: Sendable {
    let path: String

    init(_ name: String = "apistorage") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A real etcd (Debian's etcd-server) on loopback with a temporary data directory and free ports.
final class EtcdServer: @unchecked Sendable {
    // @unchecked: `process` is replaced only by start/restart, which tests call sequentially.
    static let binary = "/usr/bin/etcd"
    let directory: TemporaryDirectory
    let name: String
    let clientPort: Int
    let peerPort: Int
    let initialCluster: String?
    private(set) var process: Process

    var endpoint: EtcdEndpoint { EtcdEndpoint(host: "127.0.0.1", port: clientPort) }

    /// A single-member etcd, or (with `initialCluster`) one member of a cluster on loopback.
    init(name: String = "test", clientPort: Int? = nil, peerPort: Int? = nil, initialCluster: String? = nil) async throws {
        directory = try TemporaryDirectory("apistorage-etcd")
        self.name = name
        self.clientPort = try clientPort ?? freePort()
        self.peerPort = try peerPort ?? freePort()
        self.initialCluster = initialCluster
        process = Process()
        try await launch()
    }

    /// Starts a cluster of `size` members on loopback (fast elections: 50 ms heartbeats).
    static func cluster(size: Int) async throws -> [EtcdServer] {
        let ports = try (0..<size).map { _ in (client: try freePort(), peer: try freePort()) }
        let initial = ports.enumerated().map { "m\($0.offset)=http://127.0.0.1:\($0.element.peer)" }.joined(separator: ",")
        var members: [EtcdServer] = []
        for (index, port) in ports.enumerated() {
            members.append(
                try await EtcdServer(name: "m\(index)", clientPort: port.client, peerPort: port.peer, initialCluster: initial))
        }
        return members
    }

    private func launch() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        let client = "http://127.0.0.1:\(clientPort)"
        let peer = "http://127.0.0.1:\(peerPort)"
        process.arguments = [
            "--name", name, "--data-dir", directory.path + "/data",
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", initialCluster ?? "\(name)=\(peer)", "--initial-cluster-state", "new",
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--experimental-watch-progress-notify-interval", "500ms",
            "--logger", "zap", "--log-outputs", directory.path + "/etcd.log",
            "--log-level", ProcessInfo.processInfo.environment["APISTORAGE_ETCD_LOG_LEVEL"] ?? "warn",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        try await waitUntilServing()
    }

    /// Polls until the client port accepts connections (etcd starts in well under a second).
    private func waitUntilServing() async throws {
        for _ in 0..<200 {
            if !process.isRunning {
                let log = (try? String(contentsOfFile: directory.path + "/etcd.log", encoding: .utf8)) ?? ""
                throw StorageError.unavailable("etcd exited (\(process.terminationStatus)): \(log.suffix(2000))")
            }
            if canConnect(port: clientPort) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw StorageError.unavailable("etcd did not listen on \(clientPort)")
    }

    /// SIGKILL, then start again on the same data directory.
    func killAndRestart() async throws {
        kill9()
        try await launch()
    }

    func kill9() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        kill9()
    }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw StorageError.unavailable("socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw StorageError.unavailable("bind: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// Runs `body` against a fresh store of `backend`, then closes and removes it.
func withStore(
    _ backend: Backend, options: StoreOptions = .testing,
    _ body: (any Store) async throws -> Void
) async throws {
    switch backend {
    case .sqlite:
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.path + "/state.db", options: options)
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    case .etcd:
        let server = try await EtcdServer()
        defer { withExtendedLifetime(server) {} }
        do {
            let store = try await EtcdStore(endpoints: [server.endpoint], options: options)
            do {
                try await body(store)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Collects `count` events from a watch, failing (not hanging) if they do not come within
/// `patience`: a liveness guard, not a timing assertion.
func collect(
    _ stream: AsyncThrowingStream<WatchEvent, Error>, count: Int, skipProgress: Bool = true,
    patience: Duration = .seconds(30)
) async throws -> [WatchEvent] {
    try await withThrowingTaskGroup(of: [WatchEvent]?.self) { group in
        group.addTask {
            var events: [WatchEvent] = []
            for try await event in stream {
                if skipProgress, case .progress = event { continue }
                events.append(event)
                if events.count == count { break }
            }
            return events
        }
        group.addTask {
            try await Task.sleep(for: patience)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let events = first else {
            Issue.record("watch delivered fewer than \(count) events within \(patience)")
            return []
        }
        return events
    }
}
