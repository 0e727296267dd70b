/// Kubernetes name rules (apimachinery validation), without regular expressions.
public enum Names {
    static func isLowerAlnum(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    /// RFC 1123 label: ≤ 63 chars, lower-case alphanumerics and '-', alphanumeric at both ends.
    public static func dns1123LabelProblem(_ s: String) -> String? {
        let b = Array(s.utf8)
        if b.count > 63 { return "must be no more than 63 characters" }
        guard let first = b.first, let last = b.last, isLowerAlnum(first), isLowerAlnum(last),
              b.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") })
        else {
            return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        }
        return nil
    }

    /// RFC 1123 subdomain: ≤ 253 chars, dot-separated labels.
    public static func dns1123SubdomainProblem(_ s: String) -> String? {
        if s.utf8.count > 253 { return "must be no more than 253 characters" }
        let ok = !s.isEmpty && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            let b = Array($0.utf8)
            guard let f = b.first, let l = b.last else { return false }
            return isLowerAlnum(f) && isLowerAlnum(l) && b.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
        }
        return ok ? nil : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
    }

    /// IANA service name (port names): ≤ 15 chars, lower alnum and '-', at least one letter, no '--'.
    public static func portNameProblem(_ s: String) -> String? {
        let b = Array(s.utf8)
        if b.isEmpty || b.count > 15 { return "must be no more than 15 characters" }
        if !b.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") }) { return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)" }
        if !b.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) { return "must contain at least one letter (a-z)" }
        if s.contains("--") { return "must not contain consecutive hyphens" }
        if b.first == UInt8(ascii: "-") || b.last == UInt8(ascii: "-") { return "must not begin or end with a hyphen" }
        return nil
    }

    /// Environment variable names: printable ASCII except '=' (relaxed rule since 1.30), not empty.
    public static func envVarNameProblem(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if !s.utf8.allSatisfy({ $0 >= 32 && $0 <= 126 && $0 != UInt8(ascii: "=") }) {
            return "a valid environment variable name must consist only of printable ASCII characters other than '='"
        }
        return nil
    }
}
