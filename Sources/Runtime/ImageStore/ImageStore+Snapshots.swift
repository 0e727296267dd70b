#if canImport(Glibc)
import Glibc
#endif
import Crypto
import SystemCore

extension ImageStore {
    /// The directory name of a snapshot: the key itself when it is a plain name, else its hash.
    func snapshotDirectory(_ key: String) -> String {
        let plain = !key.isEmpty && key.count <= 128 && !key.hasPrefix(".")
            && key.utf8.allSatisfy { ImageReference.isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
        let name = plain ? key : "h-" + StoreLayout.hex(sha256Digest(Array(key.utf8))).prefix(40)
        return "\(layout.snapshotsDir)/\(name)"
    }

    func prepareSnapshotImpl(key: String, image: Image, readOnly: Bool) throws -> Snapshot {
        guard !key.isEmpty, key.utf8.count <= 1024 else {
            throw ImageStoreError.invalidArgument(field: "key", reason: "must be 1 to 1024 bytes")
        }
        return try withMetadataLock { () throws(ImageStoreError) -> Snapshot in
            guard let record = try record(image.id) else { throw .imageNotFound(image.id) }
            let dir = snapshotDirectory(key)
            if let existing = try? FileSystem.readBytes("\(dir)/snapshot.json"), JSON.decode(SnapshotRecord.self, from: existing) != nil {
                throw .snapshotExists(key: key)
            }
            // A directory without snapshot.json is a half-created snapshot: clear it first.
            try removeSnapshotDirectory(dir)
            let lowers = record.layers.reversed().map { layout.layerFS($0.diffID) }
            for layer in record.layers where !FileSystem.isDirectory(layout.layerFS(layer.diffID)) {
                throw .invalidLayer(image: image.repoTags.first ?? image.id, layer: layer.digest,
                                    reason: "unpacked directory \(layout.layerFS(layer.diffID)) is missing; pull the image again")
            }
            let rootfs = "\(dir)/rootfs"
            do throws(ImageStoreError) {
                try withContext("preparing snapshot \(key)") { () throws(SystemCallError) in
                    try FileSystem.createDirectories(rootfs, mode: 0o755)
                    if readOnly {
                        // overlayfs needs two lowers without an upper directory.
                        let stack = lowers.count == 1 ? lowers + [layout.emptyDir] : lowers
                        try Mounts.mountOverlay(lowers: stack.isEmpty ? [layout.emptyDir, layout.emptyDir] : stack,
                                                upper: nil, work: nil, target: rootfs, readOnly: true)
                    } else {
                        try FileSystem.createDirectories("\(dir)/upper", mode: 0o755)
                        try FileSystem.createDirectories("\(dir)/work", mode: 0o700)
                        try Mounts.mountOverlay(lowers: lowers.isEmpty ? [layout.emptyDir] : lowers,
                                                upper: "\(dir)/upper", work: "\(dir)/work", target: rootfs, readOnly: false)
                    }
                    let meta = SnapshotRecord(key: key, imageID: record.image.id, readOnly: readOnly,
                                              layers: record.layers.map(\.diffID))
                    try FileSystem.writeAtomically("\(dir)/snapshot.json", JSON.encode(meta), mode: 0o600)
                }
            } catch {
                try? removeSnapshotDirectory(dir)
                throw error
            }
            logger.info("prepared snapshot", metadata: ["key": "\(key)", "image": "\(record.image.id)", "rootfs": "\(rootfs)"])
            return Snapshot(key: key, rootfs: rootfs, readOnly: readOnly, imageID: record.image.id)
        }
    }

    func removeSnapshotImpl(key: String) throws {
        try withMetadataLock { () throws(ImageStoreError) in
            try removeSnapshotDirectory(snapshotDirectory(key))
        }
    }

    /// Unmounts and deletes one snapshot directory (absent is fine). Never descends into a mount.
    func removeSnapshotDirectory(_ dir: String) throws(ImageStoreError) {
        guard FileSystem.exists(dir) else { return }
        try withContext("removing snapshot \(dir)") { () throws(SystemCallError) in
            let rootfs = "\(dir)/rootfs"
            try Mounts.unmount(rootfs)
            if Mounts.isOverlayMount(rootfs) { throw SystemCallError("umount2", rootfs, errno: .resourceBusy) }
            // snapshot.json goes first so a crash midway leaves a half snapshot that GC removes.
            if unlink("\(dir)/snapshot.json") != 0 && currentErrno() != ENOENT {
                throw SystemCallError("unlink", "\(dir)/snapshot.json", errno: .init(rawValue: currentErrno()))
            }
            try FileSystem.removeTree(dir)
        }
    }

    /// Every snapshot record with its directory.
    func snapshotRecords() throws(ImageStoreError) -> [(dir: String, record: SnapshotRecord?)] {
        let names = try withContext("listing snapshots") { () throws(SystemCallError) in try FileSystem.listDirectory(layout.snapshotsDir) }
        return names.sorted().map { name in
            let dir = "\(layout.snapshotsDir)/\(name)"
            let record = (try? FileSystem.readBytes("\(dir)/snapshot.json")).flatMap { JSON.decode(SnapshotRecord.self, from: $0) }
            return (dir, record)
        }
    }

    func snapshotsImpl() throws -> [Snapshot] {
        try withMetadataLock { () throws(ImageStoreError) -> [Snapshot] in
            var result: [Snapshot] = []
            for (dir, record) in try snapshotRecords() {
                guard let record else { continue }
                let rootfs = "\(dir)/rootfs"
                if !Mounts.isOverlayMount(rootfs) {
                    try remount(record, dir: dir)
                }
                result.append(Snapshot(key: record.key, rootfs: rootfs, readOnly: record.readOnly, imageID: record.imageID))
            }
            return result
        }
    }

    /// Mounts a snapshot again after its mount went away (a reboot, or someone unmounted it).
    func remount(_ record: SnapshotRecord, dir: String) throws(ImageStoreError) {
        let lowers = record.layers.reversed().map { layout.layerFS($0) }
        try withContext("remounting snapshot \(record.key)") { () throws(SystemCallError) in
            let rootfs = "\(dir)/rootfs"
            try FileSystem.createDirectories(rootfs, mode: 0o755)
            if record.readOnly {
                let stack = lowers.count == 1 ? lowers + [layout.emptyDir] : lowers
                try Mounts.mountOverlay(lowers: stack.isEmpty ? [layout.emptyDir, layout.emptyDir] : stack,
                                        upper: nil, work: nil, target: rootfs, readOnly: true)
            } else {
                try Mounts.mountOverlay(lowers: lowers.isEmpty ? [layout.emptyDir] : lowers,
                                        upper: "\(dir)/upper", work: "\(dir)/work", target: rootfs, readOnly: false)
            }
        }
        logger.info("remounted snapshot", metadata: ["key": "\(record.key)"])
    }
}
