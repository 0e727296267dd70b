import CZlib
import Foundation

/// gzip compression through the system's zlib. Writes `<path>.tmp`, renames it to `<path>.gz`,
/// then removes `path`, like the upstream kubelet's rotated-log compression.
public enum Gzip {
    public enum Failure: Error, CustomStringConvertible {
        case io(String)
        public var description: String {
            switch self {
            case .io(let why): return why
            }
        }
    }

    /// Compresses `path` into `path.gz` and removes `path`; returns the new path.
    @discardableResult
    public static func compressFile(_ path: String) throws(Failure) -> String {
        let temporary = path + ".tmp"
        let target = path + ".gz"
        guard let input = FileHandle(forReadingAtPath: path) else { throw .io("cannot open \(path)") }
        defer { try? input.close() }
        guard let file = gzopen(temporary, "wb6") else { throw .io("gzopen \(temporary) failed") }
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
                return gzwrite(file, base, UInt32(buffer.count))
            }
            if written != Int32(chunk.count) { failed = "gzwrite \(temporary) failed" }
        }
        if gzclose(file) != 0, failed == nil { failed = "gzclose \(temporary) failed" }
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
