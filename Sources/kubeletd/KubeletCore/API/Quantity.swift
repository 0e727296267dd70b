import Foundation

/// A Kubernetes resource quantity (`100m`, `1.5Gi`, `1e3`, `128974848`).
///
/// Parsed exactly with `Decimal` (38 significant digits). `milliValue` and `value` round up,
/// like upstream's `MilliValue()`/`Value()`. The original text is kept for encoding.
public struct Quantity: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let amount: Decimal
    public let text: String

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case invalid(String, reason: String)
        public var description: String {
            switch self {
            case .empty: return "quantity must not be empty"
            case .invalid(let text, let reason): return "quantity \"\(text)\": \(reason)"
            }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { throw .empty }
        var bytes = Array(s.utf8)[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var digits = Decimal(0)
        var fractionDigits = 0
        var sawDigit = false
        var sawDot = false
        while let b = bytes.first {
            if b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
                digits = digits * 10 + Decimal(Int(b - UInt8(ascii: "0")))
                if sawDot { fractionDigits += 1 }
                sawDigit = true
            } else if b == UInt8(ascii: "."), !sawDot {
                sawDot = true
            } else {
                break
            }
            bytes = bytes.dropFirst()
        }
        guard sawDigit else { throw .invalid(text, reason: "expected a number") }
        let suffix = String(decoding: bytes, as: UTF8.self)
        var multiplier = Decimal(1)
        switch suffix {
        case "": break
        case "Ki": multiplier = Quantity.power(2, 10)
        case "Mi": multiplier = Quantity.power(2, 20)
        case "Gi": multiplier = Quantity.power(2, 30)
        case "Ti": multiplier = Quantity.power(2, 40)
        case "Pi": multiplier = Quantity.power(2, 50)
        case "Ei": multiplier = Quantity.power(2, 60)
        case "n": multiplier = Quantity.power(10, -9)
        case "u": multiplier = Quantity.power(10, -6)
        case "m": multiplier = Quantity.power(10, -3)
        case "k": multiplier = Quantity.power(10, 3)
        case "M": multiplier = Quantity.power(10, 6)
        case "G": multiplier = Quantity.power(10, 9)
        case "T": multiplier = Quantity.power(10, 12)
        case "P": multiplier = Quantity.power(10, 15)
        case "E": multiplier = Quantity.power(10, 18)
        default:
            // Decimal exponent: e3, E-2, e+6.
            var exp = suffix.utf8[...]
            guard let e = exp.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") else {
                throw .invalid(text, reason: "unknown suffix \"\(suffix)\"")
            }
            exp = exp.dropFirst()
            var expNegative = false
            if let sign = exp.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                expNegative = sign == UInt8(ascii: "-")
                exp = exp.dropFirst()
            }
            guard !exp.isEmpty, exp.count <= 3, exp.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let n = Int(String(decoding: exp, as: UTF8.self))
            else { throw .invalid(text, reason: "unknown suffix \"\(suffix)\"") }
            multiplier = Quantity.power(10, expNegative ? -n : n)
        }
        var value = digits * multiplier
        if fractionDigits > 0 { value = value / Quantity.power(10, fractionDigits) }
        self.amount = negative ? -value : value
        self.text = s
    }

    /// A quantity from a whole number (encoded as that number).
    public init(_ integer: Int64) {
        self.amount = Decimal(integer)
        self.text = String(integer)
    }

    /// A quantity in thousandths (`250m`).
    public init(milli: Int64) {
        self.amount = Decimal(milli) / 1000
        self.text = milli % 1000 == 0 ? String(milli / 1000) : "\(milli)m"
    }

    static func power(_ base: Int, _ exponent: Int) -> Decimal {
        var result = Decimal(1)
        for _ in 0..<abs(exponent) { result *= Decimal(base) }
        return exponent < 0 ? 1 / result : result
    }

    private static func ceilInt64(_ d: Decimal) -> Int64 {
        var value = d
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 0, .up)
        if rounded > Decimal(Int64.max) { return .max }
        if rounded < Decimal(Int64.min) { return .min }
        return NSDecimalNumber(decimal: rounded).int64Value
    }

    /// The value in thousandths, rounded up (`0.1` cpu → 100).
    public var milliValue: Int64 { Quantity.ceilInt64(amount * 1000) }
    /// The value rounded up to a whole number (`1.5Gi` bytes, `100m` cpu → 1).
    public var value: Int64 { Quantity.ceilInt64(amount) }
    public var isZero: Bool { amount == 0 }
    public var isNegative: Bool { amount < 0 }
    public var description: String { text }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.amount < rhs.amount }
    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.amount == rhs.amount }
    public func hash(into hasher: inout Hasher) { hasher.combine(amount) }

    public static func + (lhs: Quantity, rhs: Quantity) -> Quantity {
        Quantity(amount: lhs.amount + rhs.amount)
    }

    private init(amount: Decimal) {
        self.amount = amount
        self.text = "\(amount)"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let int = try? container.decode(Int64.self) {
            self.init(int)
            return
        }
        let string: String
        if let s = try? container.decode(String.self) {
            string = s
        } else {
            let d = try container.decode(Double.self)
            string = "\(d)"
        }
        do {
            try self.init(parsing: string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
