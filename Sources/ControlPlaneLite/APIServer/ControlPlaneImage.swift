import Crypto
import Foundation

/// The control-plane image, built locally from our own executable and the shared libraries it
/// loads, as an OCI image layout that `swiftlet-image import` takes into the node's image store.
/// No registry is involved.
public struct ControlPlaneImage: Sendable {
    /// Where the executables go inside the image (the static pod manifests run them from here).
    public static let binDir = "/usr/local/bin"

    /// Host path of each executable to ship, by its file name in `binDir`.
    public var executables: [String]
    /// Image reference the layout's index names (`org.opencontainers.image.ref.name`).
    public var reference: String

    public init(executables: [String], reference: String) {
        self.executables = executables
        self.reference = reference
    }

    public struct Built: Sendable {
        public var manifestDigest: String
        public var layerDigest: String
        /// Every file in the layer: image path → host source.
        public var files: [(image: String, host: String)]
    }

    /// Writes the OCI layout into `layoutDir` (created; must not exist). One uncompressed layer
    /// holds the executables, every library `ldd` would list for them and the dynamic loader,
    /// each at the path the loader resolved it to (so the executables' RUNPATHs keep working).
    public func writeLayout(to layoutDir: String) throws -> Built {
        var files: [(image: String, host: String)] = []
        var seen = Set<String>()
        for exe in executables {
            let name = exe.split(separator: "/").last.map(String.init) ?? exe
            files.append((image: Self.binDir + "/" + name, host: exe))
            for lib in try SharedLibraries.resolve(executable: exe) where seen.insert(lib).inserted {
                files.append((image: lib, host: lib))
            }
        }
        let fm = FileManager.default
        guard !fm.fileExists(atPath: layoutDir) else { throw ConfigError("image layout \(layoutDir): already exists") }
        try fm.createDirectory(atPath: layoutDir + "/blobs/sha256", withIntermediateDirectories: true)
        let layerTmp = layoutDir + "/layer.tar.tmp"
        var tar = try TarWriter(path: layerTmp)
        do {
            try tar.addDirectory("tmp", mode: 0o1777)
            try tar.addDirectory("etc", mode: 0o755)
            try tar.addFile("etc/passwd", contents: Data("root:x:0:0:root:/root:/bin/false\n".utf8), mode: 0o644)
            try tar.addFile("etc/group", contents: Data("root:x:0:\n".utf8), mode: 0o644)
            for file in files { try tar.addFile(String(file.image.dropFirst()), copying: file.host) }
            try tar.finish()
        } catch {
            tar.close()
            throw error
        }
        let layerDigest = "sha256:" + tar.digest
        try fm.moveItem(atPath: layerTmp, toPath: blob(layoutDir, layerDigest))
        let config: [String: Any] = [
            "architecture": "amd64", "os": "linux",
            "config": [
                "Entrypoint": [Self.binDir + "/" + (executables.first?.split(separator: "/").last.map(String.init) ?? "")],
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "WorkingDir": "/",
            ],
            "rootfs": ["type": "layers", "diff_ids": [layerDigest]],
            "history": [["created_by": "swiftlet-control-plane init (local build from \(executables.joined(separator: ", ")))"]],
        ]
        let configDesc = try writeBlob(layoutDir, json(config), mediaType: "application/vnd.oci.image.config.v1+json")
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": configDesc,
            "layers": [["mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest, "size": tar.bytesWritten]],
        ]
        var manifestDesc = try writeBlob(layoutDir, json(manifest), mediaType: "application/vnd.oci.image.manifest.v1+json")
        manifestDesc["annotations"] = ["org.opencontainers.image.ref.name": reference]
        try json(["schemaVersion": 2, "manifests": [manifestDesc]]).write(to: URL(fileURLWithPath: layoutDir + "/index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: layoutDir + "/oci-layout"))
        return Built(manifestDigest: manifestDesc["digest"] as? String ?? "", layerDigest: layerDigest, files: files)
    }

    private func blob(_ dir: String, _ digest: String) -> String { dir + "/blobs/sha256/" + digest.dropFirst("sha256:".count) }

    private func json(_ object: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    private func writeBlob(_ dir: String, _ data: Data, mediaType: String) throws -> [String: Any] {
        let digest = "sha256:" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        try data.write(to: URL(fileURLWithPath: blob(dir, digest)))
        return ["mediaType": mediaType, "digest": digest, "size": data.count]
    }
}

/// The shared libraries an executable loads, resolved as `ldd` does: the executable is started
/// with `LD_TRACE_LOADED_OBJECTS=1`, so the dynamic loader maps its dependencies, prints where it
/// found each one (and itself) and exits without running the program.
public enum SharedLibraries {
    public static func resolve(executable: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = []
        process.environment = ["LD_TRACE_LOADED_OBJECTS": "1", "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw ConfigError("resolving the libraries of \(executable): \(error)") }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ConfigError("resolving the libraries of \(executable): the loader exited \(process.terminationStatus): \(errText)")
        }
        return try parse(text, executable: executable)
    }

    /// Parses the loader's trace: `name => /path (0x…)`, `/path/ld.so (0x…)`, `linux-vdso.so.1
    /// (0x…)` (in the kernel, nothing to ship). A library the loader did not find fails here, with
    /// its name, instead of giving an image that cannot start.
    public static func parse(_ trace: String, executable: String) throws -> [String] {
        var paths: [String] = []
        for raw in trace.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("statically linked") { continue }
            if let arrow = line.range(of: " => ") {
                let name = String(line[..<arrow.lowerBound])
                let target = line[arrow.upperBound...]
                if target.hasPrefix("not found") {
                    throw ConfigError("\(executable): shared library \(name) not found")
                }
                let path = target.split(separator: " ").first.map(String.init) ?? ""
                if path.hasPrefix("/") { paths.append(path) }
            } else if line.hasPrefix("/") {
                paths.append(String(line.split(separator: " ")[0]))
            }
        }
        return paths
    }
}

/// A minimal streaming ustar writer (regular files and directories, root-owned, mtime 0) that
/// hashes what it writes, for the image's single layer.
struct TarWriter {
    private let handle: FileHandle
    private var hasher = SHA256()
    private(set) var bytesWritten = 0
    private var directories = Set<String>()
    private(set) var digest = ""

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw ConfigError("cannot create \(path)")
        }
        self.handle = handle
    }

    mutating func addDirectory(_ path: String, mode: Int) throws {
        guard directories.insert(path).inserted else { return }
        try parents(of: path)
        try write(Self.header(name: path + "/", size: 0, mode: mode, type: "5"))
    }

    mutating func addFile(_ path: String, contents: Data, mode: Int) throws {
        try parents(of: path)
        try write(Self.header(name: path, size: contents.count, mode: mode, type: "0"))
        try write(contents)
        try pad(contents.count)
    }

    /// Adds a host file's contents (following symlinks) with its permission bits.
    mutating func addFile(_ path: String, copying source: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: source).resolvingSymlinksInPath().path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o644
        guard let input = FileHandle(forReadingAtPath: source) else { throw ConfigError("cannot read \(source)") }
        defer { try? input.close() }
        try parents(of: path)
        try write(Self.header(name: path, size: size, mode: mode & 0o7777, type: "0"))
        var copied = 0
        while copied < size {
            let chunk = try input.read(upToCount: min(1 << 20, size - copied)) ?? Data()
            guard !chunk.isEmpty else { throw ConfigError("\(source) shrank while it was copied into the image") }
            try write(chunk)
            copied += chunk.count
        }
        try pad(size)
    }

