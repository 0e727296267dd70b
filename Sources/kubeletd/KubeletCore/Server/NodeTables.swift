import Foundation

/// Human tables for the node CLI: pods like `kubectl get pods`, containers like `crictl ps -a`.
public enum NodeTables {
    public static func render(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }

    /// `kubectl get pods` STATUS: a waiting/terminated reason beats the phase.
    public static func displayStatus(_ pod: Pod) -> String {
        let status = pod.status
        var reason = status?.reason ?? status?.phase ?? "Unknown"
        for (i, c) in (status?.initContainerStatuses ?? []).enumerated() where !(pod.spec.initContainers?[i].isSidecar ?? false) {
            if let t = c.state?.terminated, t.exitCode == 0 { continue }
            if let w = c.state?.waiting?.reason, w != "PodInitializing" { return "Init:\(w)" }
            if let t = c.state?.terminated { return "Init:\(t.reason ?? "Error")" }
            return "Init:\(i)/\(pod.spec.initContainers?.count ?? 0)"
        }
        for c in status?.containerStatuses ?? [] {
            if let w = c.state?.waiting?.reason { reason = w }
            else if let t = c.state?.terminated?.reason, status?.phase != "Running" { reason = t }
        }
        return reason
    }

    public static func age(_ rfc3339: String?, now: Date = Date()) -> String {
        guard let text = rfc3339, let date = try? Date(text, strategy: .iso8601) else { return "<unknown>" }
        let seconds = Int(max(0, now.timeIntervalSince(date)))
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7200 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }

    public static func pods(_ pods: [Pod], now: Date = Date()) -> String {
        var rows = [["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"]]
        for pod in pods {
            let statuses = pod.status?.containerStatuses ?? []
            let ready = statuses.filter(\.ready).count
            let restarts = statuses.reduce(0) { $0 + Int($1.restartCount) }
            rows.append([pod.metadata.namespace ?? "default", pod.metadata.name ?? "",
                         "\(ready)/\(pod.spec.containers.count)", displayStatus(pod), String(restarts),
                         age(pod.status?.startTime, now: now), pod.status?.podIP ?? "<none>"])
        }
        return render(rows)
    }

    public static func containers(_ pods: [Pod], now: Date = Date()) -> String {
        var rows = [["CONTAINER", "IMAGE", "STATE", "NAME", "ATTEMPT", "AGE", "POD"]]
        for pod in pods {
            for c in (pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? []) {
                let id = c.containerID.map { String($0.split(separator: "/").last ?? "").prefix(13) } ?? ""
                let state: String
                var started: String?
                if let r = c.state?.running { state = "Running"; started = r.startedAt }
                else if let t = c.state?.terminated { state = "Exited(\(t.exitCode))"; started = t.startedAt }
                else { state = c.state?.waiting?.reason ?? "Waiting" }
                rows.append([id.isEmpty ? "<none>" : String(id), c.image, state, c.name, String(c.restartCount),
                             started.map { age($0, now: now) } ?? "-", pod.metadata.name ?? ""])
            }
        }
        return render(rows)
    }
}
