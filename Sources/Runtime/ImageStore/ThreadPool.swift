import NIOPosix

/// Runs blocking work (unpacking, hashing big files) on NIO's thread pool, off the cooperative
/// pool that async code shares.
enum NIOThreadPoolRunner {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
