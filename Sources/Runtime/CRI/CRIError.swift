import GRPCCore
import ImageStore
import SystemCore

/// Errors of the CRI service; each maps to one gRPC status code (see `rpcError`).
public enum CRIError: Error, CustomStringConvertible, Sendable {
    case invalidArgument(field: String, reason: String)
    case notFound(kind: String, id: String)
    case alreadyExists(kind: String, id: String)
    case failedPrecondition(String)
    case unimplemented(String)
    case runtime(String)
    case system(context: String, SystemCallError)
    case cni(String)
    case image(ImageStoreError)

    public var description: String {
        switch self {
        case .invalidArgument(let field, let reason): return "\(field): \(reason)"
        case .notFound(let kind, let id): return "\(kind) \"\(id)\" not found"
        case .alreadyExists(let kind, let id): return "\(kind) \"\(id)\" already exists"
        case .failedPrecondition(let message): return message
        case .unimplemented(let what): return "\(what) is not implemented by swiftlet-cri"
        case .runtime(let message): return "OCI runtime: \(message)"
        case .system(let context, let error): return "\(context): \(error)"
        case .cni(let message): return "CNI: \(message)"
        case .image(let error): return "\(error)"
        }
    }

    /// The gRPC status a client sees.
    public var rpcError: RPCError {
        switch self {
        case .invalidArgument: return RPCError(code: .invalidArgument, message: description)
        case .notFound: return RPCError(code: .notFound, message: description)
        case .alreadyExists: return RPCError(code: .alreadyExists, message: description)
        case .failedPrecondition: return RPCError(code: .failedPrecondition, message: description)
        case .unimplemented: return RPCError(code: .unimplemented, message: description)
        case .image(let error):
            switch error {
            case .imageNotFound: return RPCError(code: .notFound, message: description)
            case .invalidArgument, .invalidReference: return RPCError(code: .invalidArgument, message: description)
            default: return RPCError(code: .unknown, message: description)
            }
        default: return RPCError(code: .unknown, message: description)
        }
    }
}

extension CRIError {
    /// Adds context to a system call failure; other errors pass unchanged.
    static func wrap(_ context: String, _ error: Error) -> Error {
        if let error = error as? SystemCallError { return CRIError.system(context: context, error) }
        return error
    }
}

/// Runs an RPC body, turning every error into an `RPCError` whose message names the cause.
func rpc<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let error as CRIError {
        throw error.rpcError
    } catch let error as ImageStoreError {
        throw CRIError.image(error).rpcError
    } catch let error as RPCError {
        throw error
    } catch {
        throw RPCError(code: .unknown, message: "\(error)")
    }
}

extension CRIError {
    /// The check every request makes of its required string fields: empty → InvalidArgument
    /// naming the field.
    static func require(_ value: String, field: String) throws {
        if value.isEmpty { throw CRIError.invalidArgument(field: field, reason: "must not be empty") }
    }
}
