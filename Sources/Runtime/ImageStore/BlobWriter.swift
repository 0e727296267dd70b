#if canImport(Glibc)
import Glibc
#endif
import Crypto
import SystemCore

/// Writes one blob into `ingest/` while hashing it, then verifies size and digest and renames it
/// into `blobs/sha256/`. A failed or mismatching write deletes the partial file: partial
/// downloads are not kept (a new pull starts the blob again).
final class BlobWriter {
    let partialPath: String
    let finalPath: String
    let expectedDigest: String
    let expectedSize: Int64?
    private(set) var written: Int64 = 0
    private var hasher = SHA256()
    private var fd: Int32

    init(layout: StoreLayout, digest: String, size: Int64?) throws(SystemCallError) {
        let hex = StoreLayout.hex(digest)
        partialPath = "\(layout.ingestDir)/\(hex).partial"
        finalPath = layout.blob(digest)
        expectedDigest = digest
        expectedSize = size
        let path = partialPath
        fd = try sys("open", path) { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(partialPath)
        }
    }

    enum WriteError: Error { case tooLarge, system(SystemCallError) }

    func write(_ bytes: UnsafeRawBufferPointer) throws(WriteError) {
        if let expectedSize, written + Int64(bytes.count) > expectedSize { throw .tooLarge }
        hasher.update(bufferPointer: bytes)
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if currentErrno() == EINTR { continue }
                throw .system(SystemCallError("write", partialPath, errno: .init(rawValue: currentErrno())))
            }
            done += n
        }
        written += Int64(bytes.count)
    }

    /// Verifies and moves the blob into place. Returns the actual digest on mismatch (nothing is
    /// stored then), nil on success.
    func commit() throws(SystemCallError) -> String? {
        let actual = hasher.finalize().digestString
        let path = partialPath
        close(fd)
        fd = -1
        guard actual == expectedDigest, expectedSize == nil || expectedSize == written else {
            unlink(path)
            return actual == expectedDigest ? "\(actual) (\(written) bytes, manifest says \(expectedSize ?? 0))" : actual
        }
        let target = finalPath
        _ = try sys("rename", target) { rename(path, target) }
        return nil
    }

    /// Stores small in-memory content (a manifest, a config) after checking its digest.
    static func store(_ bytes: [UInt8], digest: String, layout: StoreLayout) throws(SystemCallError) -> String? {
        if FileSystem.exists(layout.blob(digest)) { return sha256Digest(bytes) == digest ? nil : sha256Digest(bytes) }
        let writer = try BlobWriter(layout: layout, digest: digest, size: Int64(bytes.count))
        let result: Result<Void, WriteError> = bytes.withUnsafeBytes { buffer in
            do throws(WriteError) { try writer.write(buffer); return .success(()) } catch { return .failure(error) }
        }
        if case .failure(let error) = result {
            if case .system(let e) = error { throw e }
            return "(more than \(bytes.count) bytes)"
        }
        return try writer.commit()
    }
}

/// SHA-256 over a stream of buffers, giving `sha256:<hex>`.
struct SHA256Hasher {
    private var hasher = SHA256()
    mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    func finalize() -> String { hasher.finalize().digestString }
}
