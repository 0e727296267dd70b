import CRIProto
import Foundation
import Logging

/// Container log rotation, like upstream's container log manager: a running container's log
/// that reached `maxSize` is renamed to `<log>.<YYYYMMDD-hhmmss>` and the runtime reopens it
/// (CRI ReopenContainerLog); rotated files are gzip-compressed (`.gz`) once a newer one exists,
/// and at most `maxFiles` files (the current one included) are kept.
public struct LogRotationPolicy: Sendable, Hashable {
    public var maxSize: Int64
    public var maxFiles: Int

    public init(maxSize: Int64, maxFiles: Int) {
        self.maxSize = maxSize
        self.maxFiles = maxFiles
    }

    public init(config: KubeletConfiguration) {
        let size = (try? Quantity(parsing: config.containerLogMaxSize))?.value ?? 10 * 1024 * 1024
        self.init(maxSize: size, maxFiles: Int(config.containerLogMaxFiles))
    }
}

public enum LogRotation {
    static let compressSuffix = ".gz"
    static let tmpSuffix = ".tmp"

    /// `20060102-150405` in UTC, upstream's timestamp layout.
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ n: Int?, _ width: Int) -> String {
            let s = String(n ?? 0)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(c.year, 4))\(pad(c.month, 2))\(pad(c.day, 2))-\(pad(c.hour, 2))\(pad(c.minute, 2))\(pad(c.second, 2))"
    }

    public static func rotatedName(_ log: String, at date: Date) -> String { "\(log).\(timestamp(date))" }

    /// What to do with the rotated files of `log` (paths `<log>.*`) before rotating it again.
    public struct Plan: Sendable, Equatable {
        /// Leftovers (`.tmp` of an interrupted compression, an uncompressed file whose `.gz`
        /// exists) and the oldest files beyond the limit.
        public var remove: [String]
        /// Rotated files still uncompressed.
        public var compress: [String]
    }

    /// Upstream: remove unused files, then keep the newest maxFiles-2 rotated files (the current
    /// log and the one about to be rotated are the other two), then compress what is left.
    public static func plan(rotated files: [String], log: String, maxFiles: Int) -> Plan {
        var remove: [String] = []
        var kept: [String] = []
        let all = Set(files)
        for file in files.sorted() {
            if file.hasSuffix(tmpSuffix) || (!file.hasSuffix(compressSuffix) && all.contains(file + compressSuffix)) {
                remove.append(file)
            } else {
                kept.append(file)
            }
        }
        let maxRotated = max(maxFiles - 2, 0)
        while kept.count > maxRotated {
            remove.append(kept.removeFirst())
        }
        return Plan(remove: remove, compress: kept.filter { !$0.hasSuffix(compressSuffix) })
    }

    /// The rotated files of `log` in its directory.
    static func rotatedFiles(of log: String) -> [String] {
        let url = URL(fileURLWithPath: log)
        let directory = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + "."
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.map { "\(directory)/\($0)" }
    }

    /// Removes a container's log and its rotated files (container GC, like upstream's
    /// removeContainerLog).
    static func removeLogFiles(_ log: String) {
        for file in [log] + rotatedFiles(of: log) { try? FileManager.default.removeItem(atPath: file) }
    }

    /// Where the kubelet asks the runtime to write a container's log, from what ListPodSandbox
    /// and ListContainers report (upstream's BuildContainerLogsDirectory + `<attempt>.log`).
    public static func logPath(sandbox: Runtime_V1_PodSandboxMetadata, container: Runtime_V1_ContainerMetadata) -> String {
        "\(CRIConfigBuilder.logDirectory(namespace: sandbox.namespace, name: sandbox.name, uid: sandbox.uid))/"
            + CRIConfigBuilder.logFile(container: container.name, attempt: container.attempt)
    }

    static func fileSize(_ path: String) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return (attributes[.size] as? NSNumber)?.int64Value
    }
}

/// Checks every running container's log once per pass and rotates those over the limit.
public struct LogRotator: Sendable {
    let cri: CRIClient
    let policy: LogRotationPolicy
    let logger: Logger

    public init(cri: CRIClient, policy: LogRotationPolicy, logger: Logger) {
        self.cri = cri
        self.policy = policy
        self.logger = logger
    }

    /// One pass over the running containers in this kubelet's sandboxes; returns the containers
    /// whose log was rotated. Each log is stat'ed where the kubelet put it (the pod's log
    /// directory from the sandbox's metadata, `<container>/<attempt>.log`); only a log at the
    /// limit, or not found there, costs a ContainerStatus (for the runtime's own path). An idle
    /// node's pass is two list calls.
    @discardableResult
    public func rotateAll(now: Date = Date()) async throws -> [String] {
        let sandboxes = try await cri.listSandboxes(labels: [KubeLabels.managedBy: "true"])
        let ours = Dictionary(sandboxes.map { ($0.id, $0.metadata) }, uniquingKeysWith: { a, _ in a })
        var rotated: [String] = []
        for c in try await cri.listContainers() where c.state == .containerRunning {
            guard let sandbox = ours[c.podSandboxID] else { continue }
            let expected = LogRotation.logPath(sandbox: sandbox, container: c.metadata)
            if let size = LogRotation.fileSize(expected), size < policy.maxSize { continue }
            guard let log = try? await cri.containerStatus(c.id).logPath, !log.isEmpty else { continue }
            var size = LogRotation.fileSize(log)
            if size == nil {
                // A rotation whose reopen failed may have lost the file: ask the runtime again.
                try? await cri.reopenContainerLog(c.id)
                size = LogRotation.fileSize(log)
            }
            guard let size, size >= policy.maxSize else { continue }
            do {
                try await rotate(containerID: c.id, log: log, now: now)
                rotated.append(c.id)
            } catch {
                logger.warning("log rotation failed", metadata: ["container": "\(c.id)", "log": "\(log)", "error": "\(error)"])
            }
        }
        return rotated
    }

    func rotate(containerID: String, log: String, now: Date) async throws {
        let plan = LogRotation.plan(rotated: LogRotation.rotatedFiles(of: log), log: log, maxFiles: policy.maxFiles)
        for file in plan.remove { try? FileManager.default.removeItem(atPath: file) }
        for file in plan.compress { try Gzip.compressFile(file) }
        let target = LogRotation.rotatedName(log, at: now)
        try FileManager.default.moveItem(atPath: log, toPath: target)
        do {
            try await cri.reopenContainerLog(containerID)
        } catch {
            // Put it back so the next pass can try again.
            try? FileManager.default.moveItem(atPath: target, toPath: log)
            throw error
        }
        logger.info("rotated container log", metadata: ["container": "\(containerID)", "rotated": "\(target)"])
    }
}
