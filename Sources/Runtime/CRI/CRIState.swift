import Foundation
import SystemCore

/// The one owner of the daemon's sandbox and container records: memory plus one JSON file per
/// record, written before any call returns. Names (pod/container name + namespace + uid +
/// attempt) are reserved here so two creations of one name cannot race.
actor CRIState {
    private(set) var sandboxes: [String: SandboxRecord] = [:]
    private(set) var containers: [String: ContainerRecord] = [:]
    private var names: [String: String] = [:]
    /// Records being removed: no update writes their files any more (the directory is going).
    private var removing: Set<String> = []
    let rootDir: String

    init(rootDir: String) {
        self.rootDir = rootDir
    }

    func sandboxDir(_ id: String) -> String { "\(rootDir)/sandboxes/\(id)" }
    func containerDir(_ id: String) -> String { "\(rootDir)/containers/\(id)" }

    /// Reads every record from disk (daemon start).
    func load() throws -> (sandboxes: Int, containers: Int) {
        for kind in ["sandboxes", "containers"] {
            do { try FileSystem.createDirectories("\(rootDir)/\(kind)", mode: 0o700) } catch {
                throw CRIError.system(context: "creating \(rootDir)/\(kind)", error)
            }
        }
        for id in (try? FileSystem.listDirectory("\(rootDir)/sandboxes")) ?? [] {
            guard let record = try? JSONFile.read(SandboxRecord.self, from: "\(sandboxDir(id))/sandbox.json") else { continue }
            sandboxes[id] = record
        }
        for id in (try? FileSystem.listDirectory("\(rootDir)/containers")) ?? [] {
            guard let record = try? JSONFile.read(ContainerRecord.self, from: "\(containerDir(id))/container.json") else { continue }
            containers[id] = record
        }
        for (id, sandbox) in sandboxes {
            if let key = try? SandboxKey.key(for: sandbox) { names[key] = id }
        }
        for (id, container) in containers {
            if let sandbox = sandboxes[container.sandboxID], let key = try? SandboxKey.key(for: container, in: sandbox) { names[key] = id }
        }
        return (sandboxes.count, containers.count)
    }

    /// Reserves `name` for `id`; the holder's ID is in the error when taken.
    func reserve(_ name: String, for id: String, kind: String) throws {
        if let holder = names[name], holder != id {
            throw CRIError.alreadyExists(kind: kind, id: "\(name)\" (reserved for \(holder)")
        }
        names[name] = id
    }

    func release(_ name: String) { names.removeValue(forKey: name) }

    func save(_ record: SandboxRecord) throws {
        try JSONFile.write(record, to: "\(sandboxDir(record.id))/sandbox.json")
        sandboxes[record.id] = record
    }

    func save(_ record: ContainerRecord) throws {
        try JSONFile.write(record, to: "\(containerDir(record.id))/container.json")
        containers[record.id] = record
    }

    /// Changes a container record that still exists and is not being removed; writes it only
    /// when `change` says it changed something. Returns the current record (nil: gone).
    func updateContainer(_ id: String, _ change: @Sendable (inout ContainerRecord) -> Bool) throws -> ContainerRecord? {
        guard var record = containers[id], !removing.contains(id) else { return nil }
        guard change(&record) else { return record }
        try save(record)
        return record
    }

    func updateSandbox(_ id: String, _ change: @Sendable (inout SandboxRecord) -> Bool) throws -> SandboxRecord? {
        guard var record = sandboxes[id], !removing.contains(id) else { return nil }
        guard change(&record) else { return record }
        try save(record)
        return record
    }

    /// From now on no update touches the record's files (they are about to be deleted).
    func beginRemoval(_ id: String) { removing.insert(id) }
    /// The removal failed midway: the record can be updated again.
    func abortRemoval(_ id: String) { removing.remove(id) }

    func forgetSandbox(_ id: String) {
        sandboxes.removeValue(forKey: id)
        removing.remove(id)
    }

    func forgetContainer(_ id: String) {
        containers.removeValue(forKey: id)
        removing.remove(id)
    }

    /// Resolves a full ID or a unique prefix of one.
    func sandbox(_ idOrPrefix: String) throws -> SandboxRecord? {
        if let record = sandboxes[idOrPrefix] { return record }
        guard !idOrPrefix.isEmpty else { return nil }
        let matches = sandboxes.keys.filter { $0.hasPrefix(idOrPrefix) }
        if matches.count > 1 { throw CRIError.invalidArgument(field: "pod_sandbox_id", reason: "\"\(idOrPrefix)\" matches more than one sandbox") }
        return matches.first.flatMap { sandboxes[$0] }
    }

    func container(_ idOrPrefix: String) throws -> ContainerRecord? {
        if let record = containers[idOrPrefix] { return record }
        guard !idOrPrefix.isEmpty else { return nil }
        let matches = containers.keys.filter { $0.hasPrefix(idOrPrefix) }
        if matches.count > 1 { throw CRIError.invalidArgument(field: "container_id", reason: "\"\(idOrPrefix)\" matches more than one container") }
        return matches.first.flatMap { containers[$0] }
    }

    func containers(inSandbox id: String) -> [ContainerRecord] {
        containers.values.filter { $0.sandboxID == id }
    }

    var allSandboxes: [SandboxRecord] { Array(sandboxes.values) }
    var allContainers: [ContainerRecord] { Array(containers.values) }
}
