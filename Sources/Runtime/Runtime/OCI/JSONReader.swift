/// A pull reader over JSON text, for the one document every `create` decodes (config.json).
///
/// Why not JSONDecoder there: each Codable type it meets makes the Swift runtime look up a
/// protocol conformance by scanning every conformance record of the binary (~4,200 in the
/// static swiftlet-runc), about 185K instructions per type, 3.6M for a `runc spec` config:
/// most of what `create` computed. This reader has no such lookups.
///
/// It is deliberately partial: anything it does not fully understand (a number with a fraction
/// or exponent, a repeated key, invalid UTF-8, a wrong type, a missing field, malformed text)
/// throws `Unsupported`, and the caller decodes the same bytes with JSONDecoder instead, which
/// accepts or rejects them and names the field. So what this reader accepts, it must decode
/// exactly as JSONDecoder would; `SpecFastDecodingTests` checks the two agree.
struct JSONReader {
    /// "Decode this document the Codable way": not an error by itself.
    struct Unsupported: Error {}

    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: Structure

    /// Reads an object, calling `body` once per key; `body` must read (or `skipValue`) its value.
    /// A key that appears twice is `Unsupported`.
    mutating func object(_ body: (inout JSONReader, String) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return }
        var keys: [String] = []
        while true {
            skipWhitespace()
            let key = try string()
            if keys.contains(key) { throw Unsupported() }
            keys.append(key)
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    /// Reads an array of elements, each read by `element`.
    mutating func array<T>(_ element: (inout JSONReader) throws -> T) throws -> [T] {
        try expect(UInt8(ascii: "["))
        var result: [T] = []
        skipWhitespace()
        if consume(UInt8(ascii: "]")) { return result }
        while true {
            result.append(try element(&self))
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            try expect(UInt8(ascii: "]"))
            return result
        }
    }

    /// nil for `null` (which is consumed), else what `read` reads: JSONDecoder's decodeIfPresent.
    mutating func optional<T>(_ read: (inout JSONReader) throws -> T) throws -> T? {
        skipWhitespace()
        if bytes[safe: index] == UInt8(ascii: "n") {
            try literal("null")
            return nil
        }
        return try read(&self)
    }

    /// An object of strings.
    mutating func stringMap() throws -> [String: String] {
        var result: [String: String] = [:]
        try object { reader, key in result[key] = try reader.string() }
        return result
    }

    /// The document ends here (only whitespace left).
    mutating func end() throws {
        skipWhitespace()
        if index != bytes.count { throw Unsupported() }
    }

    // MARK: Values

    mutating func string() throws -> String {
        skipWhitespace()
        try expect(UInt8(ascii: "\""))
        let start = index
        // The common case: no escapes, taken as one slice.
        while let byte = bytes[safe: index], byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            if byte < 0x20 { throw Unsupported() }
            index += 1
        }
        guard let stop = bytes[safe: index] else { throw Unsupported() }
        var utf8 = Array(bytes[start..<index])
        if stop == UInt8(ascii: "\\") { try readEscaped(into: &utf8) }
        index += 1  // the closing quote
        guard let text = String(validating: utf8, as: UTF8.self) else { throw Unsupported() }
        return text
    }

    mutating func bool() throws -> Bool {
        skipWhitespace()
        switch bytes[safe: index] {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw Unsupported()
        }
    }

    /// An integer written as one (`-?digits`, no fraction or exponent) that fits `T`.
    mutating func integer<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        skipWhitespace()
        let negative = consume(UInt8(ascii: "-"))
        let start = index
        var magnitude: UInt64 = 0
        while let byte = bytes[safe: index], byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 { throw Unsupported() }
            magnitude = sum
            index += 1
        }
        let digits = index - start
        if digits == 0 || (digits > 1 && bytes[start] == UInt8(ascii: "0")) { throw Unsupported() }
        if let next = bytes[safe: index],
           next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            throw Unsupported()
        }
        if !negative { guard let value = T(exactly: magnitude) else { throw Unsupported() }; return value }
        guard magnitude <= UInt64(Int64.max), let value = T(exactly: -Int64(magnitude)) else { throw Unsupported() }
        return value
    }

    /// Skips one value of any kind (a field this runtime does not model).
    mutating func skipValue() throws {
        skipWhitespace()
        switch bytes[safe: index] {
        case UInt8(ascii: "{"): try object { reader, _ in try reader.skipValue() }
        case UInt8(ascii: "["): _ = try array { reader in try reader.skipValue() }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try bool()
        case UInt8(ascii: "n"): try literal("null")
        default: try skipNumber()
        }
    }

    /// A number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func skipNumber() throws {
        _ = consume(UInt8(ascii: "-"))
        if consume(UInt8(ascii: "0")) {
            if isDigit(bytes[safe: index]) { throw Unsupported() }
        } else {
            try digits()
        }
        if consume(UInt8(ascii: ".")) { try digits() }
        if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            try digits()
        }
    }

    /// One or more digits.
    private mutating func digits() throws {
        guard isDigit(bytes[safe: index]) else { throw Unsupported() }
        while isDigit(bytes[safe: index]) { index += 1 }
    }

    private func isDigit(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: Bytes

    private mutating func readEscaped(into utf8: inout [UInt8]) throws {
        while let byte = bytes[safe: index], byte != UInt8(ascii: "\"") {
            index += 1
            if byte < 0x20 { throw Unsupported() }
            guard byte == UInt8(ascii: "\\") else { utf8.append(byte); continue }
            guard let escape = bytes[safe: index] else { throw Unsupported() }
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by an escaped low one.
                    guard bytes[safe: index] == UInt8(ascii: "\\"), bytes[safe: index + 1] == UInt8(ascii: "u") else { throw Unsupported() }
                    index += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw Unsupported() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let value = Unicode.Scalar(scalar) else { throw Unsupported() }
                utf8.append(contentsOf: String(Character(value)).utf8)
            default: throw Unsupported()
            }
        }
        guard index < bytes.count else { throw Unsupported() }
    }

    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw Unsupported() }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Unsupported()
            }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Unsupported() }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw Unsupported() }
        index += count
    }

    private mutating func skipWhitespace() {
        while let byte = bytes[safe: index],
              byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") {
            index += 1
        }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard bytes[safe: index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func expect(_ byte: UInt8) throws {
        skipWhitespace()
        if !consume(byte) { throw Unsupported() }
    }
}

extension Array where Element == UInt8 {
    fileprivate subscript(safe index: Int) -> UInt8? {
        index < count ? self[index] : nil
    }
}
