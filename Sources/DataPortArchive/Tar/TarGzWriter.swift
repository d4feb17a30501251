#if canImport(Glibc)
import Glibc
#endif
import DataPortIO
import DataPortModel

/// Writes a gzip-compressed POSIX tar archive (ustar headers, pax extended headers where a name or
/// size does not fit). Deterministic: the same entries and date give the same bytes (fixed mtime,
/// uid/gid 0, no user or group names, mode 0644, regular files only).
///
/// A tar header carries the entry's size, so each entry is spooled first (in memory up to
/// `memoryThreshold`, beyond that to an unlinked temporary file) while its size and SHA-256 are
/// computed; then header and contents go into the gzip stream. An entry whose body throws leaves
/// no trace in the archive.
package final class TarGzWriter: ArchiveWriter {
    private let deflater: DeflateSink
    private let mtime: Int64
    private let spool: EntrySpool
    private var seen = Set<String>()
    private var finished = false
    /// Bytes of the uncompressed tar stream so far (headers, data, padding, end marker): what a
    /// reader inflates, for the limits (`ArchiveLimits`).
    package private(set) var streamBytes: Int64 = 0
    /// Entries added.
    package private(set) var entryCount = 0

    /// - Parameters:
    ///   - sink: where the compressed archive goes.
    ///   - date: every entry's modification time.
    ///   - level: ISA-L deflate level, 0-3.
    ///   - memoryThreshold: entries up to this size are spooled in memory, larger ones to a temporary file.
    ///   - spoolDirectory: where temporary files go (default `$TMPDIR` or `/tmp`).
    package init(sink: any ByteSink, date: Timestamp, level: Int32 = DeflateLevel.standard, memoryThreshold: Int = 4 << 20, spoolDirectory: String? = nil) {
        deflater = DeflateSink(sink, level: level, framing: .gzip)
        mtime = date.seconds
        let directory = spoolDirectory ?? getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        spool = EntrySpool(memoryThreshold: memoryThreshold, directory: directory)
    }

    /// Adds a regular file whose contents `body` writes.
    package func addEntry(path: String, _ body: (any ByteSink) throws -> Void) throws -> WrittenEntry {
        guard !finished else { throw DataPortError(.internal, "entry added to a finished tar archive", at: path) }
        // Never write what our own reader would refuse.
        do { try EntryName.check(path, archive: "tar.gz") } catch let e as DataPortError { throw e.reclassified(as: .internal) }
        guard !path.hasSuffix("/") else { throw DataPortError(.internal, "a tar file entry cannot end with '/'", at: path) }
        guard seen.insert(EntryName.collisionKey(path)).inserted else {
            throw DataPortError(.internal, "duplicate entry in tar archive", at: path)
        }

        spool.reset()
        defer { spool.reset() }
        try body(spool)
        let size = spool.count
        let sha256 = spool.sha.finalizeHex()

        let header = TarHeader.blocks(name: path, size: size, mtime: mtime)
        try deflater.write(header)
        try spool.replay(into: deflater)
        let padding = Int((512 - size % 512) % 512)
        if padding > 0 { try TarHeader.zeroBlock[0..<padding].withUnsafeBytes { try deflater.write($0) } }
        streamBytes += Int64(header.count) + size + Int64(padding)
        entryCount += 1
        return WrittenEntry(path: path, size: size, sha256: sha256)
    }

    /// Writes the end-of-archive marker (two zero blocks) and the gzip trailer.
    package func finish() throws {
        guard !finished else { return }
        finished = true
        try deflater.write(TarHeader.zeroBlock + TarHeader.zeroBlock)
        streamBytes += Int64(2 * TarHeader.blockSize)
        try deflater.finish()
        spool.close()
    }
}

/// The ustar header layout, and pax extended headers for what it cannot hold.
enum TarHeader {
    static let blockSize = 512
    static let zeroBlock = [UInt8](repeating: 0, count: 512)
    /// ustar's 11 octal digits hold sizes and times below 8 GiB (2^33).
    static let octalLimit: Int64 = 1 << 33
    /// The name of every pax header entry: fixed, so the archive stays deterministic.
    static let paxName = "././@PaxHeader"

