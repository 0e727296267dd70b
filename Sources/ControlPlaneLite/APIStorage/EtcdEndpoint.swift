/// One etcd client endpoint: "host:port", optionally written as "http://host:port".
public struct EtcdEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        var rest = Substring(text)
        if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        if rest.hasPrefix("https://") {
            throw StorageError.invalidArgument("etcd endpoint \(text.debugDescription): TLS is not supported yet; use http://")
        }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
            (1...65535).contains(port), colon > rest.startIndex
        else {
            throw StorageError.invalidArgument("etcd endpoint \(text.debugDescription): expected host:port with a port in 1…65535")
        }
        host = String(rest[..<colon])
        self.port = port
    }

    public var description: String { "\(host):\(port)" }

    var isIPv4: Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
