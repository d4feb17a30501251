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

// MARK: - Shared by the file connectors (csv, jsonl)

/// What the file-based connectors share: their options, the folder, and each dataset's file in it.
struct FileStore {
    let config: StoreConfig
    let folder: String
    var name: String { config.name }

    /// Checks the options and datasets: a folder, files inside it, identity matches only.
    init(config: StoreConfig, options known: Set<String>) throws {
        self.config = config
        let type = config.type
        func fail(_ message: String) -> DataPortError { DataPortError(.invalidConfig, message, at: "store \(config.name)") }
        if let unknown = config.options.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail("unknown option \(unknown) for a \(type) store")
        }
        guard let folder = config.path("path") else { throw fail("a \(type) store needs options.path (the folder that holds its files)") }
        self.folder = folder
        for d in config.datasets {
            guard case .file(let f) = d.source else { throw fail("dataset \(d.name): a \(type) store reads files; give file instead of table or query") }
            let parts = f.split(separator: "/", omittingEmptySubsequences: false)
            guard !f.isEmpty, !f.hasPrefix("/"), !parts.contains(".."), !parts.contains("") else {
                throw fail("dataset \(d.name): file must name a file inside the store's folder")
            }
            for case .reference(let field, _, _) in d.matches {
                throw fail("dataset \(d.name): match on \(field) uses references, but a \(type) store matches by identity only")
            }
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw DataPortError(.store, "the store's folder does not exist", at: "store \(config.name): \(folder)")
        }
    }

    /// The dataset's file name as configured.
    func label(_ dataset: DatasetConfig) -> String { dataset.source.label }

    /// "store NAME: FILE", the start of every location about the dataset's file.
    func location(_ dataset: DatasetConfig) -> String { "store \(config.name): \(label(dataset))" }

    /// Opens the dataset's file; a missing file is a config error naming the dataset.
    func open(_ dataset: DatasetConfig) throws -> InputBuffer {
        let path = URL(fileURLWithPath: folder).appendingPathComponent(label(dataset)).path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
            throw DataPortError(.invalidConfig, "dataset \(dataset.name): file \(label(dataset)) does not exist in the store's folder", at: "store \(config.name)")
        }
        do {
            return InputBuffer(try FileSource(path: path))
        } catch let e as DataPortError {
            throw DataPortError(.store, e.message, at: location(dataset))
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
