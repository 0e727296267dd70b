import CRIProto
import Dispatch
import SystemCore

/// Runs one probe attempt (exec through CRI, tcpSocket and httpGet from the node to the pod IP).
public enum ProbeResult: Sendable, Equatable {
    case success
    case failure(String)
}

/// Per (container, probe kind) state: consecutive results and the current verdict. Owned by the
/// pod worker.
public struct ProbeState: Sendable {
    public var lastRun: Double = 0
    public var successes: Int32 = 0
    public var failures: Int32 = 0
    /// nil until the first verdict.
    public var healthy: Bool?

    /// Applies one result with the probe's thresholds; returns true when the verdict changed.
    @discardableResult
    public mutating func record(_ result: ProbeResult, probe: Probe) -> Bool {
        let before = healthy
        switch result {
        case .success:
            successes += 1
            failures = 0
            if successes >= probe.effectiveSuccessThreshold { healthy = true }
        case .failure:
            failures += 1
            successes = 0
            if failures >= probe.effectiveFailureThreshold { healthy = false }
        }
        return before != healthy
    }
}

public enum Prober {
    static func resolvePort(_ port: IntOrString, _ container: Container) -> Int? {
        switch port {
        case .int(let n): return n
        case .string(let name): return container.ports?.first { $0.name == name }?.containerPort
        }
    }

    static func offPool<T: Sendable>(_ body: @Sendable @escaping () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }

    public static func run(_ probe: Probe, container: Container, containerID: String, podIP: String?,
                           cri: CRIClient) async -> ProbeResult {
        let timeout = probe.effectiveTimeoutSeconds
        if let exec = probe.exec {
            do {
                let response = try await cri.execSync(containerID, command: exec.command ?? [], timeout: Int64(timeout))
                return response.exitCode == 0 ? .success : .failure("exit code \(response.exitCode)")
            } catch {
                return .failure("exec: \(error)")
            }
        }
        let host = probe.httpGet?.host ?? probe.tcpSocket?.host ?? podIP ?? ""
        if host.isEmpty { return .failure("no pod IP yet") }
        if let tcp = probe.tcpSocket {
            guard let port = resolvePort(tcp.port, container), let p = UInt16(exactly: port) else {
                return .failure("unknown port \(tcp.port)")
            }
            return await offPool {
                do {
                    _ = try TCPConnection(host: host, port: p, timeoutMilliseconds: timeout * 1000)
                    return .success
                } catch {
                    return .failure("\(error)")
                }
            }
        }
        if let http = probe.httpGet {
            guard let port = resolvePort(http.port, container), let p = UInt16(exactly: port) else {
                return .failure("unknown port \(http.port)")
            }
            if http.scheme == "HTTPS" { return .failure("HTTPS probes are not supported yet") }
            let path = http.path ?? "/"
            var request = "GET \(path.hasPrefix("/") ? path : "/" + path) HTTP/1.0\r\nHost: \(host):\(port)\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\n"
            for header in http.httpHeaders ?? [] { request += "\(header.name): \(header.value)\r\n" }
            request += "\r\n"
            let bytes = Array(request.utf8)
            return await offPool {
                do {
                    let connection = try TCPConnection(host: host, port: p, timeoutMilliseconds: timeout * 1000)
                    try connection.send(bytes, timeoutMilliseconds: timeout * 1000)
                    let reply = try connection.receive(limit: 1024, timeoutMilliseconds: timeout * 1000)
                    let line = String(decoding: reply.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
                    let parts = line.split(separator: " ")
                    guard parts.count >= 2, let code = Int(parts[1]) else { return .failure("bad HTTP reply \"\(line)\"") }
                    return (200..<400).contains(code) ? .success : .failure("HTTP probe failed with statuscode: \(code)")
                } catch {
                    return .failure("\(error)")
                }
            }
        }
        if probe.grpc != nil { return .failure("grpc probes are not supported yet") }
        return .failure("probe has no handler")
    }
}
