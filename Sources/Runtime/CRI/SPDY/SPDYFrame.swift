import NIOCore

/// One name/value pair of a SPDY header block (names are lower case on the wire; a value holding
/// several values separates them with NUL).
struct SPDYHeader: Equatable, Sendable {
    var name: String
    var value: String
}

/// SPDY/3.1 frames (draft-mbelshe-httpbis-spdy-00 and the 3.1 changes): an 8-byte header, a
/// control bit, then either a 31-bit stream ID (data) or version 3 and a type (control).
enum SPDYFrame: Equatable, Sendable {
    case data(streamID: UInt32, fin: Bool, payload: [UInt8])
    case synStream(streamID: UInt32, associatedTo: UInt32, priority: UInt8, fin: Bool, unidirectional: Bool, headers: [SPDYHeader])
    case synReply(streamID: UInt32, fin: Bool, headers: [SPDYHeader])
    case rstStream(streamID: UInt32, status: UInt32)
    case settings(entries: [SettingsEntry])
    case ping(id: UInt32)
    case goAway(lastGoodStreamID: UInt32, status: UInt32)
    case headers(streamID: UInt32, fin: Bool, headers: [SPDYHeader])
    case windowUpdate(streamID: UInt32, delta: UInt32)
    /// A control frame type this server has no use for (ignored, as the draft says).
    case unknown(type: UInt16, flags: UInt8, payload: [UInt8])

    struct SettingsEntry: Equatable, Sendable {
        var flags: UInt8
        var id: UInt32
        var value: UInt32
    }

    static let version: UInt16 = 3
    static let flagFin: UInt8 = 0x01
    static let flagUnidirectional: UInt8 = 0x02

    enum ControlType: UInt16 {
        case synStream = 1, synReply = 2, rstStream = 3, settings = 4, ping = 6, goAway = 7, headers = 8, windowUpdate = 9
    }

    /// RST_STREAM status codes.
    enum ResetStatus {
        static let protocolError: UInt32 = 1
        static let invalidStream: UInt32 = 2
        static let refusedStream: UInt32 = 3
        static let cancel: UInt32 = 5
        static let internalError: UInt32 = 6
        static let streamAlreadyClosed: UInt32 = 9
    }

    /// GOAWAY status codes.
    enum GoAwayStatus {
        static let ok: UInt32 = 0
        static let protocolError: UInt32 = 1
        static let internalError: UInt32 = 2
    }
}

/// Why bytes could not be read as a SPDY frame.
struct SPDYProtocolError: Error, CustomStringConvertible, Equatable {
    var reason: String
    var description: String { "SPDY protocol error: \(reason)" }
}

/// Frame encoding and decoding for one connection; owns the two header compression contexts,
/// so one codec serves one connection and is used from its event loop only.
final class SPDYFrameCodec {
    private let deflater: SPDYHeaderDeflater
    private let inflater: SPDYHeaderInflater
    /// The largest frame payload accepted (the wire allows 16 MiB).
    let maxPayload: Int

    init(maxPayload: Int = 1 << 20) throws(SPDYCompressionError) {
        deflater = try SPDYHeaderDeflater()
        inflater = try SPDYHeaderInflater()
        self.maxPayload = maxPayload
    }

    // MARK: Decoding

