import CRIProto
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCSupport

/// The kubelet's only way to the runtime: CRI v1 over gRPC on a unix socket (ours or containerd's).
///
/// Sendable: pod workers share one. Calls go through a `RotatingGRPCClient` (containerd, a Go
/// gRPC server, ends unary calls with RST_STREAM frames that would otherwise get the connection
/// dropped under load; see there); the event stream has a connection of its own.
public final class CRIClient: Sendable {
    public typealias Transport = HTTP2ClientTransport.Posix

    struct Services: Sendable {
        let runtime: Runtime_V1_RuntimeService.Client<Transport>
        let images: Runtime_V1_ImageService.Client<Transport>

        init(_ client: GRPCClient<Transport>) {
            runtime = Runtime_V1_RuntimeService.Client(wrapping: client)
            images = Runtime_V1_ImageService.Client(wrapping: client)
        }
    }

    public let socketPath: String
    private let calls: RotatingGRPCClient<Services>
    private let events: GRPCConnection<Services>

    public init(socketPath: String, callsPerConnection: Int = 100) throws {
        self.socketPath = socketPath
        let transport: @Sendable () throws -> Transport = {
            try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
        }
        calls = try RotatingGRPCClient(callsPerConnection: callsPerConnection, transport: transport, stubs: Services.init)
        events = GRPCConnection(transport: try transport(), stubs: Services.init)
    }

    public func shutdown() async {
        await calls.shutdown()
        await events.shutdown()
    }

    func runtime<T: Sendable>(_ body: (Runtime_V1_RuntimeService.Client<Transport>) async throws -> T) async throws -> T {
        try await calls.withStubs { try await body($0.runtime) }
    }

    func images<T: Sendable>(_ body: (Runtime_V1_ImageService.Client<Transport>) async throws -> T) async throws -> T {
        try await calls.withStubs { try await body($0.images) }
    }

    /// Runtime name and version (a cheap liveness check of the socket).
    public func version() async throws -> Runtime_V1_VersionResponse {
        var request = Runtime_V1_VersionRequest()
        request.version = "v1"
        return try await runtime { try await $0.version(request) }
    }

    public func listSandboxes(labels: [String: String] = [:]) async throws -> [Runtime_V1_PodSandbox] {
        var request = Runtime_V1_ListPodSandboxRequest()
        if !labels.isEmpty { request.filter.labelSelector = labels }
        return try await runtime { try await $0.listPodSandbox(request) }.items
    }

    public func listContainers(labels: [String: String] = [:]) async throws -> [Runtime_V1_Container] {
        var request = Runtime_V1_ListContainersRequest()
        if !labels.isEmpty { request.filter.labelSelector = labels }
        return try await runtime { try await $0.listContainers(request) }.containers
    }

    public func runSandbox(_ config: Runtime_V1_PodSandboxConfig) async throws -> String {
        var request = Runtime_V1_RunPodSandboxRequest()
        request.config = config
        return try await runtime { try await $0.runPodSandbox(request) }.podSandboxID
    }

    public func sandboxStatus(_ id: String) async throws -> Runtime_V1_PodSandboxStatus {
        var request = Runtime_V1_PodSandboxStatusRequest()
        request.podSandboxID = id
        return try await runtime { try await $0.podSandboxStatus(request) }.status
    }

    public func stopSandbox(_ id: String) async throws {
        var request = Runtime_V1_StopPodSandboxRequest()
        request.podSandboxID = id
        _ = try await runtime { try await $0.stopPodSandbox(request) }
    }

    public func removeSandbox(_ id: String) async throws {
        var request = Runtime_V1_RemovePodSandboxRequest()
        request.podSandboxID = id
        _ = try await runtime { try await $0.removePodSandbox(request) }
    }

    public func createContainer(sandboxID: String, config: Runtime_V1_ContainerConfig,
                                sandboxConfig: Runtime_V1_PodSandboxConfig) async throws -> String {
        var request = Runtime_V1_CreateContainerRequest()
        request.podSandboxID = sandboxID
        request.config = config
        request.sandboxConfig = sandboxConfig
        return try await runtime { try await $0.createContainer(request) }.containerID
    }

    public func startContainer(_ id: String) async throws {
        var request = Runtime_V1_StartContainerRequest()
        request.containerID = id
        _ = try await runtime { try await $0.startContainer(request) }
    }

    public func stopContainer(_ id: String, timeout: Int64) async throws {
        var request = Runtime_V1_StopContainerRequest()
        request.containerID = id
        request.timeout = timeout
        _ = try await runtime { try await $0.stopContainer(request) }
    }

    public func removeContainer(_ id: String) async throws {
        var request = Runtime_V1_RemoveContainerRequest()
        request.containerID = id
        _ = try await runtime { try await $0.removeContainer(request) }
    }

    public func containerStatus(_ id: String) async throws -> Runtime_V1_ContainerStatus {
        var request = Runtime_V1_ContainerStatusRequest()
        request.containerID = id
        return try await runtime { try await $0.containerStatus(request) }.status
    }

    public func execSync(_ id: String, command: [String], timeout: Int64) async throws -> Runtime_V1_ExecSyncResponse {
        var request = Runtime_V1_ExecSyncRequest()
        request.containerID = id
        request.cmd = command
        request.timeout = timeout
        return try await runtime { try await $0.execSync(request) }
    }

    /// The image's reference if present locally, nil if not.
    public func imageRef(_ image: String) async throws -> String? {
        var request = Runtime_V1_ImageStatusRequest()
        request.image.image = image
        let response = try await images { try await $0.imageStatus(request) }
        return response.hasImage ? response.image.id : nil
    }

    public func pullImage(_ image: String, sandboxConfig: Runtime_V1_PodSandboxConfig) async throws -> String {
        var request = Runtime_V1_PullImageRequest()
        request.image.image = image
        request.sandboxConfig = sandboxConfig
        return try await images { try await $0.pullImage(request) }.imageRef
    }

    /// The CRI container event stream (containerd and ours support it); the caller relists too.
    public func containerEvents(_ body: @Sendable @escaping (Runtime_V1_ContainerEventResponse) async -> Void) async throws {
        try await events.stubs.runtime.getContainerEvents(Runtime_V1_GetEventsRequest()) { response in
            for try await event in response.messages { await body(event) }
        }
    }
}
