import Foundation
import KubeletCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ArgumentParser

/// Shows what this node runs, read from kubeletd's read-only API.
@main
struct SwiftletNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet-node",
        abstract: "Show the node's pods, containers and logs (from kubeletd's read-only API).",
        subcommands: [Pods.self, Containers.self, Logs.self], defaultSubcommand: Pods.self)

    struct Server: ParsableArguments {
        @Option(help: "kubeletd read-only API base URL.")
        var server: String = "http://127.0.0.1:10255"

        func get(_ path: String) async throws -> Data {
            guard let url = URL(string: server + path) else { throw ValidationError("--server: invalid URL \"\(server)\"") }
            let (data, response) = try await URLSession.shared.data(from: url)
            if let http = response as? HTTPURLResponse, http.statusCode != 200 {
                throw ValidationError("\(path): HTTP \(http.statusCode): \(String(decoding: data, as: UTF8.self))")
            }
            return data
        }

        func pods() async throws -> [Pod] {
            struct List: Decodable { let items: [Pod] }
            return try JSONDecoder().decode(List.self, from: try await get("/pods")).items
        }
    }

    struct Pods: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pods (like kubectl get pods).")
        @OptionGroup var server: Server
        func run() async throws { print(NodeTables.pods(try await server.pods()), terminator: "") }
    }

    struct Containers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List containers (like crictl ps -a).")
        @OptionGroup var server: Server
        func run() async throws { print(NodeTables.containers(try await server.pods()), terminator: "") }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a container's log.")
        @OptionGroup var server: Server
        @Argument(help: "Pod name (as shown by `pods`).") var pod: String
        @Argument(help: "Container name (default: the pod's only container).") var container: String?
        @Option(name: .shortAndLong, help: "Namespace.") var namespace: String = "default"
        @Flag(name: .shortAndLong, help: "The previous instance's log.") var previous = false
        @Option(help: "Only the last N lines.") var tail: Int?

        func run() async throws {
            var name = container
            if name == nil {
                let pods = try await server.pods()
                guard let p = pods.first(where: { $0.metadata.name == pod && $0.metadata.namespace == namespace }) else {
                    throw ValidationError("pod \(namespace)/\(pod) not found")
                }
                guard p.spec.containers.count == 1 else {
                    throw ValidationError("pod \(pod) has \(p.spec.containers.count) containers; name one: \(p.spec.containers.map(\.name).joined(separator: ", "))")
                }
                name = p.spec.containers[0].name
            }
            var path = "/containerLogs/\(namespace)/\(pod)/\(name ?? "")?previous=\(previous)"
            if let tail { path += "&tailLines=\(tail)" }
            FileHandle.standardOutput.write(try await server.get(path))
        }
    }
}


