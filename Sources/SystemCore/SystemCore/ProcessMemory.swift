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

    /// `M_ARENA_MAX` from malloc.h.
    private static let mArenaMax: Int32 = -8
}

@_silgen_name("malloc_trim") private func malloc_trim(_ pad: Int) -> Int32
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
