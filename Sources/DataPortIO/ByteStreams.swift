#if canImport(Glibc)
import Glibc
#endif
import DataPortModel
import Foundation

/// Somewhere bytes go: a file, an archive entry, a hash, a buffer.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Somewhere bytes come from. `read` returns 0 at the end.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ByteSink {
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ string: String) throws {
        try string.withUTF8Bytes { try write(UnsafeRawBufferPointer($0)) }
    }
}

/// Collects everything written, in memory (for small things: manifests, tests).
public final class MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ buffer: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: buffer) }
}

/// Reads from bytes in memory.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + n])) }
        offset += n
        return n
    }
}

/// A buffered writer in front of a sink: the per-byte fast path of every format writer.
public final class OutputBuffer {
    public let sink: any ByteSink
    @exclusivity(unchecked) @usableFromInline var storage: [UInt8]
    @usableFromInline let capacity: Int

    public init(_ sink: any ByteSink, capacity: Int = 1 << 16) {
        self.sink = sink
        self.capacity = capacity
        storage = []
        storage.reserveCapacity(capacity + 1024)
    }

    @inlinable public func byte(_ b: UInt8) throws {
        storage.append(b)
        if storage.count >= capacity { try flush() }
    }

    @inlinable public func bytes(_ s: StaticString) throws {
        storage.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        if storage.count >= capacity { try flush() }
    }

    @inlinable public func bytes<C: Collection>(_ c: C) throws where C.Element == UInt8 {
        storage.append(contentsOf: c)
        if storage.count >= capacity { try flush() }
    }

    @inlinable public func text(_ s: String) throws {
        s.withUTF8Bytes { storage.append(contentsOf: $0) }
        if storage.count >= capacity { try flush() }
    }

    /// Appends the decimal digits of `n` without making a String.
    @inlinable public func integer(_ n: Int64) throws {
        if n == 0 { try byte(48); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var v = n.magnitude
        withUnsafeMutableBytes(of: &digits) { buf in
            while v > 0 { buf[23 - count] = UInt8(48 + v % 10); v /= 10; count += 1 }
        }
        if n < 0 { storage.append(UInt8(ascii: "-")) }
        withUnsafeBytes(of: &digits) { storage.append(contentsOf: $0[(24 - count)...]) }
        if storage.count >= capacity { try flush() }
    }

    public func flush() throws {
        guard !storage.isEmpty else { return }
        try storage.withUnsafeBytes { try sink.write($0) }
        storage.removeAll(keepingCapacity: true)
    }
}

/// A buffered reader over a source, with one byte of look-ahead and line/column tracking.
public final class InputBuffer {
    public let source: any ByteSource
    @exclusivity(unchecked) @usableFromInline var buffer: UnsafeMutableRawBufferPointer
    @exclusivity(unchecked) @usableFromInline var start = 0
    @exclusivity(unchecked) @usableFromInline var end = 0
    @exclusivity(unchecked) private var eof = false
    /// Offset in the stream of `buffer[0]`.
    @exclusivity(unchecked) @usableFromInline var base: Int64 = 0
    /// 1-based line of the next byte.
    @exclusivity(unchecked) public private(set) var line = 1
    /// Stream offset where the current line starts (columns are counted from it on demand).
    @exclusivity(unchecked) @usableFromInline var lineStart: Int64 = 0

