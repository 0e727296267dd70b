import CRIProto
import Foundation

/// Fans container lifecycle events out to every GetContainerEvents stream.
final class EventHub: @unchecked Sendable {
    private let lock = NSLock()
    private var subscribers: [UUID: AsyncStream<Runtime_V1_ContainerEventResponse>.Continuation] = [:]

    func subscribe() -> (UUID, AsyncStream<Runtime_V1_ContainerEventResponse>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Runtime_V1_ContainerEventResponse>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        lock.withLock { subscribers[id] = continuation }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, stream)
    }

    func unsubscribe(_ id: UUID) {
        _ = lock.withLock { subscribers.removeValue(forKey: id) }
    }

    func publish(containerID: String, sandboxID: String, type: Runtime_V1_ContainerEventType) {
        var event = Runtime_V1_ContainerEventResponse()
        event.containerID = containerID
        event.containerEventType = type
        event.createdAt = nowNanos()
        var status = Runtime_V1_PodSandboxStatus()
        status.id = sandboxID
        event.podSandboxStatus = status
        let targets = lock.withLock { Array(subscribers.values) }
        for target in targets { target.yield(event) }
    }
}
