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
    /// Where calls are counted (nil: not counted).
    public let metrics: KubeletMetrics?
    private let calls: RotatingGRPCClient<Services>
    private let events: GRPCConnection<Services>

    public init(socketPath: String, callsPerConnection: Int = 100, metrics: KubeletMetrics? = nil) throws {
        self.socketPath = socketPath
        self.metrics = metrics
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

    /// Runs one call, counted per operation in `kubelet_runtime_operations_total`.
    private func counted<T: Sendable>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            metrics?.runtimeOperation(operation, failed: false)
            return result
        } catch {
            metrics?.runtimeOperation(operation, failed: true)
            throw error
        }
    }

    /// One RuntimeService call; `operation` names it in the metrics like upstream (list_podsandbox, ...).
    func runtime<T: Sendable>(_ operation: String = "other",
                              _ body: (Runtime_V1_RuntimeService.Client<Transport>) async throws -> T) async throws -> T {
        try await counted(operation) { try await calls.withStubs { try await body($0.runtime) } }
    }

    func images<T: Sendable>(_ operation: String = "other",
                             _ body: (Runtime_V1_ImageService.Client<Transport>) async throws -> T) async throws -> T {
        try await counted(operation) { try await calls.withStubs { try await body($0.images) } }
    }

    /// Runtime name and version (a cheap liveness check of the socket).
    public func version() async throws -> Runtime_V1_VersionResponse {
        var request = Runtime_V1_VersionRequest()
        request.version = "v1"
        return try await runtime("version") { try await $0.version(request) }
    }

    /// Call options with a deadline (nil: none, the runtime's own limits apply).
    static func options(_ timeout: Duration?) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        return options
    }

    public func listSandboxes(labels: [String: String] = [:], timeout: Duration? = nil) async throws -> [Runtime_V1_PodSandbox] {
        var request = Runtime_V1_ListPodSandboxRequest()
        if !labels.isEmpty { request.filter.labelSelector = labels }
        return try await runtime("list_podsandbox") { try await $0.listPodSandbox(request, options: Self.options(timeout)) }.items
    }

    public func listContainers(labels: [String: String] = [:], timeout: Duration? = nil) async throws -> [Runtime_V1_Container] {
        var request = Runtime_V1_ListContainersRequest()
        if !labels.isEmpty { request.filter.labelSelector = labels }
        return try await runtime("list_containers") { try await $0.listContainers(request, options: Self.options(timeout)) }.containers
    }

    /// Per-sandbox usage (memory working set, process count) of the sandboxes with these labels.
    public func listSandboxStats(labels: [String: String] = [:], timeout: Duration? = nil) async throws -> [Runtime_V1_PodSandboxStats] {
        var request = Runtime_V1_ListPodSandboxStatsRequest()
        if !labels.isEmpty { request.filter.labelSelector = labels }
        return try await runtime("list_podsandbox_stats") { try await $0.listPodSandboxStats(request, options: Self.options(timeout)) }.stats
    }

    /// Per-container usage (memory working set, writable layer) of the containers with these labels.
    public func listContainerStats(labels: [String: String] = [:], timeout: Duration? = nil) async throws -> [Runtime_V1_ContainerStats] {
        var request = Runtime_V1_ListContainerStatsRequest()
        if !labels.isEmpty { request.filter.labelSelector = labels }
        return try await runtime("list_container_stats") { try await $0.listContainerStats(request, options: Self.options(timeout)) }.stats
    }

    /// The image filesystem(s) the runtime stores images on, with bytes and inodes used.
    public func imageFsInfo(timeout: Duration? = nil) async throws -> Runtime_V1_ImageFsInfoResponse {
        try await images("image_fs_info") { try await $0.imageFsInfo(Runtime_V1_ImageFsInfoRequest(), options: Self.options(timeout)) }
    }

    public func runSandbox(_ config: Runtime_V1_PodSandboxConfig) async throws -> String {
        var request = Runtime_V1_RunPodSandboxRequest()
        request.config = config
        return try await runtime("run_podsandbox") { try await $0.runPodSandbox(request) }.podSandboxID
    }

    public func sandboxStatus(_ id: String) async throws -> Runtime_V1_PodSandboxStatus {
        var request = Runtime_V1_PodSandboxStatusRequest()
        request.podSandboxID = id
        return try await runtime("podsandbox_status") { try await $0.podSandboxStatus(request) }.status
    }

    public func stopSandbox(_ id: String) async throws {
        var request = Runtime_V1_StopPodSandboxRequest()
        request.podSandboxID = id
        _ = try await runtime("stop_podsandbox") { try await $0.stopPodSandbox(request) }
    }

    public func removeSandbox(_ id: String) async throws {
        var request = Runtime_V1_RemovePodSandboxRequest()
        request.podSandboxID = id
        _ = try await runtime("remove_podsandbox") { try await $0.removePodSandbox(request) }
    }

    public func createContainer(sandboxID: String, config: Runtime_V1_ContainerConfig,
                                sandboxConfig: Runtime_V1_PodSandboxConfig) async throws -> String {
        var request = Runtime_V1_CreateContainerRequest()
        request.podSandboxID = sandboxID
        request.config = config
        request.sandboxConfig = sandboxConfig
        return try await runtime("create_container") { try await $0.createContainer(request) }.containerID
    }

    public func startContainer(_ id: String) async throws {
        var request = Runtime_V1_StartContainerRequest()
        request.containerID = id
        _ = try await runtime("start_container") { try await $0.startContainer(request) }
    }

    public func stopContainer(_ id: String, timeout: Int64) async throws {
        var request = Runtime_V1_StopContainerRequest()
        request.containerID = id
        request.timeout = timeout
        _ = try await runtime("stop_container") { try await $0.stopContainer(request) }
    }

    public func removeContainer(_ id: String) async throws {
        var request = Runtime_V1_RemoveContainerRequest()
        request.containerID = id
        _ = try await runtime("remove_container") { try await $0.removeContainer(request) }
    }

    public func containerStatus(_ id: String) async throws -> Runtime_V1_ContainerStatus {
        var request = Runtime_V1_ContainerStatusRequest()
        request.containerID = id
        return try await runtime("container_status") { try await $0.containerStatus(request) }.status
    }

    public func execSync(_ id: String, command: [String], timeout: Int64) async throws -> Runtime_V1_ExecSyncResponse {
        var request = Runtime_V1_ExecSyncRequest()
        request.containerID = id
        request.cmd = command
        request.timeout = timeout
        return try await runtime("exec_sync") { try await $0.execSync(request) }
    }

    /// The image's reference if present locally, nil if not.
    public func imageRef(_ image: String) async throws -> String? {
        var request = Runtime_V1_ImageStatusRequest()
        request.image.image = image
        let response = try await images("image_status") { try await $0.imageStatus(request) }
        return response.hasImage ? response.image.id : nil
    }

    public func pullImage(_ image: String, sandboxConfig: Runtime_V1_PodSandboxConfig) async throws -> String {
        var request = Runtime_V1_PullImageRequest()
        request.image.image = image
        request.sandboxConfig = sandboxConfig
        return try await images("pull_image") { try await $0.pullImage(request) }.imageRef
    }

    /// The CRI container event stream (containerd and ours support it); the caller relists too.
    public func containerEvents(_ body: @Sendable @escaping (Runtime_V1_ContainerEventResponse) async -> Void) async throws {
        try await events.stubs.runtime.getContainerEvents(Runtime_V1_GetEventsRequest()) { response in
            for try await event in response.messages { await body(event) }
        }
    }
}
