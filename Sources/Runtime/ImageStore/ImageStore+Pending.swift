// Bodies landing in the next commits.
extension ImageStore {
    func pull(_ ref: ImageReference, credentials: RegistryCredentials?) async throws -> Image {
        throw ImageStoreError.invalidArgument(field: "pull", reason: "not implemented yet")
    }
    func importArchiveImpl(at path: String, tag: String?) async throws -> [Image] {
        throw ImageStoreError.invalidArgument(field: "import", reason: "not implemented yet")
    }
}

/// Blob fetches in progress in this process, so concurrent pulls share one download per digest.
actor InFlightBlobs {
    private var tasks: [String: Task<Void, Error>] = [:]

    func run(_ digest: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        if let existing = tasks[digest] { return try await existing.value }
        let task = Task { try await body() }
        tasks[digest] = task
        defer { tasks[digest] = nil }
        try await task.value
    }
}
