#if canImport(Glibc)
import Glibc
#endif
import DataPortIO
import DataPortModel
import Synchronization

/// Zip entries whose bytes recur from bundle to bundle in a batch (the published schemas, the
/// BagIt declaration, a dataset's schema): compressed, CRC'd and hashed once, then copied. What is
/// constant is decided by content, never by name: an entry is kept once the same bytes have been
/// seen twice, and a later entry is copied only when its bytes are equal to the kept ones. The copy
/// is the bytes a fresh compression would give (deflate is deterministic for the same level), so
/// the bundles stay byte-identical to ones written without the cache. Shared by a batch's jobs.
public final class EntryCache: Sendable {
    /// A kept entry: its deflated bytes and what the zip and the manifest say about it.
    struct Compressed: Sendable {
        var deflated: [UInt8]
        var crc: UInt32
        var sha256: String
    }

    /// What finds contents: their CRC-32 and length (the CRC is the zip's own checksum, a fraction
    /// of the cost of hashing the bytes with `Hasher`); a hit is copied only when the bytes are equal.
    private struct Key: Hashable {
        var crc: UInt32
        var count: Int
        init(_ contents: [UInt8], crc known: UInt32? = nil) {
            crc = known ?? contents.withUnsafeBytes { crc32(0, $0) }
            count = contents.count
        }
    }

    private struct State {
        var kept: [Key: (contents: [UInt8], entry: Compressed)] = [:]
        var keptBytes = 0
        /// Contents seen once: a second sighting keeps the entry.
        var seen: Set<Key> = []
    }

    private let state = Mutex(State())
    /// Larger entries are not kept (they are data, not boilerplate); nor more than `maxBytes` in all.
    static let maxEntryBytes = 1 << 20
    static let maxBytes = 16 << 20
    static let maxSeen = 4096

    public init() {}

    /// The kept entry for exactly `contents`, if any; else whether it is to be kept once compressed.
    func lookup(_ contents: [UInt8]) -> (Compressed?, keep: Bool) {
        guard contents.count <= Self.maxEntryBytes else { return (nil, false) }
        let key = Key(contents)
        return state.withLock { s in
            if let hit = s.kept[key] { return (Self.equal(hit.contents, contents) ? hit.entry : nil, false) }
            if s.seen.contains(key) { return (nil, s.keptBytes + contents.count <= Self.maxBytes) }
            if s.seen.count >= Self.maxSeen { s.seen.removeAll(keepingCapacity: true) }
            s.seen.insert(key)
            return (nil, false)
        }
    }

    /// Byte equality with `memcmp` (`==` on arrays compares element by element).
    private static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in a.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
    }

    func keep(_ contents: [UInt8], _ entry: Compressed) {
        let key = Key(contents, crc: entry.crc)
        state.withLock { s in
            guard s.kept[key] == nil, s.keptBytes + contents.count <= Self.maxBytes else { return }
            s.kept[key] = (contents, entry)
            s.keptBytes += contents.count + entry.deflated.count
        }
    }
}

extension ZipWriter {
    /// Adds an entry whose whole contents are at hand (schemas, index page, manifests): compressed
    /// on this thread, or copied from `cache` when the same bytes were compressed before. The bytes
    /// written are those `addEntry(path:_:)` writes for the same contents.
    public func addEntry(path: String, contents: [UInt8], cache: EntryCache?) throws -> WrittenEntry {
        let (hit, keep) = cache?.lookup(contents) ?? (nil, false)
        let entry: EntryCache.Compressed
        if let hit {
            entry = hit
        } else {
            let deflated = MemorySink()
            let deflater = DeflateSink(deflated, level: level)
            let sums = EntrySink(deflater)
            try sums.write(contents)
            try deflater.finish()
            entry = EntryCache.Compressed(deflated: deflated.bytes, crc: deflater.crc, sha256: sums.sha.finalizeHex())
            if keep { cache?.keep(contents, entry) }
        }
        return try addCompressed(path: path, deflated: entry.deflated, crc: entry.crc, size: Int64(contents.count), sha256: entry.sha256)
    }
}
