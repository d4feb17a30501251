#if canImport(Glibc)
import Glibc
#endif
import DataPortIO
import DataPortModel

/// Reads a gzip-compressed POSIX tar archive (ustar, pax, GNU magic) from a file, defensively.
///
/// `init` inflates the whole stream once: it checks every header (checksum, type, name, size),
/// counts decompressed bytes, entries and the compression ratio against the limits, verifies the
/// gzip trailer, and records where each entry's data starts in the uncompressed stream and its
/// CRC-32. Only regular files, directories and pax headers are accepted. `open` inflates again from
/// the start (or from where the previous fully read entry ended) and checks size and CRC-32.
public final class TarGzReader: ArchiveReader {
    public struct Entry: Sendable {
        /// The name; directories end with `/`.
        public var name: String
        public var size: Int64
        public var isDirectory: Bool
        /// Where the data starts in the uncompressed stream.
        var dataOffset: Int64
        var crc: UInt32
    }

    public let path: String
    public private(set) var entries: [Entry] = []
    private var byName: [String: Int] = [:]
    private let file: OpenArchiveFile
    private var fd: Int32 { file.fd }
    private var fileSize: Int64 { file.size }
    private let limits: ArchiveLimits
    /// The stream of the last entry read to its end, kept to continue from there.
    private var parked: TarCursor?

    /// Most bytes one pax extended header may hold.
    static let maxPaxSize: Int64 = 1 << 20

    public init(path: String, limits: ArchiveLimits = .default) throws {
        self.path = path
        self.limits = limits
        file = try OpenArchiveFile(path: path)
        try scan()
    }

    public var entryNames: [String] { entries.map(\.name) }

    private func bad(_ message: String) -> DataPortError { DataPortError(.invalidBundle, message, at: path) }

    private func newCursor(checkRatio: Bool) -> TarCursor {
        TarCursor(FileRangeSource(fd: fd, offset: 0, length: fileSize), limit: limits.maxTotalBytes,
                  ratio: checkRatio ? limits : nil, fileSize: fileSize, name: path)
    }

    // MARK: Scanning

    private func scan() throws {
        let cursor = newCursor(checkRatio: true)
        var block = [UInt8](repeating: 0, count: TarHeader.blockSize)
        var seen = Set<String>()
        var total: Int64 = 0
        var pax: [String: String]?
        while true {
            let n = try cursor.fill(&block)
            guard n == TarHeader.blockSize else {
                throw bad(n == 0 ? "truncated tar archive (no end-of-archive marker)" : "truncated tar archive (partial header)")
            }
            if block.allSatisfy({ $0 == 0 }) {
                guard pax == nil else { throw bad("pax header without a following entry") }
                guard try cursor.fill(&block) == TarHeader.blockSize, block.allSatisfy({ $0 == 0 }) else {
                    throw bad("truncated tar archive (incomplete end-of-archive marker)")
                }
                try checkTail(cursor)
                return
            }
            let header = try TarHeaderFields(block, archive: path)
            switch header.type {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                try readPaxHeader(header, cursor, pending: &pax)
            case 0, UInt8(ascii: "0"), UInt8(ascii: "5"):
                let overrides = pax
                pax = nil
                try addEntry(header, overriddenBy: overrides, cursor, seen: &seen, total: &total)
            default:
                throw unsupportedEntry(header)
            }
        }
    }

    /// Reads a pax header's records: a local one (`x`) becomes `pending`, for the next entry; a
    /// global one (`g`) may not change names or sizes. Sparse files are refused.
    private func readPaxHeader(_ header: TarHeaderFields, _ cursor: TarCursor, pending: inout [String: String]?) throws {
        guard header.size <= Self.maxPaxSize else {
            throw DataPortError(.limitExceeded, "pax header larger than \(Self.maxPaxSize) bytes", at: path)
        }
        let data = try readData(cursor, size: header.size, what: "pax header")
        let records = try TarHeaderFields.paxRecords(data, archive: path)
        if header.type == UInt8(ascii: "g") {
            // A global header changing names or sizes of every later entry: not in any bundle.
            if records.keys.contains(where: { $0 == "path" || $0 == "size" || $0.hasPrefix("GNU.sparse") }) {
                throw bad("global pax header overriding path or size is not supported")
            }
        } else {
            guard pending == nil else { throw bad("two pax headers in a row") }
            if records.keys.contains(where: { $0.hasPrefix("GNU.sparse") }) { throw bad("sparse files are not supported") }
            pending = records
        }
    }

