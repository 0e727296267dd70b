#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import SystemCore

extension ImageStore {
    /// How many layers download (and unpack) at once.
    static let parallelLayers = 3

    func pull(_ ref: ImageReference, credentials: RegistryCredentials?) async throws -> Image {
        let gcLock = try await StoreLock.acquireAsync(layout.gcLockFile, shared: true)
        defer { withExtendedLifetime(gcLock) {} }
        let started = DispatchTime.now()
        logger.info("pulling image", metadata: ["image": "\(ref)"])
        let endpoints = registries.endpoints(for: ref.registry)
        var lastError: ImageStoreError?
        for (index, endpoint) in endpoints.enumerated() {
            let given = credentials.flatMap { $0.isEmpty ? nil : $0 }
            let session = RegistrySession(
                http: http, endpoint: endpoint, repository: ref.repository, image: ref.description,
                credentials: given ?? registries.host(endpoint.isMirror ? endpoint.host : ref.registry).credentials,
                timeoutSeconds: registries.timeoutSeconds, logger: logger)
            do {
                let image = try await pull(ref, via: session)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                logger.info("pulled image", metadata: ["image": "\(ref)", "id": "\(image.id)", "seconds": "\(String(format: "%.2f", seconds))"])
                return image
            } catch let error as ImageStoreError {
                // A mirror that fails to serve the image hands over to the next endpoint; content
                // errors (bad digests, unsafe layers) are final.
                guard index < endpoints.count - 1, error.isEndpointFailure else { throw error }
                logger.warning("endpoint failed, trying the next", metadata: ["endpoint": "\(endpoint.base)", "error": "\(error)"])
                lastError = error
            }
        }
        throw lastError ?? ImageStoreError.invalidArgument(field: "registries", reason: "no endpoint for \(ref.registry)")
    }

    private func pull(_ ref: ImageReference, via session: RegistrySession) async throws -> Image {
        let name = ref.description
        let (topBytes, topType) = try await fetchManifest(ref.digest ?? ref.tag ?? "latest", session: session)
        let topDigest = sha256Digest(topBytes)
        if let wanted = ref.digest, wanted != topDigest {
            throw ImageStoreError.digestMismatch(image: name, digest: wanted, actual: topDigest, what: "manifest")
        }
        var document = try ManifestDocument.parse(topBytes, contentType: topType, image: name, digest: topDigest)
        var manifestDigest = topDigest
        var indexDigest: String?
        var blobsToStore: [(bytes: [UInt8], digest: String)] = [(topBytes, topDigest)]
        if case .index(_, let manifests) = document {
            let chosen = try ManifestDocument.select(manifests, platform: platform, image: name)
            logger.info("selected manifest from index", metadata: ["image": "\(name)", "platform": "\(platform)", "manifest": "\(chosen.digest)"])
            let (bytes, type) = try await fetchManifest(chosen.digest, session: session)
            let actual = sha256Digest(bytes)
            guard actual == chosen.digest else {
                throw ImageStoreError.digestMismatch(image: name, digest: chosen.digest, actual: actual, what: "manifest")
            }
            document = try ManifestDocument.parse(bytes, contentType: type ?? chosen.mediaType, image: name, digest: actual)
            if case .index = document {
                throw ImageStoreError.invalidManifest(image: name, digest: actual, reason: "an index inside an index is not supported")
            }
            indexDigest = topDigest
            manifestDigest = actual
            blobsToStore.append((bytes, actual))
        }
        guard case .manifest(_, let configDescriptor, let layers) = document else {
            throw ImageStoreError.invalidManifest(image: name, digest: manifestDigest, reason: "not an image manifest")
        }

        // The config: small, read into memory, verified, parsed before any layer is fetched.
        let configBytes = try await fetchSmallBlob(configDescriptor, session: session, what: "config")
        let config = try ImageConfigDocument.parse(configBytes, image: name, digest: configDescriptor.digest)
        guard config.diffIDs.count == layers.count else {
            throw ImageStoreError.invalidManifest(
                image: name, digest: manifestDigest,
                reason: "manifest lists \(layers.count) layers but the config has \(config.diffIDs.count) diff_ids")
        }
        for (bytes, digest) in blobsToStore + [(configBytes, configDescriptor.digest)] {
            try storeSmallBlob(bytes, digest: digest, image: name)
        }

        // Layers: fetched and unpacked a few at a time, each blob once.
        let records = try await withThrowingTaskGroup(of: (Int, LayerRecord, UInt64).self) { group in
            var results: [(Int, LayerRecord, UInt64)] = []
            var next = 0
            func launch(_ i: Int) {
                let layer = layers[i]
                let diffID = config.diffIDs[i]
                group.addTask {
                    try await self.fetchBlob(layer, session: session, image: name, index: i, count: layers.count)
                    let size = try await self.unpackLayer(digest: layer.digest, diffID: diffID, image: name)
                    return (i, LayerRecord(digest: layer.digest, diffID: diffID, mediaType: layer.mediaType, size: UInt64(layer.size)), size)
                }
            }
            while next < min(Self.parallelLayers, layers.count) { launch(next); next += 1 }
            while let result = try await group.next() {
                results.append(result)
                if next < layers.count { launch(next); next += 1 }
            }
            return results.sorted { $0.0 < $1.0 }
        }

        let repoDigest = "\(ref.name)@\(topDigest)"
        let image = Image(id: configDescriptor.digest, repoTags: ref.tagged.map { [$0] } ?? [], repoDigests: [repoDigest],
                          size: records.reduce(0) { $0 + $1.2 }, pinned: false)
        let record = ImageRecord(image: image, manifestDigest: manifestDigest, indexDigest: indexDigest,
                                 configDigest: configDescriptor.digest, layers: records.map(\.1),
                                 created: Int64(Date().timeIntervalSince1970))
        return try commit(record)
    }

