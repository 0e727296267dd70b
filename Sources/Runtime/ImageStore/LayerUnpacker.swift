#if canImport(Glibc)
import Glibc
#endif
import CArchive
import Crypto
import SystemCore

/// Unpacks one layer blob (tar, tar+gzip, tar+zstd: libarchive detects the compression) into a
/// directory that becomes an overlayfs lower directory, verifying the uncompressed stream's digest
/// (the diffID) in the same pass.
///
/// Safety: every entry path is cleaned (`./` dropped) and refused when absolute or containing
/// `..`; parents are opened one component at a time with `O_NOFOLLOW | O_DIRECTORY` from the
/// layer's own directory fd, so an entry can never be written through a symlink or outside the
/// directory; hardlink targets obey the same rules; device nodes are accepted only under `dev/`.
/// OCI whiteouts become overlayfs whiteouts (`.wh.x` → char device 0/0 `x`; `.wh..wh..opq` →
/// `trusted.overlay.opaque=y` on the directory).
struct LayerUnpacker {
    struct Options: Sendable {
        /// chown entries to their tar uid/gid (needs root; off for unprivileged unit tests).
        var preserveOwners = geteuid() == 0
        /// Accept character/block devices anywhere (default: only under `dev/`).
        var devicesOutsideDev = false
        /// Check the uncompressed stream against this diffID (`sha256:…`), if given.
        var expectedDiffID: String?
    }

    struct Result: Sendable {
        var diffID: String
        var size: UInt64
        var entries: Int
    }

    /// Why a layer could not be unpacked (the caller adds image and layer names).
    struct Failure: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Unpacks the blob at `blobPath` into the existing, empty directory `target`.
    static func unpack(blobPath: String, into target: String, options: Options = Options()) throws(Failure) -> Result {
        let source = DecompressedStream()
        guard let raw = source.archive else { throw Failure(reason: "libarchive: out of memory") }
        archive_read_support_filter_all(raw)
        archive_read_support_format_raw(raw)
        archive_read_support_format_empty(raw)
        if archive_read_open_filename(raw, blobPath, 1 << 20) != ARCHIVE_OK {
            throw Failure(reason: "cannot open blob: \(errorString(raw))")
        }
        var rawEntry: OpaquePointer?
        let header = archive_read_next_header(raw, &rawEntry)
        if header == ARCHIVE_EOF {
            throw Failure(reason: "empty blob is not a tar archive")
        } else if header != ARCHIVE_OK && header != ARCHIVE_WARN {
            throw Failure(reason: "cannot decompress: \(errorString(raw))")
        }

        let dirfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard dirfd >= 0 else { throw Failure(reason: "cannot open \(target): \(errnoText())") }
        let writer = TreeWriter(root: target, rootfd: dirfd, options: options)
        defer { writer.close() }

        guard let tar = archive_read_new() else { throw Failure(reason: "libarchive: out of memory") }
        defer { archive_read_free(tar) }
        archive_read_support_format_tar(tar)
        archive_read_support_format_empty(tar)
        let context = Unmanaged.passUnretained(source).toOpaque()
        guard archive_read_open(tar, context, nil, readCallback, nil) == ARCHIVE_OK else {
            throw Failure(reason: source.failure ?? "not a tar archive: \(errorString(tar))")
        }
        var entries = 0
        var size: UInt64 = 0
        while true {
            var entry: OpaquePointer?
            let status = archive_read_next_header(tar, &entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw Failure(reason: source.failure ?? "corrupt or truncated tar: \(errorString(tar))")
            }
            entries += 1
            do {
                size += try writer.write(entry: entry, from: tar)
            } catch let failure as Failure {
                throw Failure(reason: source.failure ?? failure.reason)
            } catch {
                throw Failure(reason: "\(error)")
            }
        }
        try writer.finish()
        // The tar reader stops at the end-of-archive marker; hash whatever padding follows.
        try source.drain()
        let diffID = source.hasher.finalize().digestString
        if let expected = options.expectedDiffID, expected != diffID {
            throw Failure(reason: "uncompressed content hashes to \(diffID), config says diffID \(expected)")
        }
        return Result(diffID: diffID, size: size, entries: entries)
    }

    static func errorString(_ archive: OpaquePointer?) -> String {
        guard let archive, let text = archive_error_string(archive) else { return "unknown libarchive error" }
        return String(cString: text)
    }
}

/// The decompressing reader that feeds the tar reader, hashing every byte it hands over.
private final class DecompressedStream {
    let archive: OpaquePointer? = archive_read_new()
    var hasher = SHA256()
    var failure: String?

    deinit { if let archive { archive_read_free(archive) } }

    /// Next block of uncompressed bytes; empty at the end. Sets `failure` on error.
    func next() -> UnsafeRawBufferPointer? {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        let status = archive_read_data_block(archive, &buffer, &size, &offset)
        if status == ARCHIVE_EOF { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
            failure = "corrupt or truncated compressed stream: \(LayerUnpacker.errorString(archive))"
            return nil
        }
        let block = UnsafeRawBufferPointer(start: buffer, count: size)
        hasher.update(bufferPointer: block)
        return block
    }

    func drain() throws(LayerUnpacker.Failure) {
        while true {
            guard let block = next() else { throw LayerUnpacker.Failure(reason: failure ?? "read error") }
            if block.count == 0 { return }
        }
    }
}

private let readCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> la_ssize_t = { _, context, out in
    guard let context, let out else { return -1 }
    let source = Unmanaged<DecompressedStream>.fromOpaque(context).takeUnretainedValue()
    guard let block = source.next() else { return -1 }
    out.pointee = block.baseAddress
    return la_ssize_t(block.count)
}
