#if canImport(Glibc)
import Glibc
#endif
import SystemCore

/// host-local's on-disk state for one network: `<dataDir>/<network>/<ip>` files whose contents
/// name the owner ("<containerID>\r\n<ifname>"), `last_reserved_ip.<rangeSet>` files, and a
/// `lock` file locked with flock(2). The layout is the reference plugin's, so either plugin can
/// take over the other's allocations.
///
/// Owner of the state: whoever holds the lock; an instance holds it from init until it is dropped.
/// Reservations are made crash-safe by writing a temp file and link(2)ing it to the address name:
/// a reservation file either does not exist or is complete.
public final class AllocationStore {
    /// Who holds an address. Files written by very old plugins name only the container.
    public struct Owner: Hashable, Sendable {
        public var containerID: String
        public var ifname: String?

        public init(containerID: String, ifname: String?) {
            self.containerID = containerID
            self.ifname = ifname
        }

        var fileContents: String { "\(containerID)\r\n\(ifname ?? "")" }

        func matches(containerID: String, ifname: String) -> Bool {
            self.containerID == containerID && (self.ifname == nil || self.ifname == ifname)
        }
    }

    public let directory: String
    private let lock: FileLock
    private static let lastReservedPrefix = "last_reserved_ip."
    private static let tempPrefix = ".reserving."

    /// Creates the network's directory if needed and blocks until the lock is held.
    public init(dataDir: String, network: String) throws(SystemCallError) {
        directory = dataDir.hasSuffix("/") ? dataDir + network : "\(dataDir)/\(network)"
        try FileSystem.createDirectories(directory)
        lock = try FileLock(path: "\(directory)/lock")
        removeStaleTempFiles()
    }

    /// Every reserved address and its owner.
    public func allocations() throws(SystemCallError) -> [(address: IPAddress, owner: Owner)] {
        var result: [(address: IPAddress, owner: Owner)] = []
        for name in try FileSystem.listDirectory(directory) {
            guard let address = IPAddress(name) else { continue }
            guard let contents = try? FileSystem.readString("\(directory)/\(name)") else { continue }
            result.append((address, AllocationStore.parseOwner(contents)))
        }
        return result
    }

    static func parseOwner(_ contents: String) -> Owner {
        let lines = contents.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        let id = lines.first.map { String($0).trimmingWhitespace } ?? ""
        let ifname = lines.count > 1 ? String(lines[1]).trimmingWhitespace : nil
        return Owner(containerID: id, ifname: (ifname?.isEmpty ?? true) ? nil : ifname)
    }

    /// Reserves `address` for `owner`; false when someone else holds it.
    public func reserve(_ address: IPAddress, for owner: Owner, rangeSet: Int) throws(SystemCallError) -> Bool {
        let final = "\(directory)/\(address)"
        let temp = "\(directory)/\(AllocationStore.tempPrefix)\(getpid())"
        let fd = try sys("open", temp) { open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        var bytes = Array(owner.fileContents.utf8)
        let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
        let writeErrno = currentErrno()
        close(fd)
        defer { unlink(temp) }
        if written != bytes.count {
            throw SystemCallError("write", temp, errno: .init(rawValue: written < 0 ? writeErrno : ENOSPC))
        }
        if link(temp, final) != 0 {
            let code = currentErrno()
            if code == EEXIST { return false }
            throw SystemCallError("link", final, errno: .init(rawValue: code))
        }
        recordLastReserved(address, rangeSet: rangeSet)
        return true
    }

    /// The round-robin hint: written atomically (temp + rename) but not fsync'd, since losing it
    /// only restarts the walk at the range start. Failing to write it is not an error.
    private func recordLastReserved(_ address: IPAddress, rangeSet: Int) {
        let path = "\(directory)/\(AllocationStore.lastReservedPrefix)\(rangeSet)"
        let temp = "\(directory)/\(AllocationStore.tempPrefix)last.\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        var bytes = Array(address.description.utf8)
        let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if written != bytes.count || rename(temp, path) != 0 { unlink(temp) }
    }

    /// Removes the reservation file for `address`.
    public func release(_ address: IPAddress) throws(SystemCallError) {
        let path = "\(directory)/\(address)"
        if unlink(path) != 0 && currentErrno() != ENOENT {
            throw SystemCallError("unlink", path, errno: .init(rawValue: currentErrno()))
        }
    }

    /// The address most recently reserved from range set `rangeSet`, if recorded.
    public func lastReserved(rangeSet: Int) -> IPAddress? {
        guard let text = try? FileSystem.readString("\(directory)/\(AllocationStore.lastReservedPrefix)\(rangeSet)") else { return nil }
        return IPAddress(text.trimmingWhitespace)
    }

    /// A temp file can only be left by a process that died while holding the lock we now hold.
    private func removeStaleTempFiles() {
        guard let names = try? FileSystem.listDirectory(directory) else { return }
        for name in names where name.hasPrefix(AllocationStore.tempPrefix) {
            unlink("\(directory)/\(name)")
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
