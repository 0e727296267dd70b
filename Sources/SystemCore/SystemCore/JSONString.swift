/// JSON string literals (RFC 8259 escaping), for code that writes JSON without an encoder:
/// log lines, the CNI plugin's hand-rolled serializer.
public enum JSONString {
    private static let hexDigits = Array("0123456789abcdef")

    /// Appends `string` to `out` as a quoted JSON string.
    public static func append(_ string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00"
                    out.append(hexDigits[Int(scalar.value >> 4)])
                    out.append(hexDigits[Int(scalar.value & 0xF)])
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// `string` as a quoted JSON string.
    public static func quoted(_ string: String) -> String {
        var out = ""
        append(string, to: &out)
        return out
    }
}
