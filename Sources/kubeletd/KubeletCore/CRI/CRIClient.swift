import CRIProto
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

/// The kubelet's only way to the runtime: CRI v1 over gRPC on a unix socket (ours or containerd's).
///
/// Sendable: the gRPC clients are thread-safe; pod workers share one `CRIClient`.
///
/// Connections are replaced every `callsPerConnection` calls. Go gRPC servers (containerd) end
/// many unary calls with an RST_STREAM frame, and grpc-swift's HTTP/2 transport treats more than
/// 200 of those within 10 s on one connection as an attack and closes it: at a few hundred calls
/// a second (100 pods relisting) every call then fails with "Stream unexpectedly closed". A fresh
/// connection per 100 calls stays far below that; calls in flight finish on the old one.
public final class CRIClient: Sendable {
    public typealias Transport = HTTP2ClientTransport.Posix
    public let socketPath: String
    let callsPerConnection: Int
    private let pool: Mutex<Connection>

    /// One gRPC client with its two service stubs and the task running its connections.
    private struct Connection: Sendable {
        let client: GRPCClient<Transport>
        let runtime: Runtime_V1_RuntimeService.Client<Transport>
        let images: Runtime_V1_ImageService.Client<Transport>
        let running: Task<Void, Never>
        var calls = 0

        init(socketPath: String) throws {
            let transport = try HTTP2ClientTransport.Posix(
                target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
            client = GRPCClient(transport: transport)
            runtime = Runtime_V1_RuntimeService.Client(wrapping: client)
            images = Runtime_V1_ImageService.Client(wrapping: client)
            running = Task { [client] in try? await client.runConnections() }
        }
    }

    public init(socketPath: String, callsPerConnection: Int = 100) throws {
        self.socketPath = socketPath
        self.callsPerConnection = max(1, callsPerConnection)
        pool = Mutex(try Connection(socketPath: socketPath))
    }

    /// The stubs for the next call; opens a fresh connection when the current one is used up
    /// and lets the old one finish its calls in flight, then close.
    private func stubs() -> (runtime: Runtime_V1_RuntimeService.Client<Transport>, images: Runtime_V1_ImageService.Client<Transport>) {
        pool.withLock { connection in
            if connection.calls >= callsPerConnection, let fresh = try? Connection(socketPath: socketPath) {
                connection.client.beginGracefulShutdown()
                connection = fresh
            }
            connection.calls += 1
            return (connection.runtime, connection.images)
        }
    }

    var runtime: Runtime_V1_RuntimeService.Client<Transport> { stubs().runtime }
    var images: Runtime_V1_ImageService.Client<Transport> { stubs().images }

    public func shutdown() async {
        let running = pool.withLock { connection in
            connection.client.beginGracefulShutdown()
            return connection.running
        }
        await running.value
    }

    /// Runtime name and version (a cheap liveness check of the socket).
    public func version() async throws -> Runtime_V1_VersionResponse {
        var request = Runtime_V1_VersionRequest()
        request.version = "v1"
        return try await runtime.version(request)
    }

    public func listSandboxes(labels: [String: String] = [:]) async throws -> [Runtime_V1_PodSandbox] {
        var request = Runtime_V1_ListPodSandboxRequest()
        if !labels.isEmpty { request.filter.labelSelector = labels }
        return try await runtime.listPodSandbox(request).items
    }

    public func listContainers(labels: [String: String] = [:]) async throws -> [Runtime_V1_Container] {
        var request = Runtime_V1_ListContainersRequest()
        if !labels.isEmpty { request.filter.labelSelector = labels }
        return try await runtime.listContainers(request).containers
    }

    public func runSandbox(_ config: Runtime_V1_PodSandboxConfig) async throws -> String {
        var request = Runtime_V1_RunPodSandboxRequest()
        request.config = config
        return try await runtime.runPodSandbox(request).podSandboxID
    }

    public func sandboxStatus(_ id: String) async throws -> Runtime_V1_PodSandboxStatus {
        var request = Runtime_V1_PodSandboxStatusRequest()
        request.podSandboxID = id
        return try await runtime.podSandboxStatus(request).status
    }

    public func stopSandbox(_ id: String) async throws {
        var request = Runtime_V1_StopPodSandboxRequest()
        request.podSandboxID = id
        _ = try await runtime.stopPodSandbox(request)
    }

    public func removeSandbox(_ id: String) async throws {
        var request = Runtime_V1_RemovePodSandboxRequest()
        request.podSandboxID = id
        _ = try await runtime.removePodSandbox(request)
    }

    public func createContainer(sandboxID: String, config: Runtime_V1_ContainerConfig,
                                sandboxConfig: Runtime_V1_PodSandboxConfig) async throws -> String {
        var request = Runtime_V1_CreateContainerRequest()
        request.podSandboxID = sandboxID
        request.config = config
        request.sandboxConfig = sandboxConfig
        return try await runtime.createContainer(request).containerID
    }

    public func startContainer(_ id: String) async throws {
        var request = Runtime_V1_StartContainerRequest()
        request.containerID = id
        _ = try await runtime.startContainer(request)
    }

    public func stopContainer(_ id: String, timeout: Int64) async throws {
        var request = Runtime_V1_StopContainerRequest()
        request.containerID = id
        request.timeout = timeout
        _ = try await runtime.stopContainer(request)
    }

    public func removeContainer(_ id: String) async throws {
        var request = Runtime_V1_RemoveContainerRequest()
        request.containerID = id
        _ = try await runtime.removeContainer(request)
    }

    public func containerStatus(_ id: String) async throws -> Runtime_V1_ContainerStatus {
        var request = Runtime_V1_ContainerStatusRequest()
        request.containerID = id
        return try await runtime.containerStatus(request).status
    }

    public func execSync(_ id: String, command: [String], timeout: Int64) async throws -> Runtime_V1_ExecSyncResponse {
        var request = Runtime_V1_ExecSyncRequest()
        request.containerID = id
        request.cmd = command
        request.timeout = timeout
        return try await runtime.execSync(request)
    }

    /// The image's reference if present locally, nil if not.
    public func imageRef(_ image: String) async throws -> String? {
        var request = Runtime_V1_ImageStatusRequest()
        request.image.image = image
        let response = try await images.imageStatus(request)
        return response.hasImage ? response.image.id : nil
    }

    public func pullImage(_ image: String, sandboxConfig: Runtime_V1_PodSandboxConfig) async throws -> String {
        var request = Runtime_V1_PullImageRequest()
        request.image.image = image
        request.sandboxConfig = sandboxConfig
        return try await images.pullImage(request).imageRef
    }

    /// The CRI container event stream (containerd and ours support it); the caller relists too.
    public func containerEvents(_ body: @Sendable @escaping (Runtime_V1_ContainerEventResponse) async -> Void) async throws {
        try await runtime.getContainerEvents(Runtime_V1_GetEventsRequest()) { response in
            for try await event in response.messages { await body(event) }
        }
    }
}
