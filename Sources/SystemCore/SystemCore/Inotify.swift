#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// An inotify instance (inotify(7)) owning its descriptor; events are read with a timeout so a
/// caller can combine them with a periodic resync.
///
/// Owned by one thread (the watcher loop); not shared.
public final class Inotify {
    public struct Event: Sendable, Hashable {
        public let watch: Int32
        public let mask: UInt32
        public let cookie: UInt32
        /// The file name inside the watched directory ("" for the directory itself).
        public let name: String
    }

    /// Masks from <sys/inotify.h>, as Swift values.
    public struct Mask: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let modify = Mask(rawValue: UInt32(IN_MODIFY))
        public static let attrib = Mask(rawValue: UInt32(IN_ATTRIB))
        public static let closeWrite = Mask(rawValue: UInt32(IN_CLOSE_WRITE))
        public static let movedFrom = Mask(rawValue: UInt32(IN_MOVED_FROM))
        public static let movedTo = Mask(rawValue: UInt32(IN_MOVED_TO))
        public static let create = Mask(rawValue: UInt32(IN_CREATE))
        public static let delete = Mask(rawValue: UInt32(IN_DELETE))
        public static let deleteSelf = Mask(rawValue: UInt32(IN_DELETE_SELF))
        public static let moveSelf = Mask(rawValue: UInt32(IN_MOVE_SELF))
        public static let overflow = Mask(rawValue: UInt32(IN_Q_OVERFLOW))
        public static let ignored = Mask(rawValue: UInt32(IN_IGNORED))
        public static let onlyDirectory = Mask(rawValue: UInt32(IN_ONLYDIR))
        /// Everything that changes the set or contents of files in a directory.
        public static let directoryChanges: Mask = [.create, .closeWrite, .modify, .attrib, .movedFrom, .movedTo, .delete,
                                                    .deleteSelf, .moveSelf]
    }

    public let descriptor: Int32

    public init() throws(SystemCallError) {
        descriptor = try sys("inotify_init1") { inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) }
    }

    deinit { close(descriptor) }

    /// Watches `path`; returns the watch descriptor.
    @discardableResult
    public func addWatch(_ path: String, mask: Mask) throws(SystemCallError) -> Int32 {
        try sys("inotify_add_watch", path) { inotify_add_watch(descriptor, path, mask.rawValue) }
    }

    public func removeWatch(_ watch: Int32) {
        _ = inotify_rm_watch(descriptor, watch)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for events and returns them; [] on timeout.
    public func wait(timeoutMilliseconds: Int32) throws(SystemCallError) -> [Event] {
        var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = try sys("poll", "inotify") { poll(&pfd, 1, timeoutMilliseconds) }
        if ready == 0 { return [] }
        return try readAvailable()
    }

    /// Reads whatever events are queued without blocking.
    public func readAvailable() throws(SystemCallError) -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n: Int
            do {
                n = try sys("read", "inotify") { buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) } }
            } catch where error.errno == .resourceTemporarilyUnavailable {
                return events
            }
            if n <= 0 { return events }
            events += Inotify.parse(buffer[0..<n])
        }
    }

    /// Decodes `struct inotify_event` records (16-byte header, then a NUL-padded name).
    public static func parse(_ bytes: ArraySlice<UInt8>) -> [Event] {
        var events: [Event] = []
        var offset = bytes.startIndex
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        while offset + 16 <= bytes.endIndex {
            let watch = Int32(bitPattern: u32(offset))
            let mask = u32(offset + 4)
            let cookie = u32(offset + 8)
            let length = Int(u32(offset + 12))
            let nameStart = offset + 16
            guard nameStart + length <= bytes.endIndex else { break }
            let nameBytes = bytes[nameStart..<(nameStart + length)].prefix(while: { $0 != 0 })
            events.append(Event(watch: watch, mask: mask, cookie: cookie, name: String(decoding: nameBytes, as: UTF8.self)))
            offset = nameStart + length
        }
        return events
    }
}
