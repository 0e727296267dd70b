import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// gzip compression through the system's zlib (libz.so.1, loaded at first use: KubeletCore has no
/// zlib module dependency). Writes `<path>.tmp`, renames it to `<path>.gz`, then removes `path`,
/// like the upstream kubelet's rotated-log compression.
public enum Gzip {
    public enum Failure: Error, CustomStringConvertible {
        case zlibUnavailable(String)
        case io(String)
        public var description: String {
            switch self {
            case .zlibUnavailable(let why): return "zlib unavailable: \(why)"
            case .io(let why): return why
            }
        }
    }

    struct ZLib: @unchecked Sendable {
        typealias Open = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>) -> OpaquePointer?
        typealias Write = @convention(c) (OpaquePointer, UnsafeRawPointer, UInt32) -> Int32
        typealias Close = @convention(c) (OpaquePointer) -> Int32
        let open: Open
        let write: Write
        let close: Close
    }

    static let zlib: Result<ZLib, Failure> = {
        guard let handle = dlopen("libz.so.1", RTLD_NOW) else {
            return .failure(.zlibUnavailable(String(cString: dlerror())))
        }
        guard let open = dlsym(handle, "gzopen"), let write = dlsym(handle, "gzwrite"), let close = dlsym(handle, "gzclose") else {
            return .failure(.zlibUnavailable("gzopen/gzwrite/gzclose not found"))
        }
        return .success(ZLib(open: unsafeBitCast(open, to: ZLib.Open.self), write: unsafeBitCast(write, to: ZLib.Write.self),
                             close: unsafeBitCast(close, to: ZLib.Close.self)))
    }()

    /// Compresses `path` into `path.gz` and removes `path`; returns the new path.
    @discardableResult
    public static func compressFile(_ path: String) throws(Failure) -> String {
        let z = try zlib.get()
        let temporary = path + ".tmp"
        let target = path + ".gz"
        guard let input = FileHandle(forReadingAtPath: path) else { throw .io("cannot open \(path)") }
        defer { try? input.close() }
        guard let file = z.open(temporary, "wb6") else { throw .io("gzopen \(temporary) failed") }
        var failed: String?
        while failed == nil {
            let chunk: Data
            do { chunk = try input.read(upToCount: 1 << 16) ?? Data() } catch {
                failed = "read \(path): \(error)"
                break
            }
            if chunk.isEmpty { break }
            let written = chunk.withUnsafeBytes { buffer -> Int32 in
                guard let base = buffer.baseAddress else { return 0 }
                return z.write(file, base, UInt32(buffer.count))
            }
            if written != Int32(chunk.count) { failed = "gzwrite \(temporary) failed" }
        }
        if z.close(file) != 0, failed == nil { failed = "gzclose \(temporary) failed" }
        if let failed {
            try? FileManager.default.removeItem(atPath: temporary)
            throw .io(failed)
        }
        do {
            if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
            try FileManager.default.moveItem(atPath: temporary, toPath: target)
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw .io("\(error)")
        }
        return target
    }
}
