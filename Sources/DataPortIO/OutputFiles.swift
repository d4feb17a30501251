#if canImport(Glibc)
import Glibc
#endif
import CLinux
import DataPortModel
import Foundation
import Synchronization

/// The largest value (a string, or the base64 text of a binary value) a JSON or CSV data file may
/// hold. One definition for both sides: the writers refuse a larger value, the readers accept any
/// value up to it with their defaults (formats/bundle.md, "Limits").
public enum ValueLimits {
    public static let maxValueBytes = 64 << 20
}

/// The hidden files being written right now, which must not outlive the process: a terminating
/// signal removes them (see `removeAllAndExit`). Creating, renaming and removing such a file happen
/// inside the `gate`, shared, with the file's registration, so a signal never finds a file it does
/// not know of, nor removes a path that is no longer ours.
///
/// The gate is shared so that the jobs of a batch create their files at the same time: creating a
/// file can take a millisecond in the file system (ext4 passes over recently deleted inodes), and
/// one exclusive lock around it had the jobs queue, and spin, behind each other. The signal cleanup
/// takes the gate exclusively: it waits for every creation or rename under way, then removes what
/// is registered, and exits without letting go.
public enum PartialFiles {
    private static let paths = Mutex<Set<String>>([])
    private static let gate = SharedGate()

    /// Runs `open`, which creates the file at `path` and returns its descriptor (or -1), and records
    /// the path if it was created, as one step. Returns the descriptor and `errno`.
    static func creating(_ path: String, _ open: () -> Int32) -> (fd: Int32, error: Int32) {
        gate.shared {
            let fd = open()
            let error = errno
            if fd >= 0 { paths.withLock { _ = $0.insert(path) } }
            return (fd, error)
        }
    }

    /// Runs `body` (which creates a file and removes it again) where no signal cleanup can run.
    static func holding<T>(_ body: () throws -> T) rethrows -> T {
        try gate.shared(body)
    }

    /// Runs `body`, which renames or removes the file at `path`, and forgets it, as one step.
    static func finishing<T>(_ path: String, _ body: () throws -> T) rethrows -> T {
        try gate.shared {
            defer { paths.withLock { _ = $0.remove(path) } }
            return try body()
        }
    }

    /// Removes every recorded file and ends the process with `code`, holding the gate exclusively:
    /// no file can be created or moved into place in between.
    public static func removeAllAndExit(_ code: Int32) -> Never {
        gate.closeForever()
        paths.withLock { set -> Never in
            for p in set { unlink(p) }
            _exit(code)
        }
    }

    /// The paths recorded now (for tests).
    public static var current: Set<String> { paths.withLock { $0 } }
}

/// A readers-writer lock (POSIX's), preferring the writer: once the signal cleanup waits, no new
/// creation starts, so it cannot be starved by a busy batch.
private final class SharedGate: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    func shared<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Takes the lock exclusively and never gives it back (the process is ending).
    func closeForever() { pthread_rwlock_wrlock(lock) }
}

/// Where a bundle's bytes go: nothing counts as a bundle until `commit`; `discard` makes sure no
/// reader can take what was written for a whole bundle.
public protocol BundleDestination: ByteSink {
    var bytesWritten: Int64 { get }
    func commit() throws
    func discard()
}

/// A bundle written to a stream (`--output -`: stdout), which cannot be taken back once written.
/// So the last `holdBack` bytes are kept until `commit`: they hold the end of every container
/// (gzip's trailer, zip's central directory end, age's last chunk), and a run that fails, or is
/// ended by a signal, never writes them. The reader then finds the stream cut short (a
/// truncation error), whatever point the failure came at, even after the archive was complete.
public final class StreamDestination: BundleDestination {
    public static let holdBack = 64 << 10
    private let fd: Int32
    private let name: String
    private var tail: [UInt8] = []
    public private(set) var bytesWritten: Int64 = 0
    private var done = false

