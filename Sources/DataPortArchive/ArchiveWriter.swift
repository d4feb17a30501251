import DataPortIO
import DataPortModel
import Foundation

/// A bundle container being written. Where the containers differ, a capability says so, so that
/// a writer of bundles never asks which container it holds. Every conformer states each one
/// itself (no defaults): a container added later must decide, and a changed zip method cannot
/// fall back silently to the slower path.
package protocol ArchiveWriter: AnyObject {
    /// Adds an entry whose bytes `body` writes as they come.
    func addEntry(path: String, _ body: (any ByteSink) throws -> Void) throws -> WrittenEntry
    /// Adds an entry whose whole contents are at hand: a zip compresses it on this thread (small
    /// files: no second thread to start) or copies it from `cache`; a tar.gz streams it.
    func addEntry(path: String, contents: [UInt8], cache: EntryCache?) throws -> WrittenEntry
    /// Whether entries compressed ahead into a `CompressedSpool`, or in part into a `SegmentSpool`,
    /// can be added (zip: each entry is compressed on its own; a tar.gz is one compressed stream).
    var acceptsSpools: Bool { get }
    /// Adds an entry compressed ahead (see `acceptsSpools`).
    func addEntry(path: String, spool: CompressedSpool) throws -> WrittenEntry
    /// Adds an entry whose middle was deflated ahead into a `SegmentSpool` (see `acceptsSpools`).
    func addEntry(path: String, spliced: SplicedEntry, of spool: SegmentSpool) throws -> WrittenEntry
    /// The decompressed bytes of the whole stream, when a reader measures the stream as one against
    /// the file's size (tar.gz); `nil` when it measures each entry (zip: `WrittenEntry.compressedSize`).
    var wholeStreamBytes: Int64? { get }
    func finish() throws
}

extension ZipWriter: ArchiveWriter {
    package var acceptsSpools: Bool { true }
    package var wholeStreamBytes: Int64? { nil }
}

extension TarGzWriter {
    package func addEntry(path: String, contents: [UInt8], cache: EntryCache?) throws -> WrittenEntry {
        try addEntry(path: path) { try $0.write(contents) }
    }

    package var acceptsSpools: Bool { false }

    package func addEntry(path: String, spool: CompressedSpool) throws -> WrittenEntry {
        throw DataPortError(.internal, "this archive kind takes no spools")
    }

    package func addEntry(path: String, spliced: SplicedEntry, of spool: SegmentSpool) throws -> WrittenEntry {
        throw DataPortError(.internal, "this archive kind takes no spools")
    }

    package var wholeStreamBytes: Int64? { streamBytes }
}
