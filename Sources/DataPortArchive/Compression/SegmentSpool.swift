import DataPortIO
import DataPortModel

/// The middles of entries deflated ahead, while their bytes stream, for entries whose start is
/// known only at the end (a dataset page's head names how many pages there are): each segment is
/// raw deflate on its own — no dictionary from before it, cut into blocks of `chunkSize` bytes
/// each primed with the previous block's last 32 KiB, ended on a byte boundary and not final —
/// so it can be spliced between a head and a tail compressed later (`SplicedEntry`).
/// Only the compressed bytes are kept, in an unlinked temporary file; the caller keeps the raw ones
/// (the entry's SHA-256 is computed when the head is known). The bytes depend only on what is
/// written and where segments end. Use from one thread at a time.
package final class SegmentSpool {
    /// One segment: where its compressed bytes are in the spool, how many raw bytes it holds and their CRC-32.
    package struct Segment: Sendable, Equatable {
        package let start: Int64
        package let end: Int64
        package let rawCount: Int64
        package let crc: UInt32
    }

    static let chunkSize = 1 << 18

    private let file: TemporaryFile
    private let compressor: ISALBlockCompressor
    private var chunk: [UInt8] = []
    /// The last block compressed in the current segment (its dictionary for the next), or empty.
    private var previous: [UInt8] = []
    private var output: [UInt8] = []
    private var segmentStart: Int64 = 0
    private var rawCount: Int64 = 0
    private var crc: UInt32 = 0

    package init(level: Int32 = DeflateLevel.standard) throws {
        file = try TemporaryFile()
        compressor = try CompressorPool.shared.take(level: level)
    }

    deinit { CompressorPool.shared.give(compressor) }

    /// Adds bytes to the current segment.
    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, Self.chunkSize - chunk.count)
            chunk.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if chunk.count == Self.chunkSize { try compressChunk() }
        }
    }

    /// Ends the current segment (an empty one holds no bytes) and starts the next.
    package func endSegment() throws -> Segment {
        if !chunk.isEmpty { try compressChunk() }
        let segment = Segment(start: segmentStart, end: file.size, rawCount: rawCount, crc: crc)
        segmentStart = file.size
        rawCount = 0
        crc = 0
        previous.removeAll(keepingCapacity: true)
        return segment
    }

    /// Writes a segment's compressed bytes to `sink`.
    package func copy(_ segment: Segment, into sink: any ByteSink) throws {
        try file.copy(from: segment.start, to: segment.end, into: sink)
    }

    private func compressChunk() throws {
        output.removeAll(keepingCapacity: true)
        try chunk.withUnsafeBytes { block in
            try previous.withUnsafeBytes { prev in
                let dictionary = UnsafeRawBufferPointer(rebasing: prev[max(0, prev.count - DeflateSink.window)...])
                try compressor.compress(block, dictionary: dictionary, last: false, into: &output)
            }
            crc = crc32(crc, block)
        }
        try file.write(output)
        rawCount += Int64(chunk.count)
        swap(&previous, &chunk)
        chunk.removeAll(keepingCapacity: true)
    }
}

/// An entry made of a head, a segment deflated ahead (`SegmentSpool`) and a tail, ready to be
/// added to a zip: the head and tail compressed (the head not final, on a byte boundary; the tail
/// ending the stream; neither with a dictionary), the whole hashed, and the segment's raw bytes
/// checked against its size and CRC-32. Made on any thread, several at once, while the spool is
/// not written to: it only reads `raw`.
package struct SplicedEntry: Sendable {
    let deflatedHead: [UInt8]
    let deflatedTail: [UInt8]
    let segment: SegmentSpool.Segment
    package let size: Int64
    package let crc: UInt32
    package let sha256: String

    /// - Parameter raw: writes the segment's uncompressed bytes to the sink it is given.
    package init(head: [UInt8], segment: SegmentSpool.Segment, raw: (any ByteSink) throws -> Void, tail: [UInt8],
                 level: Int32 = DeflateLevel.standard) throws {
        let compressor = try CompressorPool.shared.take(level: level)
        defer { CompressorPool.shared.give(compressor) }
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        var h: [UInt8] = [], t: [UInt8] = []
        try head.withUnsafeBytes { try compressor.compress($0, dictionary: none, last: false, into: &h) }
        try tail.withUnsafeBytes { try compressor.compress($0, dictionary: none, last: true, into: &t) }
        let sha = SHA256()
        head.withUnsafeBytes { sha.write($0) }
        let middle = SegmentCheck(sha)
        try raw(middle)
        guard middle.count == segment.rawCount, middle.crc == segment.crc else {
            throw DataPortError(.internal, "a file's part compressed ahead does not match its bytes")
        }
        tail.withUnsafeBytes { sha.write($0) }
        var crc = head.withUnsafeBytes { crc32(0, $0) }
        crc = crc32Combine(crc, segment.crc, Int(segment.rawCount))
        crc = crc32Combine(crc, tail.withUnsafeBytes { crc32(0, $0) }, tail.count)
        deflatedHead = h
        deflatedTail = t
        self.segment = segment
        size = Int64(head.count) + segment.rawCount + Int64(tail.count)
        self.crc = crc
        sha256 = sha.finalizeHex()
    }
}

/// Hashes a segment's raw bytes into its entry's SHA-256, with their count and CRC-32 to check
/// them against the segment's.
private final class SegmentCheck: ByteSink {
    let sha: SHA256
    var count: Int64 = 0
    var crc: UInt32 = 0
    init(_ sha: SHA256) { self.sha = sha }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        sha.write(bytes)
        count += Int64(bytes.count)
        crc = crc32(crc, bytes)
    }
}
