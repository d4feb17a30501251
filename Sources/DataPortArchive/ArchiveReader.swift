#if canImport(Glibc)
import Glibc
#endif
import DataPortModel
import DataPortIO

/// A bundle container being read: its entry names, and each entry's uncompressed bytes on demand.
public protocol ArchiveReader: AnyObject {
    var entryNames: [String] { get }
    /// The uncompressed bytes of an entry; reading to the end checks its integrity.
    func open(_ name: String) throws -> any ByteSource
}

/// An archive file open for reading at any offset; closed when its reader goes away.
final class OpenArchiveFile {
    let fd: Int32
    let size: Int64

    init(path: String) throws {
        fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DataPortError(.invalidBundle, "cannot open the bundle: \(String(cString: strerror(errno)))", at: path) }
        var st = stat()
        fstat(fd, &st)
        size = Int64(st.st_size)
    }

    /// A second descriptor of a file already open (a temporary file), so the reader owns its own.
    init(duplicating descriptor: Int32, size: Int64, name: String) throws {
        fd = dup(descriptor)
        guard fd >= 0 else { throw DataPortError(.output, "cannot reopen a temporary file: \(String(cString: strerror(errno)))", at: name) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        self.size = size
    }

    deinit { close(fd) }
}
