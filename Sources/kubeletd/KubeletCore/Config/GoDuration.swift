/// A Go `time.Duration` string as Kubernetes config files use it: `10s`, `1m0s`, `500ms`, `1h30m`.
public struct GoDuration: Sendable, Hashable, Codable, CustomStringConvertible {
    public let seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    public init?(parsing text: String) {
        var s = Substring(text)
        if s == "0" { seconds = 0; return }
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        guard !s.isEmpty else { return nil }
        var total = 0.0
        while !s.isEmpty {
            let number = s.prefix(while: { $0.isNumber || $0 == "." })
            guard !number.isEmpty, let value = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            let unit = s.prefix(while: { !$0.isNumber && $0 != "." })
            s = s.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs", "μs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            total += value * scale
        }
        seconds = negative ? -total : total
    }

    public var description: String {
        var rest = seconds
        var out = ""
        if rest >= 3600 { out += "\(Int(rest / 3600))h"; rest -= Double(Int(rest / 3600)) * 3600 }
        if rest >= 60 || !out.isEmpty { out += "\(Int(rest / 60))m"; rest -= Double(Int(rest / 60)) * 60 }
        if rest == rest.rounded() { out += "\(Int(rest))s" } else { out += "\(rest)s" }
        return out
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = GoDuration(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid duration \"\(text)\" (want e.g. 10s, 1m0s, 500ms)")
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
