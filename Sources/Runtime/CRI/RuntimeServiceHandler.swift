import CRIProto
import Foundation
import GRPCCore
import Runtime
import SystemCore

/// `runtime.v1.RuntimeService` over `CRIService`. Each method validates, calls the engine and
/// maps errors to gRPC statuses (`rpc`).
public struct RuntimeServiceHandler: Runtime_V1_RuntimeService.SimpleServiceProtocol {
    let service: CRIService

    public init(service: CRIService) {
        self.service = service
    }

    public static let runtimeVersion = "0.1.0"

    public func version(request: Runtime_V1_VersionRequest, context: ServerContext) async throws -> Runtime_V1_VersionResponse {
        var response = Runtime_V1_VersionResponse()
        response.version = "0.1.0"
        response.runtimeName = "swiftlet"
        response.runtimeVersion = Self.runtimeVersion
        response.runtimeApiVersion = "v1"
        return response
    }

    public func status(request: Runtime_V1_StatusRequest, context: ServerContext) async throws -> Runtime_V1_StatusResponse {
        var runtimeReady = Runtime_V1_RuntimeCondition()
        runtimeReady.type = "RuntimeReady"
        runtimeReady.status = true
        var networkReady = Runtime_V1_RuntimeCondition()
        networkReady.type = "NetworkReady"
        networkReady.status = service.cni.isReady
        if !networkReady.status {
            networkReady.reason = "NetworkPluginNotReady"
            networkReady.message = "no CNI network configuration list in \(service.config.cniConfDir)"
        }
        var response = Runtime_V1_StatusResponse()
        response.status.conditions = [runtimeReady, networkReady]
        var handler = Runtime_V1_RuntimeHandler()
        handler.name = ""
        handler.features.recursiveReadOnlyMounts = true
        response.runtimeHandlers = [handler]
        if request.verbose {
            let info: [String: Any] = [
                "runtime": service.runtime.path, "runtimeArguments": service.runtime.globalArguments,
                "cniConfDir": service.config.cniConfDir, "cniBinDirs": service.config.cniBinDirs,
            ]
            if let data = try? JSONSerialization.data(withJSONObject: info, options: [.sortedKeys]) {
                response.info = ["config": String(decoding: data, as: UTF8.self)]
            }
        }
        return response
    }

    public func runtimeConfig(request: Runtime_V1_RuntimeConfigRequest, context: ServerContext) async throws -> Runtime_V1_RuntimeConfigResponse {
        var response = Runtime_V1_RuntimeConfigResponse()
        response.linux.cgroupDriver = .cgroupfs
        return response
    }

    public func updateRuntimeConfig(request: Runtime_V1_UpdateRuntimeConfigRequest, context: ServerContext) async throws -> Runtime_V1_UpdateRuntimeConfigResponse {
        // The pod CIDR lives in the CNI configuration here; nothing to update.
        Runtime_V1_UpdateRuntimeConfigResponse()
    }

    // MARK: Sandboxes

