#if canImport(Glibc)
import Glibc
#endif
import CArchive
import Crypto
import Foundation
import Testing
@testable import ImageStore

/// Builds tar files with libarchive (the tests' own writer, not the code under test).
struct TarBuilder {
    enum Kind { case file(String, mode: mode_t = 0o644), dir(mode: mode_t = 0o755), symlink(String), hardlink(String), char(UInt32, UInt32) }
    var entries: [(String, Kind)] = []

    mutating func add(_ path: String, _ kind: Kind) { entries.append((path, kind)) }

    enum Compression { case none, gzip, zstd }

    func write(to path: String, compression: Compression = .none) throws {
        guard let a = archive_write_new() else { throw Failure("archive_write_new") }
        defer { archive_write_free(a) }
        archive_write_set_format_pax_restricted(a)
        switch compression {
        case .none: break
        case .gzip: archive_write_add_filter_gzip(a)
        case .zstd: archive_write_add_filter_zstd(a)
        }
        guard archive_write_open_filename(a, path) == ARCHIVE_OK else { throw Failure(String(cString: archive_error_string(a))) }
        for (name, kind) in entries {
            guard let entry = archive_entry_new() else { throw Failure("archive_entry_new") }
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, name)
            archive_entry_set_mtime(entry, 1_700_000_000, 0)
            var data: [UInt8] = []
            switch kind {
            case .file(let text, let mode):
                data = Array(text.utf8)
                archive_entry_set_filetype(entry, UInt32(0o100000))
                archive_entry_set_perm(entry, mode)
                archive_entry_set_size(entry, la_int64_t(data.count))
            case .dir(let mode):
                archive_entry_set_filetype(entry, UInt32(0o040000))
                archive_entry_set_perm(entry, mode)
            case .symlink(let target):
                archive_entry_set_filetype(entry, UInt32(0o120000))
                archive_entry_set_perm(entry, 0o777)
                archive_entry_set_symlink(entry, target)
            case .hardlink(let target):
                archive_entry_set_filetype(entry, UInt32(0o100000))
                archive_entry_set_perm(entry, 0o644)
                archive_entry_set_hardlink(entry, target)
            case .char(let major, let minor):
                archive_entry_set_filetype(entry, UInt32(0o020000))
                archive_entry_set_perm(entry, 0o666)
                archive_entry_set_rdevmajor(entry, dev_t(major))
                archive_entry_set_rdevminor(entry, dev_t(minor))
            }
            guard archive_write_header(a, entry) == ARCHIVE_OK else { throw Failure(String(cString: archive_error_string(a))) }
            if !data.isEmpty { _ = data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) } }
        }
        archive_write_close(a)
    }

    struct Failure: Error { var message: String; init(_ m: String) { message = m } }
}

/// A temporary directory with `layer/` (the unpack target) and `outside/` (must stay empty).
final class Scratch {
    let path: String
    var layer: String { "\(path)/layer" }
    var outside: String { "\(path)/outside" }

