#if canImport(Glibc)
import Glibc
#endif
import DataPortIO
import DataPortModel

/// Reads a zip archive from a file, defensively: the central directory is checked against local
/// headers, entries may not overlap, sizes are enforced while inflating, names must be safe.
public final class ZipReader: ArchiveReader {
    public struct Entry: Sendable {
        public var name: String
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int64
        public var size: Int64
        var headerOffset: Int64
        var dataOffset: Int64 = 0
    }

    public let path: String
    public private(set) var entries: [Entry] = []
    /// Index into `entries` by exact name, so opening every entry stays linear in their number.
    private var index: [String: Int] = [:]
    private let file: OpenArchiveFile
    private var fd: Int32 { file.fd }
    private var fileSize: Int64 { file.size }
    private let limits: ArchiveLimits

    public init(path: String, limits: ArchiveLimits = .default) throws {
        self.path = path
        self.limits = limits
        file = try OpenArchiveFile(path: path)
        try readDirectory()
    }

    /// Reads a zip spooled into a temporary file (a zip inside a bundle, such as an xlsx workbook);
    /// `name` stands for the file in messages.
    public init(temporaryFile: TemporaryFile, name: String, limits: ArchiveLimits = .default) throws {
        path = name
        self.limits = limits
        file = try OpenArchiveFile(duplicating: temporaryFile.fileDescriptor, size: temporaryFile.size, name: name)
        try readDirectory()
    }

    public var entryNames: [String] { entries.map(\.name) }

    private func bad(_ message: String) -> DataPortError { DataPortError(.invalidBundle, message, at: path) }

