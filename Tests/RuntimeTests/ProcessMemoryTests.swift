import SystemCore
import Testing

@Suite struct ProcessMemoryTests {
    @Test func releasingFreeMemoryKeepsLiveAllocations() {
        // Free a burst of allocations, trim, and check what is still referenced is intact.
        let kept = (0..<1000).map { [UInt8](repeating: UInt8($0 % 251), count: 512) }
        var burst: [[UInt8]]? = (0..<20_000).map { [UInt8](repeating: UInt8($0 % 7), count: 256) }
        #expect(burst?.count == 20_000)
        burst = nil
        ProcessMemory.releaseFreeMemory()
        #expect(kept.enumerated().allSatisfy { index, bytes in bytes.count == 512 && bytes.allSatisfy { $0 == UInt8(index % 251) } })
    }

    @Test func readLinkOfProcSelfExeIsAnAbsolutePath() throws {
        let exe = try FileSystem.readLink("/proc/self/exe")
        #expect(exe.hasPrefix("/"))
        #expect(throws: SystemCallError.self) { try FileSystem.readLink("/proc/self/no-such-link") }
    }
}
