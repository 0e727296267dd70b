import Foundation
import SystemCore

/// What the store keeps about one image: `root/images/<config hex>.json`. Owned by `ImageStore`;
/// written atomically under `root/lock`.
struct ImageRecord: Codable, Sendable {
    var image: Image
    /// The image manifest (the platform's manifest when pulled through an index).
    var manifestDigest: String
    /// The index / manifest list the manifest was selected from, if any.
    var indexDigest: String?
    var configDigest: String
    var layers: [LayerRecord]
    /// Seconds since the epoch when first stored.
    var created: Int64

    /// Every blob this image keeps alive.
    var blobDigests: [String] {
        var result = [manifestDigest, configDigest] + layers.map(\.digest)
        if let indexDigest { result.append(indexDigest) }
        return result
    }
}

/// One layer of an image: the blob as stored (compressed or not) and its unpacked directory.
struct LayerRecord: Codable, Sendable, Hashable {
    var digest: String
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry); names the directory.
    var diffID: String
    var mediaType: String
    var size: UInt64
}

/// Facts about an unpacked layer: `root/layers/<diffID hex>/layer.json`.
struct UnpackedLayer: Codable, Sendable {
    var diffID: String
    /// Bytes of regular-file content.
    var size: UInt64
    var entries: Int
}

/// What the store keeps about one snapshot: `root/snapshots/<name>/snapshot.json`.
struct SnapshotRecord: Codable, Sendable {
    var key: String
    var imageID: String
    var readOnly: Bool
    /// diffIDs, bottom layer first.
    var layers: [String]
}

/// Paths inside the store's root directory (the on-disk layout in docs/images.md).
struct StoreLayout: Sendable {
    let root: String

    var lockFile: String { "\(root)/lock" }
    var gcLockFile: String { "\(root)/gc.lock" }
    var blobsDir: String { "\(root)/blobs/sha256" }
    var ingestDir: String { "\(root)/ingest" }
    var imagesDir: String { "\(root)/images" }
    var layersDir: String { "\(root)/layers" }
    var snapshotsDir: String { "\(root)/snapshots" }
    var tmpDir: String { "\(root)/tmp" }
    var emptyDir: String { "\(root)/empty" }

    static func hex(_ digest: String) -> String {
        digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
    }

    func blob(_ digest: String) -> String { "\(blobsDir)/\(Self.hex(digest))" }
    func image(_ id: String) -> String { "\(imagesDir)/\(Self.hex(id)).json" }
    func layer(_ diffID: String) -> String { "\(layersDir)/\(Self.hex(diffID))" }
    func layerFS(_ diffID: String) -> String { "\(layer(diffID))/fs" }
    func layerMeta(_ diffID: String) -> String { "\(layer(diffID))/layer.json" }

    func createAll() throws(SystemCallError) {
        for dir in [blobsDir, ingestDir, imagesDir, layersDir, snapshotsDir, tmpDir, emptyDir] {
            try FileSystem.createDirectories(dir, mode: 0o700)
        }
    }
}

enum JSON {
    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(value))) ?? []
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> T? {
        try? JSONDecoder().decode(type, from: Data(bytes))
    }
}
