// swiftlet-cni: the bridge and host-local CNI plugins in one binary. Run as (or linked to)
// "host-local" it is the IPAM plugin; under any other name ("bridge", "swiftlet-cni") the bridge.
#if canImport(Glibc)
import Glibc
#endif
import CNI

/// Reads all of stdin.
func readStandardInput() -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes += chunk[..<count]
    }
    return bytes
}

/// The process environment as a dictionary.
func environmentDictionary() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return result
}

func writeAll(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { return }
        bytes = bytes.dropFirst(written)
    }
}

signal(SIGPIPE, SIG_IGN)
let arguments = CommandLine.arguments
let role = PluginRole(argv0: arguments.first ?? "swiftlet-cni")
let environment = environmentDictionary()

if environment["CNI_COMMAND"] == nil, arguments.count > 1, arguments[1] == "--version" || arguments[1] == "version" {
    writeAll("swiftlet-cni (\(role.rawValue)) CNI protocol versions supported: "
        + CNIVersion.supported.map(\.description).joined(separator: ", ") + "\n", to: 1)
    exit(0)
}

let output = PluginMain.run(role: role, environment: environment, stdin: readStandardInput())
writeAll(output.stdout, to: 1)
if output.exitCode != 0 {
    // Also say it on stderr, where people read logs.
    writeAll("\(role.rawValue): \(output.stdout)", to: 2)
}
exit(output.exitCode)