    public init(_ source: any ByteSource, capacity: Int = 1 << 16) {
        self.source = source
        buffer = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Bytes consumed so far.
    public var offset: Int64 { base + Int64(start) }

    @usableFromInline func fill() throws -> Bool {
        if start < end { return true }
        if eof { return false }
        base += Int64(end)
        let n = try source.read(into: buffer)
        start = 0; end = n
        if n == 0 { eof = true; return false }
        return true
    }

    /// The next byte without consuming it, or `nil` at the end.
    @inline(__always) public func peek() throws -> UInt8? {
        if start < end { return buffer[start] }
        return try fill() ? buffer[start] : nil
    }

    /// Consumes and returns the next byte, or `nil` at the end.
    @inline(__always) public func next() throws -> UInt8? {
        if start >= end, try !fill() { return nil }
        let b = buffer[start]
        start += 1
        if b == 10 { line += 1; lineStart = base + Int64(start) }
        return b
    }

    /// Appends bytes to `out` up to (not including) the first byte for which `stop` is true, and
    /// returns that byte without consuming it, or `nil` at the end. Newlines are never stop bytes'
    /// concern: they are counted here. The fast path of every text parser.
    public func copy(into out: inout [UInt8], until stop: (UInt8) -> Bool) throws -> UInt8? {
        while true {
            if start >= end, try !fill() { return nil }
            var i = start
            while i < end {
                let b = buffer[i]
                if stop(b) { break }
                if b == 10 { line += 1; lineStart = base + Int64(i) + 1 }
                i += 1
            }
            if i > start { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start..<i])) }
            start = i
            if i < end { return buffer[i] }
        }
    }

    /// Consumes `bytes` and then `terminator` if the buffer holds exactly them next; else consumes
    /// nothing (also when they straddle the buffer's end: the caller reads them the slow way).
    /// Neither may be a newline.
    @inline(__always) func skip(_ bytes: [UInt8], then terminator: UInt8) -> Bool {
        let n = bytes.count
        guard end - start > n, buffer[start + n] == terminator else { return false }
        let same = bytes.withUnsafeBytes { memcmp(buffer.baseAddress! + start, $0.baseAddress!, n) == 0 }
        if same { start += n + 1 }
        return same
    }

    /// The bytes buffered from the next one on (none at the end of a buffer: it is not refilled);
    /// `body` returns how many of them it consumed, never past a newline, and its result.
    @inline(__always) func withBuffered<R>(_ body: (UnsafeRawBufferPointer) throws -> (consumed: Int, result: R)) rethrows -> R {
        let (consumed, result) = try body(UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
        start += consumed
        return result
    }

    /// 1-based column of the next byte, in bytes from the start of its line.
    public var column: Int { Int(offset - lineStart) + 1 }

    /// "line L, column C" for error messages.
    public var position: String { "line \(line), column \(column)" }
}

/// Reads a file sequentially.
public final class FileSource: ByteSource {
    private let fd: Int32
    public let path: String

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DataPortError(.output, "cannot open file: \(String(cString: strerror(errno)))", at: path) }
    }

    /// Takes over an already open descriptor (closed with the source), e.g. one a caller opened
    /// with checks of its own (`O_NOFOLLOW`, regular files only).
    public init(adopting fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw DataPortError(.output, "cannot read file: \(String(cString: strerror(errno)))", at: path)
        }
    }
}

/// Writes a file; `create` truncates or creates it with mode 0644.
public final class FileSink: ByteSink {
    private var fd: Int32
    public let path: String
    public private(set) var bytesWritten: Int64 = 0

    public init(path: String, exclusive: Bool = false) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), 0o644)
        guard fd >= 0 else { throw DataPortError(.output, "cannot create file: \(String(cString: strerror(errno)))", at: path) }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(fd, bytes, what: "file", at: path)
        bytesWritten += Int64(bytes.count)
    }

    /// Flushes to disk and closes.
    public func close() throws {
        guard fd >= 0 else { return }
        let failed = fsync(fd) != 0 && errno != EINVAL
        Glibc.close(fd)
        fd = -1
        if failed { throw DataPortError(.output, "cannot flush file: \(String(cString: strerror(errno)))", at: path) }
    }
}

/// Writes every byte to a file descriptor, retrying short writes and interruptions.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, what: String, at location: String) throws {
    var done = 0
    while done < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            throw DataPortError(.output, "cannot write \(what): \(String(cString: strerror(errno)))", at: location)
        }
        done += n
    }
}

