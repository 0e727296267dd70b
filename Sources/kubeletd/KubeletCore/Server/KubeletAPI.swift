import Foundation
import NIOHTTP1
import SystemCore

/// The kubelet's read-only endpoints: /healthz, /pods, /runningpods, /metrics, /stats/summary,
/// /containerLogs/{namespace}/{pod}/{container}.
public struct KubeletAPI: Sendable {
    let manager: PodManager
    let nodeName: String
    let started: Date

    public init(manager: PodManager, nodeName: String, started: Date = Date()) {
        self.manager = manager
        self.nodeName = nodeName
        self.started = started
    }

    static func json<T: Encodable>(_ value: T) -> HTTPReply {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else { return HTTPReply(.internalServerError, text: "encoding failed\n") }
        return HTTPReply(.ok, contentType: "application/json", body: Array(data))
    }

    struct PodList: Encodable {
        let kind = "PodList"
        let apiVersion = "v1"
        let metadata: [String: String] = [:]
        let items: [Pod]
    }

    /// Pods with a running container, read from the runtime (not from the kubelet's desired
    /// pods): metadata (name, namespace, uid) and the running containers' names and images.
    func runningPods() async -> [Pod] {
        let cri = manager.cri
        guard let sandboxes = try? await cri.listSandboxes(labels: [KubeLabels.managedBy: "true"]),
              let containers = try? await cri.listContainers() else { return [] }
        var running: [String: [Container]] = [:]
        for c in containers where c.state == .containerRunning {
            running[c.podSandboxID, default: []].append(Container(name: c.metadata.name, image: c.image.image))
        }
        return sandboxes.compactMap { sandbox -> Pod? in
            guard let list = running[sandbox.id] else { return nil }
            let meta = ObjectMeta(name: sandbox.metadata.name, namespace: sandbox.metadata.namespace, uid: sandbox.metadata.uid)
            let spec = PodSpec(containers: list.sorted { $0.name < $1.name })
            return Pod(metadata: meta, spec: spec)
        }.sorted { $0.fullName < $1.fullName }
    }

    public func handle(_ method: HTTPMethod, _ uri: String) async -> HTTPReply {
        let (path, query) = KubeletAPI.split(uri)
        switch path {
        case "/healthz", "/healthz/ping", "/healthz/syncloop":
            return HTTPReply(.ok, text: "ok")
        case "/pods", "/pods/":
            return KubeletAPI.json(PodList(items: await manager.pods()))
        case "/runningpods", "/runningpods/":
            // What the runtime runs, like upstream (a pod being terminated is still listed).
            return KubeletAPI.json(PodList(items: await runningPods()))
        case "/metrics", "/metrics/":
            let counts = await manager.counts()
            return HTTPReply(.ok, contentType: "text/plain; version=0.0.4",
                             body: Array(manager.metrics.render(runningPods: counts.pods, runningContainers: counts.containers).utf8))
        case "/stats/summary", "/stats/summary/":
            return await summary()
        default:
            if path.hasPrefix("/containerLogs/") { return await logs(path, query) }
            return HTTPReply(.notFound, text: "404 page not found\n")
        }
    }

    static func split(_ uri: String) -> (String, [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            query[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        return (String(uri[..<q]), query)
    }

    struct Summary: Encodable {
        struct Node: Encodable { let nodeName: String; let startTime: String }
        struct PodRef: Encodable { let name: String; let namespace: String; let uid: String }
        struct ContainerStats: Encodable { let name: String; let startTime: String? }
        struct PodStats: Encodable { let podRef: PodRef; let startTime: String?; let containers: [ContainerStats] }
        let node: Node
        let pods: [PodStats]
    }

    func summary() async -> HTTPReply {
        let pods = await manager.pods().map { pod in
            Summary.PodStats(
                podRef: .init(name: pod.metadata.name ?? "", namespace: pod.metadata.namespace ?? "", uid: pod.metadata.uid ?? ""),
                startTime: pod.status?.startTime,
                containers: (pod.status?.containerStatuses ?? []).map {
                    Summary.ContainerStats(name: $0.name, startTime: $0.state?.running?.startedAt)
                })
        }
        return KubeletAPI.json(Summary(node: .init(nodeName: nodeName, startTime: PodWorker.rfc3339(started)), pods: pods))
    }

    func logs(_ path: String, _ query: [String: String]) async -> HTTPReply {
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count == 4 else {
            return HTTPReply(.badRequest, text: "want /containerLogs/{namespace}/{pod}/{container}\n")
        }
        let (namespace, name, containerName) = (parts[1], parts[2], parts[3])
        guard let worker = await manager.worker(namespace: namespace, name: name) else {
            return HTTPReply(.notFound, text: "pod \(namespace)/\(name) not found\n")
        }
        let pod = await worker.pod
        guard let observed = await worker.observedContainers().first(where: { $0.name == containerName }) else {
            return HTTPReply(.notFound, text: "container \(containerName) in pod \(namespace)/\(name) not found\n")
        }
        var instance = observed
        if query["previous"] == "true" {
            // The dead instance the worker keeps after a restart: attempts need not be
            // consecutive (a new sandbox starts over, foreign instances take numbers).
            guard let previous = await worker.previousObservedContainers().first(where: { $0.name == containerName }) else {
                return HTTPReply(.badRequest, text: "previous terminated container \(containerName) in pod \(name) not found\n")
            }
            instance = previous
        }
        let directory = CRIConfigBuilder.logDirectory(pod)
        let file = instance.logPath.isEmpty ? "\(directory)/\(containerName)/\(instance.attempt).log"
            : instance.logPath.hasPrefix("/") ? instance.logPath : "\(directory)/\(instance.logPath)"
        guard let bytes = try? FileSystem.readBytes(file) else {
            return HTTPReply(.notFound, text: "no log for container \(containerName) (\(file))\n")
        }
        var lines = CRILog.messages(String(decoding: bytes, as: UTF8.self))
        if let tail = query["tailLines"].flatMap(Int.init), tail >= 0 { lines = Array(lines.suffix(tail)) }
        return HTTPReply(.ok, text: lines.map { $0 + "\n" }.joined())
    }
}

/// The CRI log format: `<RFC3339Nano> <stdout|stderr> <F|P> <message>`; P lines are partial.
public enum CRILog {
    public static func messages(_ text: String) -> [String] {
        var lines: [String] = []
        var partial = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3 else { continue }
            let message = fields.count == 4 ? String(fields[3]) : ""
            if fields[2] == "P" {
                partial += message
            } else {
                lines.append(partial + message)
                partial = ""
            }
        }
        if !partial.isEmpty { lines.append(partial) }
        return lines
    }
}
