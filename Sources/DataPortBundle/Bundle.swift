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
        guard let zip = archive as? ZipWriter else { return try addFile(path) { try $0.write(contents) } }
        var entry = try zip.addEntry(path: "\(topFolder)/\(path)", contents: contents, cache: cache)
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
    public var acceptsSpools: Bool { archive is ZipWriter }

    /// Adds a file compressed ahead into a spool (see `acceptsSpools`).
    public func addFile(_ path: String, spool: CompressedSpool) throws -> WrittenEntry {
        guard let zip = archive as? ZipWriter else { throw DataPortError(.internal, "this archive kind takes no spools") }
        var entry = try zip.addEntry(path: "\(topFolder)/\(path)", spool: spool)
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
        if let zip = archive as? ZipWriter {
            _ = try zip.addEntry(path: "\(topFolder)/\(BagIt.tagManifestName)", contents: tagManifest, cache: cache)
        } else {
            _ = try archive.addEntry(path: "\(topFolder)/\(BagIt.tagManifestName)") { try $0.write(tagManifest) }
        }
        try archive.finish()
        try layer?.finish()
        if let tar = archive as? TarGzWriter {
            // A tar.gz reader measures the whole stream against the file.
            if limits.exceedsRatio(decompressed: tar.streamBytes, compressed: file.bytesWritten) {
                throw DataPortError(.limitExceeded, "the bundle would exceed a reading limit (formats/bundle.md): its tar stream is over \(limits.ratioFloor >> 20) MiB and compresses more than \(limits.maxRatio):1; use --archive zip")
            }
            guard tar.streamBytes <= limits.maxTotalBytes else {
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

/// What `verify` found.
public struct VerificationReport: Sendable {
    public var files: Int
    public var bytes: Int64
    public var records: Int64
}

/// Reads a bundle: finds its top folder and manifest, checks them, and opens its files.
public final class BundleReader {
    public let path: String
    public let manifest: Manifest
    public let topFolder: String
    public let kind: ArchiveKind
    private let archive: any ArchiveReader
    private let manifestSHA256: String

    public init(path: String, limits: ArchiveLimits = .default) throws {
        self.path = path
        guard let head = try? FileSource(path: path) else {
            throw DataPortError(.invalidBundle, "cannot open the bundle", at: path)
        }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = try magic.withUnsafeMutableBytes { try head.read(into: $0) }
        if n >= 4, magic == [0x50, 0x4B, 0x03, 0x04] || magic == [0x50, 0x4B, 0x05, 0x06] {
            kind = .zip
            archive = try ZipReader(path: path, limits: limits)
        } else if n >= 2, magic[0] == 0x1F, magic[1] == 0x8B {
            kind = .tarGz
            archive = try TarGzReader(path: path, limits: limits)
        } else if n == 0 {
            // What a stream whose writer failed before its first bytes went out looks like.
            throw DataPortError(.invalidBundle, "the bundle is empty (0 bytes): nothing arrived", at: path)
        } else {
            throw DataPortError(.invalidBundle, "not a bundle (neither a zip nor a tar.gz archive)", at: path)
        }
        let names = archive.entryNames
        guard let first = names.first, let top = first.split(separator: "/").first.map(String.init),
              names.allSatisfy({ $0.hasPrefix(top + "/") }) else {
            throw DataPortError(.invalidBundle, "a bundle must hold exactly one top folder", at: path)
        }
        topFolder = top
        let manifestName = "\(top)/manifest.json"
        guard names.contains(manifestName) else { throw DataPortError(.invalidBundle, "manifest.json is missing", at: path) }
        let source = try archive.open(manifestName)
        let bytes: [UInt8]
        do { bytes = try readAll(source, limit: Manifest.maxBytes, name: "manifest.json") } catch var e as DataPortError {
            if e.location == nil { e.location = path }
            throw e
        }
        manifestSHA256 = SHA256.hex(of: bytes)
        manifest = try Manifest.parse(bytes, name: "manifest.json")
        // The archive and the manifest must list the same files.
        let listed = Set(manifest.allFiles.map { "\(top)/\($0.path)" })
        let bagFiles = Set(BagIt.fileNames.map { "\(top)/\($0)" })
        for name in bagFiles where !names.contains(name) {
            throw DataPortError(.invalidBundle, "BagIt file missing: \(name.dropFirst(top.count + 1))", at: path)
        }
        for name in names where name != manifestName && !bagFiles.contains(name) && !name.hasSuffix("/") && !listed.contains(name) {
            throw DataPortError(.invalidBundle, "file not listed in the manifest: \(name.dropFirst(top.count + 1))", at: path)
        }
        let present = Set(names)
        for f in manifest.allFiles where !present.contains("\(top)/\(f.path)") {
            throw DataPortError(.invalidBundle, "file listed in the manifest is missing: \(f.path)", at: path)
        }
    }

    /// The bytes of a listed file, checked against its size and SHA-256 as they are read.
    public func open(_ file: ManifestFile) throws -> any ByteSource {
        // Inflating and checksumming run ahead on a second thread while the caller parses.
        ReadAheadSource(VerifiedSource(try archive.open("\(topFolder)/\(file.path)"), file: file, bundle: path))
    }

    /// The file `records(of:format:)` reads: the dataset's file in `format`, or its first file.
    public func file(of dataset: ManifestDataset, format: String? = nil) throws -> ManifestFile {
        guard let file = dataset.files.first(where: { format == nil || $0.format == format }) else {
            throw DataPortError(.invalidBundle, "dataset \(dataset.dataset.name) has no \(format ?? "data") file", at: path)
        }
        return file
    }

    /// Reads a dataset's records from its file in `format` (or its first file). The file is checked
    /// as it is read: after the last record it must end, with the manifest's size and SHA-256, or
    /// `next()` throws instead of returning `nil`.
    public func records(of dataset: ManifestDataset, format: String? = nil, registry: FormatRegistry = .standard) throws -> any RecordReader {
        let file = try file(of: dataset, format: format)
        guard let name = file.format, let adapter = try registry.reader(named: name, encoding: file.encoding) else {
            throw DataPortError(.invalidBundle, "unknown format \(file.format ?? "none") for \(file.path)", at: path)
        }
        let source = try open(file)
        return CheckedRecordReader(try adapter.makeReader(for: dataset.dataset, from: source), source: source, file: file.path, bundle: path)
    }

    /// Runs `body`, which reads `file`; if it fails, and the file does not match its manifest size
    /// and SHA-256, that is the error thrown: whatever else went wrong (a duplicate key, a refused
    /// row) followed from the tampering.
    public func blamingTampering<T>(of file: ManifestFile, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw tampering(of: file, after: error) ?? error
        }
    }

    /// After `error` while `file` was read: the file's own tampering error if it fails its size or
    /// SHA-256 (it is read again to its end), else `nil`.
    public func tampering(of file: ManifestFile, after error: any Error) -> DataPortError? {
        if let e = error as? DataPortError, e.kind == .tamperedBundle { return nil }
        return (try? open(file)).flatMap(tamperingFound(draining:))
    }

    /// Checks every file's size and checksum, and that every data file parses to the manifest's record count.
    /// - Parameters:
    ///   - parseRecords: also parse every data file and check its record count (`dataport verify`);
    ///     without it only structure, sizes and checksums are checked.
    ///   - except: data files (paths in the bundle) left to the caller, who reads them through
    ///     `records(of:format:)`, which checks them as it goes (an import, inside its transaction).
    public func verify(registry: FormatRegistry = .standard, parseRecords: Bool = true, except: Set<String> = [],
                       progress: (any ProgressObserver)? = nil) throws -> VerificationReport {
        var report = VerificationReport(files: 1, bytes: 0, records: 0)
        // The BagIt files first: small, and they must agree with the manifest before any data file
        // is trusted (an import streams its data files into the store after this returns).
        report.files += try verifyBag()
        let total = manifest.datasets.reduce(0) { $0 + $1.recordCount * Int64($1.files.count) }
        let counter = ProgressCounter(phase: "verify", totalRecords: total, observer: progress)
        defer { counter.finish() }
        for d in manifest.datasets {
            for f in d.files where !except.contains(f.path) {
                let source = try open(f)
                counter.begin(f.path)
                defer { counter.fileDone(bytes: f.size) }
                if !parseRecords {
                    _ = try drain(source)
                } else if let name = f.format, let adapter = try registry.reader(named: name, encoding: f.encoding) {
                    let reader = CheckedRecordReader(try adapter.makeReader(for: d.dataset, from: source), source: source, file: f.path, bundle: path)
                    var count: Int64 = 0
                    while try reader.next() != nil { count += 1; counter.record() }
                    guard count == d.recordCount else {
                        throw DataPortError(.tamperedBundle, "\(f.path) holds \(count) records, the manifest says \(d.recordCount)", at: path, code: .recordCountMismatch)
                    }
                    report.records += count
                } else if f.format != nil {
                    throw DataPortError(.invalidBundle, "unknown format \(f.format!) for \(f.path)", at: path)
                } else {
                    _ = try drain(source)
                }
                report.files += 1
                report.bytes += f.size
            }
        }
        for f in manifest.otherFiles {
            _ = try drain(try open(f))
            report.files += 1
            report.bytes += f.size
        }
        return report
    }

    /// Checks the BagIt tag files against the manifest: the payload manifest lists exactly the data
    /// files with the same checksums, Payload-Oxum agrees, and the tag manifest's checksums hold.
    private func verifyBag() throws -> Int {
        func text(_ name: String) throws -> (String, String) {
            let bytes = try readAll(try archive.open("\(topFolder)/\(name)"), limit: 64 << 20, name: name)
            guard let s = String(validating: bytes, as: UTF8.self) else { throw DataPortError(.invalidBundle, "\(name) is not UTF-8", at: path) }
            return (s, SHA256.hex(of: bytes))
        }
        func bad(_ m: String) -> DataPortError { DataPortError(.tamperedBundle, m, at: path) }
        var shas: [String: String] = ["manifest.json": manifestSHA256]
        for f in manifest.allFiles { shas[f.path] = f.sha256 }
        let (declaration, declarationSHA) = try text(BagIt.declarationName)
        guard declaration == BagIt.declaration else { throw DataPortError(.invalidBundle, "bagit.txt is not a BagIt 1.0 declaration", at: path) }
        let (info, infoSHA) = try text(BagIt.infoName)
        let (payloadText, payloadSHA) = try text(BagIt.manifestName)
        shas[BagIt.declarationName] = declarationSHA
        shas[BagIt.infoName] = infoSHA
        shas[BagIt.manifestName] = payloadSHA
        let payload = try BagIt.parseManifest(payloadText, name: BagIt.manifestName)
        let dataFiles = manifest.allFiles.filter { $0.path.hasPrefix("data/") }
        guard payload.count == dataFiles.count, dataFiles.allSatisfy({ payload[$0.path] == $0.sha256 }) else {
            throw bad("manifest-sha256.txt disagrees with manifest.json")
        }
        let oxum = "Payload-Oxum: \(dataFiles.reduce(0) { $0 + $1.size }).\(dataFiles.count)"
        guard info.split(separator: "\n").contains(where: { $0 == oxum }) else { throw bad("bag-info.txt Payload-Oxum disagrees with the payload") }
        let (tagText, _) = try text(BagIt.tagManifestName)
        let tags = try BagIt.parseManifest(tagText, name: BagIt.tagManifestName)
        let expectedTags = shas.filter { !$0.key.hasPrefix("data/") }
        guard tags == expectedTags else { throw bad("tagmanifest-sha256.txt disagrees with the tag files") }
        return BagIt.fileNames.count
    }
}

/// Reads a source to its end, refusing more than `limit` bytes.
func readAll(_ source: any ByteSource, limit: Int, name: String) throws -> [UInt8] {
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = try buf.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { return out }
        out += buf[0..<n]
        guard out.count <= limit else { throw DataPortError(.limitExceeded, "\(name) is larger than its limit of \(limit) bytes") }
    }
}

/// Reads a source to its end, discarding; returns the byte count.
func drain(_ source: any ByteSource) throws -> Int64 {
    var total: Int64 = 0
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = try buf.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { return total }
        total += Int64(n)
    }
}

