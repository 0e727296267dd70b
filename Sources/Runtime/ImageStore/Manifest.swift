import Foundation

/// Media types the store understands.
enum MediaType {
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    static let ociLayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    static let dockerLayer = "application/vnd.docker.image.rootfs.diff.tar"
    static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    static let dockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    /// What the store asks registries for, best first.
    static let acceptedManifests = [ociIndex, dockerManifestList, ociManifest, dockerManifest]
    static let layers: Set<String> = [ociLayer, ociLayerGzip, ociLayerZstd, ociLayerNondistributableGzip,
                                      dockerLayer, dockerLayerGzip, dockerForeignLayerGzip]
    static let configs: Set<String> = [ociConfig, dockerConfig]
}

/// An OS/architecture pair from an index entry or an image config.
struct Platform: Sendable, Hashable, Codable, CustomStringConvertible {
    var os: String
    var architecture: String
    var variant: String?

    var description: String { "\(os)/\(architecture)" + (variant.map { "/\($0)" } ?? "") }
}

/// A content descriptor: what a manifest or index points at.
struct Descriptor: Sendable, Hashable, Codable {
    var mediaType: String
    var digest: String
    var size: Int64
    var platform: Platform?
    var annotations: [String: String]?
    var urls: [String]?
}

/// A parsed manifest document: either an image manifest or an index (manifest list).
enum ManifestDocument: Sendable {
    case index(mediaType: String, manifests: [Descriptor])
    case manifest(mediaType: String, config: Descriptor, layers: [Descriptor])

    private struct Raw: Decodable {
        var schemaVersion: Int?
        var mediaType: String?
        var config: Descriptor?
        var layers: [Descriptor]?
        var manifests: [Descriptor]?
    }

    /// Parses `bytes`; `contentType` is the HTTP Content-Type (used when the document has no
    /// `mediaType` field, as OCI allows). Errors name `image` and `digest`.
    static func parse(_ bytes: [UInt8], contentType: String?, image: String, digest: String) throws(ImageStoreError) -> ManifestDocument {
        let raw: Raw
        do { raw = try JSONDecoder().decode(Raw.self, from: Data(bytes)) } catch {
            throw .invalidManifest(image: image, digest: digest, reason: "not a manifest JSON document: \(describe(error))")
        }
        let declared = raw.mediaType ?? contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        let mediaType: String
        if let declared, !declared.isEmpty, declared != "application/json", declared != "application/octet-stream" {
            mediaType = declared
        } else if raw.manifests != nil {
            mediaType = MediaType.ociIndex
        } else if raw.config != nil {
            mediaType = MediaType.ociManifest
        } else {
            throw .invalidManifest(image: image, digest: digest, reason: "neither \"manifests\" nor \"config\" present")
        }
        if raw.schemaVersion == 1 || mediaType.hasPrefix("application/vnd.docker.distribution.manifest.v1") {
            throw .unsupportedMediaType(image: image, digest: digest, mediaType: "\(mediaType) (Docker schema 1 is not supported)")
        }
        switch mediaType {
        case MediaType.ociIndex, MediaType.dockerManifestList:
            guard let manifests = raw.manifests else {
                throw .invalidManifest(image: image, digest: digest, reason: "index without \"manifests\"")
            }
            for (i, entry) in manifests.enumerated() where !ImageReference.isValidDigest(entry.digest) {
                throw .invalidManifest(image: image, digest: digest, reason: "manifests[\(i)].digest \"\(entry.digest)\" is not a digest")
            }
            return .index(mediaType: mediaType, manifests: manifests)
        case MediaType.ociManifest, MediaType.dockerManifest:
            guard let config = raw.config else {
                throw .invalidManifest(image: image, digest: digest, reason: "manifest without \"config\"")
            }
            guard ImageReference.isValidDigest(config.digest) else {
                throw .invalidManifest(image: image, digest: digest, reason: "config.digest \"\(config.digest)\" is not a digest")
            }
            guard MediaType.configs.contains(config.mediaType) else {
                throw .unsupportedMediaType(image: image, digest: config.digest, mediaType: config.mediaType)
            }
            let layers = raw.layers ?? []
            for (i, layer) in layers.enumerated() {
                guard ImageReference.isValidDigest(layer.digest) else {
                    throw .invalidManifest(image: image, digest: digest, reason: "layers[\(i)].digest \"\(layer.digest)\" is not a digest")
                }
                guard MediaType.layers.contains(layer.mediaType) else {
                    throw .unsupportedMediaType(image: image, digest: layer.digest, mediaType: layer.mediaType)
                }
                guard layer.size >= 0 else {
                    throw .invalidManifest(image: image, digest: digest, reason: "layers[\(i)].size is negative")
                }
            }
            return .manifest(mediaType: mediaType, config: config, layers: layers)
        default:
            throw .unsupportedMediaType(image: image, digest: digest, mediaType: mediaType)
        }
    }

