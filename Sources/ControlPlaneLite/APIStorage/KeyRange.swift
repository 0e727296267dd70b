/// Byte-wise key ranges shared by both stores. Keys order as their UTF-8 bytes (memcmp), the
/// same order etcd uses, so pagination and prefixes agree between the two stores.
enum KeyRange {
    /// The smallest byte string greater than every key starting with `prefix`, or nil when there
    /// is none (empty prefix, or only 0xFF bytes): the range is then open-ended.
    static func prefixEnd(_ prefix: [UInt8]) -> [UInt8]? {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return nil
    }

    /// Throws `.invalidArgument` for a key the stores refuse: empty, or holding a NUL byte
    /// (etcd's range encoding reserves "\0").
    static func validate(key: String, field: String = "key") throws {
        if key.isEmpty {
            throw StorageError.invalidArgument("\(field): must not be empty")
        }
        if key.utf8.contains(0) {
            throw StorageError.invalidArgument("\(field) \(key.debugDescription): must not contain a NUL byte")
        }
    }

    /// Checks list arguments shared by both stores.
    static func validateList(prefix: String, startAfter: String?, limit: Int?, revision: Int64?) throws {
        if prefix.utf8.contains(0) {
            throw StorageError.invalidArgument("prefix \(prefix.debugDescription): must not contain a NUL byte")
        }
        if let startAfter {
            try validate(key: startAfter, field: "startAfter")
            if !startAfter.hasPrefix(prefix) {
                throw StorageError.invalidArgument(
                    "startAfter \(startAfter.debugDescription): must start with the prefix \(prefix.debugDescription)")
            }
        }
        if let limit, limit < 1 {
            throw StorageError.invalidArgument("limit \(limit): must be at least 1 (nil means no limit)")
        }
        if let revision, revision < 1 {
            throw StorageError.invalidArgument("revision \(revision): must be at least 1 (nil means latest)")
        }
    }
}
