#if canImport(Glibc)
import Glibc
#endif
// The containers moved below the formats (xlsx is a zip too); code that uses bundles keeps seeing them.
@_exported import DataPortArchive
import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation

/// The container of a bundle.
public enum ArchiveKind: String, Sendable, CaseIterable {
    case zip
    case tarGz = "tar.gz"
}

/// Writes a bundle: files under one top folder, then `manifest.json`; into a `BundleDestination`
/// that makes it a bundle only on `commit`: a hidden temporary file (`PartialFile`: exclusive,
/// unpredictable name, mode 0600, removed on a terminating signal) renamed into place, so an
/// interrupted export leaves nothing behind; or stdout (`StreamDestination`), whose held-back end
/// an interrupted export never writes.
///
/// It refuses (`limitExceeded`) to write what a reader with the default `ArchiveLimits` would
/// refuse: one definition of the limits for both sides.
public final class BundleWriter {
    public let output: String
    public let topFolder: String
    private let file: any BundleDestination
    /// What the archive is written through on its way to the file (encryption), if anything.
    private let layer: (any SinkLayer)?
    private let archive: any ArchiveWriter
    private let limits: ArchiveLimits
    private var committed = false
    /// Decompressed bytes of all entries so far (zip; tar.gz counts its whole stream).
    private var totalBytes: Int64 = 0
    /// Constant entries compressed once for many bundles (a batch), if any.
    private let cache: EntryCache?

    /// - Parameter layer: makes the sink the archive is written to from the file's sink (e.g. an
    ///   age encryptor); it is finished after the archive, before the file is closed.
    /// - Parameter output: a file path, or `-` for stdout (`StreamDestination`; `OutputPath.check`
    ///   refuses a terminal).
    public convenience init(output: String, kind: ArchiveKind, generatedAt: Timestamp, limits: ArchiveLimits = .default,
                            layer: ((any ByteSink) throws -> any SinkLayer)? = nil) throws {
        let destination: any BundleDestination = output == "-" ? StreamDestination() : try PartialFile(destination: output)
        try self.init(destination: destination, output: output, kind: kind, generatedAt: generatedAt, limits: limits, layer: layer)
    }

    /// Writes into `destination`; `output` is only how the bundle is named (results, errors).
    /// - Parameter cache: where a zip takes entries it wrote before for the same bytes (a batch).
    public init(destination: any BundleDestination, output: String, kind: ArchiveKind, generatedAt: Timestamp,
                limits: ArchiveLimits = .default, layer: ((any ByteSink) throws -> any SinkLayer)? = nil,
                cache: EntryCache? = nil) throws {
        self.output = output
        self.limits = limits
        self.cache = cache
        let compact = generatedAt.text.filter { $0 != "-" && $0 != ":" }.split(separator: ".").first.map(String.init) ?? "bundle"
        topFolder = "dataport-" + (compact.hasSuffix("Z") ? compact : compact + "Z")
        let file = destination
        self.file = file
        do { self.layer = try layer.map { try $0(file) } } catch { file.discard(); throw error }
        let sink: any ByteSink = self.layer ?? file
        switch kind {
        case .zip: archive = ZipWriter(sink: sink, date: generatedAt)
        case .tarGz: archive = TarGzWriter(sink: sink, date: generatedAt)
        }
    }

    deinit { if !committed { discard() } }

    /// The hidden file being written (for tests of what an interruption leaves).
    public var temporaryPath: String { (file as? PartialFile)?.path ?? "" }

    /// The bytes written so far (after `commit`: the bundle's size, encryption included).
    public var bytesWritten: Int64 { file.bytesWritten }

    /// Adds a file at `path` below the top folder.
    public func addFile(_ path: String, _ body: (any ByteSink) throws -> Void) throws -> WrittenEntry {
        var entry = try archive.addEntry(path: "\(topFolder)/\(path)", body)
        entry.path = path
        try admit(entry)
        return entry
    }

    /// Adds a file whose whole contents are at hand; in a zip, compressed on this thread (small
    /// files: no second thread to start), or copied from the cache.
    public func addFile(_ path: String, contents: [UInt8]) throws -> WrittenEntry {
        var entry = try archive.addEntry(path: "\(topFolder)/\(path)", contents: contents, cache: cache)
        entry.path = path
        try admit(entry)
        return entry
    }