    func readBytes(at offset: Int64, count: Int) throws -> [UInt8] {
        // Written so that hostile offsets near Int64.max cannot overflow.
        guard offset >= 0, count >= 0, Int64(count) <= fileSize, offset <= fileSize - Int64(count) else {
            throw bad("not a valid zip archive (truncated)")
        }
        var buf = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            guard n > 0 else { throw bad("cannot read the bundle") }
            done += n
        }
        return buf
    }

    private func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private func u32(_ b: [UInt8], _ i: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[i + $1]) << (8 * UInt32($1)) } }
    private func u64(_ b: [UInt8], _ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) } }

    /// Reads and checks the central directory: every entry's name, method, type and sizes, its
    /// local header, the limits, and that no two entries share bytes.
    private func readDirectory() throws {
        let directory = try locateDirectory()
        guard directory.size <= 512 << 20 else { throw DataPortError(.limitExceeded, "central directory too large", at: path) }
        let cd = try readBytes(at: directory.offset, count: Int(directory.size))
        var p = 0
        var seen = Set<String>()
        var total: Int64 = 0
        for _ in 0..<directory.count {
            var (e, nameBytes, recordLength) = try directoryRecord(cd, at: p)
            guard seen.insert(EntryName.collisionKey(e.name)).inserted else { throw bad("duplicate entry \(e.name)") }
            try checkSizes(e, decompressedSoFar: total)
            e.dataOffset = try dataOffset(of: e, nameBytes: nameBytes)
            total += e.size
            index[e.name] = entries.count
            entries.append(e)
            p += recordLength
        }
        try checkNoOverlap(directoryOffset: directory.offset)
    }

    /// Where the central directory is and how many entries it holds, from the end of central
    /// directory record (and the zip64 one when a field overflows), checked to be where it says.
    private func locateDirectory() throws -> (count: Int64, offset: Int64, size: Int64) {
        guard fileSize >= 22 else { throw bad("not a zip archive") }
        let tailLength = Int(min(fileSize, 22 + 65535))
        let tail = try readBytes(at: fileSize - Int64(tailLength), count: tailLength)
        let eocd = try endRecordOffset(in: tail)
        let commentLength = Int(u16(tail, eocd + 20))
        guard eocd + 22 + commentLength == tailLength else { throw bad("data after the end of the zip archive") }
        guard u16(tail, eocd + 4) == 0, u16(tail, eocd + 6) == 0 else { throw bad("multi-disk zip archives are not supported") }
        var count = Int64(u16(tail, eocd + 10))
        var cdSize = Int64(u32(tail, eocd + 12))
        var cdOffset = Int64(u32(tail, eocd + 16))
        let eocdOffset = fileSize - Int64(tailLength) + Int64(eocd)
        var cdEndLimit = eocdOffset
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            let z64 = try zip64EndRecord(before: eocdOffset)
            (count, cdSize, cdOffset, cdEndLimit) = (z64.count, z64.size, z64.offset, z64.recordOffset)
        }
        guard count >= 0, count <= limits.maxEntries else {
            throw DataPortError(.limitExceeded, "archive has more than \(limits.maxEntries) entries", at: path, code: .tooManyEntries)
        }
        guard cdOffset >= 0, cdSize >= 0, cdSize <= cdEndLimit, cdOffset == cdEndLimit - cdSize else {
            throw bad("central directory is not where the end record says")
        }
        return (count, cdOffset, cdSize)
    }

    /// The offset in `tail` (the file's last bytes) of the end of central directory record.
    private func endRecordOffset(in tail: [UInt8]) throws -> Int {
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4b, tail[i + 2] == 5, tail[i + 3] == 6 { return i }
            i -= 1
        }
        // It starts as a zip (a local header) and has no end: cut short, e.g. a stream whose
        // writer failed (`--output -`): damaged, not "something else".
        let head = try readBytes(at: 0, count: 4)
        if head == [0x50, 0x4B, 0x03, 0x04] {
            throw DataPortError(.tamperedBundle, "the zip archive ends early (no end of central directory): truncated or damaged", at: path, code: .truncated)
        }
        throw bad("not a zip archive (no end of central directory)")
    }

    /// The zip64 end record through its locator just before the end record at `eocdOffset`; it
    /// must lie right before the locator.
    private func zip64EndRecord(before eocdOffset: Int64) throws -> (count: Int64, size: Int64, offset: Int64, recordOffset: Int64) {
        guard eocdOffset >= 20 else { throw bad("zip64 locator missing") }
        let loc = try readBytes(at: eocdOffset - 20, count: 20)
        guard u32(loc, 0) == 0x07064b50 else { throw bad("zip64 locator missing") }
        let z64Offset = Int64(bitPattern: u64(loc, 8))
        let z = try readBytes(at: z64Offset, count: 56)
        guard u32(z, 0) == 0x06064b50 else { throw bad("zip64 end record missing") }
        let result = (count: Int64(bitPattern: u64(z, 32)), size: Int64(bitPattern: u64(z, 40)),
                      offset: Int64(bitPattern: u64(z, 48)), recordOffset: z64Offset)
        guard z64Offset + 56 + 20 == eocdOffset else { throw bad("unexpected data between zip64 records") }
        return result
    }

    /// The central directory record at `p`: the entry (without its data offset), its name's bytes
    /// and the record's length. Refuses unsafe names, encryption, unknown methods, links and
    /// special files, and corrupt sizes.
    private func directoryRecord(_ cd: [UInt8], at p: Int) throws -> (Entry, nameBytes: [UInt8], length: Int) {
        guard p + 46 <= cd.count, u32(cd, p) == 0x02014b50 else { throw bad("corrupt central directory") }
        let flags = u16(cd, p + 8)
        let method = u16(cd, p + 10)
        var e = Entry(name: "", method: method, crc: u32(cd, p + 16), compressedSize: Int64(u32(cd, p + 20)),
                      size: Int64(u32(cd, p + 24)), headerOffset: Int64(u32(cd, p + 42)))
        let nameLength = Int(u16(cd, p + 28)), extraLength = Int(u16(cd, p + 30)), commentLength = Int(u16(cd, p + 32))
        guard p + 46 + nameLength + extraLength + commentLength <= cd.count else { throw bad("corrupt central directory") }
        let nameBytes = Array(cd[p + 46..<p + 46 + nameLength])
        guard let name = String(validating: nameBytes, as: UTF8.self) else { throw bad("entry name is not UTF-8") }
        e.name = name
        try EntryName.check(name, archive: path)
        guard flags & 0x41 == 0 else { throw bad("encrypted entries are not supported") }
        guard method == 8 || method == 0 else { throw bad("unsupported compression method \(method)") }
        let externalType = (u32(cd, p + 38) >> 16) & 0o170000
        let madeBy = u16(cd, p + 4) >> 8
        if madeBy == 3, externalType != 0, externalType != 0o100000, externalType != 0o040000 {
            throw DataPortError(.invalidBundle, "entry \(name) is a link or special file", at: path, code: .unsafePath)
        }
        try applyZip64Extra(&e, cd, from: p + 46 + nameLength, to: p + 46 + nameLength + extraLength)
        guard e.size >= 0, e.compressedSize >= 0, e.headerOffset >= 0 else { throw bad("corrupt sizes") }
        return (e, nameBytes, 46 + nameLength + extraLength + commentLength)
    }

    /// Takes the sizes and offset that overflowed 32 bits from the zip64 extra field, if any, in
    /// the extra fields at `cd[start..<end]`.
    private func applyZip64Extra(_ e: inout Entry, _ cd: [UInt8], from start: Int, to end: Int) throws {
        var x = start
        while x + 4 <= end {
            let id = u16(cd, x), len = Int(u16(cd, x + 2))
            guard x + 4 + len <= end else { throw bad("corrupt extra field") }
            if id == 1 {
                var q = x + 4
                func take() throws -> Int64 {
                    guard q + 8 <= x + 4 + len else { throw bad("corrupt zip64 field") }
                    defer { q += 8 }
                    return Int64(bitPattern: u64(cd, q))
                }
                if e.size == 0xFFFF_FFFF { e.size = try take() }
                if e.compressedSize == 0xFFFF_FFFF { e.compressedSize = try take() }
                if e.headerOffset == 0xFFFF_FFFF { e.headerOffset = try take() }
            }
            x += 4 + len
        }
    }

    /// An entry's sizes against each other and the limits (ratio, total decompressed bytes).
    private func checkSizes(_ e: Entry, decompressedSoFar total: Int64) throws {
        if e.method == 0, e.size != e.compressedSize { throw bad("stored entry sizes disagree") }
        if limits.exceedsRatio(decompressed: e.size, compressed: e.compressedSize) {
            throw DataPortError(.limitExceeded, "entry \(e.name) has a compression ratio over \(limits.maxRatio)", at: path, code: .compressionRatio)
        }
        guard e.size <= limits.maxTotalBytes - total else {
            throw DataPortError(.limitExceeded, "archive decompresses to more than \(limits.maxTotalBytes) bytes", at: path, code: .tooManyBytes)
        }
    }

    /// Where an entry's data starts, after its local header, which must agree with the central
    /// directory (name, method); the data must end inside the file.
    private func dataOffset(of e: Entry, nameBytes: [UInt8]) throws -> Int64 {
        let local = try readBytes(at: e.headerOffset, count: 30)
        guard u32(local, 0) == 0x04034b50 else { throw bad("local header missing for \(e.name)") }
        let localName = try readBytes(at: e.headerOffset + 30, count: Int(u16(local, 26)))
        guard localName == nameBytes else { throw bad("local header name disagrees with the central directory for \(e.name)") }
        guard u16(local, 8) == e.method else { throw bad("local header method disagrees for \(e.name)") }
        let offset = e.headerOffset + 30 + Int64(u16(local, 26)) + Int64(u16(local, 28))
        guard offset <= fileSize, e.compressedSize <= fileSize - offset else { throw bad("entry \(e.name) runs past the end of the archive") }
        return offset
    }

    /// No two entries may share bytes (the overlapping-file zip bomb), and all lie before the directory.
    private func checkNoOverlap(directoryOffset: Int64) throws {
        let sorted = entries.sorted { $0.headerOffset < $1.headerOffset }
        for (k, e) in sorted.enumerated() {
            let end = e.dataOffset + e.compressedSize
            let next = k + 1 < sorted.count ? sorted[k + 1].headerOffset : directoryOffset
            guard end <= next else { throw bad("entries overlap (\(e.name))") }
        }
    }

    /// The entry's bytes, inflated and checked. Safe to call from several threads at once (the
    /// directory is not changed after `init`, reads use `pread`): `verify` reads entries side by side.
    public func open(_ name: String) throws -> any ByteSource {
        guard let i = index[name] else { throw bad("missing entry \(name)") }
        let e = entries[i]
        let raw = FileRangeSource(fd: fd, offset: e.dataOffset, length: e.compressedSize)
        let data: any ByteSource = e.method == 8 ? InflateSource(raw, framing: .raw, limit: e.size, name: e.name, overLimit: .tamperedBundle) : raw
        return CheckedEntrySource(data, expectedSize: e.size, expectedCRC: e.crc, name: e.name, archive: path)
    }
}

