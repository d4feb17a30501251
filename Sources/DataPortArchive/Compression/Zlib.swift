import CZlib
import DataPortIO
import DataPortModel
import Synchronization

/// zlib framing: raw deflate (zip entries) or gzip (tar.gz).
public enum DeflateFraming: Sendable, Equatable {
    case raw, gzip
    var windowBits: Int32 { self == .raw ? -MAX_WBITS : MAX_WBITS + 16 }
}

/// CRC-32 as zip uses it.
public func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
    return UInt32(CZlib.crc32(uLong(crc), base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
}

/// A zlib deflate stream and its output buffer, kept for reuse: setting one up (about 400 KB to
/// allocate and clear) costs more than compressing a small file, and a batch of bundles writes
/// many small files. A stream taken again is reset (`deflateReset`), which compresses exactly as
/// a new stream with the same settings does.
private final class Deflater: @unchecked Sendable {
    let stream: UnsafeMutablePointer<z_stream>
    var out: [UInt8]
    let level: Int32
    let framing: DeflateFraming

    init(level: Int32, framing: DeflateFraming) {
        self.level = level
        self.framing = framing
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        out = [UInt8](repeating: 0, count: 1 << 17)
        deflateInit2_(stream, level, Z_DEFLATED, framing.windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Idle streams; at most `maxIdle` are kept (one per concurrent entry is all a batch needs).
    private static let idle = Mutex<[Deflater]>([])
    private static let maxIdle = 16

    static func take(level: Int32, framing: DeflateFraming) -> Deflater {
        let found = idle.withLock { list -> Deflater? in
            guard let i = list.lastIndex(where: { $0.level == level && $0.framing == framing }) else { return nil }
            return list.remove(at: i)
        }
        return found ?? Deflater(level: level, framing: framing)
    }

    static func giveBack(_ d: Deflater) {
        guard deflateReset(d.stream) == Z_OK else { return }
        idle.withLock { list in if list.count < maxIdle { list.append(d) } }
    }
}

/// Compresses what is written to it into `next`. Call `finish()` after the last write.
public final class DeflateSink: ByteSink {
    private let next: any ByteSink
    private let deflater: Deflater
    private var stream: UnsafeMutablePointer<z_stream> { deflater.stream }
    private var finished = false

    public init(_ next: any ByteSink, level: Int32 = 6, framing: DeflateFraming = .raw) {
        self.next = next
        deflater = Deflater.take(level: level, framing: framing)
    }

    deinit { Deflater.giveBack(deflater) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(bytes.count)
        try run(flush: Z_NO_FLUSH)
    }

    public func finish() throws {
        guard !finished else { return }
        finished = true
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try run(flush: Z_FINISH)
    }

    private func run(flush: Int32) throws {
        let outCount = deflater.out.count
        while true {
            let (rc, produced): (Int32, Int) = deflater.out.withUnsafeMutableBytes { buf in
                stream.pointee.next_out = buf.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(outCount)
                let rc = deflate(stream, flush)
                return (rc, outCount - Int(stream.pointee.avail_out))
            }
            if produced > 0 { try deflater.out.withUnsafeBytes { try next.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            if rc == Z_STREAM_END { return }
            guard rc == Z_OK || rc == Z_BUF_ERROR else { throw DataPortError(.internal, "deflate failed (\(rc))") }
            if flush == Z_NO_FLUSH && stream.pointee.avail_in == 0 && produced < outCount { return }
        }
    }
}

/// Decompresses a deflate or gzip stream, counting output and refusing more than `limit` bytes.
public final class InflateSource: ByteSource {
    private let source: any ByteSource
    private let stream: UnsafeMutablePointer<z_stream>
    private var input: [UInt8]
    private var inputStart = 0, inputEnd = 0
    private var ended = false
    private let limit: Int64
    private let name: String
    private let framing: DeflateFraming
    private let overLimit: DataPortError.Kind
    public private(set) var produced: Int64 = 0
    /// Compressed bytes taken from the source.
    public private(set) var consumed: Int64 = 0

    /// - Parameter overLimit: the error kind when output passes `limit`: `limitExceeded` for a cap,
    ///   `tamperedBundle` when the limit is a declared size that must hold.
    public init(_ source: any ByteSource, framing: DeflateFraming, limit: Int64, name: String,
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
    public var isComplete: Bool { ended }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
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
    public var leftover: [UInt8] { Array(input[inputStart..<inputEnd]) }
}
