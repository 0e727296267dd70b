import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Synchronization

/// The scale-out store: etcd v3 over gRPC. etcd's revisions are the store's revisions, writes
/// with conditions are etcd transactions (compare mod_revision / create_revision), watches are
/// etcd watch streams started at the requested revision. Several endpoints are tried in order
/// (gRPC pick-first), so losing one member of a cluster moves the client to the next.
public final class EtcdStore: Store {
    typealias Transport = HTTP2ClientTransport.Posix

    let endpoints: [EtcdEndpoint]
    let options: StoreOptions
    let logger: Logger
    let client: GRPCClient<Transport>
    let kv: Etcdserverpb_KV.Client<Transport>
    let watchService: Etcdserverpb_Watch.Client<Transport>
    let maintenance: Etcdserverpb_Maintenance.Client<Transport>
    private let connections: Task<Void, Never>
    private let compactor: Mutex<Task<Void, Never>?> = Mutex(nil)
    /// The newest revision this store compacted through (etcd itself does not report it).
    let compactedThrough = Mutex<Int64>(0)
    let closed = Atomic<Bool>(false)
    /// Running watch streams, ended on close.
    let watches = Mutex<(nextID: UInt64, tasks: [UInt64: Task<Void, Never>])>((0, [:]))

    public init(endpoints: [EtcdEndpoint], options: StoreOptions = StoreOptions(), logger: Logger = Logger(label: "swiftlet.apistorage.etcd")) async throws {
        guard !endpoints.isEmpty else { throw StorageError.invalidArgument("etcd endpoints: at least one is needed") }
        self.endpoints = endpoints
        self.options = options
        self.logger = logger
        let target: any ResolvableTarget
        if endpoints.allSatisfy(\.isIPv4) {
            target = .ipv4(pairs: endpoints.map { (host: $0.host, port: $0.port) })
        } else if endpoints.count == 1 {
            target = .dns(host: endpoints[0].host, port: endpoints[0].port)
        } else {
            throw StorageError.invalidArgument(
                "etcd endpoints \(endpoints.map(\.description).joined(separator: ",")): several endpoints must be IPv4 addresses")
        }
        do {
            let transport = try HTTP2ClientTransport.Posix(
                target: target, transportSecurity: .plaintext,
                serviceConfig: ServiceConfig(loadBalancingConfig: [.pickFirst(shuffleAddressList: false)]))
            client = GRPCClient(transport: transport)
        } catch {
            throw StorageError.unavailable("etcd \(endpoints): \(error)")
        }
        kv = Etcdserverpb_KV.Client(wrapping: client)
        watchService = Etcdserverpb_Watch.Client(wrapping: client)
        maintenance = Etcdserverpb_Maintenance.Client(wrapping: client)
        connections = Task { [client] in try? await client.runConnections() }
        do {
            let status = try await self.status()
            logger.info("connected to etcd", metadata: ["version": "\(status.version)", "revision": "\(status.header.revision)"])
        } catch {
            client.beginGracefulShutdown()
            await connections.value
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

    var callOptions: CallOptions {
        var callOptions = CallOptions.defaults
        callOptions.timeout = options.requestTimeout
        callOptions.waitForReady = true
        return callOptions
    }

    /// Runs one etcd call, mapping gRPC failures to `StorageError`.
    func call<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        if closed.load(ordering: .relaxed) { throw StorageError.unavailable("store closed") }
        do {
            return try await body()
        } catch let error as StorageError {
            throw error
        } catch let error as RPCError {
            throw await map(error, what: what)
        } catch {
            throw StorageError.unavailable("etcd \(what): \(error)")
        }
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
    /// names the compaction revision). 0 when nothing was compacted.
    func discoverCompactedRevision() async throws -> Int64 {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data("/swiftlet-compaction-probe".utf8)
        create.startRevision = 1
        var request = Etcdserverpb_WatchRequest()
        request.createRequest = create
        let probe = request
        var callOptions = self.callOptions
        callOptions.timeout = .seconds(5)
        return try await watchService.watch(options: callOptions) { writer in
            try await writer.write(probe)
            try await Task.sleep(for: .seconds(10))
        } onResponse: { response in
            for try await message in response.messages {
                if message.compactRevision > 0 { return message.compactRevision }
                if message.created && !message.canceled { return 0 }
            }
            return 0
        }
    }

    func status() async throws -> Etcdserverpb_StatusResponse {
        try await call("status") {
            try await maintenance.status(Etcdserverpb_StatusRequest(), options: callOptions)
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
            try await maintenance.defragment(Etcdserverpb_DefragmentRequest(), options: callOptions)
        }
    }

    // MARK: Reads

    public func get(_ key: String) async throws -> StoredObject? {
        try KeyRange.validate(key: key)
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key.utf8)
        let response = try await call("get \(key)") { try await kv.range(request, options: callOptions) }
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
        let message = request
        let response: Etcdserverpb_RangeResponse
        do {
            if closed.load(ordering: .relaxed) { throw StorageError.unavailable("store closed") }
            response = try await kv.range(message, options: callOptions)
        } catch let error as RPCError {
            throw await map(error, what: "list \(prefix)", requested: revision)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.unavailable("etcd list \(prefix): \(error)")
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
        let response = try await call("count \(prefix)") { try await kv.range(request, options: callOptions) }
        return Int(response.count)
    }

    public func currentRevision() async throws -> Int64 {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data("/".utf8)
        request.countOnly = true
        let response = try await call("revision") { try await kv.range(request, options: callOptions) }
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
            _ = try await call("compact \(revision)") { try await kv.compact(request, options: callOptions) }
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
        client.beginGracefulShutdown()
        await connections.value
    }
}
