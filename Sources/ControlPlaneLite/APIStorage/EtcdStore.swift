import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCSupport
import Logging
import Synchronization

/// The etcd services on one gRPC client.
struct EtcdServices: Sendable {
    typealias Transport = HTTP2ClientTransport.Posix
    let kv: Etcdserverpb_KV.Client<Transport>
    let watch: Etcdserverpb_Watch.Client<Transport>
    let maintenance: Etcdserverpb_Maintenance.Client<Transport>

    init(_ client: GRPCClient<Transport>) {
        kv = Etcdserverpb_KV.Client(wrapping: client)
        watch = Etcdserverpb_Watch.Client(wrapping: client)
        maintenance = Etcdserverpb_Maintenance.Client(wrapping: client)
    }
}

/// One etcd endpoint: a long-lived connection for watch streams, and unary calls on a
/// `RotatingGRPCClient` (etcd 3.4 ends most unary calls with RST_STREAM, which would otherwise
/// get the connection dropped; see there). Owner: `EtcdStore`.
final class EtcdChannel: Sendable {
    let endpoint: EtcdEndpoint
    let watchConnection: GRPCConnection<EtcdServices>
    private let unary: RotatingGRPCClient<EtcdServices>

    init(_ endpoint: EtcdEndpoint) throws {
        self.endpoint = endpoint
        let transport: @Sendable () throws -> HTTP2ClientTransport.Posix = {
            let target: any ResolvableTarget =
                endpoint.isIPv4
                ? .ipv4(address: endpoint.host, port: endpoint.port) : .dns(host: endpoint.host, port: endpoint.port)
            return try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext)
        }
        watchConnection = GRPCConnection(transport: try transport(), stubs: EtcdServices.init)
        unary = try RotatingGRPCClient(transport: transport, stubs: EtcdServices.init)
    }

    /// Runs one unary call (see `RotatingGRPCClient`).
    func withUnary<T: Sendable>(_ body: (EtcdServices) async throws -> T) async throws -> T {
        try await unary.withStubs(body)
    }

    /// Starts closing every connection without waiting (store deinit).
    func beginShutdown() {
        unary.beginShutdown()
        watchConnection.beginShutdown()
    }

    func shutdown() async {
        await unary.shutdown()
        await watchConnection.shutdown()
    }
}

/// The scale-out store: etcd v3 over gRPC. etcd's revisions are the store's revisions, writes
/// with conditions are etcd transactions (compare mod_revision / create_revision), watches are
/// etcd watch streams started at the requested revision. With several endpoints, one is used at
/// a time; when it is unavailable the store moves to the next (reads and watches retry there,
/// a write fails with `.unavailable` since it may or may not have been applied).
public final class EtcdStore: Store {
    let options: StoreOptions
    let logger: Logger
    let connections: [EtcdChannel]
    /// Index of the endpoint in use.
    private let current = Mutex(0)
    private let compactor: Mutex<Task<Void, Never>?> = Mutex(nil)
    /// The newest revision this store compacted through (etcd itself does not report it).
    let compactedThrough = Mutex<Int64>(0)
    let closed = Atomic<Bool>(false)
    /// Running watch streams, ended on close.
    let watches = Mutex<(nextID: UInt64, tasks: [UInt64: Task<Void, Never>])>((0, [:]))

    public init(endpoints: [EtcdEndpoint], options: StoreOptions = StoreOptions(), logger: Logger = Logger(label: "swiftlet.apistorage.etcd")) async throws {
        guard !endpoints.isEmpty else { throw StorageError.invalidArgument("etcd endpoints: at least one is needed") }
        self.options = options
        self.logger = logger
        var connections: [EtcdChannel] = []
        do {
            for endpoint in endpoints { connections.append(try EtcdChannel(endpoint)) }
        } catch {
            for connection in connections { await connection.shutdown() }
            throw StorageError.unavailable("etcd \(endpoints): \(error)")
        }
        self.connections = connections
        do {
            let status = try await self.status()
            logger.info("connected to etcd", metadata: ["version": "\(status.version)", "revision": "\(status.header.revision)"])
        } catch {
            for connection in connections { await connection.shutdown() }
            throw error
        }
        let compaction = Compactor(policy: options.compaction, logger: logger)
        compactor.withLock {
            $0 = Task { [weak self] in
                await compaction.run(
                    currentRevision: { [weak self] in
                        guard let self else { throw CancellationError() }
                        return try await self.currentRevision()
                    },
                    compactedRevision: { [weak self] in self?.compactedThrough.withLock { $0 } ?? 0 },
                    compact: { [weak self] revision in try await self?.compact(through: revision) })
            }
        }
    }

