/// `$(VAR)` expansion with upstream semantics (third_party/forked/golang/expansion):
/// `$$` → `$`, `$(NAME)` → the value or left as written when unknown, an unclosed `$(` stays,
/// a `$` before any other character stays.
public enum EnvExpansion {
    public static func expand(_ input: String, _ lookup: (String) -> String?) -> String {
        let bytes = Array(input.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var checkpoint = 0
        var cursor = 0
        while cursor < bytes.count {
            if bytes[cursor] == UInt8(ascii: "$") && cursor + 1 < bytes.count {
                out += bytes[checkpoint..<cursor]
                let next = bytes[cursor + 1]
                var advance = 1
                if next == UInt8(ascii: "$") {
                    out.append(UInt8(ascii: "$"))
                } else if next == UInt8(ascii: "(") {
                    if let close = bytes[(cursor + 2)...].firstIndex(of: UInt8(ascii: ")")) {
                        let name = String(decoding: bytes[(cursor + 2)..<close], as: UTF8.self)
                        if let value = lookup(name) {
                            out += Array(value.utf8)
                        } else {
                            out += Array("$(\(name))".utf8)
                        }
                        advance = close - cursor
                    } else {
                        out += Array("$(".utf8)
                    }
                } else {
                    out += [UInt8(ascii: "$"), next]
                }
                cursor += advance
                checkpoint = cursor + 1
            }
            cursor += 1
        }
        if checkpoint < bytes.count { out += bytes[checkpoint...] }
        return String(decoding: out, as: UTF8.self)
    }

    /// The container's environment in order: each value may refer to variables defined before it
    /// (or to `base`, e.g. service links). `valueFrom` values are resolved by `resolve`.
    public static func environment(_ env: [EnvVar], base: [String: String] = [:],
                                   resolve: (EnvVarSource) throws -> String) rethrows -> [(String, String)] {
        var known = base
        var result: [(String, String)] = []
        for variable in env {
            let value: String
            if let from = variable.valueFrom {
                value = try resolve(from)
            } else {
                value = expand(variable.value ?? "") { known[$0] }
            }
            known[variable.name] = value
            if let index = result.firstIndex(where: { $0.0 == variable.name }) {
                result[index].1 = value
            } else {
                result.append((variable.name, value))
            }
        }
        return result
    }
}