/// Reads a byte range of an open file.
final class FileRangeSource: ByteSource {
    let fd: Int32
    var offset: Int64
    var remaining: Int64
    init(fd: Int32, offset: Int64, length: Int64) { self.fd = fd; self.offset = offset; remaining = length }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = Int(min(Int64(buffer.count), remaining))
        guard want > 0 else { return 0 }
        let n = pread(fd, buffer.baseAddress, want, off_t(offset))
        guard n > 0 else { throw DataPortError(.invalidBundle, "cannot read the bundle") }
        offset += Int64(n); remaining -= Int64(n)
        return n
    }
}

/// Checks an entry's size and CRC-32 as it is read; a mismatch at the end is a tampered bundle.
final class CheckedEntrySource: ByteSource {
    let inner: any ByteSource
    let expectedSize: Int64
    let expectedCRC: UInt32
    let name: String, archive: String
    var crc: UInt32 = 0
    var count: Int64 = 0
    init(_ inner: any ByteSource, expectedSize: Int64, expectedCRC: UInt32, name: String, archive: String) {
        self.inner = inner; self.expectedSize = expectedSize; self.expectedCRC = expectedCRC; self.name = name; self.archive = archive
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        if n == 0 {
            guard count == expectedSize else { throw DataPortError(.tamperedBundle, "entry \(name) is shorter than declared", at: archive, code: .sizeMismatch) }
            guard crc == expectedCRC else { throw DataPortError(.tamperedBundle, "entry \(name) fails its CRC-32 check", at: archive, code: .checksumMismatch) }
            return 0
        }
        count += Int64(n)
        guard count <= expectedSize else { throw DataPortError(.tamperedBundle, "entry \(name) is longer than declared", at: archive, code: .sizeMismatch) }
        crc = crc32(crc, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        return n
    }
}