    public func runPodSandbox(request: Runtime_V1_RunPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_RunPodSandboxResponse {
        try await rpc {
            var response = Runtime_V1_RunPodSandboxResponse()
            response.podSandboxID = try await service.runPodSandbox(request)
            return response
        }
    }

    public func stopPodSandbox(request: Runtime_V1_StopPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_StopPodSandboxResponse {
        try await rpc {
            try CRIError.require(request.podSandboxID, field: "pod_sandbox_id")
            try await service.stopPodSandbox(request.podSandboxID)
            return Runtime_V1_StopPodSandboxResponse()
        }
    }

    public func removePodSandbox(request: Runtime_V1_RemovePodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_RemovePodSandboxResponse {
        try await rpc {
            try CRIError.require(request.podSandboxID, field: "pod_sandbox_id")
            try await service.removePodSandbox(request.podSandboxID)
            return Runtime_V1_RemovePodSandboxResponse()
        }
    }

    public func podSandboxStatus(request: Runtime_V1_PodSandboxStatusRequest, context: ServerContext) async throws -> Runtime_V1_PodSandboxStatusResponse {
        try await rpc {
            try CRIError.require(request.podSandboxID, field: "pod_sandbox_id")
            guard let record = try await service.state.sandbox(request.podSandboxID) else {
                throw CRIError.notFound(kind: "pod sandbox", id: request.podSandboxID)
            }
            var response = try service.sandboxStatus(try await service.refresh(record), verbose: request.verbose)
            // The statuses of the pod's containers too (what the evented PLEG reads).
            for container in await service.state.containers(inSandbox: record.id) {
                let current = try await service.refresh(container)
                response.containersStatuses.append(try service.containerStatus(current, verbose: false).status)
            }
            return response
        }
    }

    public func listPodSandbox(request: Runtime_V1_ListPodSandboxRequest, context: ServerContext) async throws -> Runtime_V1_ListPodSandboxResponse {
        try await rpc {
            var response = Runtime_V1_ListPodSandboxResponse()
            let filter = request.hasFilter ? request.filter : nil
            // ID and labels first, from the record as it is; only what matches is refreshed
            // (a kubelet asks for one pod's sandboxes by label, many pods at once).
            var stateless = filter
            stateless?.clearState()
            for record in await service.state.allSandboxes.sorted(by: { $0.createdAt < $1.createdAt }) {
                let config = try Runtime_V1_PodSandboxConfig(serializedBytes: record.config)
                guard Filters.matches(record, config: config, filter: stateless) else { continue }
                let current = try await service.refresh(record)
                guard Filters.matches(current, config: config, filter: filter) else { continue }
                var sandbox = Runtime_V1_PodSandbox()
                sandbox.id = current.id
                sandbox.metadata = config.metadata
                sandbox.state = current.state == .ready ? .sandboxReady : .sandboxNotready
                sandbox.createdAt = current.createdAt
                sandbox.labels = config.labels
                sandbox.annotations = config.annotations
                sandbox.runtimeHandler = current.runtimeHandler
                response.items.append(sandbox)
            }
            return response
        }
    }

    public func streamPodSandboxes(request: Runtime_V1_StreamPodSandboxesRequest, response: RPCWriter<Runtime_V1_StreamPodSandboxesResponse>, context: ServerContext) async throws {
        throw CRIError.unimplemented("StreamPodSandboxes").rpcError
    }

    // MARK: Containers

    public func createContainer(request: Runtime_V1_CreateContainerRequest, context: ServerContext) async throws -> Runtime_V1_CreateContainerResponse {
        try await rpc {
            var response = Runtime_V1_CreateContainerResponse()
            response.containerID = try await service.createContainer(request)
            return response
        }
    }

    public func startContainer(request: Runtime_V1_StartContainerRequest, context: ServerContext) async throws -> Runtime_V1_StartContainerResponse {
        try await rpc {
            try CRIError.require(request.containerID, field: "container_id")
            try await service.startContainer(request.containerID)
            return Runtime_V1_StartContainerResponse()
        }
    }

    public func stopContainer(request: Runtime_V1_StopContainerRequest, context: ServerContext) async throws -> Runtime_V1_StopContainerResponse {
        try await rpc {
            try CRIError.require(request.containerID, field: "container_id")
            guard request.timeout >= 0 else { throw CRIError.invalidArgument(field: "timeout", reason: "must not be negative") }
            try await service.stopContainer(request.containerID, timeout: request.timeout)
            return Runtime_V1_StopContainerResponse()
        }
    }

    public func removeContainer(request: Runtime_V1_RemoveContainerRequest, context: ServerContext) async throws -> Runtime_V1_RemoveContainerResponse {
        try await rpc {
            try CRIError.require(request.containerID, field: "container_id")
            try await service.removeContainer(request.containerID)
            return Runtime_V1_RemoveContainerResponse()
        }
    }

    public func listContainers(request: Runtime_V1_ListContainersRequest, context: ServerContext) async throws -> Runtime_V1_ListContainersResponse {
        try await rpc {
            var response = Runtime_V1_ListContainersResponse()
            let filter = request.hasFilter ? request.filter : nil
            // ID, sandbox and labels first; only what matches is refreshed from its exit file.
            var stateless = filter
            stateless?.clearState()
            for record in await service.state.allContainers.sorted(by: { $0.createdAt < $1.createdAt }) {
                let config = try Runtime_V1_ContainerConfig(serializedBytes: record.config)
                guard Filters.matches(record, config: config, filter: stateless) else { continue }
                let current = try await service.refresh(record)
                guard Filters.matches(current, config: config, filter: filter) else { continue }
                var container = Runtime_V1_Container()
                container.id = current.id
                container.podSandboxID = current.sandboxID
                container.metadata = config.metadata
                container.image = config.image
                container.imageRef = current.imageID
                container.imageID = current.imageID
                container.state = Filters.state(of: current)
                container.createdAt = current.createdAt
                container.labels = config.labels
                container.annotations = config.annotations
                response.containers.append(container)
            }
            return response
        }
    }

    public func streamContainers(request: Runtime_V1_StreamContainersRequest, response: RPCWriter<Runtime_V1_StreamContainersResponse>, context: ServerContext) async throws {
        throw CRIError.unimplemented("StreamContainers").rpcError
    }

    public func containerStatus(request: Runtime_V1_ContainerStatusRequest, context: ServerContext) async throws -> Runtime_V1_ContainerStatusResponse {
        try await rpc {
            try CRIError.require(request.containerID, field: "container_id")
            guard let record = try await service.state.container(request.containerID) else {
                throw CRIError.notFound(kind: "container", id: request.containerID)
            }
            return try service.containerStatus(try await service.refresh(record), verbose: request.verbose)
        }
    }

    public func updateContainerResources(request: Runtime_V1_UpdateContainerResourcesRequest, context: ServerContext) async throws -> Runtime_V1_UpdateContainerResourcesResponse {
        try await rpc {
            try CRIError.require(request.containerID, field: "container_id")
            try await service.updateResources(request)
            return Runtime_V1_UpdateContainerResourcesResponse()
        }
    }

    public func reopenContainerLog(request: Runtime_V1_ReopenContainerLogRequest, context: ServerContext) async throws -> Runtime_V1_ReopenContainerLogResponse {
        try await rpc {
            try CRIError.require(request.containerID, field: "container_id")
            try await service.reopenLog(request.containerID)
            return Runtime_V1_ReopenContainerLogResponse()
        }
    }

    public func execSync(request: Runtime_V1_ExecSyncRequest, context: ServerContext) async throws -> Runtime_V1_ExecSyncResponse {
        try await rpc {
            try CRIError.require(request.containerID, field: "container_id")
            return try await service.execSync(request)
        }
    }

    public func exec(request: Runtime_V1_ExecRequest, context: ServerContext) async throws -> Runtime_V1_ExecResponse {
        try await rpc {
            try CRIError.require(request.containerID, field: "container_id")
            guard !request.cmd.isEmpty, !request.cmd[0].isEmpty else { throw CRIError.invalidArgument(field: "cmd", reason: "must not be empty") }
            guard request.stdin || request.stdout || request.stderr else {
                throw CRIError.invalidArgument(field: "stdout", reason: "one of stdin, stdout and stderr must be set")
            }
            guard var record = try await service.state.container(request.containerID) else {
                throw CRIError.notFound(kind: "container", id: request.containerID)
            }
            record = try await service.refresh(record)
            guard record.state == .running else { throw CRIError.failedPrecondition("container \(record.id) is not running") }
            var response = Runtime_V1_ExecResponse()
            response.url = service.streaming.register(.init(
                containerID: record.id, cmd: request.cmd, stdin: request.stdin, stdout: request.stdout,
                stderr: request.stderr && !request.tty, tty: request.tty, created: Date()))
            return response
        }
    }

    public func attach(request: Runtime_V1_AttachRequest, context: ServerContext) async throws -> Runtime_V1_AttachResponse {
        try await rpc {
            try CRIError.require(request.containerID, field: "container_id")
            guard request.stdin || request.stdout || request.stderr else {
                throw CRIError.invalidArgument(field: "stdout", reason: "one of stdin, stdout and stderr must be set")
            }
            guard var record = try await service.state.container(request.containerID) else {
                throw CRIError.notFound(kind: "container", id: request.containerID)
            }
            record = try await service.refresh(record)
            guard record.state == .running else { throw CRIError.failedPrecondition("container \(record.id) is not running") }
            let config = try Runtime_V1_ContainerConfig(serializedBytes: record.config)
            if request.stdin && !config.stdin {
                throw CRIError.invalidArgument(field: "stdin", reason: "container \(record.id) was created without stdin")
            }
            var response = Runtime_V1_AttachResponse()
            response.url = service.streaming.register(StreamingServer.PendingAttach(
                monitorDir: service.monitorDir(record.id), stdin: request.stdin, stdout: request.stdout,
                stderr: request.stderr && !config.tty, tty: config.tty, created: Date()))
            return response
        }
    }

    public func portForward(request: Runtime_V1_PortForwardRequest, context: ServerContext) async throws -> Runtime_V1_PortForwardResponse {
        try await rpc {
            try CRIError.require(request.podSandboxID, field: "pod_sandbox_id")
            for (index, port) in request.port.enumerated() where !(1...65535).contains(port) {
                throw CRIError.invalidArgument(field: "port[\(index)]", reason: "\(port) is not a port number")
            }
            guard let sandbox = try await service.state.sandbox(request.podSandboxID) else {
                throw CRIError.notFound(kind: "pod sandbox", id: request.podSandboxID)
            }
            guard sandbox.state == .ready else { throw CRIError.failedPrecondition("pod sandbox \(sandbox.id) is not ready") }
            var response = Runtime_V1_PortForwardResponse()
            response.url = service.streaming.register(.init(netns: sandbox.netnsPath, ports: request.port, created: Date()))
            return response
        }
    }

    // MARK: Stats

    public func containerStats(request: Runtime_V1_ContainerStatsRequest, context: ServerContext) async throws -> Runtime_V1_ContainerStatsResponse {
        try await rpc {
            guard let record = try await service.state.container(request.containerID) else {
                throw CRIError.notFound(kind: "container", id: request.containerID)
            }
            var response = Runtime_V1_ContainerStatsResponse()
            response.stats = try service.stats(record)
            return response
        }
    }

    public func listContainerStats(request: Runtime_V1_ListContainerStatsRequest, context: ServerContext) async throws -> Runtime_V1_ListContainerStatsResponse {
        try await rpc {
            var response = Runtime_V1_ListContainerStatsResponse()
            for record in await service.state.allContainers {
                let f = request.filter
                if !f.id.isEmpty && !record.id.hasPrefix(f.id) { continue }
                if !f.podSandboxID.isEmpty && !record.sandboxID.hasPrefix(f.podSandboxID) { continue }
                let config = try Runtime_V1_ContainerConfig(serializedBytes: record.config)
                if !f.labelSelector.allSatisfy({ config.labels[$0.key] == $0.value }) { continue }
                response.stats.append(try service.stats(record))
            }
            return response
        }
    }

    public func streamContainerStats(request: Runtime_V1_StreamContainerStatsRequest, response: RPCWriter<Runtime_V1_StreamContainerStatsResponse>, context: ServerContext) async throws {
        throw CRIError.unimplemented("StreamContainerStats").rpcError
    }

    public func podSandboxStats(request: Runtime_V1_PodSandboxStatsRequest, context: ServerContext) async throws -> Runtime_V1_PodSandboxStatsResponse {
        try await rpc {
            guard let record = try await service.state.sandbox(request.podSandboxID) else {
                throw CRIError.notFound(kind: "pod sandbox", id: request.podSandboxID)
            }
            var response = Runtime_V1_PodSandboxStatsResponse()
            response.stats = try await service.sandboxStats(record)
            return response
        }
    }

    public func listPodSandboxStats(request: Runtime_V1_ListPodSandboxStatsRequest, context: ServerContext) async throws -> Runtime_V1_ListPodSandboxStatsResponse {
        try await rpc {
            var response = Runtime_V1_ListPodSandboxStatsResponse()
            for record in await service.state.allSandboxes {
                let f = request.filter
                if !f.id.isEmpty && !record.id.hasPrefix(f.id) { continue }
                let config = try Runtime_V1_PodSandboxConfig(serializedBytes: record.config)
                if !f.labelSelector.allSatisfy({ config.labels[$0.key] == $0.value }) { continue }
                response.stats.append(try await service.sandboxStats(record))
            }
            return response
        }
    }

    public func streamPodSandboxStats(request: Runtime_V1_StreamPodSandboxStatsRequest, response: RPCWriter<Runtime_V1_StreamPodSandboxStatsResponse>, context: ServerContext) async throws {
        throw CRIError.unimplemented("StreamPodSandboxStats").rpcError
    }

    // MARK: Events

    public func getContainerEvents(request: Runtime_V1_GetEventsRequest, response: RPCWriter<Runtime_V1_ContainerEventResponse>, context: ServerContext) async throws {
        let (id, stream) = service.events.subscribe()
        defer { service.events.unsubscribe(id) }
        for await event in stream {
            try await response.write(event)
        }
    }

    // MARK: Not supported

    public func checkpointContainer(request: Runtime_V1_CheckpointContainerRequest, context: ServerContext) async throws -> Runtime_V1_CheckpointContainerResponse {
        throw CRIError.unimplemented("CheckpointContainer (container checkpointing, the kubelet's ContainerCheckpoint feature; swiftlet has no CRIU integration)").rpcError
    }

    public func checkpointPod(request: Runtime_V1_CheckpointPodRequest, context: ServerContext) async throws -> Runtime_V1_CheckpointPodResponse {
        throw CRIError.unimplemented("CheckpointPod (pod checkpointing; swiftlet has no CRIU integration)").rpcError
    }

    public func restorePod(request: Runtime_V1_RestorePodRequest, context: ServerContext) async throws -> Runtime_V1_RestorePodResponse {
        throw CRIError.unimplemented("RestorePod (restoring a checkpointed pod; swiftlet has no CRIU integration)").rpcError
    }

    public func listMetricDescriptors(request: Runtime_V1_ListMetricDescriptorsRequest, context: ServerContext) async throws -> Runtime_V1_ListMetricDescriptorsResponse {
        Runtime_V1_ListMetricDescriptorsResponse()
    }

    public func listPodSandboxMetrics(request: Runtime_V1_ListPodSandboxMetricsRequest, context: ServerContext) async throws -> Runtime_V1_ListPodSandboxMetricsResponse {
        Runtime_V1_ListPodSandboxMetricsResponse()
    }

    public func streamPodSandboxMetrics(request: Runtime_V1_StreamPodSandboxMetricsRequest, response: RPCWriter<Runtime_V1_StreamPodSandboxMetricsResponse>, context: ServerContext) async throws {
        throw CRIError.unimplemented("StreamPodSandboxMetrics").rpcError
    }

    public func updatePodSandboxResources(request: Runtime_V1_UpdatePodSandboxResourcesRequest, context: ServerContext) async throws -> Runtime_V1_UpdatePodSandboxResourcesResponse {
        try await rpc {
            try CRIError.require(request.podSandboxID, field: "pod_sandbox_id")
            try await service.updateSandboxResources(request)
            return Runtime_V1_UpdatePodSandboxResourcesResponse()
        }
    }
}
