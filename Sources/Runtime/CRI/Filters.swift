import CRIProto

/// The List* filters of the CRI: an ID (or a prefix of one), a state, a sandbox, and labels
/// that must all match.
enum Filters {
    static func matches(_ record: SandboxRecord, config: Runtime_V1_PodSandboxConfig, filter: Runtime_V1_PodSandboxFilter?) -> Bool {
        guard let filter else { return true }
        if !filter.id.isEmpty && !record.id.hasPrefix(filter.id) { return false }
        if filter.hasState {
            let state: Runtime_V1_PodSandboxState = record.state == .ready ? .sandboxReady : .sandboxNotready
            if filter.state.state != state { return false }
        }
        return labels(config.labels, match: filter.labelSelector)
    }

    static func matches(_ record: ContainerRecord, config: Runtime_V1_ContainerConfig, filter: Runtime_V1_ContainerFilter?) -> Bool {
        guard let filter else { return true }
        if !filter.id.isEmpty && !record.id.hasPrefix(filter.id) { return false }
        if !filter.podSandboxID.isEmpty && !record.sandboxID.hasPrefix(filter.podSandboxID) { return false }
        if filter.hasState && filter.state.state != state(of: record) { return false }
        return labels(config.labels, match: filter.labelSelector)
    }

    static func state(of record: ContainerRecord) -> Runtime_V1_ContainerState {
        switch record.state {
        case .created: return .containerCreated
        case .running: return .containerRunning
        case .exited: return .containerExited
        }
    }

    static func labels(_ labels: [String: String], match selector: [String: String]) -> Bool {
        selector.allSatisfy { labels[$0.key] == $0.value }
    }
}
