import Foundation
import Logging
import Synchronization

/// The kubelet's periodic housekeeping: container GC (every containerGCPeriod), image GC (every
/// imageGCPeriod) and log rotation (every containerLogMonitorInterval), each on its own loop so a
/// slow pass never delays the others. Container GC treats pods as gone only after the pod
/// sources have reported once (`markSourcesReady`).
public final class Housekeeping: Sendable {
    let cri: CRIClient
    let config: KubeletConfiguration
    let manager: PodManager
    let logger: Logger
    let containers: ContainerCollector
    let rotator: LogRotator
    private let sourcesReady = Mutex(false)

    public init(cri: CRIClient, config: KubeletConfiguration, manager: PodManager, logger: Logger) {
        self.cri = cri
        self.config = config
        self.manager = manager
        self.logger = logger
        containers = ContainerCollector(cri: cri, policy: ContainerGCPolicy(config: config), logger: logger)
        rotator = LogRotator(cri: cri, policy: LogRotationPolicy(config: config), logger: logger)
    }

    public func markSourcesReady() { sourcesReady.withLock { $0 = true } }

    /// Runs until cancelled.
    public func run() async {
        let images = ImageCollector(cri: cri, policy: ImageGCPolicy(config: config),
                                    protectedImages: [config.podInfraContainerImage] + (await runtimeSandboxImages()),
                                    logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                await every(config.containerGCPeriod.seconds, "container GC") { [self] in
                    let uids = Set(await manager.pods().compactMap(\.metadata.uid))
                    _ = try await containers.collect(podExists: { uids.contains($0) },
                                                     sourcesReady: sourcesReady.withLock { $0 })
                }
            }
            group.addTask { [self] in
                await every(config.imageGCPeriod.seconds, "image GC") { _ = try await images.collect() }
            }
            group.addTask { [self] in
                await every(config.containerLogMonitorInterval.seconds, "log rotation") { [self] in
                    try await rotator.rotateAll()
                }
            }
        }
    }

    func every(_ seconds: Double, _ what: String, _ body: @Sendable () async throws -> Void) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(seconds)) } catch { return }
            do { try await body() } catch {
                logger.warning("\(what) failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The sandbox image the runtime itself uses (containerd reports its CRI config, with
    /// `sandboxImage`, in the verbose status), so image GC never removes it.
    func runtimeSandboxImages() async -> [String] {
        guard let info = try? await cri.runtimeInfo() else { return [] }
        return Housekeeping.sandboxImages(fromRuntimeInfo: info)
    }

    static func sandboxImages(fromRuntimeInfo info: [String: String]) -> [String] {
        guard let text = info["config"], let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        return [object["sandboxImage"] as? String].compactMap { $0 }.filter { !$0.isEmpty }
    }
}
