import DataPortIO
import DataPortModel
import Foundation

/// What happens to one of the subject's rows.
public enum RowChange: Sendable, Hashable {
    case delete
    /// Overwrite the row's masks (an erasure's anonymisation, an objection, a rectification).
    case anonymize
}

/// One of the subject's rows as the gather read it (its number among the subject's rows of the
/// dataset, in read order, and its exported values), and what happens to it.
public struct PlannedRow: Sendable, Hashable {
    public var ordinal: Int
    public var record: Record
    public var change: RowChange
    /// What `anonymize` overwrites (an erasure's masks, an objection's or a rectification's values).
    public var masks: [ErasurePolicy.Mask]
    public init(ordinal: Int, record: Record, change: RowChange, masks: [ErasurePolicy.Mask] = []) {
        self.ordinal = ordinal; self.record = record; self.change = change; self.masks = masks
    }
}

/// The changes to one dataset: only the rows that change.
public struct DatasetChanges: Sendable {
    public var dataset: DatasetConfig
    public var rows: [PlannedRow]
    public init(dataset: DatasetConfig, rows: [PlannedRow]) { self.dataset = dataset; self.rows = rows }
}

/// A store whose rows `dataport erase` can delete or overwrite.
///
/// `erase` applies every change to the store as one unit (one transaction in a SQL store; in a
/// file store every file is written beside the old one, flushed, and only then renamed over it):
/// when it throws, the store is as it was. Changes come children first, as the caller orders them.
/// A row that is no longer as the gather read it fails the whole store ("changed since it was read").
public protocol ErasableConnector: StoreConnector {
    /// Applies `changes`; `subject` is the query the gather read the rows with.
    func erase(_ changes: [DatasetChanges], subject: SubjectQuery, store: String) throws
}

// MARK: - SQL stores: by key, in one transaction

extension SQLSession {
    // Erasure (`dataport erase`). Rows are named by their key, never by a condition.

    public var lockingRead: String { " FOR UPDATE" }

    /// Deletes the rows of `table` whose `keyColumn` is one of `keys`; returns how many.
    public func deleteRows(from table: String, keyColumn: String, keys: [Value]) throws -> Int {
        var n = 0
        for part in stride(from: 0, to: keys.count, by: 500).map({ Array(keys[$0..<min($0 + 500, keys.count)]) }) {
            let marks = (1...part.count).map(placeholder).joined(separator: ", ")
            n += try execute("DELETE FROM \(table) WHERE \(keyColumn) IN (\(marks))", part)
        }
        return n
    }

    /// Sets `columns` to `values` in the rows of `table` whose `keyColumn` is one of `keys`; returns how many.
    public func overwriteRows(in table: String, columns: [String], _ values: [Value], keyColumn: String, keys: [Value]) throws -> Int {
        let set = columns.enumerated().map { "\($1) = \(placeholder($0 + 1))" }.joined(separator: ", ")
        var n = 0
        for part in stride(from: 0, to: keys.count, by: 500).map({ Array(keys[$0..<min($0 + 500, keys.count)]) }) {
            let marks = (1...part.count).map { placeholder(columns.count + $0) }.joined(separator: ", ")
            n += try execute("UPDATE \(table) SET \(set) WHERE \(keyColumn) IN (\(marks))", values + part)
        }
        return n
    }
}

extension SQLSession {
    /// Reads the planned rows again by key inside the transaction, before anything changes: each
    /// must still hold what the gather read (a row that changed hands since is never touched).
    func checkUnchanged(_ c: DatasetChanges, table: String, keyColumn: String, keyIndex: Int, store: String) throws {
        let d = c.dataset
        let fields = d.exportedFields
        let columns = fields.map { SQLQueryBuilder.quote($0.column) }.joined(separator: ", ")
        var read: [Value: [Value]] = [:]
        let keys = c.rows.map { $0.record.values[keyIndex] }
        for part in stride(from: 0, to: keys.count, by: 500).map({ Array(keys[$0..<min($0 + 500, keys.count)]) }) {
            let marks = (1...part.count).map(placeholder).joined(separator: ", ")
            try query("SELECT \(columns) FROM \(table) WHERE \(keyColumn) IN (\(marks))\(lockingRead)", part) { cells in
                let values = try cells.enumerated().map { try $1.value(of: fields[$0], in: d.name, at: "store \(store)") }
                read[values[keyIndex]] = values
            }
        }
        for r in c.rows where read[r.record.values[keyIndex]] != r.record.values {
            throw DataPortError(.store, "dataset \(d.name) changed since it was read; nothing in this store was changed", at: "store \(store)")
        }
    }
}