/// A data file's records, then the check that the file ends there with its manifest size and
/// SHA-256. When parsing fails, the rest of the file is still read: a file that fails its checksum
/// is reported as tampered with, the cause, rather than as the parse error it led to.
final class CheckedRecordReader: RecordReader {
    private let inner: any RecordReader
    private let source: any ByteSource
    private let file: String
    private let bundle: String
    private var ended = false

    init(_ inner: any RecordReader, source: any ByteSource, file: String, bundle: String) {
        self.inner = inner; self.source = source; self.file = file; self.bundle = bundle
    }

    func next() throws -> Record? {
        if ended { return nil }
        let record: Record?
        do {
            record = try inner.next()
        } catch {
            ended = true
            throw tamperingFound(draining: source) ?? error
        }
        if record != nil { return record }
        ended = true
        guard try drain(source) == 0 else {
            throw DataPortError(.invalidBundle, "\(file) has data after its last record", at: bundle)
        }
        return nil
    }
}

/// Reads a checked source to its end: the tampering error it meets (size or SHA-256), if any.
func tamperingFound(draining source: any ByteSource) -> DataPortError? {
    do { _ = try drain(source) } catch let e as DataPortError where e.kind == .tamperedBundle { return e } catch {}
    return nil
}

/// Hashes a listed file as it is read; at its end, size and SHA-256 must match the manifest.
final class VerifiedSource: ByteSource {
    let inner: any ByteSource
    let file: ManifestFile
    let bundle: String
    let sha = SHA256()
    var done = false
    init(_ inner: any ByteSource, file: ManifestFile, bundle: String) { self.inner = inner; self.file = file; self.bundle = bundle }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if done { return 0 }
        let n = try inner.read(into: buffer)
        if n == 0 {
            done = true
            guard sha.count == file.size else { throw DataPortError(.tamperedBundle, "\(file.path) has \(sha.count) bytes, the manifest says \(file.size)", at: bundle, code: .sizeMismatch) }
            guard sha.finalizeHex() == file.sha256 else { throw DataPortError(.tamperedBundle, "\(file.path) does not match its SHA-256 checksum", at: bundle, code: .checksumMismatch) }
            return 0
        }
        sha.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        if sha.count > file.size { throw DataPortError(.tamperedBundle, "\(file.path) is larger than the manifest says", at: bundle, code: .sizeMismatch) }
        return n
    }
}
