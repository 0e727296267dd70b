import CRIProto
import Foundation
import Logging

/// Image GC settings: start above `highPercent` of the image filesystem used, free down to
/// `lowPercent`; images first seen less than `minAge` seconds ago stay.
public struct ImageGCPolicy: Sendable, Hashable {
    public var highPercent: Int
    public var lowPercent: Int
    public var minAge: Double

    public init(highPercent: Int, lowPercent: Int, minAge: Double) {
        self.highPercent = highPercent
        self.lowPercent = lowPercent
        self.minAge = minAge
    }

    public init(config: KubeletConfiguration) {
        self.init(highPercent: Int(config.imageGCHighThresholdPercent), lowPercent: Int(config.imageGCLowThresholdPercent),
                  minAge: config.imageMinimumGCAge.seconds)
    }

    /// Bytes to free, or nil when usage is below the high threshold (upstream:
    /// `usage% = 100 - available*100/capacity`; free `capacity*(100-low)/100 - available`).
    public func bytesToFree(capacity: Int64, available: Int64) -> Int64? {
        guard capacity > 0, highPercent < 100 else { return nil }
        let usagePercent = 100 - Int(available * 100 / capacity)
        guard usagePercent >= highPercent else { return nil }
        let amount = capacity * Int64(100 - lowPercent) / 100 - available
        return amount > 0 ? amount : nil
    }
}

/// One image as the kubelet tracks it (upstream's imageRecord).
public struct ImageRecord: Sendable, Hashable {
    public var id: String
    public var size: Int64
    public var tags: [String]
    public var digests: [String]
    public var pinned: Bool
    /// When this kubelet first saw the image (seconds since the epoch).
    public var firstDetected: Double
    /// When a container last used it (0: never seen in use).
    public var lastUsed: Double

    public init(id: String, size: Int64, tags: [String] = [], digests: [String] = [], pinned: Bool = false,
                firstDetected: Double, lastUsed: Double = 0) {
        self.id = id
        self.size = size
        self.tags = tags
        self.digests = digests
        self.pinned = pinned
        self.firstDetected = firstDetected
        self.lastUsed = lastUsed
    }

    /// True when `reference` (an image ID, tag, digest reference, or a short name a tag was
    /// normalised from) names this image.
    public func matches(_ reference: String) -> Bool {
        if reference.isEmpty { return false }
        if reference == id || tags.contains(reference) || digests.contains(reference) { return true }
        return tags.contains { ImageRecord.normalized($0) == ImageRecord.normalized(reference) }
    }

    /// `busybox` → `docker.io/library/busybox:latest`, like the runtimes normalise references.
    static func normalized(_ reference: String) -> String {
        var name = reference
        let lastPart = name.split(separator: "/").last.map(String.init) ?? name
        if !name.contains("@") && !lastPart.contains(":") { name += ":latest" }
        let first = name.split(separator: "/", maxSplits: 1).first.map(String.init) ?? name
        let hasRegistry = name.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost")
        if !hasRegistry {
            name = name.contains("/") ? "docker.io/" + name : "docker.io/library/" + name
        }
        return name
    }
}

/// Which images to delete, like upstream's `freeSpace`: unused (no container of any state
/// refers to them), not pinned or protected, first seen at least minAge ago; least recently used
/// first (then first detected); stop once enough bytes are freed.
public enum ImageGC {
    public static func imagesToDelete(_ records: [ImageRecord], inUse: (ImageRecord) -> Bool, bytesToFree: Int64,
                                      minAge: Double, now: Double) -> [ImageRecord] {
        let candidates = records.filter { !$0.pinned && !inUse($0) && now - $0.firstDetected >= minAge }
            .sorted { ($0.lastUsed, $0.firstDetected, $0.id) < ($1.lastUsed, $1.firstDetected, $1.id) }
        var chosen: [ImageRecord] = []
        var freed: Int64 = 0
        for image in candidates {
            if freed >= bytesToFree { break }
            chosen.append(image)
            freed += image.size
        }
        return chosen
    }
}