extension WritableStoreConnector {
    /// The erasure every SQL store shares: one session, one transaction, rows by key.
    func eraseRows(_ changes: [DatasetChanges], store: String) throws {
        let session = try openSession()
        try session.begin()
        do {
            for c in changes {
                let d = c.dataset
                guard case .table(let t) = d.source, let key = d.key,
                      let keyIndex = d.exportedFields.firstIndex(where: { $0.name == key }) else {
                    throw DataPortError(.internal, "dataset \(d.name) cannot be erased by key", at: "store \(store)")
                }
                let table = t.split(separator: ".").map { SQLQueryBuilder.quote(String($0)) }.joined(separator: ".")
                let keyColumn = SQLQueryBuilder.quote(d.field(named: key)?.column ?? key)
                try session.checkUnchanged(c, table: table, keyColumn: keyColumn, keyIndex: keyIndex, store: store)
                // Deletions in one go; overwrites grouped by what they write.
                var groups: [(masks: [ErasurePolicy.Mask]?, keys: [Value])] = []
                for r in c.rows {
                    let masks: [ErasurePolicy.Mask]? = r.change == .delete ? nil : r.masks
                    if let i = groups.firstIndex(where: { $0.masks == masks }) { groups[i].keys.append(r.record.values[keyIndex]) } else { groups.append((masks, [r.record.values[keyIndex]])) }
                }
                for (masks, keys) in groups {
                    let n: Int
                    if let masks {
                        let columns = masks.map { SQLQueryBuilder.quote(d.field(named: $0.field)?.column ?? $0.field) }
                        n = try session.overwriteRows(in: table, columns: columns, masks.map(\.value), keyColumn: keyColumn, keys: keys)
                    } else {
                        n = try session.deleteRows(from: table, keyColumn: keyColumn, keys: keys)
                    }
                    guard n == keys.count else {
                        throw DataPortError(.store, "dataset \(d.name) changed since it was read (\(n) of \(keys.count) rows found by key)", at: "store \(store)")
                    }
                }
            }
            try session.commit()
        } catch var e as DataPortError {
            session.rollback()
            if e.location == nil { e.location = "store \(store)" }
            throw e.kind == .invalidConfig ? e.reclassified(as: .store) : e
        } catch {
            session.rollback()
            throw error
        }
    }
}

extension SQLiteSession {
    public var lockingRead: String { "" }
}

extension SQLiteConnector: ErasableConnector {
    public func erase(_ changes: [DatasetChanges], subject: SubjectQuery, store: String) throws { try eraseRows(changes, store: store) }
}

extension PostgreSQLConnector: ErasableConnector {
    public func erase(_ changes: [DatasetChanges], subject: SubjectQuery, store: String) throws { try eraseRows(changes, store: store) }
}

extension MySQLConnector: ErasableConnector {
    public func erase(_ changes: [DatasetChanges], subject: SubjectQuery, store: String) throws { try eraseRows(changes, store: store) }
}

// MARK: - File stores: a new file renamed over the old

/// One record of a file to change: its bytes (line end included) and what replaces them.
struct FileEdit {
    var range: Range<Int64>
    /// The record's bytes to what is written in their place (empty: the record goes).
    var transform: ([UInt8]) throws -> [UInt8]
}

/// Rewrites files of a store's folder with edits: the new version is written under a hidden name
/// beside the old one (`PartialFile`: exclusive, recorded for signal cleanup), given the old
/// file's permissions, flushed, and renamed over it only when every file of the store is ready.
struct FileRewrite {
    let folder: String
    let store: String
    private var prepared: [(PartialFile, String)] = []

    init(folder: String, store: String) { self.folder = folder; self.store = store }