    /// GET a manifest by tag or digest.
    private func fetchManifest(_ reference: String, session: RegistrySession) async throws -> ([UInt8], String?) {
        let response = try await session.get("manifests/\(reference)", accept: MediaType.acceptedManifests)
        let url = await session.url("manifests/\(reference)")
        try await checkStatus(response, session: session, url: url, what: "manifest \(reference)")
        let bytes = try await session.collect(response, limit: 4 << 20, url: url)
        return (bytes, response.headers.first(name: "Content-Type"))
    }

    /// Maps a non-200 answer to the error the caller can act on.
    private func checkStatus(_ response: HTTPClientResponse, session: RegistrySession, url: String, what: String) async throws {
        guard response.status != .ok else { return }
        let message = await session.errorMessage(response)
        if response.status == .notFound {
            throw ImageStoreError.manifestNotFound(image: session.image, reason: "\(what): \(message)")
        }
        throw ImageStoreError.registry(image: session.image, url: url, status: Int(response.status.code), reason: message)
    }

    private func fetchSmallBlob(_ descriptor: Descriptor, session: RegistrySession, what: String) async throws -> [UInt8] {
        if let stored = try? FileSystem.readBytes(layout.blob(descriptor.digest)), sha256Digest(stored) == descriptor.digest {
            return stored
        }
        guard descriptor.size <= 16 << 20 else {
            throw ImageStoreError.invalidManifest(image: session.image, digest: descriptor.digest, reason: "\(what) larger than 16 MiB")
        }
        let response = try await session.get("blobs/\(descriptor.digest)")
        let url = await session.url("blobs/\(descriptor.digest)")
        try await checkStatus(response, session: session, url: url, what: "\(what) \(descriptor.digest)")
        let bytes = try await session.collect(response, limit: 16 << 20, url: url)
        let actual = sha256Digest(bytes)
        guard actual == descriptor.digest else {
            throw ImageStoreError.digestMismatch(image: session.image, digest: descriptor.digest, actual: actual, what: what)
        }
        return bytes
    }

    func storeSmallBlob(_ bytes: [UInt8], digest: String, image: String) throws {
        let mismatch = try withContext("storing blob \(digest) of \(image)") { () throws(SystemCallError) in
            try BlobWriter.store(bytes, digest: digest, layout: layout)
        }
        if let mismatch { throw ImageStoreError.digestMismatch(image: image, digest: digest, actual: mismatch, what: "blob") }
    }

    /// Makes sure the layer blob is in `blobs/`, downloading it at most once across concurrent
    /// pulls (in-process: one task per digest; across processes: a lock file per digest).
    private func fetchBlob(_ layer: Descriptor, session: RegistrySession, image: String, index: Int, count: Int) async throws {
        if blobPresent(layer) { return }
        try await inFlight.run(layer.digest) {
            let hex = StoreLayout.hex(layer.digest)
            let lock = try await StoreLock.acquireAsync("\(self.layout.ingestDir)/\(hex).lock")
            defer { withExtendedLifetime(lock) {} }
            if self.blobPresent(layer) { return }
            try await self.download(layer, session: session, image: image, index: index, count: count)
        }
    }

    private func blobPresent(_ descriptor: Descriptor) -> Bool {
        var st = stat()
        return stat(layout.blob(descriptor.digest), &st) == 0 && Int64(st.st_size) == descriptor.size
    }

