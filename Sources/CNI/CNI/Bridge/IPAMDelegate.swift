#if canImport(Glibc)
import Glibc
#endif
import SystemCore
import SystemPackage

/// Runs the configured IPAM plugin (section 4): found through CNI_PATH, given the same
/// environment and stdin. When the binary found is this very executable acting as host-local,
/// the call stays in-process and saves an exec per pod.
public struct IPAMDelegate {
    public let type: String
    public let environment: [String: String]
    public let stdin: [UInt8]
    public let config: NetworkConfig
    public let cni: CNIEnvironment

    public init(type: String, environment: [String: String], stdin: [UInt8], config: NetworkConfig, cni: CNIEnvironment) {
        self.type = type
        self.environment = environment
        self.stdin = stdin
        self.config = config
        self.cni = cni
    }

    /// Runs `command`; ADD returns the IPAM result.
    @discardableResult
    public func run(_ command: CNICommand) throws(CNIError) -> CNIResult? {
        let path = try locate()
        if type == "host-local" && IPAMDelegate.isSelf(path) {
            var env = cni
            env.command = command
            switch command {
            case .add: return try HostLocalPlugin.add(config: config, environment: env)
            case .del: try HostLocalPlugin.del(config: config, environment: env)
            case .check: try HostLocalPlugin.check(config: config, environment: env)
            case .gc: try HostLocalPlugin.gc(config: config)
            case .status: try HostLocalPlugin.status(config: config)
            case .version: break
            }
            return nil
        }
        let (status, output) = try execute(path, command: command)
        let text = String(decoding: output, as: UTF8.self)
        if status != 0 {
            if let json = try? JSONParser.parse(output), let code = json["code"]?.intValue {
                let message = json["msg"]?.stringValue ?? "failed"
                let details = json["details"]?.stringValue ?? ""
                let known = CNIError.Code(rawValue: code) ?? .internalError
                throw CNIError(known, "\(type): \(message)", details: details)
            }
            throw CNIError(.internalError, "\(type) \(command.rawValue) failed with status \(status)", details: text)
        }
        guard command == .add else { return nil }
        let json: JSON
        do {
            json = try JSONParser.parse(output)
        } catch {
            throw CNIError(.decodingFailure, "\(type) result: \(error.description)")
        }
        return try CNIResult(json: JSONField(json, path: "\(type) result"))
    }

    /// The plugin binary in CNI_PATH.
    func locate() throws(CNIError) -> String {
        for directory in cni.path {
            let candidate = directory.hasSuffix("/") ? directory + type : "\(directory)/\(type)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw CNIError(.invalidEnvironment, "CNI_PATH: IPAM plugin \"\(type)\" not found in \(cni.path.joined(separator: ":"))")
    }

    static func isSelf(_ path: String) -> Bool {
        var mine = stat()
        var theirs = stat()
        guard stat("/proc/self/exe", &mine) == 0, stat(path, &theirs) == 0 else { return false }
        return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino
    }

    /// posix_spawn with stdin/stdout pipes; stderr is inherited (the spec wants it passed on).
    private func execute(_ path: String, command: CNICommand) throws(CNIError) -> (Int32, [UInt8]) {
        var env = environment
        env["CNI_COMMAND"] = command.rawValue
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard pipe(&input) == 0 else { throw spawnError("pipe") }
        guard pipe(&output) == 0 else {
            close(input[0]); close(input[1])
            throw spawnError("pipe")
        }
        // Only the dup2'd copies may reach the child.
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)

        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The plugin ignores SIGPIPE; the child gets the default back.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        close(input[0])
        close(output[1])
        guard spawned == 0 else {
            close(input[1]); close(output[0])
            throw CNIError(.internalError, "cannot run IPAM plugin \(path): \(Errno(rawValue: spawned))")
        }
        var remaining = stdin[...]
        while !remaining.isEmpty {
            let written = remaining.withUnsafeBytes { write(input[1], $0.baseAddress, $0.count) }
            if written < 0 {
                if currentErrno() == EINTR { continue }
                break
            }
            remaining = remaining.dropFirst(written)
        }
        close(input[1])
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(output[0], $0.baseAddress, $0.count) }
            if count < 0 && currentErrno() == EINTR { continue }
            if count <= 0 { break }
            result += chunk[..<count]
        }
        close(output[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && currentErrno() == EINTR {}
        let exited = status & 0x7F == 0
        return (exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), result)
    }

    private func spawnError(_ call: String) -> CNIError {
        CNIError(.internalError, "\(call): \(Errno(rawValue: currentErrno()))")
    }
}
