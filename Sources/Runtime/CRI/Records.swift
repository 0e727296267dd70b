import Foundation
import SystemCore

/// A pod sandbox as kept on disk (`<root_dir>/sandboxes/<id>/sandbox.json`). Owned by
/// `CRIState`; everything else reads copies.
struct SandboxRecord: Codable, Sendable {
    enum State: String, Codable, Sendable { case ready, notReady }
    var id: String
    /// The serialized `Runtime_V1_PodSandboxConfig` of the request.
    var config: Data
    var state: State
    var createdAt: Int64
    var runtimeHandler: String
    /// The pinned network namespace; nil with hostNetwork.
    var netnsPath: String?
    var ips: [String]
    /// The conflist used for ADD and the final result, for CHECK/DEL.
    var cniConfList: Data?
    var cniResult: Data?
    /// The infra container's init pid (its namespaces are the pod's).
    var infraPid: Int32?
    var cgroupPath: String
}

/// A container as kept on disk (`<root_dir>/containers/<id>/container.json`).
struct ContainerRecord: Codable, Sendable {
    enum State: String, Codable, Sendable { case created, running, exited }
    var id: String
    var sandboxID: String
    /// The serialized `Runtime_V1_ContainerConfig`.
    var config: Data
    var imageRef: String
    var imageID: String
    var createdAt: Int64
    var startedAt: Int64 = 0
    var finishedAt: Int64 = 0
    var exitCode: Int32 = 0
    var state: State
    var logPath: String
    var reason: String = ""
    var message: String = ""
    var stopSignal: String?
    var pid: Int32?
    var hasSnapshot: Bool
}

/// Nanoseconds since the epoch.
func nowNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// A random 64-hex-digit ID, as the CRI uses.
func newID() -> String {
    var bytes = [UInt8](repeating: 0, count: 32)
    for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
    return bytes.map { String(format: "%02x", $0) }.joined()
}

enum JSONFile {
    static func write<T: Encodable>(_ value: T, to path: String, durable: Bool = false) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        do { try FileSystem.writeAtomically(path, Array(data), mode: 0o600, durable: durable) } catch {
            throw CRIError.system(context: "writing \(path)", error)
        }
    }

    static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readBytes(path) } catch { throw CRIError.system(context: "reading \(path)", error) }
        return try JSONDecoder().decode(type, from: Data(bytes))
    }
}
