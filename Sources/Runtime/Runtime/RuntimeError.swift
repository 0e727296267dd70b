import SystemCore

/// Every failure the runtime reports. `description` is the one line a user sees.
public enum RuntimeError: Error, CustomStringConvertible, Sendable {
    /// config.json (or a --process file) is malformed or breaks a rule; `field` is its JSON path.
    case invalidConfig(field: String, reason: String)
    /// A command-line argument is wrong.
    case invalidArgument(name: String, reason: String)
    case containerExists(id: String)
    case containerNotFound(id: String)
    /// The container is not in a state that allows the operation.
    case wrongState(id: String, state: String, operation: String)
    /// The host lacks something the config needs (a cgroup controller, a kernel feature).
    case unsupported(String)
    /// A system call failed; `context` says what the runtime was doing.
    case system(context: String, SystemCallError)
    /// The container's init process reported a failure while setting up.
    case containerSetup(stage: String, message: String)
    case hookFailed(hook: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfig(let field, let reason): "invalid config: \(field): \(reason)"
        case .invalidArgument(let name, let reason): "invalid argument \(name): \(reason)"
        case .containerExists(let id): "container \"\(id)\" already exists"
        case .containerNotFound(let id): "container \"\(id)\" does not exist"
        case .wrongState(let id, let state, let operation): "container \"\(id)\" is \(state): cannot \(operation) it"
        case .unsupported(let what): "unsupported on this host: \(what)"
        case .system(let context, let error): "\(context): \(error)"
        case .containerSetup(let stage, let message): "container init failed (\(stage)): \(message)"
        case .hookFailed(let hook, let path, let reason): "\(hook) hook \(path) failed: \(reason)"
        }
    }
}

extension RuntimeError {
    /// Runs a syscall-level operation and wraps its failure with context.
    static func wrap<T>(_ context: @autoclosure () -> String, _ body: () throws(SystemCallError) -> T) throws(RuntimeError) -> T {
        do {
            return try body()
        } catch {
            throw .system(context: context(), error)
        }
    }
}
