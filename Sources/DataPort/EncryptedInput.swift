#if canImport(Glibc)
import Glibc
#endif
import DataPortAge
import DataPortBundle
import DataPortIO
import DataPortModel
import Foundation

/// A bundle about to be read: the file itself, or a private copy of it when it must be: read from
/// stdin (`-`) or a pipe/FIFO, or encrypted (age).
///
/// Zip needs random access (its directory is at the end), so a stream is spooled and an encrypted
/// bundle is decrypted in full into a private temporary file (mode 0600, unlinked at once, so
/// nothing is left behind whatever happens) before any reader sees a byte of it: a wrong key, a
/// modified byte or a truncated file fails here, and nothing is ever read from a
/// half-authenticated bundle. Copies are bounded by `limits.maxTotalBytes`.
public final class BundleInput {
    /// The path given (`-` for stdin).
    public let path: String
    /// The path readers open: `path`, or a private copy's.
    public let readablePath: String
    public let encrypted: Bool
    /// Set instead of decrypting when the bundle is encrypted, no key was given and the caller
    /// asked for a summary (`inspect`): what the header says, nothing more.
    public let keylessSummary: AgeSummary?
    /// The copies being read; kept open as long as this input.
    private let copies: [TemporaryFile]

    /// Opens `path`; an age file is decrypted with `decryption` (none: a `cannotDecrypt` error
    /// saying which kind of key it needs, or with `summarizeWithoutKey` a `keylessSummary`).
    public init(path: String, decryption: AgeDecryption?, limits: ArchiveLimits = .default, summarizeWithoutKey: Bool = false) throws {
        self.path = path
        var copies: [TemporaryFile] = []
        var current = path
        if path == "-" || !Self.isRegularFile(path) {
            if path == "-", isatty(0) == 1 { throw DataPortError(.usage, "refusing to read a bundle from a terminal: pipe it in or give its path") }
            let source = try path == "-" ? FileSource(path: "/dev/stdin") : FileSource(path: path)
            let spool = try Self.copy(source, limit: limits.maxTotalBytes, what: "the bundle read from a stream", at: path)
            copies.append(spool)
            current = spool.reopenPath
        }
        var summary: AgeSummary?
        var encrypted = false
        if AgeFile.isAge(path: current) {
            encrypted = true
            if decryption == nil, summarizeWithoutKey {
                summary = try Self.mapping(current, to: path) { try AgeFile.summary(path: current) }
            } else {
                let source = try AgeDecryptingSource(FileSource(path: current), decryption: decryption ?? AgeDecryption(), name: path)
                let plain = try Self.copy(source, limit: limits.maxTotalBytes, what: "the decrypted bundle", at: path)
                copies.append(plain)
                current = plain.reopenPath
            }
        }
        self.copies = copies
        self.encrypted = encrypted
        keylessSummary = summary
        readablePath = current
    }

    /// Runs `body` on `readablePath`; an error that names a private copy names the bundle instead.
    public func read<T>(_ body: (String) throws -> T) throws -> T {
        try Self.mapping(readablePath, to: path, body: { try body(readablePath) })
    }

    private static func mapping<T>(_ copy: String, to path: String, body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var e as DataPortError where copy != path {
            e.location = e.location.map { $0.replacingOccurrences(of: copy, with: path) }
            e.message = e.message.replacingOccurrences(of: copy, with: path)
            throw e
        }
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) != 0 || (st.st_mode & S_IFMT) == S_IFREG // a missing file fails later, as before
    }

    private static func copy(_ source: any ByteSource, limit: Int64, what: String, at path: String) throws -> TemporaryFile {
        let copy = try TemporaryFile()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { return copy }
            guard copy.size + Int64(n) <= limit else {
                throw DataPortError(.limitExceeded, "\(what) is larger than \(limit) bytes", at: path)
            }
            try buffer.withUnsafeBytes { try copy.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}

extension AgeEncryption {
    /// The layer a `BundleWriter` writes its archive through.
    var layer: (any ByteSink) throws -> any SinkLayer { { try self.sink(over: $0) } }
}
