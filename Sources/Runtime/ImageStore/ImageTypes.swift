/// Credentials for one pull: the fields of CRI's `AuthConfig`.
///
/// `auth` is base64("user:password") as in docker's config.json; `identityToken` is an OAuth2
/// refresh token sent to the token server; `registryToken` is a bearer token sent as is.
public struct RegistryCredentials: Sendable, Hashable {
    public var username: String?
    public var password: String?
    public var auth: String?
    public var identityToken: String?
    public var registryToken: String?

    public init(username: String? = nil, password: String? = nil, auth: String? = nil,
                identityToken: String? = nil, registryToken: String? = nil) {
        self.username = username
        self.password = password
        self.auth = auth
        self.identityToken = identityToken
        self.registryToken = registryToken
    }

    /// True when no field is set.
    public var isEmpty: Bool {
        username == nil && password == nil && auth == nil && identityToken == nil && registryToken == nil
    }
}

/// What a container inherits from its image: the OCI image config's `config` object.
public struct ImageConfig: Sendable, Hashable, Codable {
    public var user: String?
    public var env: [String]
    public var entrypoint: [String]
    public var cmd: [String]
    public var workingDir: String?
    public var stopSignal: String?
    public var labels: [String: String]
    /// `"8080/tcp"` style keys of `ExposedPorts`.
    public var exposedPorts: [String]
    /// Paths of `Volumes`.
    public var volumes: [String]
    /// `architecture` and `os` of the image config.
    public var architecture: String
    public var os: String

    public init(user: String? = nil, env: [String] = [], entrypoint: [String] = [], cmd: [String] = [],
                workingDir: String? = nil, stopSignal: String? = nil, labels: [String: String] = [:],
                exposedPorts: [String] = [], volumes: [String] = [], architecture: String = "amd64", os: String = "linux") {
        self.user = user
        self.env = env
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.workingDir = workingDir
        self.stopSignal = stopSignal
        self.labels = labels
        self.exposedPorts = exposedPorts
        self.volumes = volumes
        self.architecture = architecture
        self.os = os
    }
}

/// An image in the store, as the CRI reports it.
public struct Image: Sendable, Codable, Hashable {
    /// Config digest `sha256:…` (the image ID).
    public var id: String
    /// Normalized tags: `docker.io/library/busybox:latest`.
    public var repoTags: [String]
    /// `docker.io/library/busybox@sha256:<manifest digest>`.
    public var repoDigests: [String]
    /// Unpacked size in bytes (sum of the layers' file sizes).
    public var size: UInt64
    /// Pinned images are never removed by image GC in the kubelet.
    public var pinned: Bool

    public init(id: String, repoTags: [String], repoDigests: [String], size: UInt64, pinned: Bool) {
        self.id = id
        self.repoTags = repoTags
        self.repoDigests = repoDigests
        self.size = size
        self.pinned = pinned
    }
}

/// A container root file system: an overlayfs mount of an image's layers (plus a writable upper
/// directory unless `readOnly`).
public struct Snapshot: Sendable, Hashable {
    /// Caller's key (the CRI uses the container ID).
    public var key: String
    /// Where the overlayfs is mounted: give this to the OCI runtime as `root.path`.
    public var rootfs: String
    public var readOnly: Bool
    /// The image ID it was prepared from.
    public var imageID: String

    public init(key: String, rootfs: String, readOnly: Bool, imageID: String) {
        self.key = key
        self.rootfs = rootfs
        self.readOnly = readOnly
        self.imageID = imageID
    }
}

/// Disk use of the store (the CRI's `ImageFsInfo`).
public struct FilesystemUsage: Sendable, Hashable {
    /// The store's root directory.
    public var mountpoint: String
    public var usedBytes: UInt64
    public var inodesUsed: UInt64
    /// Nanoseconds since the epoch when measured.
    public var timestamp: Int64

    public init(mountpoint: String, usedBytes: UInt64, inodesUsed: UInt64, timestamp: Int64) {
        self.mountpoint = mountpoint
        self.usedBytes = usedBytes
        self.inodesUsed = inodesUsed
        self.timestamp = timestamp
    }
}
