import DataPortIO
import DataPortModel
import Foundation


/// A connector that reads a dataset by scanning rows (the file connectors): `read` and
/// `distinctValues` are written once, on top of `scan` and `value`.
protocol RowScanningConnector: StoreConnector {
    associatedtype Row
    var storeName: String { get }
    /// Visits the subject's rows of `dataset` in file order until `body` returns false; returns how many matched.
    func scan(_ dataset: DatasetConfig, for subject: SubjectQuery, _ body: (Row) throws -> Bool) throws -> Int
    /// The typed value of configured field number `field` in `row`, or a store error at its position.
    func value(_ row: Row, field: Int, in dataset: DatasetConfig) throws -> Value
}

extension RowScanningConnector {
    public func distinctValues(of field: String, in dataset: DatasetConfig, for subject: SubjectQuery, limit: Int) throws -> [String] {
        guard let index = dataset.fields.firstIndex(where: { $0.name == field }) else {
            throw DataPortError(.invalidConfig, "dataset \(dataset.name) has no field \(field)", at: "store \(storeName)")
        }
        var seen = Set<String>()
        var out: [String] = []
        _ = try scan(dataset, for: subject) { row in
            if let text = try value(row, field: index, in: dataset).canonicalText, seen.insert(text).inserted { out.append(text) }
            return out.count < limit
        }
        return out
    }

    @discardableResult
    public func read(_ dataset: DatasetConfig, for subject: SubjectQuery, into body: (Record) throws -> Void) throws -> Int {
        let exported = dataset.fields.indices.filter { !dataset.fields[$0].secret }
        return try scan(dataset, for: subject) { row in
            var values: [Value] = []
            values.reserveCapacity(exported.count)
            for i in exported { values.append(try value(row, field: i, in: dataset)) }
            try body(Record(values))
            return true
        }
    }
}

// MARK: - Shared by the file connectors (csv, jsonl, accesslog)

/// What the file-based connectors share: their options, the folder, and each dataset's file in it.
struct FileStore {
    let config: StoreConfig
    let folder: String
    let options: StoreOptionValues
    var name: String { config.name }

    /// The `path` option every file store has.
    static let folderOption = StoreOption("path", .path, required: true, help: "The folder that holds the store's files.")

    /// Checks the options and datasets: a folder (that exists, unless `checkingFolder` is false:
    /// then `checkFolder` does), files inside it, identity matches only.
    init(config: StoreConfig, options declared: [StoreOption], checkingFolder: Bool = true) throws {
        self.config = config
        let type = config.type
        func fail(_ message: String) -> DataPortError { DataPortError(.invalidConfig, message, at: "store \(config.name)") }
        options = try StoreOptionValues(config, declared)
        folder = try options.requiredPath("path")
        for d in config.datasets {
            guard case .file(let f) = d.source else { throw fail("dataset \(d.name): \(StoreOption.aStore(type)) reads files; give file instead of table or query") }
            let parts = f.split(separator: "/", omittingEmptySubsequences: false)
            guard !f.isEmpty, !f.hasPrefix("/"), !parts.contains(".."), !parts.contains("") else {
                throw fail("dataset \(d.name): file must name a file inside the store's folder")
            }
            for case .reference(let field, _, _) in d.matches {
                throw fail("dataset \(d.name): match on \(field) uses references, but \(StoreOption.aStore(type)) matches by identity only")
            }
        }
        if checkingFolder { try checkFolder() }
    }

