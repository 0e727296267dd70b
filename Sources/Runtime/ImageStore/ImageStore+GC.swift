#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemCore

extension ImageStore {
    /// Garbage collection. With `wait: false` (after `remove`) it skips the pass when a pull or
    /// import is running instead of waiting for it.
    func collectGarbage(wait: Bool) throws(ImageStoreError) -> (removedBlobs: Int, removedSnapshots: Int, freedBytes: UInt64) {
        let gcLock: StoreLock
        do {
            if wait {
                gcLock = try StoreLock.acquire(layout.gcLockFile)
            } else if let lock = try StoreLock.tryAcquire(layout.gcLockFile) {
                gcLock = lock
            } else {
                logger.debug("garbage collection skipped: a pull or import is running")
                return (0, 0, 0)
            }
        } catch {
            throw .system(context: "locking image store for garbage collection", error)
        }
        defer { withExtendedLifetime(gcLock) {} }
        return try withMetadataLock { () throws(ImageStoreError) in
            var freed: UInt64 = 0
            var removedBlobs = 0
            var removedSnapshots = 0
            let records = try records()
            let snapshots = try snapshotRecords()

            // Half-created snapshots (no snapshot.json): unmount and delete.
            for (dir, record) in snapshots where record == nil {
                try removeSnapshotDirectory(dir)
                removedSnapshots += 1
            }

            // Unpacked layers no image and no snapshot uses.
            var liveLayers = Set(records.flatMap { $0.layers.map { StoreLayout.hex($0.diffID) } })
            for case (_, let record?) in snapshots { liveLayers.formUnion(record.layers.map(StoreLayout.hex)) }
            for name in try listNames(layout.layersDir) where !liveLayers.contains(name) {
                let path = "\(layout.layersDir)/\(name)"
                freed += treeSize(path)
                try removePath(path)
                removedSnapshots += 1
            }

            // Blobs no image references.
            let liveBlobs = Set(records.flatMap { $0.blobDigests.map(StoreLayout.hex) })
            for name in try listNames(layout.blobsDir) where !liveBlobs.contains(name) {
                let path = "\(layout.blobsDir)/\(name)"
                freed += treeSize(path)
                try removePath(path)
                removedBlobs += 1
            }

            // Partial downloads and scratch directories: nothing is running (we hold gc.lock).
            for dir in [layout.ingestDir, layout.tmpDir] {
                for name in try listNames(dir) {
                    let path = "\(dir)/\(name)"
                    freed += treeSize(path)
                    try removePath(path)
                }
            }
            if removedBlobs + removedSnapshots > 0 {
                logger.info("garbage collected", metadata: ["blobs": "\(removedBlobs)", "layers": "\(removedSnapshots)", "freedBytes": "\(freed)"])
            }
            return (removedBlobs, removedSnapshots, freed)
        }
    }

    private func listNames(_ dir: String) throws(ImageStoreError) -> [String] {
        try withContext("listing \(dir)") { () throws(SystemCallError) in try FileSystem.listDirectory(dir) }
    }

    private func removePath(_ path: String) throws(ImageStoreError) {
        try withContext("removing \(path)") { () throws(SystemCallError) in try FileSystem.removeTree(path) }
    }

    func usageImpl() throws -> FilesystemUsage {
        var seen = Set<UInt64>()
        var bytes: UInt64 = 0
        var inodes: UInt64 = 0
        walk(root, device: nil) { st in
            inodes += 1
            if st.st_nlink > 1 && !seen.insert(UInt64(st.st_ino)).inserted { return }
            bytes += UInt64(st.st_blocks) * 512
        }
        let now = Date().timeIntervalSince1970
        return FilesystemUsage(mountpoint: root, usedBytes: bytes, inodesUsed: inodes, timestamp: Int64(now * 1_000_000_000))
    }

    /// Sum of st_blocks × 512 under `path`, on its own device only.
    func treeSize(_ path: String) -> UInt64 {
        var bytes: UInt64 = 0
        walk(path, device: nil) { bytes += UInt64($0.st_blocks) * 512 }
        return bytes
    }

    /// Visits `path` and everything below it without following symlinks or crossing mounts.
    func walk(_ path: String, device: UInt64?, _ visit: (stat) -> Void) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if let device, UInt64(st.st_dev) != device { return }
        visit(st)
        guard (st.st_mode & S_IFMT) == S_IFDIR, let names = try? FileSystem.listDirectory(path) else { return }
        for name in names { walk("\(path)/\(name)", device: UInt64(st.st_dev), visit) }
    }
}
