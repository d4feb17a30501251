import DataPortArchive
import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation

/// Reads a bundle: finds its top folder and manifest, checks them, and opens its files.
public final class BundleReader {
    public let path: String
    public let manifest: Manifest
    public let topFolder: String
    public let kind: ArchiveKind
    /// Internal, not private: the verification (BundleVerification.swift) reads the tag files through them.
    let archive: any ArchiveReader
    let manifestSHA256: String

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
        ReadAheadSource(try openChecked(file))
    }

    /// The bytes `open` gives, read on the calling thread (for a caller that already uses every core).
    func openChecked(_ file: ManifestFile) throws -> any ByteSource {
        VerifiedSource(try archive.open("\(topFolder)/\(file.path)"), file: file, bundle: path)
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
