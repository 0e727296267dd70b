import CRIProto
import GRPCCore

/// The CRI calls container GC, image GC and log rotation make.
extension CRIClient {
    /// Every image the runtime stores.
    public func listImages() async throws -> [Runtime_V1_Image] {
        try await images { try await $0.listImages(Runtime_V1_ListImagesRequest()) }.images
    }

    /// Removes an image (by ID: every tag of it goes).
    public func removeImage(_ id: String) async throws {
        var request = Runtime_V1_RemoveImageRequest()
        request.image.image = id
        _ = try await images { try await $0.removeImage(request) }
    }

    /// The filesystems images are stored on, with the bytes used there.
    public func imageFilesystems() async throws -> [Runtime_V1_FilesystemUsage] {
        try await images { try await $0.imageFsInfo(Runtime_V1_ImageFsInfoRequest()) }.imageFilesystems
    }

    /// Asks the runtime to reopen a container's log file (after the kubelet renamed it).
    public func reopenContainerLog(_ id: String) async throws {
        var request = Runtime_V1_ReopenContainerLogRequest()
        request.containerID = id
        _ = try await runtime { try await $0.reopenContainerLog(request) }
    }

    /// The runtime's verbose status info (containerd puts its CRI config, with the sandbox
    /// image, under "config").
    public func runtimeInfo() async throws -> [String: String] {
        var request = Runtime_V1_StatusRequest()
        request.verbose = true
        return try await runtime { try await $0.status(request) }.info
    }
}
