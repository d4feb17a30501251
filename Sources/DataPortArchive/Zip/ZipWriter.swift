import DataPortIO
import DataPortModel

/// What was written for one entry.
public struct WrittenEntry: Sendable {
    public var path: String
    /// Uncompressed size.
    public var size: Int64
    public var sha256: String
    /// Compressed size, where the container has one per entry (zip).
    public var compressedSize: Int64? = nil
}

/// Writes a zip archive sequentially (deflate, data descriptors, zip64 where sizes, offsets or the
/// entry count need it). Deterministic: same entries and date give the same bytes.
package final class ZipWriter {
    private struct Central {
        var name: [UInt8]
        var crc: UInt32
        var compressed: Int64
        var size: Int64
        var offset: Int64
    }

    fileprivate let out: CountingSink
    private let dosTime: UInt16
    private let dosDate: UInt16
    private var entries: [Central] = []
    let level: Int32

    package init(sink: any ByteSink, date: Timestamp, level: Int32 = DeflateLevel.standard) {
        out = CountingSink(sink)
        self.level = level
        // MS-DOS date and time, in UTC; zip cannot express dates before 1980.
        let parts = Array(date.text.utf8)
        func num(_ a: Int, _ n: Int) -> Int { parts[a..<a + n].reduce(0) { $0 * 10 + Int($1 - 48) } }
        let year = num(0, 4)
        if year < 1980 {
            dosDate = 1 << 5 | 1
            dosTime = 0
        } else {
            dosDate = UInt16((min(year, 2107) - 1980) << 9 | num(5, 2) << 5 | num(8, 2))
            dosTime = UInt16(num(11, 2) << 11 | num(14, 2) << 5 | num(17, 2) / 2)
        }
    }

    private func le(_ v: UInt16, _ b: inout [UInt8]) { b.append(UInt8(v & 0xFF)); b.append(UInt8(v >> 8)) }
    private func le(_ v: UInt32, _ b: inout [UInt8]) { for i in 0..<4 { b.append(UInt8(v >> (8 * UInt32(i)) & 0xFF)) } }
    private func le(_ v: UInt64, _ b: inout [UInt8]) { for i in 0..<8 { b.append(UInt8(v >> (8 * UInt64(i)) & 0xFF)) } }

    /// Adds an entry whose contents `body` writes, streaming through deflate, CRC-32 and SHA-256.
    package func addEntry(path: String, _ body: (any ByteSink) throws -> Void) throws -> WrittenEntry {
        let entry = try beginEntry(path: path)
        do {
            try body(entry.sink)
        } catch {
            entry.abandon()
            throw error
        }
        return try entry.close()
    }

    /// An entry being written, for contents that arrive across calls (a spreadsheet's sheet written
    /// record by record). Write to `sink`, then `close()` it before the next entry begins.
    package final class OpenEntry {
        fileprivate let writer: ZipWriter
        fileprivate let name: [UInt8]
        fileprivate let offset: Int64
        fileprivate let compressedStart: Int64
        fileprivate let deflater: DeflateSink
        fileprivate let entrySink: EntrySink
        fileprivate let pipeline: PipelinedSink
        private var closed = false
        /// Where the entry's uncompressed bytes go.
        package var sink: any ByteSink { pipeline }

        fileprivate init(writer: ZipWriter, path: String) throws {
            self.writer = writer
            name = Array(path.utf8)
            offset = try writer.writeLocalHeader(name)
            compressedStart = writer.out.count
            deflater = DeflateSink(writer.out, level: writer.level)
            entrySink = EntrySink(deflater)
            // SHA-256 runs on a second thread while the caller encodes on this one; deflate and CRC-32
            // on the deflater's threads.
            pipeline = PipelinedSink { [entrySink] in try entrySink.write($0) }
        }

        deinit { if !closed { abandon() } }

        /// Completes the entry: its data descriptor, and its place in the central directory.
        package func close() throws -> WrittenEntry {
            closed = true
            try pipeline.finish()
            try deflater.finish()
            let compressed = writer.out.count - compressedStart
            try writer.finishEntry(name: name, offset: offset, crc: deflater.crc, compressed: compressed, size: entrySink.count)
            return WrittenEntry(path: String(decoding: name, as: UTF8.self), size: entrySink.count, sha256: entrySink.sha.finalizeHex(),
                                compressedSize: compressed)
        }

        /// Stops the second thread after a failure; the archive is incomplete and is to be discarded.
        package func abandon() {
            closed = true
            try? pipeline.finish()
        }
    }

    /// Starts an entry whose contents are written to the returned entry's `sink` until it is closed.
    package func beginEntry(path: String) throws -> OpenEntry {
        try OpenEntry(writer: self, path: path)
    }

    /// Adds an entry already compressed (in parallel with others) into a spool. The bytes are the
    /// same as `addEntry` would have written for the same contents.
    package func addEntry(path: String, spool: CompressedSpool) throws -> WrittenEntry {
        try addCompressed(path: path, crc: spool.crc, size: spool.size, sha256: spool.sha256) { try spool.copyCompressed(to: $0) }
    }

    /// Adds an entry spliced from a head, a segment of `spool` and a tail (see `SplicedEntry`).
    package func addEntry(path: String, spliced entry: SplicedEntry, of spool: SegmentSpool) throws -> WrittenEntry {
        try addCompressed(path: path, crc: entry.crc, size: entry.size, sha256: entry.sha256) { out in
            try out.write(entry.deflatedHead)
            try spool.copy(entry.segment, into: out)
            try out.write(entry.deflatedTail)
        }
    }

    /// Adds an entry from its deflated bytes (compressed earlier, at this writer's level), with the
    /// CRC-32, size and SHA-256 of its uncompressed contents.
    func addCompressed(path: String, deflated: [UInt8], crc: UInt32, size: Int64, sha256: String) throws -> WrittenEntry {
        try addCompressed(path: path, crc: crc, size: size, sha256: sha256) { try $0.write(deflated) }
    }

    private func addCompressed(path: String, crc: UInt32, size: Int64, sha256: String, copy: (any ByteSink) throws -> Void) throws -> WrittenEntry {
        let name = Array(path.utf8)
        let offset = try writeLocalHeader(name)
        let compressedStart = out.count
        try copy(out)
        let compressed = out.count - compressedStart
        try finishEntry(name: name, offset: offset, crc: crc, compressed: compressed, size: size)
        return WrittenEntry(path: path, size: size, sha256: sha256, compressedSize: compressed)
    }

    fileprivate func writeLocalHeader(_ name: [UInt8]) throws -> Int64 {
        let offset = out.count
        var h: [UInt8] = []
        le(UInt32(0x04034b50), &h)
        le(UInt16(20), &h)              // version needed
        le(UInt16(0x0808), &h)          // data descriptor follows; names are UTF-8
        le(UInt16(8), &h)               // deflate
        le(dosTime, &h); le(dosDate, &h)
        le(UInt32(0), &h); le(UInt32(0), &h); le(UInt32(0), &h)
        le(UInt16(name.count), &h); le(UInt16(0), &h)
        h += name
        try out.write(h)
        return offset
    }

    fileprivate func finishEntry(name: [UInt8], offset: Int64, crc: UInt32, compressed: Int64, size: Int64) throws {
        var d: [UInt8] = []
        le(UInt32(0x08074b50), &d)
        le(crc, &d)
        if compressed >= 0xFFFF_FFFF || size >= 0xFFFF_FFFF {
            le(UInt64(compressed), &d); le(UInt64(size), &d)
        } else {
            le(UInt32(compressed), &d); le(UInt32(size), &d)
        }
        try out.write(d)
        entries.append(Central(name: name, crc: crc, compressed: compressed, size: size, offset: offset))
    }

    /// Writes the central directory and end records.
    package func finish() throws {
        let cdStart = out.count
        for e in entries {
            var extra: [UInt8] = []
            if e.size >= 0xFFFF_FFFF { le(UInt64(e.size), &extra) }
            if e.compressed >= 0xFFFF_FFFF { le(UInt64(e.compressed), &extra) }
            if e.offset >= 0xFFFF_FFFF { le(UInt64(e.offset), &extra) }
            if !extra.isEmpty {
                var header: [UInt8] = []
                le(UInt16(1), &header); le(UInt16(extra.count), &header)
                extra = header + extra
            }
            let zip64 = !extra.isEmpty
            var c: [UInt8] = []
            le(UInt32(0x02014b50), &c)
            le(UInt16(3 << 8 | (zip64 ? 45 : 20)), &c)   // made by Unix
            le(UInt16(zip64 ? 45 : 20), &c)
            le(UInt16(0x0808), &c)
            le(UInt16(8), &c)
            le(dosTime, &c); le(dosDate, &c)
            le(e.crc, &c)
            le(UInt32(min(e.compressed, 0xFFFF_FFFF)), &c)
            le(UInt32(min(e.size, 0xFFFF_FFFF)), &c)
            le(UInt16(e.name.count), &c); le(UInt16(extra.count), &c); le(UInt16(0), &c)
            le(UInt16(0), &c); le(UInt16(0), &c)
            le(UInt32(0o100644) << 16, &c)
            le(UInt32(min(e.offset, 0xFFFF_FFFF)), &c)
            c += e.name
            c += extra
            try out.write(c)
        }
        let cdEnd = out.count
        let cdSize = cdEnd - cdStart
        var end: [UInt8] = []
        let needs64 = entries.count >= 0xFFFF || cdStart >= 0xFFFF_FFFF || cdSize >= 0xFFFF_FFFF
        if needs64 {
            le(UInt32(0x06064b50), &end)
            le(UInt64(44), &end)
            le(UInt16(3 << 8 | 45), &end); le(UInt16(45), &end)
            le(UInt32(0), &end); le(UInt32(0), &end)
            le(UInt64(entries.count), &end); le(UInt64(entries.count), &end)
            le(UInt64(cdSize), &end); le(UInt64(cdStart), &end)
            le(UInt32(0x07064b50), &end)
            le(UInt32(0), &end); le(UInt64(cdEnd), &end); le(UInt32(1), &end)
        }
        le(UInt32(0x06054b50), &end)
        le(UInt16(0), &end); le(UInt16(0), &end)
        le(UInt16(min(entries.count, 0xFFFF)), &end); le(UInt16(min(entries.count, 0xFFFF)), &end)
        le(UInt32(min(cdSize, 0xFFFF_FFFF)), &end); le(UInt32(min(cdStart, 0xFFFF_FFFF)), &end)
        le(UInt16(0), &end)
        try out.write(end)
    }
}

/// Counts and hashes an entry's uncompressed bytes on their way to the compressor (which computes
/// the CRC-32 per block, in parallel).
final class EntrySink: ByteSink {
    let next: any ByteSink
    @exclusivity(unchecked) var count: Int64 = 0
    let sha = SHA256()
    init(_ next: any ByteSink) { self.next = next }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        count += Int64(bytes.count)
        sha.write(bytes)
        try next.write(bytes)
    }
}