    /// The header block(s) of a regular file: a pax `x` header first when needed, then the ustar header.
    static func blocks(name: String, size: Int64, mtime: Int64) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        var pax: [(String, String)] = []
        var ustarName = nameBytes, ustarPrefix: [UInt8] = []
        let ascii = nameBytes.allSatisfy { $0 < 0x80 }
        if nameBytes.count > 100 || !ascii {
            if ascii, let (prefix, rest) = split(nameBytes) {
                ustarPrefix = prefix; ustarName = rest
            } else {
                // pax `path` is UTF-8 by definition; the ustar field keeps a truncated ASCII-safe stand-in.
                pax.append(("path", name))
                ustarName = Array(nameBytes.prefix(100).map { $0 < 0x80 ? $0 : UInt8(ascii: "_") })
            }
        }
        if size >= octalLimit { pax.append(("size", String(size))) }
        if mtime < 0 || mtime >= octalLimit { pax.append(("mtime", String(mtime))) }

        var out: [UInt8] = []
        if !pax.isEmpty {
            let records = pax.flatMap { paxRecord($0.0, $0.1) }
            out += ustar(name: Array(paxName.utf8), prefix: [], size: Int64(records.count), mtime: clamp(mtime), type: UInt8(ascii: "x"))
            out += records
            out += zeroBlock[0..<((blockSize - records.count % blockSize) % blockSize)]
        }
        out += ustar(name: ustarName, prefix: ustarPrefix, size: size < octalLimit ? size : 0, mtime: clamp(mtime), type: UInt8(ascii: "0"))
        return out
    }

    private static func clamp(_ t: Int64) -> Int64 { min(max(t, 0), octalLimit - 1) }

    /// Splits a long name at a `/` into a ustar prefix (≤ 155 bytes) and name (≤ 100 bytes).
    static func split(_ name: [UInt8]) -> ([UInt8], [UInt8])? {
        guard name.count <= 256 else { return nil }
        for i in stride(from: min(155, name.count - 1), through: 1, by: -1) where name[i] == UInt8(ascii: "/") {
            let rest = name.count - i - 1
            if rest == 0 || rest > 100 { return nil }
            return (Array(name[0..<i]), Array(name[(i + 1)...]))
        }
        return nil
    }

    /// One pax record, `"<length> <key>=<value>\n"`, where the length counts itself.
    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = Array(" \(key)=\(value)\n".utf8)
        var length = body.count + 1
        while String(length).utf8.count + body.count != length { length = String(length).utf8.count + body.count }
        return Array(String(length).utf8) + body
    }

    /// One 512-byte ustar header.
    static func ustar(name: [UInt8], prefix: [UInt8], size: Int64, mtime: Int64, type: UInt8) -> [UInt8] {
        var h = zeroBlock
        func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { h[offset + i] = b } }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            // `width - 1` zero-padded digits and a NUL.
            let digits = Array(String(value, radix: 8).utf8)
            return [UInt8](repeating: UInt8(ascii: "0"), count: width - 1 - digits.count) + digits + [0]
        }
        put(name, at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(mtime, width: 12), at: 136)
        put([UInt8](repeating: UInt8(ascii: " "), count: 8), at: 148)
        h[156] = type
        put(Array("ustar\0".utf8), at: 257)
        put(Array("00".utf8), at: 263)
        put(octal(0, width: 8), at: 329)
        put(octal(0, width: 8), at: 337)
        put(prefix, at: 345)
        let sum = h.reduce(0) { $0 + Int64($1) }
        put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return h
    }
}

/// Holds one entry's bytes until its size is known: in memory, then in an unlinked temporary file.
final class EntrySpool: ByteSink {
    let memoryThreshold: Int
    let directory: String
    private var memory: [UInt8] = []
    private var file: TemporaryFile?
    /// Whether this entry's bytes are in the file (it outgrew memory).
    private var inFile = false
    private(set) var count: Int64 = 0
    private(set) var sha = SHA256()

    init(memoryThreshold: Int, directory: String) {
        self.memoryThreshold = memoryThreshold
        self.directory = directory
    }

    func reset() {
        memory.removeAll(keepingCapacity: memory.capacity <= memoryThreshold)
        count = 0
        sha = SHA256()
        inFile = false
        file?.truncate()
    }

    func close() { file = nil }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        sha.write(bytes)
        count += Int64(bytes.count)
        if !inFile && count <= Int64(memoryThreshold) {
            memory.append(contentsOf: bytes)
            return
        }
        if !inFile {
            if file == nil { file = try TemporaryFile(directory: directory) }
            try memory.withUnsafeBytes { try file!.write($0) }
            memory.removeAll(keepingCapacity: memory.capacity <= memoryThreshold)
            inFile = true
        }
        try file!.write(bytes)
    }

    /// Writes the spooled bytes to `sink`.
    func replay(into sink: any ByteSink) throws {
        if inFile { try file!.copy(to: sink) } else { try memory.withUnsafeBytes { try sink.write($0) } }
    }
}