    /// Records a regular file or directory entry (name and size as the pax records override them),
    /// after checking its name, uniqueness and the limits; reads past its data, taking its CRC-32.
    private func addEntry(_ header: TarHeaderFields, overriddenBy pax: [String: String]?, _ cursor: TarCursor,
                          seen: inout Set<String>, total: inout Int64) throws {
        let isDirectory = header.type == UInt8(ascii: "5")
        var name = header.name
        var size = header.size
        if let p = pax {
            if let value = p["path"] { name = value }
            if let value = p["size"] {
                guard let s = TarHeaderFields.decimal(value) else { throw bad("bad pax size") }
                size = s
            }
        }
        if isDirectory {
            guard size == 0 else { throw bad("directory entry \(name) has data") }
            if !name.hasSuffix("/") { name += "/" }
        } else {
            guard !name.hasSuffix("/") else { throw bad("file entry \(name) ends with '/'") }
        }
        try EntryName.check(name, archive: path)
        let key = EntryName.collisionKey(isDirectory ? String(name.dropLast()) : name)
        guard seen.insert(key).inserted else { throw bad("duplicate entry \(name)") }
        guard entries.count < limits.maxEntries else {
            throw DataPortError(.limitExceeded, "archive has more than \(limits.maxEntries) entries", at: path, code: .tooManyEntries)
        }
        total += size
        guard total <= limits.maxTotalBytes else {
            throw DataPortError(.limitExceeded, "archive decompresses to more than \(limits.maxTotalBytes) bytes", at: path, code: .tooManyBytes)
        }
        let offset = cursor.position
        var crc: UInt32 = 0
        let got = try cursor.skip(size) { crc = crc32(crc, $0) }
        guard got == size, try cursor.skip(padding(size)) == padding(size) else {
            throw bad("truncated tar archive (entry \(name))")
        }
        byName[name] = entries.count
        entries.append(Entry(name: name, size: size, isDirectory: isDirectory, dataOffset: offset, crc: crc))
    }

    /// The error for an entry type no bundle holds: links, devices, FIFOs, anything unknown.
    private func unsupportedEntry(_ header: TarHeaderFields) -> DataPortError {
        switch header.type {
        case UInt8(ascii: "1"): return DataPortError(.invalidBundle, "entry \(header.name) is a hard link", at: path, code: .unsafePath)
        case UInt8(ascii: "2"): return DataPortError(.invalidBundle, "entry \(header.name) is a symbolic link", at: path, code: .unsafePath)
        case UInt8(ascii: "3"), UInt8(ascii: "4"): return bad("entry \(header.name) is a device")
        case UInt8(ascii: "6"): return bad("entry \(header.name) is a FIFO")
        default:
            let shown = header.type >= 0x20 && header.type < 0x7F ? "'\(Character(UnicodeScalar(header.type)))'" : "\(header.type)"
            return bad("entry \(header.name) has an unsupported type \(shown)")
        }
    }

    private func padding(_ size: Int64) -> Int64 { (512 - size % 512) % 512 }

    private func readData(_ cursor: TarCursor, size: Int64, what: String) throws -> [UInt8] {
        var data: [UInt8] = []
        data.reserveCapacity(Int(size))
        guard try cursor.skip(size, { data.append(contentsOf: $0) }) == size,
              try cursor.skip(padding(size)) == padding(size) else {
            throw bad("truncated tar archive (\(what))")
        }
        return data
    }