    /// Writes to `fd` (not closed here); `name` is how errors name it ("standard output").
    public init(fd: Int32 = 1, name: String = "standard output") {
        self.fd = fd
        self.name = name
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !done else { throw DataPortError(.internal, "the bundle stream is already finished") }
        tail.append(contentsOf: bytes)
        bytesWritten += Int64(bytes.count)
        let out = tail.count - Self.holdBack
        // Pass bytes on in large pieces only, so the tail is not copied for every small write.
        guard out >= Self.holdBack else { return }
        try tail.withUnsafeBytes { try writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<out]), what: "the bundle", at: name) }
        tail.removeFirst(out)
    }

    /// Writes the held-back end: the stream is now a whole bundle.
    public func commit() throws {
        guard !done else { return }
        done = true
        try tail.withUnsafeBytes { try writeAll(fd, $0, what: "the bundle", at: name) }
        tail = []
    }

    /// Drops the held-back end: what was written is a cut-short bundle no reader accepts.
    public func discard() {
        done = true
        tail = []
    }
}

/// A file written under a hidden, unpredictable name in its destination's folder and moved into
/// place only by `commit`: created exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`, so a planted file or
/// symbolic link is never written through), mode 0600 (it holds personal data), and recorded in
/// `PartialFiles` so that a terminating signal removes it.
public final class PartialFile: BundleDestination {
    /// The hidden file's path.
    public let path: String
    public let destination: String
    private var fd: Int32
    public private(set) var bytesWritten: Int64 = 0
    private var finished = false
    /// Small writes (a zip's headers and small entries) gathered into one system call each 64 KB.
    private var pending: [UInt8] = []
    private static let bufferSize = 1 << 16

    /// Set when the file is synced and moved into place with others (`SyncGroup`): `commit` then
    /// only writes it out and closes it, and leaves it registered, under its hidden name, as `unsynced`.
    private let syncLater: Bool
    /// The closed, unsynced file a `syncLater` commit leaves for `SyncGroup.commit`.
    public private(set) var unsynced: PendingFile?

