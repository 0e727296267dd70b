import Foundation
import Logging
import Synchronization
import SystemCore

/// Watches the static pod directory with inotify and resyncs it every `resyncInterval` seconds,
/// yielding changes on `events`. Runs its loop on its own thread (blocking poll), so a slow
/// runtime never delays noticing a manifest.
public final class StaticPodSource: Sendable {
    public let events: AsyncStream<[PodSourceEvent]>
    private let continuation: AsyncStream<[PodSourceEvent]>.Continuation
    private let path: String
    private let nodeName: String
    private let resyncInterval: Double
    private let logger: Logger
    private let stopFlag = Atomic(false)

    public init(path: String, nodeName: String, resyncInterval: Double, logger: Logger) {
        (events, continuation) = AsyncStream.makeStream(of: [PodSourceEvent].self)
        self.path = path
        self.nodeName = nodeName
        self.resyncInterval = resyncInterval
        self.logger = logger
    }

    public func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "static-pods"
        thread.start()
    }

    public func stop() {
        stopFlag.store(true, ordering: .relaxed)
    }

    private func run() {
        var directory = ManifestDirectory(path: path, nodeName: nodeName)
        var inotifyVar: Inotify?
        var watching = false
        var lastResync = 0.0
        var first = true
        while !stopFlag.load(ordering: .relaxed) {
            if inotifyVar == nil {
                do { inotifyVar = try Inotify() } catch {
                    logger.error("inotify unavailable, resync only", metadata: ["error": "\(error)"])
                }
            }
            if let inotify = inotifyVar, !watching {
                do {
                    try inotify.addWatch(path, mask: Inotify.Mask.directoryChanges.union(.onlyDirectory))
                    watching = true
                } catch {
                    // Not there yet: the periodic resync keeps looking.
                }
            }
            let now = Date().timeIntervalSince1970
            var changed = now - lastResync >= resyncInterval
            if !changed {
                let timeout = Int32(max(0, min(resyncInterval - (now - lastResync), 1)) * 1000)
                if let inotify = inotifyVar, watching {
                    do {
                        let got = try inotify.wait(timeoutMilliseconds: max(timeout, 1))
                        if !got.isEmpty {
                            changed = true
                            // Coalesce a burst (an editor's write + rename, 100 files at once).
                            usleep(20_000)
                            _ = try? inotify.readAvailable()
                            let selfMask = Inotify.Mask.deleteSelf.rawValue | Inotify.Mask.moveSelf.rawValue | Inotify.Mask.ignored.rawValue
                            if got.contains(where: { $0.mask & selfMask != 0 }) {
                                // The directory itself went away: watch again once it is back.
                                watching = false
                                self.inotifyReset(&inotifyVar)
                            }
                        }
                    } catch {
                        logger.warning("inotify read failed", metadata: ["error": "\(error)"])
                        usleep(200_000)
                    }
                } else {
                    usleep(UInt32(max(timeout, 50)) * 1000)
                }
            }
            if changed {
                lastResync = Date().timeIntervalSince1970
                let events = directory.resync()
                for case .invalid(let error) in events {
                    logger.error("bad static pod manifest skipped", metadata: ["file": "\(error.source)", "error": "\(error.message)"])
                }
                if !events.isEmpty || first { continuation.yield(events) }
                first = false
            }
        }
        continuation.finish()
    }

    private func inotifyReset(_ inotify: inout Inotify?) {
        inotify = nil
    }
}
