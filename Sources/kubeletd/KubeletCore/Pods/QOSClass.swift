/// A pod's quality-of-service class, computed like upstream's `GetPodQOS`.
public enum QOSClass: String, Sendable, Hashable, Codable {
    case guaranteed = "Guaranteed", burstable = "Burstable", bestEffort = "BestEffort"

    static let computeResources = ["cpu", "memory"]

    /// Init and app containers both count; only cpu and memory matter; zero quantities are ignored.
    /// Call on a defaulted pod (requests default to limits).
    public init(pod: Pod) {
        var requests: [String: Quantity] = [:]
        var limits: [String: Quantity] = [:]
        var guaranteed = true
        for c in pod.spec.containers + (pod.spec.initContainers ?? []) {
            for (name, q) in c.resources?.requests ?? [:] where QOSClass.computeResources.contains(name) && q.amount > 0 {
                requests[name] = requests[name].map { $0 + q } ?? q
            }
            var limitsFound = Set<String>()
            for (name, q) in c.resources?.limits ?? [:] where QOSClass.computeResources.contains(name) && q.amount > 0 {
                limitsFound.insert(name)
                limits[name] = limits[name].map { $0 + q } ?? q
            }
            if limitsFound.count != QOSClass.computeResources.count { guaranteed = false }
        }
        if requests.isEmpty && limits.isEmpty {
            self = .bestEffort
            return
        }
        if guaranteed {
            for (name, request) in requests {
                guard let limit = limits[name], limit.amount == request.amount else {
                    guaranteed = false
                    break
                }
            }
        }
        self = guaranteed && requests.count == limits.count ? .guaranteed : .burstable
    }
}
