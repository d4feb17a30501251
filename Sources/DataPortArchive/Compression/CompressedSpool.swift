#if canImport(Glibc)
import Glibc
#endif
import DataPortIO
import DataPortModel
import Foundation

/// An entry compressed ahead of its place in the archive: raw deflate into an unlinked temporary
/// file, with CRC-32, size and SHA-256 of the uncompressed bytes. Lets the files of a multi-format
/// bundle be encoded and compressed in parallel, then copied into the zip in order.
package final class CompressedSpool {
    private let file: TemporaryFile
    private let deflater: DeflateSink
    private let entry: EntrySink
    package private(set) var crc: UInt32 = 0
    package private(set) var size: Int64 = 0
    package private(set) var sha256 = ""

    /// Where the entry's uncompressed bytes go. Use from one thread at a time.
    package var sink: any ByteSink { entry }

    package init(level: Int32 = DeflateLevel.standard) throws {
        file = try TemporaryFile()
        deflater = DeflateSink(file, level: level)
        entry = EntrySink(deflater)
    }

    /// Completes compression; call once, after the last write.
    package func finish() throws {
        try deflater.finish()
        crc = deflater.crc
        size = entry.count
        sha256 = entry.sha.finalizeHex()
    }

    /// Copies the compressed bytes to `out`.
    func copyCompressed(to out: any ByteSink) throws { try file.copy(to: out) }
}

