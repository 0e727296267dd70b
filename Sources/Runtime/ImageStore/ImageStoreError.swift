import SystemCore

/// Every failure of the image store. Messages name the image, the blob or layer digest and the
/// reason; the cases are distinct so callers (the CRI) can map them to status codes:
///
/// | case | CRI / gRPC code |
/// |---|---|
/// | `invalidReference`, `invalidConfiguration`, `invalidArgument` | invalidArgument |
/// | `imageNotFound`, `manifestNotFound`, `snapshotNotFound` | notFound |
/// | `unauthorized` | unauthenticated / permissionDenied |
/// | `snapshotExists` | alreadyExists |
/// | `registry`, `network` | unavailable (or deadlineExceeded for `network(timedOut: true)`) |
/// | `digestMismatch`, `unsupportedMediaType`, `invalidManifest`, `noMatchingPlatform`, `invalidLayer`, `invalidArchive` | failedPrecondition / invalidArgument |
/// | `system` | internal |
public enum ImageStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The text is not an image reference (`reason` says why).
    case invalidReference(String, reason: String)
    /// No image in the store matches `query` (a tag, repo digest or ID).
    case imageNotFound(String)
    /// The registry has no manifest for `image` (HTTP 404 / MANIFEST_UNKNOWN / NAME_UNKNOWN).
    case manifestNotFound(image: String, reason: String)
    /// The registry refused the credentials or the token server refused to issue a token.
    case unauthorized(image: String, registry: String, reason: String)
    /// The registry answered with an unexpected status for `url`.
    case registry(image: String, url: String, status: Int, reason: String)
    /// Connecting to or reading from `url` failed (refused, TLS, reset, timed out).
    case network(image: String, url: String, reason: String, timedOut: Bool)
    /// The content of blob `digest` hashes to `actual`.
    case digestMismatch(image: String, digest: String, actual: String, what: String)
    /// A manifest, config or layer with a media type the store does not handle.
    case unsupportedMediaType(image: String, digest: String, mediaType: String)
    /// The manifest / index / config `digest` cannot be parsed.
    case invalidManifest(image: String, digest: String, reason: String)
    /// The index has no manifest for the wanted platform.
    case noMatchingPlatform(image: String, platform: String, available: [String])
    /// A layer cannot be unpacked: truncated or corrupt stream, unsafe tar entry.
    case invalidLayer(image: String, layer: String, reason: String)
    /// An archive to import (OCI layout or docker-archive) is malformed.
    case invalidArchive(path: String, reason: String)
    /// The registry configuration file is invalid at `field`.
    case invalidConfiguration(path: String, field: String, reason: String)
    /// A caller-supplied argument is invalid (`field` names it).
    case invalidArgument(field: String, reason: String)
    /// A snapshot with this key exists already.
    case snapshotExists(key: String)
    /// No snapshot with this key.
    case snapshotNotFound(key: String)
    /// A system call failed; `context` says what the store was doing.
    case system(context: String, SystemCallError)

    public var description: String {
        switch self {
        case .invalidReference(let text, let reason):
            return "invalid image reference \"\(text)\": \(reason)"
        case .imageNotFound(let query):
            return "image \"\(query)\" not found"
        case .manifestNotFound(let image, let reason):
            return "image \(image): not found in registry: \(reason)"
        case .unauthorized(let image, let registry, let reason):
            return "image \(image): registry \(registry) refused access: \(reason)"
        case .registry(let image, let url, let status, let reason):
            return "image \(image): registry error HTTP \(status) for \(url): \(reason)"
        case .network(let image, let url, let reason, let timedOut):
            return "image \(image): \(timedOut ? "timed out" : "request failed") for \(url): \(reason)"
        case .digestMismatch(let image, let digest, let actual, let what):
            return "image \(image): \(what) \(digest): digest mismatch: content hashes to \(actual)"
        case .unsupportedMediaType(let image, let digest, let mediaType):
            return "image \(image): \(digest): unsupported media type \"\(mediaType)\""
        case .invalidManifest(let image, let digest, let reason):
            return "image \(image): invalid manifest \(digest): \(reason)"
        case .noMatchingPlatform(let image, let platform, let available):
            return "image \(image): no manifest for platform \(platform) (index has: \(available.joined(separator: ", ")))"
        case .invalidLayer(let image, let layer, let reason):
            return "image \(image): layer \(layer): \(reason)"
        case .invalidArchive(let path, let reason):
            return "archive \(path): \(reason)"
        case .invalidConfiguration(let path, let field, let reason):
            return "registry configuration \(path): \(field): \(reason)"
        case .invalidArgument(let field, let reason):
            return "\(field): \(reason)"
        case .snapshotExists(let key):
            return "snapshot \"\(key)\" already exists"
        case .snapshotNotFound(let key):
            return "snapshot \"\(key)\" not found"
        case .system(let context, let error):
            return "\(context): \(error)"
        }
    }
}

/// Runs `body`, wrapping a `SystemCallError` with what the store was doing.
@inline(__always)
func withContext<T>(_ context: @autoclosure () -> String, _ body: () throws(SystemCallError) -> T) throws(ImageStoreError) -> T {
    do { return try body() } catch { throw .system(context: context(), error) }
}