    /// After the end-of-archive marker: only zero blocks, then the end of the gzip member, then at
    /// most zero bytes to the end of the file.
    private func checkTail(_ cursor: TarCursor) throws {
        var nonZero = false
        _ = try cursor.skip(Int64.max) { chunk in if !nonZero, chunk.contains(where: { $0 != 0 }) { nonZero = true } }
        guard !nonZero else { throw bad("data after the end of the tar archive") }
        guard cursor.inflater.isComplete else { throw DataPortError(.tamperedBundle, "compressed data ends early", at: path, code: .truncated) }
        guard cursor.inflater.leftover.allSatisfy({ $0 == 0 }) else { throw bad("data after the end of the gzip stream") }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try cursor.raw.read(into: $0) }
            if n == 0 { return }
            guard buffer[0..<n].allSatisfy({ $0 == 0 }) else { throw bad("data after the end of the gzip stream") }
        }
    }

    // MARK: Reading entries

    public func open(_ name: String) throws -> any ByteSource {
        guard let index = byName[name] else { throw bad("missing entry \(name)") }
        let e = entries[index]
        if e.isDirectory { return MemorySource([]) }
        let cursor: TarCursor
        if let p = parked, p.position <= e.dataOffset {
            cursor = p
        } else {
            cursor = newCursor(checkRatio: false)
        }
        parked = nil
        let gap = e.dataOffset - cursor.position
        guard try cursor.skip(gap) == gap else {
            throw DataPortError(.tamperedBundle, "entry \(name) is missing from the compressed stream", at: path)
        }
        let data = TarEntrySource(cursor, size: e.size) { [weak self] in self?.parked = $0 }
        return CheckedEntrySource(data, expectedSize: e.size, expectedCRC: e.crc, name: name, archive: path)
    }
}

/// The fields of a ustar header this reader uses, checked.
struct TarHeaderFields {
    var name: String
    var size: Int64
    var type: UInt8

    init(_ b: [UInt8], archive: String) throws {
        func bad(_ message: String) -> DataPortError { DataPortError(.invalidBundle, message, at: archive) }
        // Checksum: the header's bytes with the checksum field read as spaces; some old writers summed signed bytes.
        guard let stored = Self.octal(b[148..<156]) else { throw bad("corrupt tar header (checksum field)") }
        var unsigned: Int64 = 0, signed: Int64 = 0
        for (i, byte) in b.enumerated() {
            let v = (148..<156).contains(i) ? UInt8(ascii: " ") : byte
            unsigned += Int64(v)
            signed += Int64(Int8(bitPattern: v))
        }
        guard stored == unsigned || stored == signed else { throw bad("tar header checksum mismatch") }

        let magic = Array(b[257..<263]), version = Array(b[263..<265])
        let posix = magic == Array("ustar\0".utf8)
        let gnu = magic == Array("ustar ".utf8) && version == [0x20, 0]
        guard posix || gnu else { throw bad("not a POSIX tar archive (no ustar magic)") }
        type = b[156]

        var nameBytes = Self.cString(b[0..<100])
        let prefix = posix ? Self.cString(b[345..<500]) : []
        if !prefix.isEmpty { nameBytes = prefix + [UInt8(ascii: "/")] + nameBytes }
        guard let text = String(validating: nameBytes, as: UTF8.self) else { throw bad("entry name is not UTF-8") }
        name = text

        let sizeField = b[124..<136]
        if sizeField.first! & 0x80 != 0 {
            // GNU base-256: a positive big-endian number after the marker byte.
            guard sizeField.first! == 0x80 else { throw bad("negative size in tar header") }
            var v: Int64 = 0
            for byte in sizeField.dropFirst() {
                guard v <= Int64.max >> 8 else { throw bad("size in tar header too large") }
                v = v << 8 | Int64(byte)
            }
            size = v
        } else {
            guard let v = Self.octal(sizeField) else { throw bad("corrupt tar header (size field)") }
            size = v
        }
    }

    static func cString(_ field: ArraySlice<UInt8>) -> [UInt8] {
        Array(field.prefix { $0 != 0 })
    }

    /// An octal field: optional leading spaces, digits, then only NULs or spaces. Empty is 0.
    static func octal(_ field: ArraySlice<UInt8>) -> Int64? {
        var i = field.startIndex
        while i < field.endIndex, field[i] == 0x20 { i += 1 }
        var v: Int64 = 0
        while i < field.endIndex, field[i] >= 0x30, field[i] <= 0x37 {
            guard v <= Int64.max >> 3 else { return nil }
            v = v << 3 | Int64(field[i] - 0x30)
            i += 1
        }
        guard field[i...].allSatisfy({ $0 == 0 || $0 == 0x20 }) else { return nil }
        return v
    }

