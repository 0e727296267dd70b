import SystemCore
extension JSON {
    /// Compact JSON text, keys in object order.
    public var serialized: String {
        var out = ""
        write(to: &out, indent: nil, level: 0)
        return out
    }

    /// Indented JSON text (two spaces), as the reference plugins print results.
    public var prettySerialized: String {
        var out = ""
        write(to: &out, indent: "  ", level: 0)
        return out
    }

    private func write(to out: inout String, indent: String?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let text): out += text
        case .string(let string): JSON.writeString(string, to: &out)
        case .array(let array):
            if array.isEmpty { out += "[]"; return }
            out += "["
            for (offset, element) in array.enumerated() {
                if offset > 0 { out += "," }
                JSON.newline(&out, indent, level + 1)
                element.write(to: &out, indent: indent, level: level + 1)
            }
            JSON.newline(&out, indent, level)
            out += "]"
        case .object(let object):
            if object.isEmpty { out += "{}"; return }
            out += "{"
            for (offset, pair) in object.pairs.enumerated() {
                if offset > 0 { out += "," }
                JSON.newline(&out, indent, level + 1)
                JSON.writeString(pair.key, to: &out)
                out += indent == nil ? ":" : ": "
                pair.value.write(to: &out, indent: indent, level: level + 1)
            }
            JSON.newline(&out, indent, level)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: String?, _ level: Int) {
        guard let indent else { return }
        out += "\n"
        for _ in 0..<level { out += indent }
    }

    private static func writeString(_ string: String, to out: inout String) {
        JSONString.append(string, to: &out)
    }
}