/// A scratch file that exists only while open: created and unlinked at once, so nothing is left
/// behind whatever happens to the process. Written as a sink, read back with `copy(to:)`.
public final class TemporaryFile: ByteSink {
    private let fd: Int32
    public let directory: String
    public private(set) var size: Int64 = 0

    public init(directory: String = NSTemporaryDirectory()) throws {
        self.directory = directory
        var template = Array("\(directory)/.dataport-spool-XXXXXX".utf8CString)
        // Created and unlinked under the signal cleanup's lock: a signal in between cannot leave it.
        let (created, error) = PartialFiles.holding { () -> (Int32, Int32) in
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            let error = errno
            if fd >= 0 { _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) } }
            return (fd, error)
        }
        fd = created
        guard fd >= 0 else {
            throw DataPortError(.output, "cannot create a temporary file: \(String(cString: strerror(error)))", at: directory)
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    deinit { close(fd) }

    /// A path that opens this (unlinked) file again while it is open, for readers that take a path
    /// (Linux's /proc/self/fd). Never shown to a person: it means nothing outside this process.
    public var reopenPath: String { "/proc/self/fd/\(fd)" }

    /// The open file, for reading it back at any offset (a zip read from its end); valid while this lives.
    public var fileDescriptor: Int32 { fd }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(fd, bytes, what: "a temporary file", at: directory)
        size += Int64(bytes.count)
    }

    /// Empties the file for reuse.
    public func truncate() {
        _ = ftruncate(fd, 0)
        _ = lseek(fd, 0, SEEK_SET)
        size = 0
    }

    /// Writes the file's contents to `sink`.
    public func copy(to sink: any ByteSink) throws { try copy(from: 0, to: size, into: sink) }

    /// Writes the bytes from offset `start` up to `end` to `sink`. Reads at explicit offsets
    /// (`pread`) and changes nothing: while no one writes, several threads may copy at once.
    public func copy(from start: Int64, to end: Int64, into sink: any ByteSink) throws {
        var buffer = [UInt8](repeating: 0, count: Int(min(1 << 20, max(end - start, 1))))
        var offset = start
        while offset < end {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, min($0.count, Int(end - offset)), off_t(offset)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw DataPortError(.output, "cannot read a temporary file back", at: directory) }
            try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += Int64(n)
        }
    }
}

/// An unlinked temporary file as a bundle's destination (`transfer`): private to this process,
/// gone when it closes; `commit` makes it complete, `discard` empties it.
extension TemporaryFile: BundleDestination {
    public var bytesWritten: Int64 { size }
    public func commit() throws {}
    public func discard() { truncate() }
}

/// A bundle made in a private temporary file and passed to `target` only when committed: for a
/// stream that must receive one whole bundle though the writing may start over.
public final class SpooledStreamDestination: BundleDestination {
    private let spool: TemporaryFile
    private let target: any BundleDestination
    public init(_ target: any BundleDestination) throws {
        spool = try TemporaryFile()
        self.target = target
    }
    public var bytesWritten: Int64 { spool.size }
    public func write(_ bytes: UnsafeRawBufferPointer) throws { try spool.write(bytes) }
    public func commit() throws {
        try spool.copy(to: target)
        try target.commit()
    }
    public func discard() {
        spool.truncate()
        target.discard()
    }
}

/// Counts bytes passing through to another sink.
public final class CountingSink: ByteSink {
    private let next: any ByteSink
    public private(set) var count: Int64 = 0
    public init(_ next: any ByteSink) { self.next = next }
    public func write(_ bytes: UnsafeRawBufferPointer) throws { count += Int64(bytes.count); try next.write(bytes) }
}

/// A sink that transforms bytes on their way to another one (e.g. encryption) and must be told
/// where they end, so it can write its last block.
public protocol SinkLayer: ByteSink {
    func finish() throws
}
