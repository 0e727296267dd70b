/// A pod volume. This node supports emptyDir and hostPath; other sources decode but are refused.
public struct Volume: Sendable, Hashable, Codable {
    public var name: String
    public var emptyDir: EmptyDirVolumeSource?
    public var hostPath: HostPathVolumeSource?
    /// Names of volume sources present in the manifest that this node does not handle.
    public var unsupportedSources: [String] = []

    public init(name: String, emptyDir: EmptyDirVolumeSource? = nil, hostPath: HostPathVolumeSource? = nil) {
        self.name = name
        self.emptyDir = emptyDir
        self.hostPath = hostPath
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        name = try c.decodeIfPresent(String.self, forKey: AnyKey(stringValue: "name")) ?? ""
        emptyDir = try c.decodeIfPresent(EmptyDirVolumeSource.self, forKey: AnyKey(stringValue: "emptyDir"))
        hostPath = try c.decodeIfPresent(HostPathVolumeSource.self, forKey: AnyKey(stringValue: "hostPath"))
        unsupportedSources = c.allKeys.map(\.stringValue)
            .filter { !["name", "emptyDir", "hostPath"].contains($0) }.sorted()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(name, forKey: AnyKey(stringValue: "name"))
        try c.encodeIfPresent(emptyDir, forKey: AnyKey(stringValue: "emptyDir"))
        try c.encodeIfPresent(hostPath, forKey: AnyKey(stringValue: "hostPath"))
    }
}

public struct EmptyDirVolumeSource: Sendable, Hashable, Codable {
    public var medium: String?
    public var sizeLimit: Quantity?
    public init(medium: String? = nil, sizeLimit: Quantity? = nil) {
        self.medium = medium
        self.sizeLimit = sizeLimit
    }
}

public struct HostPathVolumeSource: Sendable, Hashable, Codable {
    public var path: String
    public var type: String?
    public init(path: String, type: String? = nil) {
        self.path = path
        self.type = type
    }
}
