import ArgumentParser
import Dispatch

/// The entry point of a long-running daemon whose command line is an ArgumentParser command
/// (tree): `static func main() { DaemonMain.run(Root.self) }` under `@main`.
///
/// The command runs on the concurrency pool while the main thread waits for it, then exits the
/// process with its status. An `async` main would end in `dispatch_main()`, which retires the main
/// thread with `pthread_exit`: glibc unwinds that thread's stack, and in a static executable the
/// first unwind sorts every unwind record of the binary (the whole `.eh_frame`, 6-7 MB, read, its
/// index kept on the heap) for the life of the daemon. These daemons use neither the main queue
/// nor the main actor, so nothing waits for them.
public enum DaemonMain {
    public static func run<Root: ParsableCommand>(_ root: Root.Type, arguments: [String]? = nil) -> Never {
        let command: any ParsableCommand
        do {
            command = try root.parseAsRoot(arguments)
        } catch {
            root.exit(withError: error)
        }
        nonisolated(unsafe) let parsed = command
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                if var asynchronous = parsed as? any AsyncParsableCommand {
                    try await asynchronous.run()
                } else {
                    var synchronous = parsed
                    try synchronous.run()
                }
            } catch {
                root.exit(withError: error)
            }
            finished.signal()
        }
        finished.wait()
        root.exit()
    }
}
