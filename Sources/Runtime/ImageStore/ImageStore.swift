#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import SystemCore

/// The image store: pulls from registries, imports archives, keeps blobs by digest, unpacks each
/// layer once into an overlayfs lower directory and mounts one overlayfs snapshot per container.
///
/// Safe to use from many tasks at once and from several processes over time (CLI and daemon): the
/// on-disk state is guarded by file locks and every metadata file is written atomically. The
/// on-disk layout is documented in `docs/images.md`.
///
/// ```swift
/// let store = try ImageStore(root: "/var/lib/swiftlet/images", registries: .empty, logger: logger)
/// let image = try await store.pull("busybox", credentials: nil)
/// let snapshot = try store.prepareSnapshot(key: containerID, image: image, readOnly: false)
/// // … run the container with root.path = snapshot.rootfs …
/// try store.removeSnapshot(key: containerID)
/// ```
public final class ImageStore: Sendable {
    /// The store's root directory.
    public let root: String
    public let registries: RegistryConfiguration
    let logger: Logger
    let layout: StoreLayout
    let http: HTTPClient
    let inFlight = InFlightBlobs()
    /// The platform pulled from an index (always linux/amd64 here).
    let platform = Platform(os: "linux", architecture: "amd64", variant: nil)

    /// Opens (creating if needed) the store at `root`.
    public init(root: String = "/var/lib/swiftlet/images", registries: RegistryConfiguration, logger: Logger) throws {
        guard root.hasPrefix("/") else { throw ImageStoreError.invalidArgument(field: "root", reason: "must be an absolute path") }
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
        self.registries = registries
        self.logger = logger
        let layout = StoreLayout(root: trimmed)
        self.layout = layout
        try withContext("creating image store at \(trimmed)") { () throws(SystemCallError) in try layout.createAll() }
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(Int64(registries.timeoutSeconds)),
                                      read: .seconds(Int64(registries.timeoutSeconds)))
        configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
        configuration.decompression = .disabled
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit {
        try? http.syncShutdown()
    }

    // MARK: Images

    /// Pulls `reference` (normalized: `busybox` is `docker.io/library/busybox:latest`) with
    /// `credentials` (or those of the registry configuration), verifying every digest, and
    /// unpacks its layers. Blobs already present are not fetched again; concurrent pulls of one
    /// image fetch each blob once. Progress goes to the logger.
    public func pull(_ reference: String, credentials: RegistryCredentials?) async throws -> Image {
        let ref = try ImageReference.parse(reference)
        return try await pull(ref, credentials: credentials)
    }

    /// Imports an OCI image layout (directory or tar) or a docker-archive tar (what
    /// `skopeo copy … docker-archive:` and `docker save` / `podman save` write). `tag` names the
    /// image when the archive holds exactly one image (it overrides names in the archive).
    public func importArchive(at path: String, tag: String?) async throws -> [Image] {
        try await importArchiveImpl(at: path, tag: tag)
    }

    /// Every image, sorted by first tag (then ID).
    public func list() throws -> [Image] {
        try records().map(\.image).sorted { ($0.repoTags.first ?? "~" + $0.id) < ($1.repoTags.first ?? "~" + $1.id) }
    }

    /// The image named by a tag (`busybox`, normalized), a repo digest (`name@sha256:…`), a full
    /// ID (`sha256:…` or 64 hex digits) or a unique ID prefix; nil if none.
    public func image(_ referenceOrID: String) throws -> Image? {
        try record(referenceOrID)?.image
    }

