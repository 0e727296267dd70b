import SystemCore
import Testing

@Suite struct ProcessMemoryTests {
    @Test func codeMappingsPicksTheExecutablesTextOnly() {
        let maps = """
        00400000-02d14000 r-xp 00000000 fe:00 163 /usr/local/bin/kubeletd
        02d14000-02e60000 r--p 02913000 fe:00 163 /usr/local/bin/kubeletd
        02e60000-0545a000 rw-p 02a5f000 fe:00 163 /usr/local/bin/kubeletd
        7f0000000000-7f0000100000 r-xp 00000000 fe:00 333 /usr/lib/x86_64-linux-gnu/libc.so.6
        7f0000200000-7f0000201000 r-xp 00000000 fe:00 444 /opt/my tools/kubeletd
        7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
        """
        #expect(ProcessMemory.codeMappings(of: "/usr/local/bin/kubeletd", in: maps) == [0x400000..<0x2d14000])
        // Paths with spaces are matched whole; a prefix is not a match.
        #expect(ProcessMemory.codeMappings(of: "/opt/my tools/kubeletd", in: maps) == [0x7f0000200000..<0x7f0000201000])
        #expect(ProcessMemory.codeMappings(of: "/opt/my", in: maps).isEmpty)
    }

    @Test func releasingTheTestRunnersOwnCodeKeepsItRunning() throws {
        let released = try ProcessMemory.releaseStartupCode()
        #expect(released > 0)
        // The code this test runs faults back in from the page cache.
        #expect(ProcessMemory.codeMappings(of: try FileSystem.readLink("/proc/self/exe"),
                                           in: try FileSystem.readString("/proc/self/maps")).count >= 1)
        ProcessMemory.releaseFreeMemory()
    }
}
