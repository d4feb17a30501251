import DataPortFormats
import DataPortIO
import DataPortModel

/// A JSON data file cut between records into segments that are parsed each on its own, so that
/// `verify` parses one file on every core. Files DataPort writes hold one record per line
/// (`formats/json.md`): records are separated by `},\n{`, and those four bytes can only stand
/// between two members of an array, never inside a string (a string holds no raw line feed).
///
/// A segment is parsed as a document of its own: the first one is the file's start with
/// `footer` appended, a middle one is `header` (what the writer writes before the first record,
/// made for the manifest's dataset), the segment and `footer`, and the last one is `header`
/// followed by the file's end. When every segment parses, the cuts were between top-level records
/// (the closing `]}` of the first segment's footer can only close the records array and the top
/// object), and the whole file parses to the sum of the segments' counts. Whenever anything fails,
/// the caller reads the file again in one piece, which gives the error exactly as before.
struct JSONSegmentation: Sendable {
    /// The writer's start of a file for the dataset, up to and with the `[` of the records array.
    let header: [UInt8]
    static let footer: [UInt8] = Array("\n]}\n".utf8)
    /// A segment is cut once it holds this many bytes, at the next record boundary.
    static let segmentBytes = 1 << 20
    /// A segment that grows past this without a boundary stops the cutting (the file is then read
    /// in one piece): with at most `2 * threads` segments queued and one in each worker's hands,
    /// memory stays bounded however large a record is.
    static let maxSegmentBytes = 4 << 20

    /// `nil` unless `adapter` is the JSON format, whose writer starts an empty file with `header` then `]}\n`.
    init?(adapter: any FormatAdapter, dataset: Dataset) {
        guard adapter is JSONFormat, let empty = try? Self.emptyFile(adapter, dataset),
              empty.count > 3, empty.suffix(4).elementsEqual("[]}\n".utf8) else { return nil }
        header = Array(empty.dropLast(3))
    }

    private static func emptyFile(_ adapter: any FormatAdapter, _ dataset: Dataset) throws -> [UInt8] {
        let sink = MemorySink()
        try adapter.makeWriter(for: dataset, to: sink).finish()
        return sink.bytes
    }

    /// The end of the last complete segment in `bytes`: the index of the `,` of the last
    /// `},\n{` that starts at or after `from` (so that each byte is searched once), or `nil`.
    static func lastCut(in bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = bytes.count - 2
        let low = max(from, 1)
        while i >= low {
            if bytes[i] == 0x0A, bytes[i + 1] == UInt8(ascii: "{"), bytes[i - 1] == UInt8(ascii: ","), i >= 2, bytes[i - 2] == UInt8(ascii: "}") {
                return i - 1
            }
            i -= 1
        }
        return nil
    }
}

/// One cut piece of a JSON data file and where it lies in the file.
struct JSONSegment: Sendable {
    var bytes: [UInt8]
    var isFirst: Bool
    var isLast: Bool
}

extension JSONSegmentation {
    /// Counts the records of `segment`, parsed as a document of its own (see the type's comment).
    func count(_ segment: JSONSegment, adapter: any FormatAdapter, dataset: Dataset) throws -> Int64 {
        let parts = [segment.isFirst ? [] : header, segment.bytes, segment.isLast ? [] : Self.footer]
        let source = PartsSource(parts)
        let reader = try adapter.makeReader(for: dataset, from: source)
        var count: Int64 = 0
        while try reader.next() != nil { count += 1 }
        guard try drain(source) == 0 else { throw DataPortError(.invalidBundle, "data after the last record") }
        return count
    }

    /// Reads `source` (a checked file) to its end, handing each segment to `send` in order; a
    /// segment is cut once it holds `segmentBytes` (tests cut small ones). Throws what the source
    /// throws, or when a segment outgrows `maxSegmentBytes`.
    static func cut(_ source: any ByteSource, segmentBytes: Int = segmentBytes, send: (JSONSegment) throws -> Void) throws {
        var pending: [UInt8] = []
        pending.reserveCapacity(segmentBytes + (1 << 18))
        var scratch = [UInt8](repeating: 0, count: 1 << 18)
        var searched = 0
        var first = true
        while true {
            let n = try scratch.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            pending.append(contentsOf: scratch[0..<n])
            guard pending.count >= segmentBytes else { continue }
            guard let cut = pending.withUnsafeBytes({ lastCut(in: $0, from: searched) }) else {
                guard pending.count <= maxSegmentBytes else { throw DataPortError(.internal, "no record boundary in a segment") }
                searched = max(0, pending.count - 3)
                continue
            }
            var rest = [UInt8]()
            rest.reserveCapacity(segmentBytes + (1 << 18))
            rest.append(contentsOf: pending[(cut + 1)...])
            pending.removeLast(pending.count - cut)
            try send(JSONSegment(bytes: pending, isFirst: first, isLast: false))
            first = false
            pending = rest
            searched = 0
        }
        try send(JSONSegment(bytes: pending, isFirst: first, isLast: true))
    }
}

/// Reads byte arrays one after the other.
final class PartsSource: ByteSource {
    private let parts: [[UInt8]]
    private var part = 0, offset = 0

    init(_ parts: [[UInt8]]) { self.parts = parts }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while part < parts.count, offset == parts[part].count { part += 1; offset = 0 }
        guard part < parts.count else { return 0 }
        let n = min(buffer.count, parts[part].count - offset)
        parts[part].withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
        offset += n
        return n
    }
}
