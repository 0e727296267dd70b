import CRIProto
import Foundation
import GRPCCore
import ImageStore

/// `runtime.v1.ImageService` over the image store.
public struct ImageServiceHandler: Runtime_V1_ImageService.SimpleServiceProtocol {
    let service: CRIService

    public init(service: CRIService) {
        self.service = service
    }

    func convert(_ image: Image) -> Runtime_V1_Image {
        var result = Runtime_V1_Image()
        result.id = image.id
        result.repoTags = image.repoTags
        result.repoDigests = image.repoDigests
        result.size = image.size
        result.pinned = image.pinned
        result.spec.image = image.id
        if let config = try? service.images.config(of: image), let user = config.user, !user.isEmpty {
            let name = String(user.split(separator: ":").first ?? "")
            if let uid = Int64(name) { result.uid.value = uid } else { result.username = name }
        }
        return result
    }

    public func listImages(request: Runtime_V1_ListImagesRequest, context: ServerContext) async throws -> Runtime_V1_ListImagesResponse {
        try await rpc {
            var response = Runtime_V1_ListImagesResponse()
            if request.hasFilter && !request.filter.image.image.isEmpty {
                if let image = try service.images.image(request.filter.image.image) { response.images = [convert(image)] }
            } else {
                response.images = try service.images.list().map(convert)
            }
            return response
        }
    }

    public func streamImages(request: Runtime_V1_StreamImagesRequest, response: RPCWriter<Runtime_V1_StreamImagesResponse>, context: ServerContext) async throws {
        throw CRIError.unimplemented("StreamImages").rpcError
    }

    public func imageStatus(request: Runtime_V1_ImageStatusRequest, context: ServerContext) async throws -> Runtime_V1_ImageStatusResponse {
        try await rpc {
            try CRIError.require(request.image.image, field: "image.image")
            var response = Runtime_V1_ImageStatusResponse()
            // An absent image is an empty response, not an error (the CRI's contract).
            guard let image = try service.images.image(request.image.image) else { return response }
            response.image = convert(image)
            if request.verbose {
                let config = try service.images.config(of: image)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                response.info = ["info": String(decoding: try encoder.encode(config), as: UTF8.self)]
            }
            return response
        }
    }

    public func pullImage(request: Runtime_V1_PullImageRequest, context: ServerContext) async throws -> Runtime_V1_PullImageResponse {
        try await rpc {
            try CRIError.require(request.image.image, field: "image.image")
            var credentials: RegistryCredentials? = nil
            if request.hasAuth {
                let auth = request.auth
                credentials = RegistryCredentials(
                    username: auth.username.isEmpty ? nil : auth.username, password: auth.password.isEmpty ? nil : auth.password,
                    auth: auth.auth.isEmpty ? nil : auth.auth, identityToken: auth.identityToken.isEmpty ? nil : auth.identityToken,
                    registryToken: auth.registryToken.isEmpty ? nil : auth.registryToken)
            }
            let image = try await service.images.pull(request.image.image, credentials: credentials)
            var response = Runtime_V1_PullImageResponse()
            response.imageRef = image.id
            return response
        }
    }

    public func removeImage(request: Runtime_V1_RemoveImageRequest, context: ServerContext) async throws -> Runtime_V1_RemoveImageResponse {
        try await rpc {
            try CRIError.require(request.image.image, field: "image.image")
            try service.images.remove(request.image.image)
            return Runtime_V1_RemoveImageResponse()
        }
    }

    public func imageFsInfo(request: Runtime_V1_ImageFsInfoRequest, context: ServerContext) async throws -> Runtime_V1_ImageFsInfoResponse {
        try await rpc {
            let usage = try service.images.usage()
            var fs = Runtime_V1_FilesystemUsage()
            fs.timestamp = usage.timestamp
            fs.fsID.mountpoint = usage.mountpoint
            fs.usedBytes.value = usage.usedBytes
            fs.inodesUsed.value = usage.inodesUsed
            var response = Runtime_V1_ImageFsInfoResponse()
            response.imageFilesystems = [fs]
            response.containerFilesystems = [fs]
            return response
        }
    }
}
