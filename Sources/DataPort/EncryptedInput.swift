import DataPortAge
import DataPortBundle
import DataPortIO
import DataPortModel
import Foundation

/// A bundle about to be read: the file itself, or, when it is encrypted (age), its decrypted copy.
///
/// Zip needs random access (its directory is at the end), so an encrypted bundle is decrypted in
/// full into a private temporary file (mode 0600, unlinked at once, so nothing is left behind
/// whatever happens) before any reader sees a byte of it: a wrong key, a modified byte or a
/// truncated file fails here, and nothing is ever read from a half-authenticated bundle.
public final class BundleInput {
    /// The path given.
    public let path: String
    /// The path readers open: `path`, or the decrypted copy's.
    public let readablePath: String
    public let encrypted: Bool
    private let copy: TemporaryFile?

    /// Opens `path`; an age file is decrypted with `decryption` (no keys: a `cannotDecrypt` error
    /// saying which kind of key it needs). The copy may grow to `limits.maxTotalBytes`.
    public init(path: String, decryption: AgeDecryption?, limits: ArchiveLimits = .default) throws {
        self.path = path
        guard AgeFile.isAge(path: path) else {
            readablePath = path; encrypted = false; copy = nil
            return
        }
        let source = try AgeDecryptingSource(FileSource(path: path), decryption: decryption ?? AgeDecryption(), name: path)
        let copy = try TemporaryFile()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            guard copy.size + Int64(n) <= limits.maxTotalBytes else {
                throw DataPortError(.limitExceeded, "the decrypted bundle is larger than \(limits.maxTotalBytes) bytes", at: path)
            }
            try buffer.withUnsafeBytes { try copy.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        self.copy = copy
        readablePath = copy.reopenPath
        encrypted = true
    }

    /// Runs `body` on `readablePath`; an error that names the decrypted copy names the bundle instead.
    public func read<T>(_ body: (String) throws -> T) throws -> T {
        do {
            return try body(readablePath)
        } catch var e as DataPortError where encrypted {
            e.location = e.location.map { $0.replacingOccurrences(of: readablePath, with: path) }
            e.message = e.message.replacingOccurrences(of: readablePath, with: path)
            throw e
        }
    }
}

extension AgeEncryption {
    /// The layer a `BundleWriter` writes its archive through.
    var layer: (any ByteSink) throws -> any SinkLayer { { try self.sink(over: $0) } }
}
