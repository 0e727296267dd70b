#if canImport(Glibc)
import Glibc
#endif

/// Memory a long-running daemon can hand back to the kernel once a burst of work has ended (the
/// kubelet starting or adopting a hundred pods), so that its resident set is what it needs in
/// steady state rather than its high-water mark.
///
/// `malloc.h` is not part of Swift's Glibc module, hence the two declarations at the end.
public enum ProcessMemory {
    /// Hands the free pages the allocator still holds back to the kernel (`malloc_trim(0)`):
    /// glibc trims only the top of the main heap by itself, so memory freed after a burst stays
    /// resident in the middle of the heap and in the thread arenas. Cheap (a walk over the free
    /// lists); call it when a burst has ended, not in a hot path. Returns whether anything was
    /// released.
    @discardableResult
    public static func releaseFreeMemory() -> Bool { malloc_trim(0) != 0 }

    /// Caps the number of malloc arenas (`mallopt(M_ARENA_MAX, n)`): glibc gives each thread that
    /// contends for malloc an arena of its own (up to 8 per core), each keeping freed memory.
    @discardableResult
    public static func limitArenas(_ count: Int32) -> Bool { mallopt(mArenaMax, count) == 1 }

    /// Unmaps this process's page-table entries for its own executable's code (the `r-xp`
    /// mappings of `/proc/self/exe`), like the kernel freeing its init sections after boot: code
    /// that only ran during start-up stops counting in the resident set, code still in use faults
    /// back in from the page cache (no disk I/O: the pages stay cached; `MADV_DONTNEED` on a
    /// private file mapping that was never written only drops the mappings). Returns the bytes of
    /// code address space released (resident or not).
    @discardableResult
    public static func releaseStartupCode() throws(SystemCallError) -> Int {
        let executable = try FileSystem.readLink("/proc/self/exe")
        var released = 0
        for range in codeMappings(of: executable, in: try FileSystem.readString("/proc/self/maps")) {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            _ = try sys("madvise", executable) { madvise(start, range.count, MADV_DONTNEED) }
            released += range.count
        }
        return released
    }

    /// The executable (`r-xp`) mappings of `path` in a `/proc/PID/maps` text.
    public static func codeMappings(of path: String, in maps: String) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for line in maps.split(separator: "\n") {
            // start-end perms offset dev inode path (the path may contain spaces)
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[1] == "r-xp",
                  fields[5].trimmingPrefix(while: { $0 == " " }) == path[...] else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let low = Int(bounds[0], radix: 16), let high = Int(bounds[1], radix: 16),
                  low < high else { continue }
            out.append(low..<high)
        }
        return out
    }

    /// `M_ARENA_MAX` from malloc.h.
    private static let mArenaMax: Int32 = -8
}

@_silgen_name("malloc_trim") private func malloc_trim(_ pad: Int) -> Int32
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