    /// The container defaults of `image` (from its config blob).
    public func config(of image: Image) throws -> ImageConfig {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readBytes(layout.blob(image.id)) } catch {
            if error.errno == .noSuchFileOrDirectory { throw ImageStoreError.imageNotFound(image.id) }
            throw ImageStoreError.system(context: "reading config of \(image.id)", error)
        }
        return try ImageConfigDocument.parse(bytes, image: image.repoTags.first ?? image.id, digest: image.id).imageConfig
    }

    /// Removes the image named by `referenceOrID` (all its tags) and frees blobs and layers no
    /// other image or snapshot uses. Removing an absent image is not an error.
    public func remove(_ referenceOrID: String) throws {
        try withMetadataLock { () throws(ImageStoreError) in
            guard let record = try record(referenceOrID) else { return }
            try withContext("removing image \(record.image.id)") { () throws(SystemCallError) in
                _ = try sys("unlink", layout.image(record.image.id)) { unlink(layout.image(record.image.id)) }
            }
            logger.info("removed image", metadata: ["image": "\(record.image.id)", "tags": "\(record.image.repoTags)"])
        }
        _ = try collectGarbage(wait: false)
    }

    /// Sets or clears `pinned` on an image (the CRI pins the sandbox image).
    public func setPinned(_ referenceOrID: String, _ pinned: Bool) throws {
        try withMetadataLock { () throws(ImageStoreError) in
            guard var record = try record(referenceOrID) else { throw .imageNotFound(referenceOrID) }
            record.image.pinned = pinned
            try write(record)
        }
    }

    // MARK: Snapshots

    /// Mounts an overlayfs of `image`'s layers at a new snapshot's rootfs (writable unless
    /// `readOnly`). The snapshot survives restarts of the process; `removeSnapshot` ends it.
    public func prepareSnapshot(key: String, image: Image, readOnly: Bool) throws -> Snapshot {
        try prepareSnapshotImpl(key: key, image: image, readOnly: readOnly)
    }

    /// Unmounts and deletes a snapshot (its writable layer too). An absent key is not an error.
    public func removeSnapshot(key: String) throws {
        try removeSnapshotImpl(key: key)
    }

    /// Every prepared snapshot; one whose mount is gone (after a reboot) is mounted again.
    public func snapshots() throws -> [Snapshot] {
        try snapshotsImpl()
    }

    /// Disk use of the store's root.
    public func usage() throws -> FilesystemUsage {
        try usageImpl()
    }

    /// Removes blobs no image references, unpacked layers no image or snapshot uses, stale partial
    /// downloads and half-created snapshots. Waits for running pulls and imports to finish.
    public func garbageCollect() throws -> (removedBlobs: Int, removedSnapshots: Int, freedBytes: UInt64) {
        try collectGarbage(wait: true)
    }

    // MARK: Records

    /// Every image record on disk (unreadable files are skipped with a warning).
    func records() throws(ImageStoreError) -> [ImageRecord] {
        let names = try withContext("listing images") { () throws(SystemCallError) in try FileSystem.listDirectory(layout.imagesDir) }
        var result: [ImageRecord] = []
        for name in names where name.hasSuffix(".json") {
            let path = "\(layout.imagesDir)/\(name)"
            guard let bytes = try? FileSystem.readBytes(path), let record = JSON.decode(ImageRecord.self, from: bytes) else {
                logger.warning("skipping unreadable image record", metadata: ["path": "\(path)"])
                continue
            }
            result.append(record)
        }
        return result
    }

    /// The record matching a tag, repo digest, ID or ID prefix.
    func record(_ query: String) throws(ImageStoreError) -> ImageRecord? {
        let all = try records()
        let lowered = query.lowercased()
        let hex = lowered.hasPrefix("sha256:") ? String(lowered.dropFirst(7)) : lowered
        // IDs: "sha256:<hex>", 64 hex digits, or a unique prefix of at least 3 digits.
        if !hex.isEmpty, hex.utf8.allSatisfy(ImageReference.isLowerHex) {
            if hex.count == 64 { return all.first { StoreLayout.hex($0.image.id) == hex } }
            if lowered.hasPrefix("sha256:") || hex.count >= 3 {
                let matches = all.filter { StoreLayout.hex($0.image.id).hasPrefix(hex) }
                if matches.count == 1 { return matches[0] }
                if matches.count > 1 { throw .invalidArgument(field: "image", reason: "ID prefix \"\(query)\" is ambiguous") }
            }
        }
        let ref: ImageReference
        do { ref = try ImageReference.parse(query) } catch {
            if lowered.hasPrefix("sha256:") { return nil }
            throw error
        }
        if let digested = ref.digested {
            return all.first { $0.image.repoDigests.contains(digested) }
        }
        guard let tagged = ref.tagged else { return nil }
        return all.first { $0.image.repoTags.contains(tagged) }
    }

    func write(_ record: ImageRecord) throws(ImageStoreError) {
        try withContext("writing image record \(record.image.id)") { () throws(SystemCallError) in
            try FileSystem.writeAtomically(layout.image(record.image.id), JSON.encode(record), mode: 0o600)
        }
    }

    /// Stores `record`, merging tags and digests with an existing record of the same ID and
    /// moving tags away from other images. Returns the stored image.
    func commit(_ record: ImageRecord) throws(ImageStoreError) -> Image {
        try withMetadataLock { () throws(ImageStoreError) -> Image in
            var merged = record
            let all = try records()
            if let existing = all.first(where: { $0.image.id == record.image.id }) {
                merged.image.repoTags = unique(existing.image.repoTags + record.image.repoTags)
                merged.image.repoDigests = unique(existing.image.repoDigests + record.image.repoDigests)
                merged.image.pinned = existing.image.pinned || record.image.pinned
                merged.created = existing.created
            }
            for var other in all where other.image.id != record.image.id {
                let kept = other.image.repoTags.filter { !record.image.repoTags.contains($0) }
                if kept != other.image.repoTags {
                    other.image.repoTags = kept
                    try write(other)
                }
            }
            try write(merged)
            return merged.image
        }
    }

    func withMetadataLock<T>(_ body: () throws(ImageStoreError) -> T) throws(ImageStoreError) -> T {
        let lock = try withContext("locking image store") { () throws(SystemCallError) in try StoreLock.acquire(layout.lockFile) }
        defer { withExtendedLifetime(lock) {} }
        return try body()
    }
}

func unique(_ items: [String]) -> [String] {
    var seen = Set<String>()
    return items.filter { seen.insert($0).inserted }
}

func sha256Digest(_ bytes: [UInt8]) -> String {
    "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

extension SHA256Digest {
    var digestString: String { "sha256:" + self.map { String(format: "%02x", $0) }.joined() }
}
