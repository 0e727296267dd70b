import Foundation

/// Turns a decoded manifest into the pod this node runs, like upstream's file source:
/// defaults, a UID hashed from the pod and its source, the `<name>-<nodeName>` name,
/// `spec.nodeName`, and the config annotations.
public enum StaticPod {
    public static let configSourceAnnotation = "kubernetes.io/config.source"
    public static let configHashAnnotation = "kubernetes.io/config.hash"
    public static let configMirrorAnnotation = "kubernetes.io/config.mirror"
    public static let configSeenAnnotation = "kubernetes.io/config.seen"

    /// Upstream's IsStaticPod or IsMirrorPod: a pod from a manifest file or URL (its config
    /// source is not the API server), or the API server's mirror of one. Such pods are critical.
    public static func isStaticOrMirror(_ pod: Pod) -> Bool {
        let annotations = pod.metadata.annotations ?? [:]
        if annotations[configMirrorAnnotation] != nil { return true }
        guard let source = annotations[configSourceAnnotation] else { return false }
        return source != "api"
    }

    /// `<name>-<nodeName>` with the node name lower-cased.
    public static func podName(_ name: String, nodeName: String) -> String {
        "\(name)-\(nodeName.lowercased())"
    }

    /// MD5 over the pod's canonical JSON, then `host:<node>` and `file:<path>`, as hex; a manifest
    /// edit changes the UID, so the node replaces the pod.
    public static func uid(for pod: Pod, nodeName: String, source: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(pod)).map(Array.init) ?? []
        return MD5.hex(json, Array("host:\(nodeName)".utf8), Array("file:\(source)".utf8))
    }

    /// Decodes, defaults, names and validates one manifest file's contents.
    public static func load(_ bytes: [UInt8], source: String, nodeName: String) throws(ManifestError) -> Pod {
        var pod = try ManifestDecoder.decodePod(bytes, source: source)
        do {
            try PodValidation.validate(pod)
        } catch {
            throw ManifestError(source: source, message: error.errors.map(\.description).joined(separator: "; "))
        }
        PodDefaults.apply(&pod)
        if (pod.metadata.uid ?? "").isEmpty {
            pod.metadata.uid = uid(for: pod, nodeName: nodeName, source: source)
        }
        pod.metadata.name = podName(pod.metadata.name ?? "", nodeName: nodeName)
        pod.spec.nodeName = nodeName
        var annotations = pod.metadata.annotations ?? [:]
        annotations[configHashAnnotation] = pod.metadata.uid
        annotations[configSourceAnnotation] = "file"
        pod.metadata.annotations = annotations
        // The suffixed name must still be a valid name (253 chars).
        if let problem = Names.dns1123SubdomainProblem(pod.metadata.name ?? "") {
            throw ManifestError(source: source, message: "metadata.name: Invalid value: \"\(pod.metadata.name ?? "")\": \(problem)")
        }
        return pod
    }
}
