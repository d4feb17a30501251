#if canImport(Glibc)
import Glibc
#endif
import DataPortIO
import DataPortModel
import Foundation

/// An entry compressed ahead of its place in the archive: raw deflate into an unlinked temporary
/// file, with CRC-32, size and SHA-256 of the uncompressed bytes. Lets the files of a multi-format
/// bundle be encoded and compressed in parallel, then copied into the zip in order.
public final class CompressedSpool: @unchecked Sendable {
    private let fd: Int32
    private let file: FDSink
    private let deflater: DeflateSink
    private let entry: EntrySink
    public private(set) var crc: UInt32 = 0
    public private(set) var size: Int64 = 0
    public private(set) var sha256 = ""

    /// Where the entry's uncompressed bytes go. Use from one thread at a time.
    public var sink: any ByteSink { entry }

    public init(level: Int32 = 6) throws {
        var template = Array((NSTemporaryDirectory() + "/dataport-spool-XXXXXX").utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw DataPortError(.output, "cannot create a temporary file: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        file = FDSink(fd: fd)
        deflater = DeflateSink(file, level: level)
        entry = EntrySink(deflater)
    }

    deinit { close(fd) }

    /// Completes compression; call once, after the last write.
    public func finish() throws {
        try deflater.finish()
        crc = entry.crc
        size = entry.count
        sha256 = entry.sha.finalizeHex()
    }

    /// Copies the compressed bytes to `out`.
    func copyCompressed(to out: any ByteSink) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 18)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            guard n >= 0 else { throw DataPortError(.output, "cannot read a temporary file: \(String(cString: strerror(errno)))") }
            if n == 0 { return }
            try buffer.withUnsafeBytes { try out.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += off_t(n)
        }
    }
}

/// Writes to an open file descriptor.
final class FDSink: ByteSink {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw DataPortError(.output, "cannot write a temporary file: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }
}
