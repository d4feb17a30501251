import DataPortIO

/// A bundle container being read: its entry names, and each entry's uncompressed bytes on demand.
public protocol ArchiveReader: AnyObject {
    var entryNames: [String] { get }
    /// The uncompressed bytes of an entry; reading to the end checks its integrity.
    func open(_ name: String) throws -> any ByteSource
}

/// A bundle container being written.
public protocol ArchiveWriter: AnyObject {
    func addEntry(path: String, _ body: (any ByteSink) throws -> Void) throws -> WrittenEntry
    func finish() throws
}

extension ZipWriter: ArchiveWriter {}
