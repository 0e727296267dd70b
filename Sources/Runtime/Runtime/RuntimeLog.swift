#if canImport(Glibc)
import Glibc
#endif
import SystemCore

/// Where the runtime's messages go: stderr, and the `--log` file in text or JSON
/// (`{"level":"error","msg":"...","time":"..."}`, what containerd reads back).
public struct RuntimeLog: Sendable {
    public var path: String?
    public var json: Bool
    public var debugEnabled: Bool

    public init(path: String? = nil, json: Bool = false, debug: Bool = false) {
        self.path = path
        self.json = json
        self.debugEnabled = debug
    }

    public func error(_ message: String) {
        emit("error", message, toStderr: true)
    }

    public func warning(_ message: String) {
        emit("warning", message, toStderr: true)
    }

    public func debug(_ message: String) {
        if debugEnabled { emit("debug", message, toStderr: path == nil) }
    }

    private func emit(_ level: String, _ message: String, toStderr: Bool) {
        if toStderr {
            let line = level == "error" ? "swiftlet-runc: \(message)\n" : "swiftlet-runc: \(level): \(message)\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
        }
        guard let path else { return }
        let time = Timestamp.now()
        let line: String
        if json {
            line = "{\"level\":\"\(level)\",\"msg\":\(JSONString.quoted(message)),\"time\":\"\(time)\"}\n"
        } else {
            line = "time=\"\(time)\" level=\(level) msg=\(JSONString.quoted(message))\n"
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}
