/// Blob fetches in progress in this process, so concurrent pulls share one download per digest.
actor InFlightBlobs {
    private var tasks: [String: Task<Void, Error>] = [:]

    /// Runs `body` for `digest` unless a run is already in progress; then waits for that one.
    func run(_ digest: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        if let existing = tasks[digest] { return try await existing.value }
        let task = Task { try await body() }
        tasks[digest] = task
        defer { tasks[digest] = nil }
        try await task.value
    }
}
