import CZlib

/// SPDY/3 header blocks are zlib streams (one per direction per connection, never reset) primed
/// with the dictionary of the SPDY/3 draft (section 2.6.10.1); each block ends with a sync flush.
enum SPDYDictionary {
    /// The dictionary: 65 length-prefixed (32-bit big-endian) words, then one run of text.
    static let bytes: [UInt8] = {
        var out: [UInt8] = []
        for word in words {
            let count = UInt32(word.utf8.count)
            out += [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
            out += Array(word.utf8)
        }
        out += Array(tail.utf8)
        return out
    }()

    static let words = [
        "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
        "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
        "content-base", "content-encoding", "content-language", "content-length", "content-location",
        "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
        "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
        "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
        "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
        "warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
        "public", "set-cookie", "keep-alive", "origin",
    ]

    static let tail = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        + "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
        + "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
        + "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
        + "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
        + "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
        + "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
}

/// A zlib failure while (de)compressing a header block.
struct SPDYCompressionError: Error, CustomStringConvertible {
    var operation: String
    var code: Int32
    var description: String { "SPDY header block: zlib \(operation) failed (\(code))" }
}

/// The compressing side of one direction (the server's replies). Not thread-safe: one owner.
final class SPDYHeaderDeflater {
    private let stream: UnsafeMutablePointer<z_stream>

    init() throws(SPDYCompressionError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = deflateInit2_(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deallocate()
            throw SPDYCompressionError(operation: "deflateInit", code: rc)
        }
        let set = SPDYDictionary.bytes.withUnsafeBufferPointer {
            deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
        }
        guard set == Z_OK else {
            deflateEnd(stream)
            stream.deallocate()
            throw SPDYCompressionError(operation: "deflateSetDictionary", code: set)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// One header block, ending with a sync flush so the peer can decode it on its own.
    func compress(_ input: [UInt8]) throws(SPDYCompressionError) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        var input = input
        var rc: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = UInt32(inBuffer.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    rc = deflate(stream, Z_SYNC_FLUSH)
                    output += out[0..<(out.count - Int(stream.pointee.avail_out))]
                }
            } while rc == Z_OK && stream.pointee.avail_out == 0
            stream.pointee.next_in = nil
        }
        guard rc == Z_OK || rc == Z_BUF_ERROR else { throw SPDYCompressionError(operation: "deflate", code: rc) }
        return output
    }
}

/// The decompressing side of one direction (the client's requests). Not thread-safe: one owner.
final class SPDYHeaderInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    /// A header block bigger than this is refused (a zlib bomb must not take the daemon's memory).
    let limit: Int

    init(limit: Int = 1 << 20) throws(SPDYCompressionError) {
        self.limit = limit
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = inflateInit_(stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deallocate()
            throw SPDYCompressionError(operation: "inflateInit", code: rc)
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func decompress(_ input: [UInt8]) throws(SPDYCompressionError) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        var input = input
        var failure: SPDYCompressionError?
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = UInt32(inBuffer.count)
            while failure == nil {
                var rc: Int32 = Z_OK
                var produced = 0
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    rc = inflate(stream, Z_SYNC_FLUSH)
                    produced = out.count - Int(stream.pointee.avail_out)
                    output += out[0..<produced]
                }
                if rc == Z_NEED_DICT {
                    let set = SPDYDictionary.bytes.withUnsafeBufferPointer {
                        inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
                    }
                    if set != Z_OK { failure = SPDYCompressionError(operation: "inflateSetDictionary", code: set) }
                    continue
                }
                if output.count > limit { failure = SPDYCompressionError(operation: "inflate (block over \(limit) bytes)", code: Z_MEM_ERROR) }
                if rc == Z_BUF_ERROR || (rc == Z_OK && stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0) { break }
                if rc != Z_OK { failure = SPDYCompressionError(operation: "inflate", code: rc) }
            }
            stream.pointee.next_in = nil
        }
        if let failure { throw failure }
        return output
    }
}
