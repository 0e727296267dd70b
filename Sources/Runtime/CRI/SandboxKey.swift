import CRIProto
import Foundation

/// The names the CRI keeps unique: one sandbox per (name, namespace, uid, attempt), one
/// container per (name, sandbox name, namespace, uid, attempt) — the kubelet's naming.
enum SandboxKey {
    static func key(for metadata: Runtime_V1_PodSandboxMetadata) -> String {
        "k8s_POD_\(metadata.name)_\(metadata.namespace)_\(metadata.uid)_\(metadata.attempt)"
    }

    static func key(for container: Runtime_V1_ContainerMetadata, in sandbox: Runtime_V1_PodSandboxMetadata) -> String {
        "k8s_\(container.name)_\(sandbox.name)_\(sandbox.namespace)_\(sandbox.uid)_\(container.attempt)"
    }

    static func key(for record: SandboxRecord) throws -> String {
        key(for: try Runtime_V1_PodSandboxConfig(serializedBytes: record.config).metadata)
    }

    static func key(for record: ContainerRecord, in sandbox: SandboxRecord) throws -> String {
        key(for: try Runtime_V1_ContainerConfig(serializedBytes: record.config).metadata,
            in: try Runtime_V1_PodSandboxConfig(serializedBytes: sandbox.config).metadata)
    }
}
