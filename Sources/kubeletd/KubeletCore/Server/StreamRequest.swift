import Foundation

/// An exec, attach or portForward request to the secure API, parsed from its path and query as
/// the upstream kubelet reads them:
/// `/exec/{namespace}/{pod}[/{uid}]/{container}?command=...&input=1&output=1&error=1&tty=1`
/// (`stdin`/`stdout`/`stderr` are accepted as well), `/attach/...` without command, and
/// `/portForward/{namespace}/{pod}[/{uid}]` (`port=` repeated, for WebSocket clients).
public struct StreamRequest: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable { case exec, attach, portForward }
    public var kind: Kind
    public var namespace: String
    public var pod: String
    public var uid: String?
    public var container: String
    public var command: [String] = []
    public var stdin = false
    public var stdout = false
    public var stderr = false
    public var tty = false
    public var ports: [Int32] = []

    /// A bad request, answered with 400 and this message.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The streaming kind a path is for, or nil when it is not a streaming path.
    public static func kind(of path: String) -> Kind? {
        if path.hasPrefix("/exec/") { return .exec }
        if path.hasPrefix("/attach/") { return .attach }
        if path.hasPrefix("/portForward/") { return .portForward }
        return nil
    }

    /// `a=1&b=x+y&b=%2F` → [("a","1"), ("b","x y"), ("b","/")] (Go's url.ParseQuery rules).
    public static func queryPairs(_ query: Substring) -> [(String, String)] {
        query.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(kv[0]), kv.count > 1 ? decode(kv[1]) : "")
        }
    }

    public static func parse(uri: String) throws(Problem) -> StreamRequest? {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        guard let kind = kind(of: path) else { return nil }
        let query = queryPairs(parts.count > 1 ? parts[1] : "")
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2)
            .map { String($0).removingPercentEncoding ?? String($0) }
        var request: StreamRequest
        switch (kind, segments.count) {
        case (.portForward, 2), (.portForward, 3):
            request = StreamRequest(kind: kind, namespace: segments[0], pod: segments[1],
                                    uid: segments.count == 3 ? segments[2] : nil, container: "")
        case (.exec, 3), (.exec, 4), (.attach, 3), (.attach, 4):
            request = StreamRequest(kind: kind, namespace: segments[0], pod: segments[1],
                                    uid: segments.count == 4 ? segments[2] : nil, container: segments[segments.count - 1])
        default:
            let want = kind == .portForward ? "/portForward/{namespace}/{pod}" : "/\(kind.rawValue)/{namespace}/{pod}/{container}"
            throw Problem(message: "invalid path \(path): want \(want)")
        }
        if request.namespace.isEmpty || request.pod.isEmpty || (kind != .portForward && request.container.isEmpty) {
            throw Problem(message: "invalid path \(path): namespace, pod and container must not be empty")
        }
        for (name, value) in query {
            switch name {
            case "command":
                request.command.append(value)
            case "input", "stdin", "output", "stdout", "error", "stderr", "tty":
                let on: Bool
                switch value {
                case "1", "true": on = true
                case "0", "false", "": on = false
                default: throw Problem(message: "\(name): invalid value \"\(value)\": expected 1 or 0")
                }
                switch name {
                case "input", "stdin": request.stdin = on
                case "output", "stdout": request.stdout = on
                case "error", "stderr": request.stderr = on
                default: request.tty = on
                }
            case "port", "ports":
                for item in value.split(separator: ",") {
                    guard let port = Int32(item), (1...65535).contains(port) else {
                        throw Problem(message: "\(name): invalid port \"\(item)\": must be between 1 and 65535")
                    }
                    request.ports.append(port)
                }
            default:
                continue  // unknown parameters are ignored, as upstream
            }
        }
        switch kind {
        case .exec, .attach:
            if kind == .exec && (request.command.isEmpty || request.command[0].isEmpty) {
                throw Problem(message: "command: required (at least one command= parameter)")
            }
            if !request.stdin && !request.stdout && !request.stderr {
                throw Problem(message: "you must specify at least 1 of stdin, stdout, stderr")
            }
            // With a tty, stderr is merged into stdout (upstream clears it too).
            if request.tty { request.stderr = false }
        case .portForward:
            break
        }
        return request
    }
}

/// Who a request to the secure API comes from, and whether it may go on.
public enum KubeletAuth {
    public struct User: Sendable, Equatable {
        public var name: String
        public var groups: [String]
        public static let anonymous = User(name: "system:anonymous", groups: ["system:unauthenticated"])
    }

    public enum Decision: Sendable, Equatable {
        case allow(User)
        /// 401: no credentials and anonymous requests are off.
        case unauthorized
    }

    /// Paths any client may reach, as upstream (health checks of the load balancer / kubeadm).
    public static func isPublic(_ path: String) -> Bool {
        path == "/healthz" || path.hasPrefix("/healthz/")
    }

    /// x509 first (the TLS handshake already verified the chain against clientCAFile: a
    /// certificate from another CA never gets here), then anonymous. Authorization is AlwaysAllow.
    public static func decide(path: String, certificateUser: User?, anonymousEnabled: Bool) -> Decision {
        if let certificateUser { return .allow(certificateUser) }
        if anonymousEnabled || isPublic(path) { return .allow(.anonymous) }
        return .unauthorized
    }
}