    private func download(_ layer: Descriptor, session: RegistrySession, image: String, index: Int, count: Int) async throws {
        let url = await session.url("blobs/\(layer.digest)")
        let started = DispatchTime.now()
        logger.info("fetching layer", metadata: ["image": "\(image)", "layer": "\(layer.digest)", "n": "\(index + 1)/\(count)", "bytes": "\(layer.size)"])
        let response = try await session.get("blobs/\(layer.digest)", streaming: true)
        try await checkStatus(response, session: session, url: url, what: "layer \(layer.digest)")
        let writer = try withContext("storing layer \(layer.digest) of \(image)") { () throws(SystemCallError) in
            try BlobWriter(layout: layout, digest: layer.digest, size: layer.size)
        }
        var lastReport = started.uptimeNanoseconds
        do {
            for try await buffer in response.body {
                let result: Result<Void, BlobWriter.WriteError> = buffer.withUnsafeReadableBytes { bytes in
                    do throws(BlobWriter.WriteError) { try writer.write(bytes); return .success(()) } catch { return .failure(error) }
                }
                switch result {
                case .success: break
                case .failure(.tooLarge):
                    throw ImageStoreError.digestMismatch(image: image, digest: layer.digest, actual: "(more than \(layer.size) bytes)", what: "layer")
                case .failure(.system(let error)):
                    throw ImageStoreError.system(context: "storing layer \(layer.digest) of \(image)", error)
                }
                let now = DispatchTime.now().uptimeNanoseconds
                if now - lastReport > 1_000_000_000 {
                    lastReport = now
                    let percent = layer.size > 0 ? writer.written * 100 / layer.size : 100
                    logger.info("progress", metadata: ["layer": "\(layer.digest.prefix(19))", "bytes": "\(writer.written)/\(layer.size)", "percent": "\(percent)"])
                }
            }
        } catch let error as ImageStoreError {
            throw error
        } catch {
            throw await session.networkError(error, url: url)
        }
        let mismatch = try withContext("storing layer \(layer.digest) of \(image)") { () throws(SystemCallError) in try writer.commit() }
        if let mismatch {
            throw ImageStoreError.digestMismatch(image: image, digest: layer.digest, actual: mismatch, what: "layer")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        logger.info("fetched layer", metadata: ["layer": "\(layer.digest)", "bytes": "\(writer.written)", "seconds": "\(String(format: "%.2f", seconds))"])
    }

    /// Unpacks a stored layer blob into `layers/<diffID>` unless already there; returns its
    /// unpacked size. A layer that fails leaves no directory and its blob is deleted.
    func unpackLayer(digest: String, diffID: String, image: String) async throws -> UInt64 {
        let hex = StoreLayout.hex(diffID)
        if let size = unpackedSize(diffID) { return size }
        let lock = try await StoreLock.acquireAsync("\(layout.ingestDir)/\(hex).unpack.lock")
        defer { withExtendedLifetime(lock) {} }
        if let size = unpackedSize(diffID) { return size }
        let staging = "\(layout.tmpDir)/unpack-\(hex.prefix(16))-\(UInt32.random(in: 0...UInt32.max))"
        try withContext("preparing to unpack layer \(digest) of \(image)") { () throws(SystemCallError) in
            try FileSystem.createDirectories("\(staging)/fs", mode: 0o755)
        }
        let blob = layout.blob(digest)
        let started = DispatchTime.now()
        let result: LayerUnpacker.Result
        do {
            result = try await NIOThreadPool.singleton.runIfActive {
                var options = LayerUnpacker.Options()
                options.expectedDiffID = diffID
                return try LayerUnpacker.unpack(blobPath: blob, into: "\(staging)/fs", options: options)
            }
        } catch {
            try? FileSystem.removeTree(staging)
            unlink(blob)
            let reason = (error as? LayerUnpacker.Failure)?.reason ?? "\(error)"
            throw ImageStoreError.invalidLayer(image: image, layer: digest, reason: reason)
        }
        let meta = UnpackedLayer(diffID: diffID, size: result.size, entries: result.entries)
        try withContext("storing unpacked layer \(digest) of \(image)") { () throws(SystemCallError) in
            try FileSystem.writeAtomically("\(staging)/layer.json", JSON.encode(meta), durable: false)
            let target = layout.layer(diffID)
            _ = try sys("rename", target) { rename(staging, target) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        logger.info("unpacked layer", metadata: ["layer": "\(digest)", "entries": "\(result.entries)", "bytes": "\(result.size)",
                                                  "seconds": "\(String(format: "%.2f", seconds))"])
        return result.size
    }

    func unpackedSize(_ diffID: String) -> UInt64? {
        guard let bytes = try? FileSystem.readBytes(layout.layerMeta(diffID)),
              let meta = JSON.decode(UnpackedLayer.self, from: bytes) else { return nil }
        return meta.size
    }
}

extension ImageStoreError {
    /// Failures of one endpoint that another endpoint (the next mirror, the upstream) may not have.
    var isEndpointFailure: Bool {
        switch self {
        case .manifestNotFound, .unauthorized, .registry, .network: return true
        default: return false
        }
    }
}