    /// Writes the new version of `relative` (edits sorted, not overlapping); nothing is replaced yet.
    mutating func prepare(_ relative: String, dataset: String, edits: [FileEdit]) throws {
        let fd = try FileStore.openRegularFile(relative, in: folder, dataset: dataset, store: store)
        defer { close(fd) }
        let target = URL(fileURLWithPath: folder).appendingPathComponent(relative).path
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("cannot read the file's permissions", relative) }
        let out: PartialFile
        do { out = try PartialFile(destination: target) } catch let e as DataPortError { throw failure(e.message, relative) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var position: Int64 = 0
        func copy(upTo end: Int64?) throws {
            while end.map({ position < $0 }) ?? true {
                let want = end.map { min(Int64(buffer.count), $0 - position) } ?? Int64(buffer.count)
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(want), off_t(position)) }
                guard n >= 0 else { throw failure("cannot read the file", relative) }
                if n == 0 {
                    guard end == nil else { throw failure("the file changed since it was read", relative) }
                    return
                }
                try buffer.withUnsafeBytes { try out.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                position += Int64(n)
            }
        }
        do {
            for e in edits {
                try copy(upTo: e.range.lowerBound)
                var record = [UInt8](repeating: 0, count: Int(e.range.count))
                let n = record.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(e.range.lowerBound)) }
                guard n == record.count else { throw failure("the file changed since it was read", relative) }
                let replaced = try e.transform(record)
                try replaced.withUnsafeBytes { try out.write($0) }
                position = e.range.upperBound
            }
            try copy(upTo: nil)
            guard chmod(out.path, info.st_mode & 0o7777) == 0 else { throw failure("cannot keep the file's permissions", relative) }
        } catch {
            out.discard()
            throw error
        }
        prepared.append((out, relative))
    }

    /// Renames every prepared file over its original, then flushes the folder.
    mutating func install() throws {
        defer { prepared = [] }
        for (out, relative) in prepared {
            do { try out.commit() } catch let e as DataPortError { throw failure(e.message, relative) }
        }
        let dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { _ = fsync(dir); close(dir) }
    }

    /// Removes every prepared file.
    mutating func discard() {
        for (out, _) in prepared { out.discard() }
        prepared = []
    }

    private func failure(_ message: String, _ relative: String) -> DataPortError {
        DataPortError(.store, "cannot rewrite the file: \(message)", at: "store \(store): \(relative)")
    }
}

extension RowScanningConnector {
    /// The edits of one dataset's file: the subject's rows are scanned again with the gather's
    /// query, and the n-th of them must be the n-th the gather read (else the file changed).
    func edits(_ c: DatasetChanges, subject: SubjectQuery, span: (Row) -> Range<Int64>,
               transform: (Row, PlannedRow) throws -> ([UInt8]) throws -> [UInt8]) throws -> [FileEdit] {
        let planned = Dictionary(uniqueKeysWithValues: c.rows.map { ($0.ordinal, $0) })
        let exported = c.dataset.fields.indices.filter { !c.dataset.fields[$0].secret }
        var edits: [FileEdit] = []
        var ordinal = 0
        _ = try scan(c.dataset, for: subject) { row in
            defer { ordinal += 1 }
            guard let p = planned[ordinal] else { return true }
            let values = try exported.map { try value(row, field: $0, in: c.dataset) }
            guard values == p.record.values else {
                throw DataPortError(.store, "dataset \(c.dataset.name) changed since it was read", at: "store \(storeName)")
            }
            edits.append(FileEdit(range: span(row), transform: p.change == .delete ? { _ in [] } : try transform(row, p)))
            return true
        }
        guard edits.count == c.rows.count else {
            throw DataPortError(.store, "dataset \(c.dataset.name) changed since it was read", at: "store \(storeName)")
        }
        return edits
    }
}

/// The line end a record's bytes finish with (`\r\n`, `\n` or nothing), and the bytes before it.
func splitLineEnd(_ bytes: [UInt8]) -> (body: ArraySlice<UInt8>, end: ArraySlice<UInt8>) {
    var cut = bytes.count
    if cut > 0, bytes[cut - 1] == 0x0A { cut -= 1; if cut > 0, bytes[cut - 1] == 0x0D { cut -= 1 } }
    return (bytes[..<cut], bytes[cut...])
}
