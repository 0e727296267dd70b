/// A normalized image reference: `docker.io/library/busybox:latest`, `registry:5000/app@sha256:…`.
///
/// `parse` follows the rules of docker's `ParseNormalizedNamed` (and containerd's CRI):
/// - no registry (first component has no `.` or `:` and is not `localhost`) means `docker.io`;
/// - `index.docker.io` is `docker.io`; a one-component Docker Hub name gets `library/`;
/// - no tag and no digest means `:latest`; a digest alone keeps the tag `nil`.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// Registry host, with port if any: `docker.io`, `127.0.0.1:5000`.
    public var registry: String
    /// Repository path inside the registry: `library/busybox`.
    public var repository: String
    /// Tag, if any (`latest` when neither tag nor digest was given).
    public var tag: String?
    /// Manifest digest `sha256:<64 hex>`, if given.
    public var digest: String?

    public init(registry: String, repository: String, tag: String?, digest: String?) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// `registry/repository`, the name without tag or digest.
    public var name: String { "\(registry)/\(repository)" }

    /// `name:tag`, if there is a tag.
    public var tagged: String? { tag.map { "\(name):\($0)" } }

    /// `name@digest`, if there is a digest.
    public var digested: String? { digest.map { "\(name)@\($0)" } }

    public var description: String {
        var text = name
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    /// Parses and normalizes `text`. Throws `ImageStoreError.invalidReference` naming the reason.
    public static func parse(_ text: String) throws(ImageStoreError) -> ImageReference {
        func fail(_ reason: String) -> ImageStoreError { .invalidReference(text, reason: reason) }
        if text.isEmpty { throw fail("empty reference") }
        if text.count > 512 { throw fail("longer than 512 characters") }
        if text.utf8.count == 64, text.utf8.allSatisfy(isLowerHex) {
            throw fail("a 64-character hex string is an image ID, not a reference")
        }
        if text.contains(where: { $0.isWhitespace }) { throw fail("contains whitespace") }

        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let value = String(rest[rest.index(after: at)...])
            try validateDigest(value, reference: text)
            digest = value
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let value = String(rest[rest.index(after: colon)...])
            guard isValidTag(value) else {
                throw fail("invalid tag \"\(value)\": up to 128 of [A-Za-z0-9_.-], not starting with . or -")
            }
            tag = value
            rest = rest[..<colon]
        }
        if rest.isEmpty { throw fail("empty repository name") }

        var registry = "docker.io"
        var path = rest
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first {
                registry = String(first)
                path = rest[rest.index(after: slash)...]
            }
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = "docker.io" }
        guard isValidHost(registry) else { throw fail("invalid registry host \"\(registry)\"") }
        if path.isEmpty { throw fail("empty repository name") }
        var repository = String(path)
        if registry == "docker.io" && !repository.contains("/") { repository = "library/" + repository }
        for component in repository.split(separator: "/", omittingEmptySubsequences: false) {
            guard isValidPathComponent(component) else {
                if component.lowercased() != component {
                    throw fail("repository name must be lowercase")
                }
                throw fail("invalid repository path component \"\(component)\"")
            }
        }
        if registry.count + 1 + repository.count > 255 { throw fail("name longer than 255 characters") }
        if tag == nil && digest == nil { tag = "latest" }
        return ImageReference(registry: registry, repository: repository, tag: tag, digest: digest)
    }

    /// `sha256:<64 lowercase hex>` (also accepts sha512 with 128 hex digits).
    static func validateDigest(_ value: String, reference: String) throws(ImageStoreError) {
        guard isValidDigest(value) else {
            throw .invalidReference(reference, reason: "invalid digest \"\(value)\": want sha256:<64 hex digits>")
        }
    }

    static func isValidDigest(_ value: String) -> Bool {
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let hex = parts[1].utf8
        switch parts[0] {
        case "sha256": return hex.count == 64 && hex.allSatisfy(isLowerHex)
        case "sha512": return hex.count == 128 && hex.allSatisfy(isLowerHex)
        default: return false
        }
    }

    static func isLowerHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 102) }

    static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard !bytes.isEmpty, bytes.count <= 128, bytes[0] != UInt8(ascii: "."), bytes[0] != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    static func isAlnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isValidPathComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last else { return false }
        func lowerAlnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 122) }
        guard lowerAlnum(first), lowerAlnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if lowerAlnum(c) { i += 1; continue }
            var j = i
            while j < bytes.count, !lowerAlnum(bytes[j]) { j += 1 }
            let separator = bytes[i..<j]
            let ok = separator.elementsEqual([UInt8(ascii: ".")]) || separator.elementsEqual([UInt8(ascii: "_")])
                || separator.elementsEqual([UInt8(ascii: "_"), UInt8(ascii: "_")])
                || separator.allSatisfy { $0 == UInt8(ascii: "-") }
            if !ok { return false }
            i = j
        }
        return true
    }

    /// A host name or IPv4 address with an optional port, or a bracketed IPv6 address.
    static func isValidHost(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            let inner = name[name.index(after: name.startIndex)..<close]
            guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" }) else { return false }
            name = name[name.index(after: close)...]
            if name.isEmpty { return true }
            guard name.hasPrefix(":") else { return false }
            let port = name.dropFirst()
            return !port.isEmpty && port.count <= 5 && port.allSatisfy(\.isNumber)
        }
        if let colon = name.lastIndex(of: ":") {
            let port = name[name.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            name = name[..<colon]
        }
        guard !name.isEmpty else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        }
    }
}
