import Foundation
import Synchronization
import Testing

@testable import APIStorage

/// `kill -9` while writing: every write the store acknowledged is there after a restart.
/// SQLite is embedded, so the process that owns it is killed (a child copy of this test binary
/// running `crashChildWriter`); for etcd the etcd server itself is killed and restarted.
@Suite("Crash safety", .serialized)
struct CrashTests {
    static let childEnvironment = "APISTORAGE_CRASH_CHILD_DB"

    @Test("SQLite: kill -9 of the writing process loses no acknowledged write")
    func sqliteKill9() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/state.db"
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = testBinaryArguments(filter: "crashChildWriter")
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childEnvironment] = path
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        child.standardInput = FileHandle.nullDevice
        try child.run()

        // Read acknowledgements until enough arrived, then kill the writer mid-stream.
        var acknowledged: [String: Int64] = [:]
        var buffer = Data()
        let reader = output.fileHandleForReading
        func consume(_ chunk: Data) {
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                let fields = line.split(separator: " ")
                if fields.count == 3, fields[0] == "ack", let revision = Int64(fields[2]) {
                    acknowledged[String(fields[1])] = revision
                }
            }
        }
        while acknowledged.count < 400 {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            consume(chunk)
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        // Acknowledgements written before the kill are still in the pipe.
        consume(reader.readDataToEndOfFile())
        #expect(child.terminationReason == .uncaughtSignal)
        #expect(acknowledged.count >= 400)

        let store = try SQLiteStore(path: path, options: .testing)
        var missing: [String] = []
        for (key, revision) in acknowledged {
            let object = try await store.get(key)
            if object?.modRevision != revision { missing.append(key) }
        }
        #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(10))")
        let maximum = acknowledged.values.max() ?? 0
        #expect(try await store.currentRevision() >= maximum)
        // Revisions keep growing after the crash.
        let next = try await store.create("/registry/after-crash", value: bytes("x"))
        #expect(next.modRevision > maximum)
        await store.close()
    }

    /// The child side of `sqliteKill9`: writes with 8 concurrent writers and prints one
    /// "ack <key> <revision>" line per acknowledged write, until killed.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[CrashTests.childEnvironment] != nil))
    func crashChildWriter() async throws {
        guard let path = ProcessInfo.processInfo.environment[Self.childEnvironment] else { return }
        let store = try SQLiteStore(path: path, options: .testing)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<1_000_000 {
                        let key = "/registry/crash/w\(writer)-\(index)"
                        let object = try await store.create(key, value: bytes(String(repeating: "x", count: 200)))
                        FileHandle.standardOutput.write(Data("ack \(key) \(object.modRevision)\n".utf8))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("etcd: kill -9 of etcd and a restart lose no acknowledged write")
    func etcdKill9() async throws {
        let server = try await EtcdServer()
        var options = StoreOptions.testing
        options.requestTimeout = .seconds(3)
        let store = try await EtcdStore(endpoints: [server.endpoint], options: options)
        let acknowledged = AckLog()
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        for index in 0..<1_000_000 {
                            let key = "/registry/crash/w\(writer)-\(index)"
                            guard let object = try? await store.create(key, value: bytes("x")) else { return }
                            acknowledged.record(key, object.modRevision)
                        }
                    }
                }
            }
        }
        while acknowledged.count < 400 { try await Task.sleep(for: .milliseconds(20)) }
        server.kill9()
        await writers.value  // every writer stops at its first failed write
        try await server.killAndRestart()
        let reopened = try await EtcdStore(endpoints: [server.endpoint], options: options)
        var missing: [String] = []
        for (key, revision) in acknowledged.all {
            let object = try await reopened.get(key)
            if object?.modRevision != revision { missing.append(key) }
        }
        #expect(acknowledged.count >= 400)
        #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(10))")
        await reopened.close()
        await store.close()
    }
}

final class AckLog: Sendable {
    private let entries = Mutex<[String: Int64]>([:])
    func record(_ key: String, _ revision: Int64) { entries.withLock { $0[key] = revision } }
    var count: Int { entries.withLock { $0.count } }
    var all: [String: Int64] { entries.withLock { $0 } }
}

/// Arguments that make this test binary run only the named Swift Testing test.
func testBinaryArguments(filter: String) -> [String] {
    ["--testing-library", "swift-testing", "--filter", filter]
}
