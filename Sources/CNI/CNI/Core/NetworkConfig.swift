/// The request configuration every plugin reads from stdin (section 3): the fields the protocol
/// defines, plus the raw document for plugin-specific fields and for delegation.
public struct NetworkConfig: Sendable {
    /// An attachment named in `cni.dev/valid-attachments` (GC).
    public struct Attachment: Hashable, Sendable {
        public var containerID: String
        public var ifname: String

        public init(containerID: String, ifname: String) {
            self.containerID = containerID
            self.ifname = ifname
        }
    }

    public let raw: [UInt8]
    public let root: JSONField
    public let cniVersion: CNIVersion
    public let name: String
    public let type: String
    public let prevResult: CNIResult?
    public let dns: CNIResult.DNS?
    public let validAttachments: [Attachment]?

    /// Just the version, for error results when the rest does not parse.
    public static func declaredVersion(in bytes: [UInt8]) -> String? {
        guard let json = try? JSONParser.parse(bytes) else { return nil }
        return json["cniVersion"]?.stringValue
    }

    public init(bytes: [UInt8]) throws(CNIError) {
        let json: JSON
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw CNIError(.decodingFailure, "network configuration on stdin: \(error.description)")
        }
        guard case .object = json else {
            throw CNIError(.decodingFailure, "network configuration on stdin: expected an object, found \(json.typeName)")
        }
        raw = bytes
        root = JSONField(json, path: "")

        let versionText = try root["cniVersion"].optionalString() ?? ""
        if versionText.isEmpty {
            throw CNIError(.incompatibleVersion, "cniVersion: missing; this plugin supports \(NetworkConfig.supportedList)")
        }
        guard let version = CNIVersion(versionText), version.isSupported else {
            throw CNIError(.incompatibleVersion, "cniVersion: \"\(versionText)\" is not supported; this plugin supports \(NetworkConfig.supportedList)")
        }
        cniVersion = version

        name = try root["name"].string()
        try NetworkConfig.validateName(name)
        type = try root["type"].optionalString() ?? ""

        if root["prevResult"].isAbsent {
            prevResult = nil
        } else {
            _ = try root["prevResult"].object()
            prevResult = try CNIResult(json: root["prevResult"])
        }

        if try root["dns"].optionalObject() != nil {
            var dns = CNIResult.DNS()
            dns.nameservers = try root["dns"]["nameservers"].stringArray()
            dns.domain = try root["dns"]["domain"].optionalString()
            dns.search = try root["dns"]["search"].stringArray()
            dns.options = try root["dns"]["options"].stringArray()
            self.dns = dns
        } else {
            dns = nil
        }

        let attachmentsField = root["cni.dev/valid-attachments"]
        if attachmentsField.isAbsent {
            validAttachments = nil
        } else {
            var attachments: [Attachment] = []
            for field in try attachmentsField.elements() {
                attachments.append(Attachment(
                    containerID: try field["containerID"].string(), ifname: try field["ifname"].string()))
            }
            validAttachments = attachments
        }
    }

    static var supportedList: String { CNIVersion.supported.map(\.description).joined(separator: ", ") }

    /// "Must start with an alphanumeric character, optionally followed by any combination of one
    /// or more alphanumeric characters, underscore, dot (.) or hyphen (-)." It names a directory
    /// under host-local's dataDir, so it must never contain a path separator.
    static func validateName(_ name: String) throws(CNIError) {
        let bytes = Array(name.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) }
        guard let first = bytes.first, alnum(first),
            bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
        else { throw CNIError.config("name", "invalid network name \"\(name)\"") }
    }
}