/// Runs image GC against the runtime. Owns the image records (first detected / last used), which
/// live in memory like upstream's: a restarted kubelet starts the minimum age over.
public actor ImageCollector {
    let cri: CRIClient
    let policy: ImageGCPolicy
    let protectedImages: [String]
    let logger: Logger
    private var records: [String: ImageRecord] = [:]

    public init(cri: CRIClient, policy: ImageGCPolicy, protectedImages: [String], logger: Logger) {
        self.cri = cri
        self.policy = policy
        self.protectedImages = protectedImages.filter { !$0.isEmpty }
        self.logger = logger
    }

    public struct Outcome: Sendable, Equatable {
        public var usedPercent: Int = 0
        public var wanted: Int64 = 0
        public var freed: Int64 = 0
        public var deleted: [String] = []
    }

    /// Refreshes the records: new images are first detected now; images a container refers to
    /// are used now. Returns the references in use.
    func detect(now: Double) async throws -> [String] {
        let images = try await cri.listImages()
        var inUse: [String] = []
        for c in try await cri.listContainers() {
            inUse.append(c.imageRef)
            inUse.append(c.image.image)
        }
        var next: [String: ImageRecord] = [:]
        for image in images {
            var record = records[image.id] ?? ImageRecord(id: image.id, size: 0, firstDetected: now)
            record.size = Int64(clamping: image.size)
            record.tags = image.repoTags
            record.digests = image.repoDigests
            record.pinned = image.pinned || protectedImages.contains { record.matches($0) }
            if inUse.contains(where: { record.matches($0) }) { record.lastUsed = now }
            next[image.id] = record
        }
        records = next
        return inUse
    }

    /// The image filesystem's capacity and available bytes (statfs of the runtime's image
    /// filesystem mountpoint, as cAdvisor measures it upstream).
    func filesystem() async throws -> (capacity: Int64, available: Int64, mountpoint: String) {
        guard let fs = try await cri.imageFilesystems().first, !fs.fsID.mountpoint.isEmpty else {
            throw ImageGCError.noImageFilesystem
        }
        let mountpoint = fs.fsID.mountpoint
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfFileSystem(forPath: mountpoint) } catch {
            throw ImageGCError.statfs(mountpoint, "\(error)")
        }
        let capacity = (attributes[.systemSize] as? NSNumber)?.int64Value ?? 0
        let available = (attributes[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
        return (capacity, available, mountpoint)
    }

    public func collect(now: Double = Date().timeIntervalSince1970) async throws -> Outcome {
        let inUse = try await detect(now: now)
        let fs = try await filesystem()
        var outcome = Outcome()
        outcome.usedPercent = fs.capacity > 0 ? 100 - Int(fs.available * 100 / fs.capacity) : 0
        guard let wanted = policy.bytesToFree(capacity: fs.capacity, available: fs.available) else { return outcome }
        outcome.wanted = wanted
        logger.info("image GC: image filesystem above the high threshold", metadata: [
            "mountpoint": "\(fs.mountpoint)", "used_percent": "\(outcome.usedPercent)",
            "high_threshold_percent": "\(policy.highPercent)", "bytes_to_free": "\(wanted)"])
        let doomed = ImageGC.imagesToDelete(Array(records.values), inUse: { record in inUse.contains { record.matches($0) } },
                                            bytesToFree: wanted, minAge: policy.minAge, now: now)
        for image in doomed {
            do {
                try await cri.removeImage(image.id)
            } catch {
                logger.warning("image GC: remove failed", metadata: ["image": "\(image.id)", "error": "\(error)"])
                continue
            }
            records[image.id] = nil
            outcome.freed += image.size
            outcome.deleted.append(image.id)
            logger.info("image GC: removed unused image", metadata: [
                "image": "\(image.id)", "tags": "\(image.tags.joined(separator: ","))", "size": "\(image.size)"])
        }
        if outcome.freed < wanted {
            logger.warning("image GC: freed less than wanted", metadata: [
                "wanted": "\(wanted)", "freed": "\(outcome.freed)",
                "reason": "only \(outcome.freed) bytes were eligible (unused, unpinned, older than imageMinimumGCAge)"])
        } else {
            logger.info("image GC: done", metadata: ["freed": "\(outcome.freed)", "images": "\(outcome.deleted.count)"])
        }
        return outcome
    }
}

public enum ImageGCError: Error, CustomStringConvertible {
    case noImageFilesystem
    case statfs(String, String)
    public var description: String {
        switch self {
        case .noImageFilesystem: return "the runtime reports no image filesystem (ImageFsInfo)"
        case .statfs(let path, let why): return "cannot stat the image filesystem at \(path): \(why)"
        }
    }
}