    deinit {
        // Normally `close()` already did this: stop the compactor and the connections of a
        // store dropped without it.
        compactor.withLock { $0?.cancel() }
        for task in watches.withLock({ Array($0.tasks.values) }) { task.cancel() }
        for channel in connections { channel.beginShutdown() }
    }

    /// The endpoint in use, and its index.
    var connection: (index: Int, connection: EtcdChannel) {
        let index = current.withLock { $0 }
        return (index, connections[index])
    }

    /// Moves to the next endpoint after `index` failed (unless another caller already moved).
    func failed(_ index: Int, _ error: any Error) {
        guard connections.count > 1 else { return }
        let moved = current.withLock { current in
            guard current == index else { return false }
            current = (index + 1) % connections.count
            return true
        }
        if moved {
            logger.warning(
                "etcd endpoint unavailable; using the next",
                metadata: ["failed": "\(connections[index].endpoint)", "next": "\(connections[(index + 1) % connections.count].endpoint)", "error": "\(error)"])
        }
    }

    var callOptions: CallOptions {
        var callOptions = CallOptions.defaults
        callOptions.timeout = options.requestTimeout
        // Fail fast on a refused connection so the next endpoint can be tried.
        callOptions.waitForReady = false
        return callOptions
    }

    /// Runs one etcd call, mapping gRPC failures to `StorageError`. Reads (`retry`) are retried
    /// while the endpoint is unavailable, for up to `requestTimeout`, so they ride out a member
    /// restarting or the client moving to the next endpoint. Writes are retried only when they
    /// never left (no connection): a write whose answer was lost may have been applied, and
    /// only the caller can tell, so that one fails with `.unavailable`.
    func call<T: Sendable>(
        _ what: String, retry: Bool = false, requested: Int64? = nil,
        _ body: (EtcdServices) async throws -> T
    ) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            if closed.load(ordering: .relaxed) { throw StorageError.unavailable("store closed") }
            let (index, channel) = self.connection
            do {
                return try await channel.withUnary(body)
            } catch let error as StorageError {
                throw error
            } catch let error as RPCError {
                attempt += 1
                if error.code == .unavailable || error.code == .deadlineExceeded { failed(index, error) }
                if retry || Self.neverSent(error), error.code == .unavailable, clock.now - start < options.requestTimeout {
                    logger.debug("etcd \(what): retrying", metadata: ["error": "\(error.message)"])
                    // Straight to the next endpoint; back off once every endpoint was tried.
                    if attempt % connections.count == 0 {
                        try await Task.sleep(for: .milliseconds(min(50 * attempt, 500)))
                    }
                    continue
                }
                throw await map(error, what: what, requested: requested)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw StorageError.unavailable("etcd \(what): \(error)")
            }
        }
    }

    /// Whether the call failed before reaching etcd (no connection), so even a write is safe to
    /// send again. grpc-swift only says so in the message.
    static func neverSent(_ error: RPCError) -> Bool {
        error.message.contains("Could not establish a connection") || error.message.contains("transient failure")
    }

    func map(_ error: RPCError, what: String, requested: Int64? = nil) async -> StorageError {
        if error.message.contains("required revision has been compacted") {
            let requested = requested ?? 0
            let through = (try? await discoverCompactedRevision()) ?? requested
            return .compacted(requested: requested, compactedThrough: max(through, requested))
        }
        if error.message.contains("required revision is a future revision") {
            return .invalidArgument("revision \(requested ?? 0): newer than the store's revision")
        }
        return .unavailable("etcd \(what): \(error.code): \(error.message)")
    }

    /// etcd's compaction revision, learned from a watch at revision 1 (etcd cancels it and
    /// names the compaction revision). Only called after etcd reported a compaction: without
    /// one the probe runs into its deadline and throws.
    func discoverCompactedRevision() async throws -> Int64 {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data("/swiftlet-compaction-probe".utf8)
        create.startRevision = 1
        var request = Etcdserverpb_WatchRequest()
        request.createRequest = create
        let probe = request
        var callOptions = self.callOptions
        callOptions.timeout = .seconds(2)
        return try await connection.connection.watchConnection.stubs.watch.watch(options: callOptions) { writer in
            try await writer.write(probe)
            try await Task.sleep(for: .seconds(10))
        } onResponse: { response in
            // etcd first confirms the watch (created), then cancels it naming the compaction.
            for try await message in response.messages where message.compactRevision > 0 {
                return message.compactRevision
            }
            return 0
        }
    }

    func status() async throws -> Etcdserverpb_StatusResponse {
        try await call("status", retry: true) {
            try await $0.maintenance.status(Etcdserverpb_StatusRequest(), options: callOptions)
        }
    }

    /// etcd's backend file size, in bytes (after compaction, before defragmentation).
    public func databaseSize() async throws -> (allocated: Int64, inUse: Int64) {
        let status = try await status()
        return (status.dbSize, status.dbSizeInUse)
    }

    /// Gives space freed by compaction back to the file system.
    public func defragment() async throws {
        _ = try await call("defragment") {
            try await $0.maintenance.defragment(Etcdserverpb_DefragmentRequest(), options: callOptions)
        }
    }

    // MARK: Reads

    public func get(_ key: String) async throws -> StoredObject? {
        try KeyRange.validate(key: key)
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key.utf8)
        let response = try await call("get \(key)", retry: true) { try await $0.kv.range(request, options: callOptions) }
        return response.kvs.first.map(Self.object)
    }

    public func list(prefix: String, startAfter: String?, limit: Int?, revision: Int64?) async throws -> ListResult {
        try KeyRange.validateList(prefix: prefix, startAfter: startAfter, limit: limit, revision: revision)
        var request = Etcdserverpb_RangeRequest()
        let start = [UInt8](prefix.utf8)
        request.key = Data(startAfter.map { [UInt8]($0.utf8) + [0] } ?? (start.isEmpty ? [0] : start))
        request.rangeEnd = Data(KeyRange.prefixEnd(start) ?? [0])
        request.limit = Int64(limit ?? 0)
        request.revision = revision ?? 0
        let response = try await call("list \(prefix)", retry: true, requested: revision) {
            try await $0.kv.range(request, options: callOptions)
        }
        let items = response.kvs.map(Self.object)
        return ListResult(
            items: items, revision: revision ?? response.header.revision,
            remaining: max(0, Int(response.count) - items.count), more: response.more)
    }

    public func count(prefix: String) async throws -> Int {
        try KeyRange.validateList(prefix: prefix, startAfter: nil, limit: nil, revision: nil)
        var request = Etcdserverpb_RangeRequest()
        let start = [UInt8](prefix.utf8)
        request.key = Data(start.isEmpty ? [0] : start)
        request.rangeEnd = Data(KeyRange.prefixEnd(start) ?? [0])
        request.countOnly = true
        let response = try await call("count \(prefix)", retry: true) { try await $0.kv.range(request, options: callOptions) }
        return Int(response.count)
    }

    public func currentRevision() async throws -> Int64 {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data("/".utf8)
        request.countOnly = true
        let response = try await call("revision", retry: true) { try await $0.kv.range(request, options: callOptions) }
        return response.header.revision
    }

    static func object(_ kv: Mvccpb_KeyValue) -> StoredObject {
        StoredObject(
            key: String(decoding: kv.key, as: UTF8.self), value: [UInt8](kv.value), createRevision: kv.createRevision,
            modRevision: kv.modRevision)
    }

    // MARK: Compaction and lifecycle

    public func compact(through revision: Int64) async throws {
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        request.physical = true
        do {
            _ = try await call("compact \(revision)") { try await $0.kv.compact(request, options: callOptions) }
        } catch StorageError.compacted {
            return  // already compacted at or past `revision`
        } catch StorageError.invalidArgument {
            throw StorageError.invalidArgument("compact revision \(revision): newer than the store's revision")
        }
        compactedThrough.withLock { $0 = max($0, revision) }
    }

    public func close() async {
        if closed.exchange(true, ordering: .relaxed) { return }
        if let task = compactor.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
        let tasks = watches.withLock { state in
            defer { state.tasks.removeAll() }
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        for connection in connections { await connection.shutdown() }
    }
}