    /// The next whole frame at the front of `buffer` (consumed), or nil when more bytes are
    /// needed. A header block is decompressed in order, so frames must be decoded in order.
    func decode(_ buffer: inout ByteBuffer) throws -> SPDYFrame? {
        guard buffer.readableBytes >= 8,
              let first = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
              let second = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self) else { return nil }
        let flags = UInt8(second >> 24)
        let length = Int(second & 0x00ff_ffff)
        guard length <= maxPayload else {
            throw SPDYProtocolError(reason: "frame of \(length) bytes is over the limit of \(maxPayload)")
        }
        guard buffer.readableBytes >= 8 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 8)
        guard var payload = buffer.readSlice(length: length) else { return nil }
        if first & 0x8000_0000 == 0 {
            return .data(streamID: first, fin: flags & SPDYFrame.flagFin != 0, payload: Array(payload.readableBytesView))
        }
        let version = UInt16(first >> 16 & 0x7fff)
        guard version == SPDYFrame.version else {
            throw SPDYProtocolError(reason: "version \(version) is not SPDY/3")
        }
        let type = UInt16(first & 0xffff)
        let fin = flags & SPDYFrame.flagFin != 0
        func word(_ what: String) throws -> UInt32 {
            guard let value = payload.readInteger(as: UInt32.self) else {
                throw SPDYProtocolError(reason: "\(what) frame of \(length) bytes is too short")
            }
            return value
        }
        switch ControlType(rawValue: type) {
        case .synStream:
            let id = try word("SYN_STREAM") & 0x7fff_ffff
            let associated = try word("SYN_STREAM") & 0x7fff_ffff
            guard let priority = payload.readInteger(as: UInt8.self), payload.readInteger(as: UInt8.self) != nil else {
                throw SPDYProtocolError(reason: "SYN_STREAM frame of \(length) bytes is too short")
            }
            guard id != 0 else { throw SPDYProtocolError(reason: "SYN_STREAM with stream ID 0") }
            return .synStream(streamID: id, associatedTo: associated, priority: priority >> 5, fin: fin,
                              unidirectional: flags & SPDYFrame.flagUnidirectional != 0,
                              headers: try headerBlock(&payload))
        case .synReply:
            let id = try word("SYN_REPLY") & 0x7fff_ffff
            return .synReply(streamID: id, fin: fin, headers: try headerBlock(&payload))
        case .headers:
            let id = try word("HEADERS") & 0x7fff_ffff
            return .headers(streamID: id, fin: fin, headers: try headerBlock(&payload))
        case .rstStream:
            return .rstStream(streamID: try word("RST_STREAM") & 0x7fff_ffff, status: try word("RST_STREAM"))
        case .settings:
            let count = try word("SETTINGS")
            guard Int(count) * 8 == payload.readableBytes else {
                throw SPDYProtocolError(reason: "SETTINGS frame says \(count) entries in \(payload.readableBytes) bytes")
            }
            var entries: [SPDYFrame.SettingsEntry] = []
            for _ in 0..<count {
                let head = try word("SETTINGS")
                entries.append(SPDYFrame.SettingsEntry(flags: UInt8(head >> 24), id: head & 0x00ff_ffff, value: try word("SETTINGS")))
            }
            return .settings(entries: entries)
        case .ping:
            return .ping(id: try word("PING"))
        case .goAway:
            return .goAway(lastGoodStreamID: try word("GOAWAY") & 0x7fff_ffff, status: try word("GOAWAY"))
        case .windowUpdate:
            return .windowUpdate(streamID: try word("WINDOW_UPDATE") & 0x7fff_ffff, delta: try word("WINDOW_UPDATE") & 0x7fff_ffff)
        case nil:
            return .unknown(type: type, flags: flags, payload: Array(payload.readableBytesView))
        }
    }

    typealias ControlType = SPDYFrame.ControlType

    private func headerBlock(_ payload: inout ByteBuffer) throws -> [SPDYHeader] {
        var block = ByteBuffer(bytes: try inflater.decompress(Array(payload.readableBytesView)))
        return try Self.parseHeaderBlock(&block)
    }

    /// An uncompressed header block: a 32-bit count, then length-prefixed names and values.
    static func parseHeaderBlock(_ block: inout ByteBuffer) throws -> [SPDYHeader] {
        guard let count = block.readInteger(as: UInt32.self) else {
            throw SPDYProtocolError(reason: "header block without a count")
        }
        guard Int(count) <= block.readableBytes / 8 else {
            throw SPDYProtocolError(reason: "header block claims \(count) headers in \(block.readableBytes) bytes")
        }
        var headers: [SPDYHeader] = []
        for _ in 0..<count {
            guard let nameLength = block.readInteger(as: UInt32.self), nameLength > 0,
                  let name = block.readString(length: Int(nameLength)),
                  let valueLength = block.readInteger(as: UInt32.self),
                  let value = block.readString(length: Int(valueLength)) else {
                throw SPDYProtocolError(reason: "truncated or empty name in the header block")
            }
            headers.append(SPDYHeader(name: name, value: value))
        }
        return headers
    }

    // MARK: Encoding

    func encode(_ frame: SPDYFrame, into buffer: inout ByteBuffer) throws {
        switch frame {
        case .data(let id, let fin, let payload):
            try Self.checkLength(payload.count)
            buffer.writeInteger(id & 0x7fff_ffff)
            buffer.writeInteger(UInt32(fin ? SPDYFrame.flagFin : 0) << 24 | UInt32(payload.count))
            buffer.writeBytes(payload)
        case .synStream(let id, let associated, let priority, let fin, let unidirectional, let headers):
            let block = try deflater.compress(Self.headerBlock(headers))
            let flags = (fin ? SPDYFrame.flagFin : 0) | (unidirectional ? SPDYFrame.flagUnidirectional : 0)
            Self.control(.synStream, flags: flags, length: 10 + block.count, into: &buffer)
            buffer.writeInteger(id & 0x7fff_ffff)
            buffer.writeInteger(associated & 0x7fff_ffff)
            buffer.writeInteger(UInt8((priority & 0x7) << 5))
            buffer.writeInteger(UInt8(0))
            buffer.writeBytes(block)
        case .synReply(let id, let fin, let headers), .headers(let id, let fin, let headers):
            let block = try deflater.compress(Self.headerBlock(headers))
            let type: ControlType
            if case .synReply = frame { type = .synReply } else { type = .headers }
            Self.control(type, flags: fin ? SPDYFrame.flagFin : 0, length: 4 + block.count, into: &buffer)
            buffer.writeInteger(id & 0x7fff_ffff)
            buffer.writeBytes(block)
        case .rstStream(let id, let status):
            Self.control(.rstStream, flags: 0, length: 8, into: &buffer)
            buffer.writeInteger(id & 0x7fff_ffff)
            buffer.writeInteger(status)
        case .settings(let entries):
            Self.control(.settings, flags: 0, length: 4 + 8 * entries.count, into: &buffer)
            buffer.writeInteger(UInt32(entries.count))
            for entry in entries {
                buffer.writeInteger(UInt32(entry.flags) << 24 | entry.id & 0x00ff_ffff)
                buffer.writeInteger(entry.value)
            }
        case .ping(let id):
            Self.control(.ping, flags: 0, length: 4, into: &buffer)
            buffer.writeInteger(id)
        case .goAway(let last, let status):
            Self.control(.goAway, flags: 0, length: 8, into: &buffer)
            buffer.writeInteger(last & 0x7fff_ffff)
            buffer.writeInteger(status)
        case .windowUpdate(let id, let delta):
            Self.control(.windowUpdate, flags: 0, length: 8, into: &buffer)
            buffer.writeInteger(id & 0x7fff_ffff)
            buffer.writeInteger(delta & 0x7fff_ffff)
        case .unknown(let type, let flags, let payload):
            try Self.checkLength(payload.count)
            buffer.writeInteger(UInt32(0x8000_0000) | UInt32(SPDYFrame.version) << 16 | UInt32(type))
            buffer.writeInteger(UInt32(flags) << 24 | UInt32(payload.count))
            buffer.writeBytes(payload)
        }
    }

    private static func checkLength(_ count: Int) throws {
        guard count <= 0x00ff_ffff else { throw SPDYProtocolError(reason: "frame payload of \(count) bytes does not fit 24 bits") }
    }

    private static func control(_ type: ControlType, flags: UInt8, length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(0x8000_0000) | UInt32(SPDYFrame.version) << 16 | UInt32(type.rawValue))
        buffer.writeInteger(UInt32(flags) << 24 | UInt32(length))
    }

    /// An uncompressed header block (names lower-cased, as SPDY/3 requires).
    static func headerBlock(_ headers: [SPDYHeader]) -> [UInt8] {
        var out = ByteBuffer()
        out.writeInteger(UInt32(headers.count))
        for header in headers {
            let name = Array(header.name.lowercased().utf8)
            out.writeInteger(UInt32(name.count))
            out.writeBytes(name)
            out.writeInteger(UInt32(header.value.utf8.count))
            out.writeString(header.value)
        }
        return Array(out.readableBytesView)
    }
}
