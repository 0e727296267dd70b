import Crypto

/// MD5 (swift-crypto's `Insecure.MD5`), only to derive static pod UIDs the way upstream does;
/// not for security.
enum MD5 {
    /// Lower-case hex of the digest of `parts`, hashed one after another.
    static func hex(_ parts: [UInt8]...) -> String {
        var hasher = Insecure.MD5()
        for part in parts { hasher.update(data: part) }
        return hasher.finalize().map { byte in
            let digits = String(byte, radix: 16)
            return byte < 0x10 ? "0" + digits : digits
        }.joined()
    }
}