    public init(destination: String, syncLater: Bool = false) throws {
        self.destination = destination
        self.syncLater = syncLater
        let (folder, name) = OutputPath.split(destination)
        // Keep the name within NAME_MAX whatever the destination's name.
        let base = name.utf8.count <= 200 ? name : "dataport"
        var attempt = 0
        while true {
            var rng = SystemRandomNumberGenerator()
            let token = String(rng.next() as UInt64, radix: 16)
            let candidate = "\(folder)/.\(base).partial-\(token)"
            let (created, error) = PartialFiles.creating(candidate) {
                open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            if created >= 0 {
                fd = created
                path = candidate
                return
            }
            // A name taken by someone else's file (or link) is never touched; try another.
            attempt += 1
            guard error == EEXIST, attempt < 8 else {
                throw DataPortError(.output, "cannot create the bundle's temporary file: \(String(cString: strerror(error)))", at: destination)
            }
        }
    }

    deinit { discard() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if pending.count + bytes.count <= Self.bufferSize {
            pending.append(contentsOf: bytes)
        } else {
            try flush()
            if bytes.count < Self.bufferSize { pending.append(contentsOf: bytes) } else { try writeAll(fd, bytes, what: "the bundle", at: destination) }
        }
        bytesWritten += Int64(bytes.count)
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try writeAll(fd, $0, what: "the bundle", at: destination) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Flushes to disk, closes, and renames the file to its destination (which `rename` replaces
    /// itself, never following a link).
    public func commit() throws {
        do { try flush() } catch {
            discard()
            throw error
        }
        if syncLater {
            let failedClose = close(fd) != 0
            let closeError = errno
            fd = -1
            if failedClose {
                discard()
                throw DataPortError(.output, "cannot write the bundle: \(String(cString: strerror(closeError)))", at: destination)
            }
            // Still registered for the signal cleanup; the group renames or removes it.
            finished = true
            unsynced = PendingFile(path: path, destination: destination)
            return
        }
        let failedSync = fsync(fd) != 0 && errno != EINVAL
        let syncError = errno
        close(fd)
        fd = -1
        if failedSync {
            discard()
            throw DataPortError(.output, "cannot flush the bundle: \(String(cString: strerror(syncError)))", at: destination)
        }
        let (status, error) = PartialFiles.finishing(path) { () -> (Int32, Int32) in
            let r = rename(path, destination)
            let e = errno
            if r != 0 { unlink(path) }
            return (r, e)
        }
        finished = true
        guard status == 0 else {
            throw DataPortError(.output, "cannot move the bundle into place: \(String(cString: strerror(error)))", at: destination)
        }
    }

    /// Closes and removes the file (nothing happens after `commit`).
    public func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        guard !finished else { return }
        finished = true
        PartialFiles.finishing(path) { _ = unlink(path) }
    }
}

/// A bundle written and closed under its hidden name, not yet synced nor in place (`PartialFile`
/// with `syncLater`). Still registered for the signal cleanup until `SyncGroup` renames or removes it.
public struct PendingFile: Sendable {
    let path: String
    public let destination: String
}

/// Bundles made durable together (a batch's): one `syncfs` of their file system for the whole
/// group, then each moved into place, then each folder synced, so that a bundle under its name is
/// complete and stays there after a crash, as with one `fsync` each. An `fsync` a file cost ext4 a
/// write of the file's inode block, bitmaps and folder block and a cache flush of the disk, each an
/// I/O request of its own (about a sixth of a batch of small subjects' CPU, and a wait).
public enum SyncGroup {
    /// Syncs and moves `files` into place; for each, nil or why it is not in place (it is then removed).
    public static func commit(_ files: [PendingFile]) -> [DataPortError?] {
        guard !files.isEmpty else { return [] }
        let folders = Set(files.map { OutputPath.split($0.path).folder })
        var descriptors: [Int32] = []
        defer { for d in descriptors { close(d) } }
        var failure: DataPortError?
        for folder in folders.sorted() {
            let d = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard d >= 0 else {
                failure = DataPortError(.output, "cannot open the output folder to flush the bundles: \(String(cString: strerror(errno)))", at: folder)
                break
            }
            descriptors.append(d)
            // One file system at a time (a folder on another one is synced by its own call).
            if dataport_syncfs(d) != 0 {
                let e = errno
                // A file system without syncfs: each file synced on its own instead.
                if e == ENOSYS || e == EINVAL || e == EOPNOTSUPP,
                   files.allSatisfy({ OutputPath.split($0.path).folder != folder || syncOne($0.path) }) { continue }
                failure = DataPortError(.output, "cannot flush the bundles: \(String(cString: strerror(e)))", at: folder)
                break
            }
        }
        if let failure {
            discard(files)
            return files.map { _ in failure }
        }
        let results: [DataPortError?] = files.map { f in
            let (status, error) = PartialFiles.finishing(f.path) { () -> (Int32, Int32) in
                let r = rename(f.path, f.destination)
                let e = errno
                if r != 0 { unlink(f.path) }
                return (r, e)
            }
            return status == 0 ? nil : DataPortError(.output, "cannot move the bundle into place: \(String(cString: strerror(error)))", at: f.destination)
        }
        // The renames, durable too (a folder that cannot be synced leaves them to the system's own writeback).
        for d in descriptors { _ = fsync(d) }
        return results
    }

    /// `fsync` of the closed file at `path`, opened again to read (`EINVAL`: it cannot be synced, as for `PartialFile`).
    private static func syncOne(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return fsync(fd) == 0 || errno == EINVAL
    }

    /// Removes `files` (a group that could not be synced).
    private static func discard(_ files: [PendingFile]) {
        for f in files { PartialFiles.finishing(f.path) { _ = unlink(f.path) } }
    }
}

/// Files a run reads and must never write over (`OutputPath.check`), with their paths resolved
/// (symbolic links followed as far as they exist) when this is made.
public struct ProtectedFiles: Sendable {
    let paths: [String]
    let resolved: [String]

    public init(_ paths: [String]) {
        self.paths = paths
        resolved = paths.map(OutputPath.resolve)
    }
}

/// Checks, before anything is read, that a bundle may be written at a path.
public enum OutputPath {
    /// `path`'s absolute folder and last component, as `URL(fileURLWithPath:)` splits them. A plain
    /// absolute path (a batch's) is split at its last `/` without building a URL, once per subject.
    static func split(_ path: String) -> (folder: String, name: String) {
        if path.hasPrefix("/"), !path.hasSuffix("/"), !path.contains("//"), !path.contains("/./"), !path.contains("/../"),
           !path.hasSuffix("/."), !path.hasSuffix("/.."), let slash = path.lastIndex(of: "/") {
            let folder = slash == path.startIndex ? "/" : String(path[..<slash])
            return (folder, String(path[path.index(after: slash)...]))
        }
        let url = URL(fileURLWithPath: path)
        return (url.deletingLastPathComponent().path, url.lastPathComponent)
    }

    /// `-` (stdout) is accepted unless stdout is a terminal (usage: a bundle is binary). Refuses anything that exists and is not a regular file
    /// (a folder, FIFO, device, socket or symbolic link: `output`), a folder that does not exist
    /// (`output`), and any of `protected` (usage): the same file (device and inode, so a hard
    /// link too) or the same resolved path. Messages name no value but the path.
    public static func check(_ output: String, protected: [String]) throws {
        try check(output, protected: ProtectedFiles(protected))
    }

    /// `check(_:protected:)` against files whose paths were resolved once (a batch checks every
    /// subject's output against the same ones).
    public static func check(_ output: String, protected: ProtectedFiles) throws {
        if output == "-" {
            guard isatty(1) == 0 else {
                throw DataPortError(.usage, "refusing to write a bundle to a terminal: pipe standard output into a program or a file, or give --output FILE")
            }
            return
        }
        guard !output.isEmpty else { throw DataPortError(.usage, "the output path is empty") }
        var st = stat()
        let exists = lstat(output, &st) == 0
        if exists {
            switch st.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFLNK:
                throw DataPortError(.output, "the output is a symbolic link; DataPort never writes through one: give the file's own path", at: output, code: .unsafeOutput)
            case S_IFDIR: throw DataPortError(.output, "the output is a folder; give a file path", at: output, code: .unsafeOutput)
            default: throw DataPortError(.output, "the output is not a regular file (a FIFO, device or socket)", at: output, code: .unsafeOutput)
            }
        } else if errno != ENOENT {
            throw DataPortError(.output, "cannot examine the output: \(String(cString: strerror(errno)))", at: output)
        }
        let url = URL(fileURLWithPath: output)
        let folder = url.deletingLastPathComponent().path
        var fst = stat()
        guard stat(folder, &fst) == 0, fst.st_mode & S_IFMT == S_IFDIR else {
            throw DataPortError(.output, "the output's folder does not exist", at: output)
        }
        let resolvedFolder = resolve(folder)
        let resolved = resolvedFolder + "/" + url.lastPathComponent
        for (p, resolvedP) in zip(protected.paths, protected.resolved) {
            var pst = stat()
            let same = (exists && stat(p, &pst) == 0 && pst.st_dev == st.st_dev && pst.st_ino == st.st_ino) || resolvedP == resolved
            if same {
                throw DataPortError(.usage, "the output is one of the files this run reads (the config, a store's file or database, the input bundle)", at: output)
            }
        }
    }

    /// The path with symbolic links resolved as far as it exists.
    static func resolve(_ path: String) -> String {
        if let r = realpath(path, nil) {
            defer { free(r) }
            return String(cString: r)
        }
        let url = URL(fileURLWithPath: path)
        let parent = url.deletingLastPathComponent().path
        guard parent != path else { return path }
        return resolve(parent) + "/" + url.lastPathComponent
    }
}
