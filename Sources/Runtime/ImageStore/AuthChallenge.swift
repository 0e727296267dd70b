/// One challenge of a `WWW-Authenticate` header (RFC 7235): `Bearer realm="…",service="…"`.
struct AuthChallenge: Sendable, Hashable {
    /// Lowercased scheme: `bearer`, `basic`.
    var scheme: String
    /// Parameters with lowercased names.
    var parameters: [String: String]

    /// Parses every challenge in a header value. Tolerates the header's quirks: quoted strings
    /// with escapes, commas inside quotes, several challenges in one value.
    static func parse(_ header: String) -> [AuthChallenge] {
        var result: [AuthChallenge] = []
        var chars = Array(header.unicodeScalars)
        chars.append(",")
        var i = 0
        func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }
        func token() -> String {
            var text = ""
            while i < chars.count, !" \t,=\"".unicodeScalars.contains(chars[i]) { text.unicodeScalars.append(chars[i]); i += 1 }
            return text
        }
        while i < chars.count {
            skipSpaces()
            while i < chars.count, chars[i] == "," { i += 1; skipSpaces() }
            guard i < chars.count else { break }
            let scheme = token()
            guard !scheme.isEmpty else { i += 1; continue }
            var challenge = AuthChallenge(scheme: scheme.lowercased(), parameters: [:])
            // Parameters until the next token that is not followed by "=" (the next scheme).
            while true {
                skipSpaces()
                let mark = i
                let name = token()
                skipSpaces()
                guard !name.isEmpty, i < chars.count, chars[i] == "=" else {
                    i = mark
                    break
                }
                i += 1
                skipSpaces()
                var value = ""
                if i < chars.count, chars[i] == "\"" {
                    i += 1
                    while i < chars.count, chars[i] != "\"" {
                        if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                        value.unicodeScalars.append(chars[i])
                        i += 1
                    }
                    i += 1
                } else {
                    value = token()
                    while i < chars.count, chars[i] == "=" { value += "="; i += 1 }  // token68 padding
                }
                challenge.parameters[name.lowercased()] = value
                skipSpaces()
                if i < chars.count, chars[i] == "," { i += 1 }
            }
            result.append(challenge)
        }
        return result
    }
}