    private var written: [WrittenEntry] = []

    /// Records an entry after checking it against the readers' limits.
    private func admit(_ entry: WrittenEntry) throws {
        func refuse(_ why: String) -> DataPortError {
            DataPortError(.limitExceeded, "the bundle would exceed a reading limit (formats/bundle.md): \(why)", at: entry.path)
        }
        if let compressed = entry.compressedSize, limits.exceedsRatio(decompressed: entry.size, compressed: compressed) {
            throw refuse("a file over \(limits.ratioFloor >> 20) MiB compresses more than \(limits.maxRatio):1")
        }
        totalBytes += entry.size
        guard totalBytes <= limits.maxTotalBytes else { throw refuse("more than \(limits.maxTotalBytes) bytes in all") }
        guard written.count + 1 <= limits.maxEntries else { throw refuse("more than \(limits.maxEntries) files") }
        written.append(entry)
    }

    /// Whether files can be compressed ahead into spools and added with `addFile(_:spool:)` (zip).
    package var acceptsSpools: Bool { archive.acceptsSpools }

    /// Adds a file compressed ahead into a spool (see `acceptsSpools`).
    package func addFile(_ path: String, spool: CompressedSpool) throws -> WrittenEntry {
        var entry = try archive.addEntry(path: "\(topFolder)/\(path)", spool: spool)
        entry.path = path
        try admit(entry)
        return entry
    }

    /// Adds a file spliced around a segment of `spool`, deflated ahead (see `acceptsSpools`).
    package func addFile(_ path: String, spliced: SplicedEntry, of spool: SegmentSpool) throws -> WrittenEntry {
        var entry = try archive.addEntry(path: "\(topFolder)/\(path)", spliced: spliced, of: spool)
        entry.path = path
        try admit(entry)
        return entry
    }

    /// Writes the manifest and the BagIt tag files, completes the archive and moves it into place.
    public func commit(manifest: Manifest) throws {
        let serialized = manifest.serialized()
        guard serialized.count <= Manifest.maxBytes else {
            throw DataPortError(.limitExceeded, "manifest.json would be larger than its reading limit of \(Manifest.maxBytes) bytes")
        }
        _ = try addFile("manifest.json", contents: serialized)
        let payload = written.filter { $0.path.hasPrefix("data/") }
        _ = try addFile(BagIt.declarationName, contents: Array(BagIt.declaration.utf8))
        _ = try addFile(BagIt.infoName,
                        contents: Array(BagIt.info(manifest, payloadBytes: payload.reduce(0) { $0 + $1.size }, payloadFiles: payload.count).utf8))
        _ = try addFile(BagIt.manifestName, contents: Array(BagIt.manifest(payload.map { ($0.path, $0.sha256) }).utf8))
        let tags = written.filter { !$0.path.hasPrefix("data/") }
        // Not admitted (nor listed): the tag manifest lists the others.
        let tagManifest = Array(BagIt.manifest(tags.map { ($0.path, $0.sha256) }).utf8)
        _ = try archive.addEntry(path: "\(topFolder)/\(BagIt.tagManifestName)", contents: tagManifest, cache: cache)
        try archive.finish()
        try layer?.finish()
        if let streamBytes = archive.wholeStreamBytes {
            // A tar.gz reader measures the whole stream against the file.
            if limits.exceedsRatio(decompressed: streamBytes, compressed: file.bytesWritten) {
                throw DataPortError(.limitExceeded, "the bundle would exceed a reading limit (formats/bundle.md): its tar stream is over \(limits.ratioFloor >> 20) MiB and compresses more than \(limits.maxRatio):1; use --archive zip")
            }
            guard streamBytes <= limits.maxTotalBytes else {
                throw DataPortError(.limitExceeded, "the bundle would exceed a reading limit (formats/bundle.md): more than \(limits.maxTotalBytes) bytes in all", code: .tooManyBytes)
            }
        }
        try file.commit()
        committed = true
    }

    /// Removes the temporary file.
    public func discard() {
        file.discard()
        committed = true
    }
}