    /// A store error unless the folder exists.
    func checkFolder() throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw DataPortError(.store, "the store's folder does not exist", at: "store \(config.name): \(folder)", code: .missingFile)
        }
    }

    /// The dataset's file name as configured.
    func label(_ dataset: DatasetConfig) -> String { dataset.source.label }

    /// "store NAME: FILE", the start of every location about the dataset's file.
    func location(_ dataset: DatasetConfig) -> String { "store \(config.name): \(label(dataset))" }

    /// Opens the dataset's file; a missing file, a symbolic link or anything but a regular file is a
    /// config error naming the dataset.
    func open(_ dataset: DatasetConfig) throws -> InputBuffer {
        let fd = try Self.openRegularFile(label(dataset), in: folder, dataset: dataset.name, store: config.name)
        return InputBuffer(FileSource(adopting: fd, path: URL(fileURLWithPath: folder).appendingPathComponent(label(dataset)).path))
    }

    /// Opens `relative` (a path inside `folder`) for reading and returns its descriptor, refusing
    /// what a file store must not read: a symbolic link anywhere below the folder (it could point at
    /// `/etc/passwd`), and a FIFO, device, socket or folder (a FIFO would block the export forever).
    /// The folder itself is the configured path and may be a link. The last step opens with
    /// `O_NOFOLLOW | O_NONBLOCK` (so a FIFO cannot block the open) and checks `fstat`, then clears
    /// `O_NONBLOCK`; the `lstat` before it keeps a device from being opened at all.
    static func openRegularFile(_ relative: String, in folder: String, dataset: String, store: String) throws -> Int32 {
        func refuse(_ what: String) -> DataPortError {
            DataPortError(.invalidConfig, "dataset \(dataset): file \(relative) \(what); a file store reads regular files only", at: "store \(store)")
        }
        func failure(_ e: Int32) -> DataPortError {
            switch e {
            case ENOENT: DataPortError(.invalidConfig, "dataset \(dataset): file \(relative) does not exist in the store's folder", at: "store \(store)", code: .missingFile)
            case ELOOP, ENOTDIR: refuse("is or passes through a symbolic link")
            default: DataPortError(.store, "dataset \(dataset): cannot open file: \(String(cString: strerror(e)))", at: "store \(store): \(relative)")
            }
        }
        var dir = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else {
            throw DataPortError(.store, "the store's folder cannot be opened: \(String(cString: strerror(errno)))", at: "store \(store)")
        }
        defer { Glibc.close(dir) }
        let parts = relative.split(separator: "/").map(String.init)
        for part in parts.dropLast() {
            let next = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else { throw failure(errno) }
            Glibc.close(dir)
            dir = next
        }
        guard let name = parts.last else { throw failure(ENOENT) }
        var info = stat()
        guard fstatat(dir, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw refuse(Self.kind(info.st_mode)) }
        let fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(errno) }
        // Replaced between the two looks: check what was opened.
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(fd)
            throw refuse(Self.kind(info.st_mode))
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// What a file that is not regular is, for messages.
    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFLNK: "is a symbolic link"
        case S_IFIFO: "is a FIFO"
        case S_IFDIR: "is a folder"
        case S_IFSOCK: "is a socket"
        case S_IFCHR, S_IFBLK: "is a device"
        default: "is not a regular file"
        }
    }
}

/// Which rows of a file belong to the subject: a row does when, for any identity match, the match
/// field's value in normal form (`IdentityForm`; integers canonical) equals one of the subject's
/// values of that kind exactly. Never by substring or prefix.
struct SubjectRowFilter {
    struct Rule {
        var field: FieldConfig
        var form: IdentityForm
        var values: Set<String>

        func contains(_ raw: String) -> Bool {
            guard let key = SubjectRowFilter.key(raw, form: form, type: field.type) else { return false }
            return values.contains(key)
        }
    }

    /// The rules for which the subject has values (a match without values can select nothing).
    let rules: [Rule]

    init(dataset: DatasetConfig, subject: SubjectQuery) {
        var rules: [Rule] = []
        for case .identity(let kind, let name) in dataset.matches {
            guard let field = dataset.field(named: name) else { continue }
            let form = subject.form(kind)
            let values = Set(subject.values(kind).compactMap { Self.key($0, form: form, type: field.type) })
            if !values.isEmpty { rules.append(Rule(field: field, form: form, values: values)) }
        }
        self.rules = rules
    }

    var canMatch: Bool { !rules.isEmpty }

    /// The normal form a value is compared in; `nil` for a value that matches nothing (empty, or not an integer in an integer field).
    static func key(_ raw: String, form: IdentityForm, type: FieldType) -> String? {
        let normal = form.normalize(raw)
        guard !normal.isEmpty else { return nil }
        if type == .integer { return Int64(normal).map { String($0) } }
        return normal
    }
}
