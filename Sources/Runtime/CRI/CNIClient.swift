import Foundation
import SystemCore

/// Runs CNI plugins the way the CNI spec's runtime does (libcni): the first network
/// configuration list in the conf dir by file name, each plugin in order for ADD (with the
/// previous result), in reverse for DEL (with the cached result), capability args only to
/// plugins that declare them.
struct CNIClient: Sendable {
    let confDir: String
    let binDirs: [String]
    let scratch: String

    /// Who the attachment is for (CNI_ARGS, as the kubelet's runtimes pass them).
    struct Pod: Sendable {
        var name: String
        var namespace: String
        var uid: String
        var sandboxID: String
        var netns: String
        var portMappings: [PortMap]
    }

    /// A hostPort mapping, passed as the `portMappings` capability.
    struct PortMap: Sendable, Equatable {
        var hostPort: Int
        var containerPort: Int
        var proto: String
        var hostIP: String
    }

    /// The conflist used for a sandbox: file bytes, picked at ADD time and kept for DEL.
    func currentConfList() throws -> Data {
        let names: [String]
        do { names = try FileSystem.listDirectory(confDir).sorted() } catch {
            throw CRIError.cni("no network configuration: cannot read \(confDir): \(error)")
        }
        guard let name = names.first(where: { $0.hasSuffix(".conflist") }) else {
            throw CRIError.cni("no network configuration list (*.conflist) in \(confDir)")
        }
        do { return Data(try FileSystem.readBytes("\(confDir)/\(name)")) } catch {
            throw CRIError.cni("reading \(confDir)/\(name): \(error)")
        }
    }

    /// Whether a usable configuration list exists (for Status NetworkReady).
    var isReady: Bool { (try? currentConfList()) != nil }

    /// ADD through every plugin; returns the final result (JSON). On failure, DEL is run for the
    /// plugins already added before the error is thrown.
    func add(_ pod: Pod, confList: Data) async throws -> Data {
        let list = try parse(confList)
        var previous: Any? = nil
        for (index, plugin) in list.plugins.enumerated() {
            do {
                let output = try await invoke("ADD", plugin: plugin, list: list, pod: pod, prevResult: previous)
                previous = try JSONSerialization.jsonObject(with: output)
            } catch {
                // Roll back what was added (DEL is idempotent; the failing plugin is included).
                for undo in list.plugins[0...index].reversed() {
                    _ = try? await invoke("DEL", plugin: undo, list: list, pod: pod, prevResult: previous)
                }
                throw error
            }
        }
        return try JSONSerialization.data(withJSONObject: previous ?? [:])
    }

    func del(_ pod: Pod, confList: Data, result: Data?) async throws {
        let list = try parse(confList)
        let previous = result.flatMap { try? JSONSerialization.jsonObject(with: $0) }
        var firstError: Error?
        for plugin in list.plugins.reversed() {
            do { _ = try await invoke("DEL", plugin: plugin, list: list, pod: pod, prevResult: previous) } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    /// The pod's addresses (without prefix length) from a CNI result.
    static func ips(from result: Data) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: result) as? [String: Any],
              let ips = object["ips"] as? [[String: Any]] else { return [] }
        return ips.compactMap { ($0["address"] as? String)?.split(separator: "/").first.map(String.init) }
    }

    private struct ConfList {
        var name: String
        var version: String
        var plugins: [[String: Any]]
    }

    private func parse(_ data: Data) throws -> ConfList {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CRIError.cni("network configuration list is not a JSON object")
        }
        guard let name = object["name"] as? String, let version = object["cniVersion"] as? String,
              let plugins = object["plugins"] as? [[String: Any]], !plugins.isEmpty else {
            throw CRIError.cni("network configuration list needs name, cniVersion and plugins")
        }
        return ConfList(name: name, version: version, plugins: plugins)
    }

    private func invoke(_ command: String, plugin: [String: Any], list: ConfList, pod: Pod, prevResult: Any?) async throws -> Data {
        guard let type = plugin["type"] as? String, !type.contains("/") else {
            throw CRIError.cni("plugin without a valid type in network \(list.name)")
        }
        let candidates: [String] = binDirs.map { "\($0)/\(type)" }
        guard let binary = candidates.first(where: { path in access(path, X_OK) == 0 }) else {
            throw CRIError.cni("plugin \(type) not found in \(binDirs.joined(separator: ":"))")
        }
        var conf = plugin
        conf["name"] = list.name
        conf["cniVersion"] = list.version
        if let prevResult { conf["prevResult"] = prevResult }
        if let capabilities = plugin["capabilities"] as? [String: Any],
           capabilities["portMappings"] as? Bool == true, !pod.portMappings.isEmpty {
            conf["runtimeConfig"] = ["portMappings": pod.portMappings.map { map -> [String: Any] in
                var entry: [String: Any] = ["hostPort": map.hostPort, "containerPort": map.containerPort, "protocol": map.proto]
                if !map.hostIP.isEmpty { entry["hostIP"] = map.hostIP }
                return entry
            }]
        }
        conf.removeValue(forKey: "capabilities")
        let input = try JSONSerialization.data(withJSONObject: conf)
        let args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=\(pod.namespace);K8S_POD_NAME=\(pod.name);"
            + "K8S_POD_INFRA_CONTAINER_ID=\(pod.sandboxID);K8S_POD_UID=\(pod.uid)"
        let env = [
            "CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(pod.sandboxID)", "CNI_NETNS=\(pod.netns)",
            "CNI_IFNAME=eth0", "CNI_ARGS=\(args)", "CNI_PATH=\(binDirs.joined(separator: ":"))",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        let result = try await Command.run(binary, [], environment: env, input: Array(input), scratch: scratch, timeout: 60)
        guard result.status == .exited(0) else {
            var message = result.stderrText
            if let object = try? JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any],
               let msg = object["msg"] as? String {
                message = "\(msg)" + ((object["details"] as? String).map { ": \($0)" } ?? "")
            }
            throw CRIError.cni("\(command) \(type) for pod \(pod.namespace)/\(pod.name): \(message.isEmpty ? result.status.description : message)")
        }
        return Data(result.stdout)
    }
}
