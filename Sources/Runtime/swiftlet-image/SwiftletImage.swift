import ArgumentParser
import Foundation
import ImageStore
import Logging

/// Options every verb shares: where the store is and how to reach registries.
struct StoreOptions: ParsableArguments {
    @Option(help: "Image store root directory.")
    var root = "/var/lib/swiftlet/images"

    @Option(name: .customLong("registries-config"), help: "Registry configuration file (YAML, see docs/images.md).")
    var registriesConfig: String?

    @Flag(help: "Only warnings and errors on stderr.")
    var quiet = false

    @Flag(help: "Debug logging on stderr.")
    var debug = false

    func open() throws -> ImageStore {
        let level: Logger.Level = debug ? .debug : (quiet ? .warning : .info)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "swiftlet-image")
        let registries = try registriesConfig.map { try RegistryConfiguration.load(path: $0) } ?? .empty
        return try ImageStore(root: root, registries: registries, logger: logger)
    }
}

@main
struct SwiftletImage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet-image",
        abstract: "Pull, import, list, inspect and remove container images; prepare overlayfs snapshots.",
        subcommands: [Pull.self, Import.self, List.self, Inspect.self, Remove.self, SnapshotCommand.self, GC.self, Usage.self])
}

/// JSON for the CLI's output (sorted keys, pretty).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pull an image from a registry (progress on stderr).")
    @OptionGroup var store: StoreOptions
    @Argument(help: "Image reference, e.g. busybox or 127.0.0.1:5000/app:1.0 or name@sha256:…")
    var reference: String
    @Option(help: "Credentials as user:password.")
    var creds: String?

    func run() async throws {
        var credentials: RegistryCredentials?
        if let creds {
            guard let colon = creds.firstIndex(of: ":") else {
                throw ValidationError("--creds: expected user:password")
            }
            credentials = RegistryCredentials(username: String(creds[..<colon]), password: String(creds[creds.index(after: colon)...]))
        }
        let image = try await store.open().pull(reference, credentials: credentials)
        print(image.id)
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Import an OCI image layout (directory or tar) or a docker-archive tar.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "Path of the archive or OCI layout directory.")
    var path: String
    @Option(help: "Name for the image (the archive must hold exactly one).")
    var tag: String?

    func run() async throws {
        for image in try await store.open().importArchive(at: path, tag: tag) {
            print("\(image.id) \(image.repoTags.joined(separator: ","))")
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List images.", aliases: ["ls"])
    @OptionGroup var store: StoreOptions
    @Flag(help: "JSON output.")
    var json = false

    func run() async throws {
        let images = try store.open().list()
        if json { return try printJSON(images) }
        print(pad("REFERENCE", 60) + pad("IMAGE ID", 15) + "SIZE")
        for image in images {
            let id = String(image.id.dropFirst(7).prefix(12))
            let names = image.repoTags.isEmpty ? (image.repoDigests.isEmpty ? ["<none>"] : image.repoDigests) : image.repoTags
            for name in names { print(pad(name, 60) + pad(id, 15) + formatSize(image.size)) }
        }
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func formatSize(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show an image and its config as JSON.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "Tag, repo digest, ID or ID prefix.")
    var reference: String

    struct Output: Encodable {
        var image: Image
        var config: ImageConfig
    }

    func run() async throws {
        let store = try store.open()
        guard let image = try store.image(reference) else { throw ImageStoreError.imageNotFound(reference) }
        try printJSON(Output(image: image, config: try store.config(of: image)))
    }
}

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove images (absent ones are not an error).")
    @OptionGroup var store: StoreOptions
    @Argument(help: "Tags, repo digests or IDs.")
    var references: [String]

    func run() async throws {
        let store = try store.open()
        for reference in references { try store.remove(reference) }
    }
}

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Container root file systems (overlayfs).",
        subcommands: [Prepare.self, RemoveSnapshot.self, ListSnapshots.self])

    struct Prepare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mount a snapshot of an image; prints the rootfs path.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Snapshot key (e.g. the container ID).")
        var key: String
        @Argument(help: "Image tag, digest or ID.")
        var reference: String
        @Flag(name: .customLong("read-only"), help: "No writable layer.")
        var readOnly = false

        func run() async throws {
            let store = try store.open()
            guard let image = try store.image(reference) else { throw ImageStoreError.imageNotFound(reference) }
            print(try store.prepareSnapshot(key: key, image: image, readOnly: readOnly).rootfs)
        }
    }

    struct RemoveSnapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Unmount and delete snapshots.")
        @OptionGroup var store: StoreOptions
        @Argument var keys: [String]

        func run() async throws {
            let store = try store.open()
            for key in keys { try store.removeSnapshot(key: key) }
        }
    }

    struct ListSnapshots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List snapshots.", aliases: ["ls"])
        @OptionGroup var store: StoreOptions
        @Flag(help: "JSON output.")
        var json = false

        struct Row: Encodable { var key: String; var rootfs: String; var readOnly: Bool; var imageID: String }

        func run() async throws {
            let snapshots = try store.open().snapshots()
            if json { return try printJSON(snapshots.map { Row(key: $0.key, rootfs: $0.rootfs, readOnly: $0.readOnly, imageID: $0.imageID) }) }
            print(pad("KEY", 40) + pad("IMAGE ID", 15) + pad("MODE", 5) + "ROOTFS")
            for s in snapshots {
                print(pad(s.key, 40) + pad(String(s.imageID.dropFirst(7).prefix(12)), 15) + pad(s.readOnly ? "ro" : "rw", 5) + s.rootfs)
            }
        }
    }
}

struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Remove unreferenced blobs, layers and half-created snapshots.")
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let result = try store.open().garbageCollect()
        print("removed \(result.removedBlobs) blobs, \(result.removedSnapshots) layer directories/snapshots, freed \(formatSize(result.freedBytes))")
    }
}

struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "usage", abstract: "Disk use of the store (JSON).")
    @OptionGroup var store: StoreOptions

    struct Output: Encodable { var mountpoint: String; var usedBytes: UInt64; var inodesUsed: UInt64; var timestamp: Int64 }

    func run() async throws {
        let usage = try store.open().usage()
        try printJSON(Output(mountpoint: usage.mountpoint, usedBytes: usage.usedBytes, inodesUsed: usage.inodesUsed, timestamp: usage.timestamp))
    }
}
