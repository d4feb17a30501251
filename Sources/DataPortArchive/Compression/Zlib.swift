import CZlib
import DataPortIO
import DataPortModel

/// Deflate framing: raw deflate (zip entries) or gzip (tar.gz).
package enum DeflateFraming: Sendable, Equatable {
    case raw, gzip
    var windowBits: Int32 { self == .raw ? -MAX_WBITS : MAX_WBITS + 16 }
}

/// Combines the CRC-32 of two consecutive pieces: `crcB` of the `lengthB` bytes after the piece
/// whose CRC-32 is `crcA`. Lets blocks compressed in parallel keep one checksum.
func crc32Combine(_ crcA: UInt32, _ crcB: UInt32, _ lengthB: Int) -> UInt32 {
    UInt32(crc32_combine(uLong(crcA), uLong(crcB), off_t(lengthB)))
}

/// Decompresses a deflate or gzip stream, counting output and refusing more than `limit` bytes.
package final class InflateSource: ByteSource {
    private let source: any ByteSource
    private let stream: UnsafeMutablePointer<z_stream>
    private var input: [UInt8]
    private var inputStart = 0, inputEnd = 0
    private var ended = false
    private let limit: Int64
    private let name: String
    private let framing: DeflateFraming
    private let overLimit: DataPortError.Kind
    package private(set) var produced: Int64 = 0
    /// Compressed bytes taken from the source.
    package private(set) var consumed: Int64 = 0

    /// - Parameter overLimit: the error kind when output passes `limit`: `limitExceeded` for a cap,
    ///   `tamperedBundle` when the limit is a declared size that must hold.
    package init(_ source: any ByteSource, framing: DeflateFraming, limit: Int64, name: String,
                overLimit: DataPortError.Kind = .limitExceeded) {
        self.source = source; self.limit = limit; self.name = name; self.framing = framing; self.overLimit = overLimit
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = [UInt8](repeating: 0, count: 1 << 16)
        inflateInit2_(stream, framing.windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Whether the compressed stream ended properly.
    package var isComplete: Bool { ended }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !ended, buffer.count > 0 else { return 0 }
        while true {
            if inputStart == inputEnd {
                let n = try input.withUnsafeMutableBytes { try source.read(into: $0) }
                inputStart = 0; inputEnd = n
                if n == 0 { throw DataPortError(.tamperedBundle, "compressed data ends early", at: name, code: .truncated) }
            }
            let (rc, used, made): (Int32, Int, Int) = input.withUnsafeMutableBytes { inBuf in
                stream.pointee.next_in = inBuf.baseAddress!.advanced(by: inputStart).assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = uInt(inputEnd - inputStart)
                stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(buffer.count)
                let rc = inflate(stream, Z_NO_FLUSH)
                return (rc, inputEnd - inputStart - Int(stream.pointee.avail_in), buffer.count - Int(stream.pointee.avail_out))
            }
            inputStart += used
            consumed += Int64(used)
            produced += Int64(made)
            if produced > limit {
                throw DataPortError(overLimit, overLimit == .limitExceeded ? "decompressed data exceeds its limit of \(limit) bytes"
                                    : "decompressed data is longer than its declared \(limit) bytes", at: name)
            }
            switch rc {
            case Z_STREAM_END:
                ended = true
                return made
            case Z_OK, Z_BUF_ERROR:
                if made > 0 { return made }
            default:
                throw DataPortError(.tamperedBundle, "compressed data is corrupt", at: name)
            }
        }
    }

    /// Compressed bytes read from the source but not used by the stream (after its end).
    package var leftover: [UInt8] { Array(input[inputStart..<inputEnd]) }
}