    init() throws {
        var template = Array("/tmp/swiftlet-unpack-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TarBuilder.Failure("mkdtemp") }
        path = String(cString: made)
        mkdir(layer, 0o755)
        mkdir(outside, 0o755)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func unpack(_ tar: TarBuilder, compression: TarBuilder.Compression = .none, expectedDiffID: String? = nil) throws -> LayerUnpacker.Result {
        let blob = "\(path)/blob"
        unlink(blob)
        try tar.write(to: blob, compression: compression)
        var options = LayerUnpacker.Options()
        options.preserveOwners = false
        options.expectedDiffID = expectedDiffID
        return try LayerUnpacker.unpack(blobPath: blob, into: layer, options: options)
    }

    func failure(_ tar: TarBuilder, compression: TarBuilder.Compression = .none) -> String {
        do {
            _ = try unpack(tar, compression: compression)
            return "(no failure)"
        } catch let failure as LayerUnpacker.Failure {
            return failure.reason
        } catch {
            return "\(error)"
        }
    }

    var outsideIsEmpty: Bool { ((try? FileManager.default.contentsOfDirectory(atPath: outside)) ?? ["?"]).isEmpty }
}

func fileDigest(_ path: String) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return "sha256:" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

@Suite struct LayerUnpackerTests {
    var sample: TarBuilder {
        var tar = TarBuilder()
        tar.add("./etc/", .dir())
        tar.add("./etc/config", .file("key=value\n", mode: 0o640))
        tar.add("bin", .dir(mode: 0o711))
        tar.add("bin/tool", .file("#!/bin/sh\n", mode: 0o755))
        tar.add("bin/alias", .symlink("/bin/tool"))
        tar.add("bin/same", .hardlink("bin/tool"))
        tar.add("deep/er/file", .file("implicit parents\n"))
        return tar
    }

    @Test(arguments: [TarBuilder.Compression.none, .gzip, .zstd])
    func unpacksFilesDirsLinksAndModes(compression: TarBuilder.Compression) throws {
        let scratch = try Scratch()
        let result = try scratch.unpack(sample, compression: compression)
        #expect(result.entries == 7)
        #expect(try String(contentsOfFile: "\(scratch.layer)/etc/config", encoding: .utf8) == "key=value\n")
        var st = stat()
        lstat("\(scratch.layer)/etc/config", &st)
        #expect(st.st_mode & 0o7777 == 0o640)
        lstat("\(scratch.layer)/bin", &st)
        #expect(st.st_mode & 0o7777 == 0o711)
        #expect(st.st_mtim.tv_sec == 1_700_000_000)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(scratch.layer)/bin/alias") == "/bin/tool")
        var a = stat(), b = stat()
        lstat("\(scratch.layer)/bin/tool", &a)
        lstat("\(scratch.layer)/bin/same", &b)
        #expect(a.st_ino == b.st_ino && a.st_nlink == 2)
        #expect(try String(contentsOfFile: "\(scratch.layer)/deep/er/file", encoding: .utf8) == "implicit parents\n")
        #expect(result.size == UInt64("key=value\n".utf8.count + "#!/bin/sh\n".utf8.count + "implicit parents\n".utf8.count))
    }

    @Test func diffIDIsTheDigestOfTheUncompressedTar() throws {
        let scratch = try Scratch()
        try sample.write(to: "\(scratch.path)/plain.tar")
        let expected = try fileDigest("\(scratch.path)/plain.tar")
        #expect(try scratch.unpack(sample, compression: .gzip).diffID == expected)
        let other = try Scratch()
        #expect(try other.unpack(sample, compression: .zstd, expectedDiffID: expected).diffID == expected)
        let third = try Scratch()
        let wrong = "sha256:" + String(repeating: "0", count: 64)
        #expect(throws: LayerUnpacker.Failure.self) { try third.unpack(sample, expectedDiffID: wrong) }
    }

    @Test func refusesAbsolutePaths() throws {
        let scratch = try Scratch()
        var tar = TarBuilder()
        tar.add("\(scratch.outside)/evil", .file("x"))
        #expect(scratch.failure(tar).contains("is an absolute path"))
        #expect(scratch.outsideIsEmpty)
    }

    @Test func refusesDotDot() throws {
        let scratch = try Scratch()
        var tar = TarBuilder()
        tar.add("a/../../outside/evil", .file("x"))
        #expect(scratch.failure(tar).contains("contains \"..\""))
        #expect(scratch.outsideIsEmpty)
    }

    @Test func refusesWritingThroughASymlink() throws {
        let scratch = try Scratch()
        var tar = TarBuilder()
        tar.add("escape", .symlink(scratch.outside))
        tar.add("escape/evil", .file("owned"))
        #expect(scratch.failure(tar).contains("\"escape\", which is a symlink"))
        let relative = try Scratch()
        var tar2 = TarBuilder()
        tar2.add("up", .symlink("../outside"))
        tar2.add("up/evil", .file("owned"))
        #expect(relative.failure(tar2).contains("which is a symlink"))
        #expect(scratch.outsideIsEmpty && relative.outsideIsEmpty)
    }

    @Test func refusesHardlinksOutOfTheLayer() throws {
        let scratch = try Scratch()
        var tar = TarBuilder()
        tar.add("h", .hardlink("../outside/x"))
        #expect(scratch.failure(tar).contains("contains \"..\""))
        var tar2 = TarBuilder()
        tar2.add("link", .symlink(scratch.outside))
        tar2.add("h", .hardlink("link/target"))
        #expect(try Scratch().failure(tar2).contains("symlink"))
    }

    @Test func refusesDeviceNodesOutsideDev() throws {
        let scratch = try Scratch()
        var tar = TarBuilder()
        tar.add("usr/disk", .char(8, 0))
        #expect(scratch.failure(tar).contains("device node outside dev/"))
    }

    @Test func truncatedAndCorruptStreams() throws {
        let scratch = try Scratch()
        var big = TarBuilder()
        big.add("data", .file(String(repeating: "0123456789abcdef", count: 20000)))
        try big.write(to: "\(scratch.path)/whole.tgz", compression: .gzip)
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(scratch.path)/whole.tgz"))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: "\(scratch.path)/half.tgz"))
        let reason: String
        do {
            _ = try LayerUnpacker.unpack(blobPath: "\(scratch.path)/half.tgz", into: scratch.layer, options: .init(preserveOwners: false))
            reason = "(no failure)"
        } catch { reason = error.reason }
        #expect(reason.lowercased().contains("truncated"), "\(reason)")

        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: "\(scratch.path)/noise"))
        #expect(throws: LayerUnpacker.Failure.self) {
            try LayerUnpacker.unpack(blobPath: "\(scratch.path)/noise", into: scratch.layer, options: .init(preserveOwners: false))
        }
        FileManager.default.createFile(atPath: "\(scratch.path)/empty", contents: Data())
        #expect(throws: LayerUnpacker.Failure.self) {
            try LayerUnpacker.unpack(blobPath: "\(scratch.path)/empty", into: scratch.layer, options: .init(preserveOwners: false))
        }
    }

    @Test(.enabled(if: geteuid() == 0, "whiteouts are character devices: root only"))
    func whiteoutsBecomeOverlayWhiteouts() throws {
        let scratch = try Scratch()
        var tar = TarBuilder()
        tar.add("etc", .dir())
        tar.add("etc/.wh.passwd", .file(""))
        tar.add("var", .dir())
        tar.add("var/.wh..wh..opq", .file(""))
        _ = try scratch.unpack(tar)
        var st = stat()
        #expect(lstat("\(scratch.layer)/etc/passwd", &st) == 0)
        #expect((st.st_mode & 0o170000) == 0o020000 && st.st_rdev == 0)
        #expect(lstat("\(scratch.layer)/etc/.wh.passwd", &st) != 0)
        #expect(XAttr.get(path: "\(scratch.layer)/var", name: "trusted.overlay.opaque") == "y")
    }
}