    /// A non-negative decimal number that fits in Int64.
    static func decimal(_ s: String) -> Int64? {
        guard !s.isEmpty, s.utf8.count <= 19, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(s)
    }

    /// The records of a pax extended header, `"<length> <key>=<value>\n"` each; later keys win.
    static func paxRecords(_ data: [UInt8], archive: String) throws -> [String: String] {
        func bad() -> DataPortError { DataPortError(.invalidBundle, "corrupt pax header", at: archive) }
        var out: [String: String] = [:]
        var i = 0
        while i < data.count {
            // Some writers pad the header's data with NULs.
            if data[i...].allSatisfy({ $0 == 0 }) { break }
            var length = 0, j = i
            while j < data.count, data[j] >= 0x30, data[j] <= 0x39, j - i < 8 {
                length = length * 10 + Int(data[j] - 0x30)
                j += 1
            }
            guard j > i, j < data.count, data[j] == 0x20, length > j - i + 1, i + length <= data.count,
                  data[i + length - 1] == 0x0A else { throw bad() }
            let record = data[(j + 1)..<(i + length - 1)]
            guard let eq = record.firstIndex(of: UInt8(ascii: "=")), eq > record.startIndex,
                  let key = String(validating: record[record.startIndex..<eq], as: UTF8.self),
                  let value = String(validating: record[(eq + 1)...], as: UTF8.self) else { throw bad() }
            out[key] = value
            i += length
        }
        return out
    }
}

/// An inflating read position in the uncompressed tar stream.
final class TarCursor {
    let raw: FileRangeSource
    let inflater: InflateSource
    /// The ratio limit, checked against the whole file's size (so a writer can know it holds).
    let ratio: ArchiveLimits?
    let fileSize: Int64
    let name: String
    /// Uncompressed bytes consumed.
    private(set) var position: Int64 = 0
    private var scratch = [UInt8](repeating: 0, count: 1 << 16)

    init(_ raw: FileRangeSource, limit: Int64, ratio: ArchiveLimits?, fileSize: Int64, name: String) {
        self.raw = raw
        self.ratio = ratio
        self.fileSize = fileSize
        self.name = name
        inflater = InflateSource(raw, framing: .gzip, limit: limit, name: name)
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inflater.read(into: buffer)
        position += Int64(n)
        if let ratio, ratio.exceedsRatio(decompressed: inflater.produced, compressed: fileSize) {
            throw DataPortError(.limitExceeded, "archive has a compression ratio over \(ratio.maxRatio)", at: name, code: .compressionRatio)
        }
        return n
    }

    /// Fills `block` as far as the stream allows; returns the bytes read.
    func fill(_ block: inout [UInt8]) throws -> Int {
        var done = 0
        while done < block.count {
            let n = try block.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[done...])) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Consumes up to `count` bytes, passing them to `each`; returns how many there were.
    @discardableResult
    func skip(_ count: Int64, _ each: (UnsafeRawBufferPointer) throws -> Void = { _ in }) throws -> Int64 {
        var done: Int64 = 0
        while done < count {
            let want = Int(min(Int64(scratch.count), count - done))
            let n = try scratch.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            if n == 0 { break }
            try scratch.withUnsafeBytes { try each(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            done += Int64(n)
        }
        return done
    }
}

/// Exactly one entry's bytes from a cursor placed at its start; hands the cursor back when done.
final class TarEntrySource: ByteSource {
    private var cursor: TarCursor?
    private var remaining: Int64
    private let park: (TarCursor) -> Void

    init(_ cursor: TarCursor, size: Int64, park: @escaping (TarCursor) -> Void) {
        self.cursor = cursor
        remaining = size
        self.park = park
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let cursor else { return 0 }
        if remaining == 0 {
            self.cursor = nil
            park(cursor)
            return 0
        }
        let want = Int(min(Int64(buffer.count), remaining))
        let n = try cursor.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
        if n == 0 { self.cursor = nil; return 0 }
        remaining -= Int64(n)
        return n
    }
}
