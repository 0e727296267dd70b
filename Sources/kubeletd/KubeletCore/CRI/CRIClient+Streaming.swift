import CRIProto
import GRPCCore

/// The CRI calls behind the secure API's exec, attach and portForward: each returns a URL on the
/// runtime's streaming server, which the kubelet then proxies the client's upgrade request to.
extension CRIClient {
    /// A URL for running `command` in a container (`Exec`).
    public func exec(containerID: String, command: [String], stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) async throws -> String {
        var request = Runtime_V1_ExecRequest()
        request.containerID = containerID
        request.cmd = command
        request.stdin = stdin
        request.stdout = stdout
        request.stderr = stderr
        request.tty = tty
        return try await runtime("exec") { try await $0.exec(request) }.url
    }

    /// A URL for attaching to a container's main process (`Attach`).
    public func attach(containerID: String, stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) async throws -> String {
        var request = Runtime_V1_AttachRequest()
        request.containerID = containerID
        request.stdin = stdin
        request.stdout = stdout
        request.stderr = stderr
        request.tty = tty
        return try await runtime("attach") { try await $0.attach(request) }.url
    }

    /// A URL for forwarding ports of a pod sandbox (`PortForward`); `ports` may be empty (SPDY
    /// clients name the port per stream).
    public func portForward(sandboxID: String, ports: [Int32]) async throws -> String {
        var request = Runtime_V1_PortForwardRequest()
        request.podSandboxID = sandboxID
        request.port = ports
        return try await runtime("port_forward") { try await $0.portForward(request) }.url
    }
}
