#if canImport(Glibc)
import Glibc
#endif

/// fsetxattr(2), which Swift's Glibc module does not import (sys/xattr.h is not in it), resolved
/// once through dlsym. Also `makedev`, a macro in glibc.
enum XAttr {
    private typealias FSetXAttr = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32

    private static let fsetxattrFunction: FSetXAttr? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fsetxattr") else { return nil }
        return unsafeBitCast(symbol, to: FSetXAttr.self)
    }()

    /// fsetxattr(2): 0, or -1 with errno set.
    static func set(fd: Int32, name: UnsafePointer<CChar>, value: UnsafeRawPointer?, size: Int) -> Int32 {
        guard let function = fsetxattrFunction else {
            errno = ENOSYS
            return -1
        }
        return function(fd, name, value, size, 0)
    }

    static func set(fd: Int32, name: String, value: String) -> Int32 {
        var bytes = Array(value.utf8)
        return name.withCString { cName in bytes.withUnsafeMutableBytes { set(fd: fd, name: cName, value: $0.baseAddress, size: $0.count) } }
    }
}

/// glibc's makedev(3).
func makeDevice(_ major: UInt32, _ minor: UInt32) -> dev_t {
    let major = UInt64(major), minor = UInt64(minor)
    return dev_t(((major & 0x0000_0fff) << 8) | ((major & 0xffff_f000) << 32) | (minor & 0x0000_00ff) | ((minor & 0xffff_ff00) << 12))
}

extension XAttr {
    private typealias FGetXAttr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int

    private static let lgetxattrFunction: FGetXAttr? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "lgetxattr") else { return nil }
        return unsafeBitCast(symbol, to: FGetXAttr.self)
    }()

    /// lgetxattr(2) as a string; nil if absent or unreadable.
    static func get(path: String, name: String) -> String? {
        guard let function = lgetxattrFunction else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { function(path, name, $0.baseAddress, $0.count) }
        return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
    }
}