    mutating func finish() throws {
        try write(Data(count: 1024))
        digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        try handle.close()
    }

    func close() { try? handle.close() }

    private mutating func parents(of path: String) throws {
        let parts = path.split(separator: "/").dropLast()
        var prefix = ""
        for part in parts {
            prefix += (prefix.isEmpty ? "" : "/") + part
            try addDirectory(prefix, mode: 0o755)
        }
    }

    private mutating func write(_ data: Data) throws {
        hasher.update(data: data)
        try handle.write(contentsOf: data)
        bytesWritten += data.count
    }

    private mutating func pad(_ size: Int) throws {
        if size % 512 != 0 { try write(Data(count: 512 - size % 512)) }
    }

    /// A ustar header; names over 100 bytes are split into prefix (155) and name (100).
    static func header(name: String, size: Int, mode: Int, type: Character) throws -> Data {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (i, byte) in text.utf8.prefix(width).enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
        }
        let bytes = Array(name.utf8)
        var prefix = "", short = name
        if bytes.count > 100 {
            guard let split = bytes.indices.last(where: { bytes[$0] == UInt8(ascii: "/") && $0 <= 155 && bytes.count - $0 - 1 <= 100 }) else {
                throw ConfigError("path \(name) is too long for a tar header")
            }
            prefix = String(decoding: bytes[..<split], as: UTF8.self)
            short = String(decoding: bytes[(split + 1)...], as: UTF8.self)
        }
        guard size < 0o77777777777 else { throw ConfigError("\(name) is too large for a tar header") }
        put(short, at: 0, width: 100)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        put("        ", at: 148, width: 8)
        block[156] = UInt8(ascii: type.unicodeScalars.first ?? "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        put("root", at: 265, width: 32)
        put("root", at: 297, width: 32)
        put(prefix, at: 345, width: 155)
        let sum = block.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, at: 148, width: 6)
        block[154] = 0
        block[155] = UInt8(ascii: " ")
        return Data(block)
    }
}
