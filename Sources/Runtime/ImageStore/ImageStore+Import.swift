#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import SystemCore

extension ImageStore {
    func importArchiveImpl(at path: String, tag: String?) async throws -> [Image] {
        let tagRef = try tag.map { try ImageReference.parse($0) }
        if let tagRef, tagRef.tag == nil {
            throw ImageStoreError.invalidArgument(field: "tag", reason: "\"\(tag ?? "")\" has no tag (name:tag)")
        }
        let gcLock = try await StoreLock.acquireAsync(layout.gcLockFile, shared: true)
        defer { withExtendedLifetime(gcLock) {} }
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ImageStoreError.invalidArchive(path: path, reason: errnoText())
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            return try await importDirectory(path, source: path, tag: tagRef)
        }
        // A tar (optionally compressed): extracted with the layer unpacker's rules into tmp/.
        let scratch = "\(layout.tmpDir)/import-\(UInt32.random(in: 0...UInt32.max))"
        try withContext("preparing import of \(path)") { () throws(SystemCallError) in
            try FileSystem.createDirectories(scratch, mode: 0o700)
        }
        defer { try? FileSystem.removeTree(scratch) }
        do {
            _ = try await NIOThreadPoolRunner.run {
                var options = LayerUnpacker.Options()
                options.preserveOwners = false
                return try LayerUnpacker.unpack(blobPath: path, into: scratch, options: options)
            }
        } catch let failure as LayerUnpacker.Failure {
            throw ImageStoreError.invalidArchive(path: path, reason: failure.reason)
        }
        return try await importDirectory(scratch, source: path, tag: tagRef)
    }

    private func importDirectory(_ dir: String, source: String, tag: ImageReference?) async throws -> [Image] {
        if FileSystem.exists("\(dir)/oci-layout") {
            return try await importOCILayout(dir, source: source, tag: tag)
        }
        if FileSystem.exists("\(dir)/manifest.json") {
            return try await importDockerArchive(dir, source: source, tag: tag)
        }
        throw ImageStoreError.invalidArchive(path: source, reason: "neither an OCI layout (oci-layout, index.json) nor a docker-archive (manifest.json)")
    }

    /// Reads a file of the archive by a relative path it names; refuses absolute paths, `..`
    /// and a final symlink.
    private func archiveFile(_ dir: String, _ relative: String, source: String, limit: Int = 64 << 20) throws -> [UInt8] {
        let parts: [String]
        do { parts = try TreeWriter.clean(relative, what: "path") } catch {
            throw ImageStoreError.invalidArchive(path: source, reason: error.reason)
        }
        let path = dir + "/" + parts.joined(separator: "/")
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ImageStoreError.invalidArchive(path: source, reason: "\(relative): \(errnoText())") }
        close(fd)
        let bytes = try withContext("reading \(relative) in \(source)") { () throws(SystemCallError) in try FileSystem.readBytes(path) }
        guard bytes.count <= limit else { throw ImageStoreError.invalidArchive(path: source, reason: "\(relative) is larger than \(limit) bytes") }
        return bytes
    }

    private func blobPath(_ dir: String, _ digest: String, source: String) throws -> String {
        guard ImageReference.isValidDigest(digest), digest.hasPrefix("sha256:") else {
            throw ImageStoreError.invalidArchive(path: source, reason: "\"\(digest)\" is not a sha256 digest")
        }
        return "\(dir)/blobs/sha256/\(StoreLayout.hex(digest))"
    }

    /// Copies a file into the store as blob `digest`, verifying it.
    private func copyBlob(from path: String, digest: String, size: Int64?, image: String, what: String) throws {
        if FileSystem.exists(layout.blob(digest)) { return }
        let lock = try withContext("locking blob \(digest)") { () throws(SystemCallError) in
            try StoreLock.acquire("\(layout.ingestDir)/\(StoreLayout.hex(digest)).lock")
        }
        defer { withExtendedLifetime(lock) {} }
        if FileSystem.exists(layout.blob(digest)) { return }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ImageStoreError.invalidLayer(image: image, layer: digest, reason: "\(what) missing from the archive: \(errnoText())") }
        defer { close(fd) }
        let writer = try withContext("storing \(what) \(digest) of \(image)") { () throws(SystemCallError) in
            try BlobWriter(layout: layout, digest: digest, size: size)
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if currentErrno() == EINTR { continue }
                throw ImageStoreError.invalidLayer(image: image, layer: digest, reason: "reading \(path): \(errnoText())")
            }
            if n == 0 { break }
            let result: Result<Void, BlobWriter.WriteError> = chunk.withUnsafeBytes { buffer in
                do throws(BlobWriter.WriteError) { try writer.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n])); return .success(()) }
                catch { return .failure(error) }
            }
            switch result {
            case .success: break
            case .failure(.tooLarge):
                throw ImageStoreError.digestMismatch(image: image, digest: digest, actual: "(more than \(size ?? 0) bytes)", what: what)
            case .failure(.system(let error)):
                throw ImageStoreError.system(context: "storing \(what) \(digest) of \(image)", error)
            }
        }
        let mismatch = try withContext("storing \(what) \(digest) of \(image)") { () throws(SystemCallError) in try writer.commit() }
        if let mismatch { throw ImageStoreError.digestMismatch(image: image, digest: digest, actual: mismatch, what: what) }
    }

    private func importOCILayout(_ dir: String, source: String, tag: ImageReference?) async throws -> [Image] {
        let indexBytes = try archiveFile(dir, "index.json", source: source)
        guard case .index(_, let entries) = try ManifestDocument.parse(indexBytes, contentType: MediaType.ociIndex, image: source, digest: "index.json") else {
            throw ImageStoreError.invalidArchive(path: source, reason: "index.json is not an image index")
        }
        guard !entries.isEmpty else { throw ImageStoreError.invalidArchive(path: source, reason: "index.json lists no manifests") }
        if tag != nil && entries.count > 1 {
            throw ImageStoreError.invalidArgument(field: "tag", reason: "the archive holds \(entries.count) images; --tag needs exactly one")
        }
        var images: [Image] = []
        for entry in entries {
            let annotations = entry.annotations ?? [:]
            var name: ImageReference? = tag
            if name == nil, let full = annotations["io.containerd.image.name"] ?? annotations["org.opencontainers.image.ref.name"],
               full.contains("/") || full.contains(".") && full.contains(":") {
                name = try? ImageReference.parse(full)
            }
            let label = name?.description ?? "\(source) (\(entry.digest))"
            var manifestDescriptor = entry
            var indexDigest: String?
            var extraBlobs: [Descriptor] = []
            if entry.mediaType == MediaType.ociIndex || entry.mediaType == MediaType.dockerManifestList {
                let bytes = try verifiedBlob(dir, entry.digest, source: source, image: label, what: "index")
                guard case .index(_, let manifests) = try ManifestDocument.parse(bytes, contentType: entry.mediaType, image: label, digest: entry.digest) else {
                    throw ImageStoreError.invalidManifest(image: label, digest: entry.digest, reason: "not an index")
                }
                manifestDescriptor = try ManifestDocument.select(manifests, platform: platform, image: label)
                indexDigest = entry.digest
                extraBlobs.append(entry)
            }
            let manifestBytes = try verifiedBlob(dir, manifestDescriptor.digest, source: source, image: label, what: "manifest")
            guard case .manifest(_, let configDescriptor, let layers) = try ManifestDocument.parse(
                manifestBytes, contentType: manifestDescriptor.mediaType, image: label, digest: manifestDescriptor.digest) else {
                throw ImageStoreError.invalidManifest(image: label, digest: manifestDescriptor.digest, reason: "not an image manifest")
            }
            let configBytes = try verifiedBlob(dir, configDescriptor.digest, source: source, image: label, what: "config")
            let config = try ImageConfigDocument.parse(configBytes, image: label, digest: configDescriptor.digest)
            guard config.diffIDs.count == layers.count else {
                throw ImageStoreError.invalidManifest(image: label, digest: manifestDescriptor.digest,
                                                      reason: "manifest lists \(layers.count) layers but the config has \(config.diffIDs.count) diff_ids")
            }
            for descriptor in extraBlobs + [manifestDescriptor, configDescriptor] {
                try copyBlob(from: try blobPath(dir, descriptor.digest, source: source), digest: descriptor.digest, size: descriptor.size, image: label, what: "blob")
            }
            var records: [LayerRecord] = []
            var size: UInt64 = 0
            for (i, layer) in layers.enumerated() {
                try copyBlob(from: try blobPath(dir, layer.digest, source: source), digest: layer.digest, size: layer.size, image: label, what: "layer")
                size += try await unpackLayer(digest: layer.digest, diffID: config.diffIDs[i], image: label)
                records.append(LayerRecord(digest: layer.digest, diffID: config.diffIDs[i], mediaType: layer.mediaType, size: UInt64(layer.size)))
            }
            let topDigest = indexDigest ?? manifestDescriptor.digest
            let image = Image(id: configDescriptor.digest, repoTags: name?.tagged.map { [$0] } ?? [],
                              repoDigests: name.map { ["\($0.name)@\(topDigest)"] } ?? [], size: size, pinned: false)
            let record = ImageRecord(image: image, manifestDigest: manifestDescriptor.digest, indexDigest: indexDigest,
                                     configDigest: configDescriptor.digest, layers: records, created: Int64(Date().timeIntervalSince1970))
            images.append(try commit(record))
            logger.info("imported image", metadata: ["image": "\(label)", "id": "\(image.id)"])
        }
        return images
    }

    private func verifiedBlob(_ dir: String, _ digest: String, source: String, image: String, what: String) throws -> [UInt8] {
        let path = try blobPath(dir, digest, source: source)
        let bytes = try archiveFile(dir, String(path.dropFirst(dir.count + 1)), source: source, limit: 16 << 20)
        let actual = sha256Digest(bytes)
        guard actual == digest else { throw ImageStoreError.digestMismatch(image: image, digest: digest, actual: actual, what: what) }
        return bytes
    }

    private struct DockerArchiveEntry: Decodable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    private func importDockerArchive(_ dir: String, source: String, tag: ImageReference?) async throws -> [Image] {
        let manifestBytes = try archiveFile(dir, "manifest.json", source: source)
        let entries: [DockerArchiveEntry]
        do { entries = try JSONDecoder().decode([DockerArchiveEntry].self, from: Data(manifestBytes)) } catch {
            throw ImageStoreError.invalidArchive(path: source, reason: "manifest.json: \(describe(error))")
        }
        guard !entries.isEmpty else { throw ImageStoreError.invalidArchive(path: source, reason: "manifest.json lists no images") }
        if tag != nil && entries.count > 1 {
            throw ImageStoreError.invalidArgument(field: "tag", reason: "the archive holds \(entries.count) images; --tag needs exactly one")
        }
        var images: [Image] = []
        for (n, entry) in entries.enumerated() {
            var names: [ImageReference] = []
            if let tag { names = [tag] } else {
                for text in entry.RepoTags ?? [] {
                    do { names.append(try ImageReference.parse(text)) } catch {
                        throw ImageStoreError.invalidArchive(path: source, reason: "manifest.json[\(n)].RepoTags: \(error)")
                    }
                }
            }
            let label = names.first?.description ?? "\(source) [\(n)]"
            let configBytes = try archiveFile(dir, entry.Config, source: source, limit: 16 << 20)
            let configDigest = sha256Digest(configBytes)
            let config = try ImageConfigDocument.parse(configBytes, image: label, digest: configDigest)
            guard config.diffIDs.count == entry.Layers.count else {
                throw ImageStoreError.invalidArchive(path: source, reason: "manifest.json[\(n)] lists \(entry.Layers.count) layers but the config has \(config.diffIDs.count) diff_ids")
            }
            try storeSmallBlob(configBytes, digest: configDigest, image: label)
            var layers: [Descriptor] = []
            var records: [LayerRecord] = []
            var size: UInt64 = 0
            for (i, relative) in entry.Layers.enumerated() {
                let parts: [String]
                do { parts = try TreeWriter.clean(relative, what: "manifest.json[\(n)].Layers[\(i)]") } catch {
                    throw ImageStoreError.invalidArchive(path: source, reason: error.reason)
                }
                let path = dir + "/" + parts.joined(separator: "/")
                // The layer's digest is its file's; uncompressed layers have digest == diffID.
                let (digest, length) = try hashFile(path, source: source, what: relative)
                let mediaType = digest == config.diffIDs[i] ? MediaType.ociLayer : MediaType.ociLayerGzip
                try copyBlob(from: path, digest: digest, size: length, image: label, what: "layer")
                size += try await unpackLayer(digest: digest, diffID: config.diffIDs[i], image: label)
                layers.append(Descriptor(mediaType: mediaType, digest: digest, size: length))
                records.append(LayerRecord(digest: digest, diffID: config.diffIDs[i], mediaType: mediaType, size: UInt64(length)))
            }
            // A manifest for the store's bookkeeping (docker-archive has none).
            struct Manifest: Encodable { var schemaVersion = 2; var mediaType = MediaType.ociManifest; var config: Descriptor; var layers: [Descriptor] }
            let manifest = JSON.encode(Manifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count)), layers: layers))
            let manifestDigest = sha256Digest(manifest)
            try storeSmallBlob(manifest, digest: manifestDigest, image: label)
            let image = Image(id: configDigest, repoTags: unique(names.compactMap(\.tagged)), repoDigests: [], size: size, pinned: false)
            let record = ImageRecord(image: image, manifestDigest: manifestDigest, indexDigest: nil, configDigest: configDigest,
                                     layers: records, created: Int64(Date().timeIntervalSince1970))
            images.append(try commit(record))
            logger.info("imported image", metadata: ["image": "\(label)", "id": "\(configDigest)"])
        }
        return images
    }

    private func hashFile(_ path: String, source: String, what: String) throws -> (String, Int64) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ImageStoreError.invalidArchive(path: source, reason: "\(what): \(errnoText())") }
        defer { close(fd) }
        var hasher = SHA256Hasher()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if currentErrno() == EINTR { continue }
                throw ImageStoreError.invalidArchive(path: source, reason: "\(what): \(errnoText())")
            }
            if n == 0 { break }
            chunk.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += Int64(n)
        }
        return (hasher.finalize(), total)
    }
}