    /// Picks the manifest for `platform` from an index: exact os/architecture (and variant if
    /// both name one); attestation manifests (`unknown/unknown`) are never chosen.
    static func select(_ manifests: [Descriptor], platform: Platform, image: String) throws(ImageStoreError) -> Descriptor {
        let candidates = manifests.filter {
            $0.mediaType == MediaType.ociManifest || $0.mediaType == MediaType.dockerManifest
        }
        let matching = candidates.filter { entry in
            guard let p = entry.platform else { return false }
            guard p.os == platform.os, p.architecture == platform.architecture else { return false }
            if let wanted = platform.variant, let variant = p.variant { return wanted == variant }
            return true
        }
        if let exact = matching.first(where: { $0.platform?.variant == platform.variant }) { return exact }
        if let first = matching.first { return first }
        // An index of one manifest without a platform (what some tools write) is that image.
        if candidates.count == 1, candidates[0].platform == nil { return candidates[0] }
        throw .noMatchingPlatform(image: image, platform: platform.description,
                                  available: manifests.map { $0.platform?.description ?? "(none)" })
    }
}

/// An OCI image config / Docker container image config.
struct ImageConfigDocument: Sendable {
    var imageConfig: ImageConfig
    var diffIDs: [String]
    var platform: Platform

    private struct Raw: Decodable {
        struct Config: Decodable {
            var User: String?
            var Env: [String]?
            var Entrypoint: [String]?
            var Cmd: [String]?
            var WorkingDir: String?
            var StopSignal: String?
            var Labels: [String: String]?
            var ExposedPorts: [String: AnyValue]?
            var Volumes: [String: AnyValue]?
        }
        struct RootFS: Decodable {
            var type: String?
            var diff_ids: [String]?
        }
        var architecture: String?
        var os: String?
        var variant: String?
        var config: Config?
        var rootfs: RootFS?
    }

    /// Accepts any JSON value (the `{}` of ExposedPorts/Volumes entries).
    private struct AnyValue: Decodable {
        init(from decoder: Decoder) throws {}
    }

    static func parse(_ bytes: [UInt8], image: String, digest: String) throws(ImageStoreError) -> ImageConfigDocument {
        let raw: Raw
        do { raw = try JSONDecoder().decode(Raw.self, from: Data(bytes)) } catch {
            throw .invalidManifest(image: image, digest: digest, reason: "image config is not valid: \(describe(error))")
        }
        guard let rootfs = raw.rootfs, let diffIDs = rootfs.diff_ids else {
            throw .invalidManifest(image: image, digest: digest, reason: "image config has no rootfs.diff_ids")
        }
        if let type = rootfs.type, type != "layers" {
            throw .invalidManifest(image: image, digest: digest, reason: "rootfs.type \"\(type)\" is not \"layers\"")
        }
        for (i, diffID) in diffIDs.enumerated() where !ImageReference.isValidDigest(diffID) || !diffID.hasPrefix("sha256:") {
            throw .invalidManifest(image: image, digest: digest, reason: "rootfs.diff_ids[\(i)] \"\(diffID)\" is not a sha256 digest")
        }
        let c = raw.config
        let os = raw.os ?? "linux"
        let architecture = raw.architecture ?? "amd64"
        let config = ImageConfig(
            user: c?.User.flatMap { $0.isEmpty ? nil : $0 }, env: c?.Env ?? [], entrypoint: c?.Entrypoint ?? [],
            cmd: c?.Cmd ?? [], workingDir: c?.WorkingDir.flatMap { $0.isEmpty ? nil : $0 },
            stopSignal: c?.StopSignal.flatMap { $0.isEmpty ? nil : $0 }, labels: c?.Labels ?? [:],
            exposedPorts: (c?.ExposedPorts.map { Array($0.keys) } ?? []).sorted(),
            volumes: (c?.Volumes.map { Array($0.keys) } ?? []).sorted(), architecture: architecture, os: os)
        return ImageConfigDocument(imageConfig: config, diffIDs: diffIDs,
                                   platform: Platform(os: os, architecture: architecture, variant: raw.variant))
    }
}

/// A short description of a decoding error (the coding path and what was wrong).
func describe(_ error: Error) -> String {
    switch error {
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
         DecodingError.dataCorrupted(let context):
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
    case DecodingError.keyNotFound(let key, let context):
        let path = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
        return "\(path): missing"
    default:
        return "\(error)"
    }
}
