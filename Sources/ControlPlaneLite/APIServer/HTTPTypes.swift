/// Who made a request, after authentication.
public struct UserInfo: Sendable, Equatable {
    public var name: String
    public var uid: String
    public var groups: [String]

    public init(name: String, uid: String = "", groups: [String]) {
        self.name = name
        self.uid = uid
        self.groups = groups
    }

    public static let anonymous = UserInfo(name: "system:anonymous", groups: ["system:unauthenticated"])
    public var isAnonymous: Bool { name == "system:anonymous" }
}

/// One HTTP request, fully read.
public struct APIRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var user: UserInfo

    public init(method: String, uri: String, headers: [(String, String)], body: [UInt8], user: UserInfo) {
        self.method = method
        self.headers = headers
        self.body = body
        self.user = user
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = parts.first.map { String($0).removingPercentEncodingSafely } ?? "/"
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(kv[0]).formDecoded
                query[key] = kv.count > 1 ? String(kv[1]).formDecoded : ""
            }
        }
        self.query = query
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// What the router answers: a whole body, or a stream of chunks (watch).
public struct APIResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        case stream(AsyncThrowingStream<[UInt8], Error>)
    }
    public var status: Int
    public var contentType: String
    public var body: Body
    public var headers: [(String, String)] = []

    public init(status: Int = 200, contentType: String = "application/json", body: Body) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func json(_ value: JSONValue, status: Int = 200) -> APIResponse {
        var bytes = value.serialized()
        bytes.append(0x0A)
        return APIResponse(status: status, body: .bytes(bytes))
    }

    public static func text(_ text: String, status: Int = 200) -> APIResponse {
        APIResponse(status: status, contentType: "text/plain; charset=utf-8", body: .bytes(Array(text.utf8)))
    }

    public static func error(_ error: APIError) -> APIResponse {
        .json(error.status, status: error.code)
    }
}

extension String {
    var formDecoded: String {
        replacingOccurrences(of: "+", with: " ").removingPercentEncodingSafely
    }

    var removingPercentEncodingSafely: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var iterator = Array(utf8)[...]
        while let b = iterator.popFirst() {
            if b == UInt8(ascii: "%"), iterator.count >= 2,
                let v = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(v)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
