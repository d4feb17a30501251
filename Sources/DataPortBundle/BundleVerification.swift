import DataPortArchive
import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation

/// What `verify` found.
public struct VerificationReport: Sendable {
    public var files: Int
    public var bytes: Int64
    public var records: Int64

    mutating func add(_ check: FileCheck, records count: Int64) {
        files += 1
        bytes += check.file.size
        records += count
    }
}

/// One file `verify` checks, and how.
struct FileCheck {
    enum Kind {
        /// Parsed with the adapter: every record, then the count against the manifest.
        case parse(any FormatAdapter)
        /// Read to its end (size, CRC-32, SHA-256).
        case read
        /// A data file of a format this run does not know.
        case refuse(any Error)
    }
    var file: ManifestFile
    /// The dataset of a data file; `nil` for the other files (pages, schemas), which report no progress.
    var dataset: ManifestDataset?
    var kind: Kind
}

extension BundleReader {
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
        let checks = fileChecks(registry: registry, parseRecords: parseRecords, except: except)
        // A zip's entries can be read at once from several threads; a tar.gz is one stream.
        let threads = VerifyThreads.count
        if kind == .zip, threads > 1 {
            try ConcurrentVerification(bundle: self, checks: checks, threads: threads).run(counter: counter, into: &report)
        } else {
            for check in checks { report.add(check, records: try run(check, counter: counter)) }
        }
        return report
    }

    /// What `verify` checks, file by file, in the order it reports the first failure: the data
    /// files of each dataset (but `except`), then the other files.
    private func fileChecks(registry: FormatRegistry, parseRecords: Bool, except: Set<String>) -> [FileCheck] {
        var checks: [FileCheck] = []
        for d in manifest.datasets {
            for f in d.files where !except.contains(f.path) {
                if !parseRecords || f.format == nil {
                    checks.append(FileCheck(file: f, dataset: d, kind: .read))
                } else {
                    // A refusal is reported in its turn, after the files before it were checked.
                    let kind: FileCheck.Kind
                    do {
                        kind = try registry.reader(named: f.format!, encoding: f.encoding).map { .parse($0) }
                            ?? .refuse(DataPortError(.invalidBundle, "unknown format \(f.format!) for \(f.path)", at: path))
                    } catch { kind = .refuse(error) }
                    checks.append(FileCheck(file: f, dataset: d, kind: kind))
                }
            }
        }
        return checks + manifest.otherFiles.map { FileCheck(file: $0, dataset: nil, kind: .read) }
    }

    /// Checks one file on this thread, reporting progress for a data file; its record count.
    func run(_ check: FileCheck, counter: ProgressCounter?) throws -> Int64 {
        let f = check.file
        let source = try open(f)
        guard let d = check.dataset else {
            _ = try drain(source)
            return 0
        }
        counter?.begin(f.path)
        defer { counter?.fileDone(bytes: f.size) }
        switch check.kind {
        case .read:
            _ = try drain(source)
            return 0
        case .refuse(let error):
            throw error
        case .parse(let adapter):
            let reader = CheckedRecordReader(try adapter.makeReader(for: d.dataset, from: source), source: source, file: f.path, bundle: path)
            var count: Int64 = 0
            while try reader.next() != nil { count += 1; counter?.record() }
            guard count == d.recordCount else {
                throw DataPortError(.tamperedBundle, "\(f.path) holds \(count) records, the manifest says \(d.recordCount)", at: path, code: .recordCountMismatch)
            }
            return count
        }
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
