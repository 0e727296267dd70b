import CZlib
import Foundation
import NIOCore
import Testing

@testable import CRI

@Suite struct SPDYFrameTests {
    /// Two SYN_STREAM frames as moby/spdystream's framer (what client-go uses) writes them on one
    /// connection: stream 1 {streamtype: error, port: 8080}, stream 3 {streamtype: stdin, port:
    /// 8080}. Produced by `tests/cri/spdyclient frame`.
    static let clientFrames = "80030001000000310000000100000000000078f9e3c6a7c202e50e703a2b294a4dcc851625aca9a0808614cb45e01c6061606100000000ffff800300010000001b00000003000000000000822a451743d35a5c92929907000000ffff"

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return out
    }

    @Test func dictionaryIsTheSPDY3One() {
        // The zlib header of the client's first block names the dictionary by its Adler-32.
        let id = SPDYDictionary.bytes.withUnsafeBufferPointer { adler32(1, $0.baseAddress, UInt32($0.count)) }
        #expect(id == 0xe3c6_a7c2)
        #expect(SPDYDictionary.bytes.count == 1423)
    }

    @Test func decodesHeaderBlocksARealClientCompressed() throws {
        let codec = try SPDYFrameCodec()
        var buffer = ByteBuffer(bytes: Self.bytes(hex: Self.clientFrames))
        let first = try codec.decode(&buffer)
        let second = try codec.decode(&buffer)
        #expect(first == .synStream(streamID: 1, associatedTo: 0, priority: 0, fin: false, unidirectional: false, headers: [
            SPDYHeader(name: "port", value: "8080"), SPDYHeader(name: "streamtype", value: "error"),
        ]) || first == .synStream(streamID: 1, associatedTo: 0, priority: 0, fin: false, unidirectional: false, headers: [
            SPDYHeader(name: "streamtype", value: "error"), SPDYHeader(name: "port", value: "8080"),
        ]))
        guard case .synStream(let id, _, _, _, _, let headers) = second else {
            Issue.record("second frame is \(String(describing: second))")
            return
        }
        #expect(id == 3)
        #expect(headers["streamType"] == "stdin")
        #expect(headers["port"] == "8080")
        #expect(buffer.readableBytes == 0)
    }

    @Test func everyFrameTypeRoundTrips() throws {
        let server = try SPDYFrameCodec()
        let client = try SPDYFrameCodec()
        let frames: [SPDYFrame] = [
            .synStream(streamID: 5, associatedTo: 0, priority: 3, fin: false, unidirectional: true,
                       headers: [SPDYHeader(name: "streamtype", value: "resize"), SPDYHeader(name: "requestid", value: "7")]),
            .synReply(streamID: 5, fin: false, headers: []),
            .synReply(streamID: 7, fin: true, headers: [SPDYHeader(name: "status", value: "200 OK")]),
            .data(streamID: 5, fin: false, payload: Array("hello".utf8)),
            .data(streamID: 5, fin: true, payload: []),
            .rstStream(streamID: 9, status: SPDYFrame.ResetStatus.cancel),
            .settings(entries: [SPDYFrame.SettingsEntry(flags: 1, id: 7, value: 65536)]),
            .ping(id: 1),
            .goAway(lastGoodStreamID: 11, status: SPDYFrame.GoAwayStatus.ok),
            .headers(streamID: 5, fin: true, headers: [SPDYHeader(name: "x", value: "a\u{0}b")]),
            .windowUpdate(streamID: 5, delta: 4096),
        ]
        var wire = ByteBuffer()
        for frame in frames { try server.encode(frame, into: &wire) }
        var decoded: [SPDYFrame] = []
        while let frame = try client.decode(&wire) { decoded.append(frame) }
        #expect(decoded == frames)
    }

    @Test func headerNamesGoOutLowerCase() throws {
        let server = try SPDYFrameCodec()
        let client = try SPDYFrameCodec()
        var wire = ByteBuffer()
        try server.encode(.synReply(streamID: 1, fin: false, headers: [SPDYHeader(name: "X-Stream", value: "V")]), into: &wire)
        #expect(try client.decode(&wire) == .synReply(streamID: 1, fin: false, headers: [SPDYHeader(name: "x-stream", value: "V")]))
    }

    @Test func waitsForWholeFrames() throws {
        let server = try SPDYFrameCodec()
        let client = try SPDYFrameCodec()
        var whole = ByteBuffer()
        try server.encode(.data(streamID: 3, fin: false, payload: Array(repeating: 7, count: 100)), into: &whole)
        try server.encode(.ping(id: 3), into: &whole)
        let bytes = Array(whole.readableBytesView)
        var buffer = ByteBuffer()
        var frames: [SPDYFrame] = []
        for byte in bytes {
            buffer.writeInteger(byte)
            while let frame = try client.decode(&buffer) { frames.append(frame) }
        }
        #expect(frames == [.data(streamID: 3, fin: false, payload: Array(repeating: 7, count: 100)), .ping(id: 3)])
    }

    @Test func refusesOversizedFramesOtherVersionsAndBadBlocks() throws {
        let codec = try SPDYFrameCodec(maxPayload: 1024)
        var big = ByteBuffer()
        big.writeInteger(UInt32(1))
        big.writeInteger(UInt32(4096))
        #expect(throws: SPDYProtocolError.self) { try codec.decode(&big) }

        var v2 = ByteBuffer()
        v2.writeInteger(UInt32(0x8002_0006))
        v2.writeInteger(UInt32(4))
        v2.writeInteger(UInt32(1))
        #expect(throws: SPDYProtocolError.self) { try codec.decode(&v2) }

        var garbage = ByteBuffer()
        garbage.writeInteger(UInt32(0x8003_0002))
        garbage.writeInteger(UInt32(8))
        garbage.writeInteger(UInt32(1))
        garbage.writeInteger(UInt32(0xdead_beef))
        #expect(throws: (any Error).self) { try codec.decode(&garbage) }

        var block = ByteBuffer()
        block.writeInteger(UInt32(1000))
        #expect(throws: SPDYProtocolError.self) { try SPDYFrameCodec.parseHeaderBlock(&block) }
    }

    @Test func negotiationPrefersTheClientsOrder() {
        let supported = RemoteCommandProtocol.spdy.map(\.name)
        #expect(RemoteCommandProtocol.negotiate(offered: ["v3.channel.k8s.io", "v4.channel.k8s.io"], supported: supported) == "v3.channel.k8s.io")
        #expect(RemoteCommandProtocol.negotiate(offered: ["v5.channel.k8s.io, v4.channel.k8s.io"], supported: supported) == "v4.channel.k8s.io")
        #expect(RemoteCommandProtocol.negotiate(offered: ["v9"], supported: supported) == nil)
        #expect(RemoteCommandProtocol.negotiate(offered: [], supported: supported) == nil)
    }

    @Test func resizeMessagesSplitAnywhere() {
        var buffer = Array(#"{"Width":80,"Height":24}"#.utf8) + Array("\n{\"Wid".utf8)
        #expect(TerminalSize.drain(&buffer) == [TerminalSize(Width: 80, Height: 24)])
        buffer += Array(#"th":132,"Height":43}"#.utf8) + Array("\n".utf8)
        #expect(TerminalSize.drain(&buffer) == [TerminalSize(Width: 132, Height: 43)])
        #expect(buffer.isEmpty)
    }

    @Test func statusCarriesTheExitCode() throws {
        let json = RemoteCommandStatus.failure(message: "command terminated with non-zero exit code: 3", exitCode: 3).json
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "Failure")
        #expect(object["reason"] as? String == "NonZeroExitCode")
        let causes = (object["details"] as? [String: Any])?["causes"] as? [[String: Any]]
        #expect(causes?.first?["reason"] as? String == "ExitCode")
        #expect(causes?.first?["message"] as? String == "3")
        #expect(RemoteCommandStatus.success.message == nil)
    }
}

@Suite struct StopSignalTests {
    @Test func signalNamesAndNumbers() {
        #expect(CRIService.signalNumber("SIGTERM") == SIGTERM)
        #expect(CRIService.signalNumber("term") == SIGTERM)
        #expect(CRIService.signalNumber("SIGUSR1") == SIGUSR1)
        #expect(CRIService.signalNumber("9") == SIGKILL)
        #expect(CRIService.signalNumber("SIGRTMIN+3") == nil)  // left to the runtime
        #expect(CRIService.signalNumber("0") == nil)
        #expect(CRIService.signalNumber("") == nil)
    }
}
