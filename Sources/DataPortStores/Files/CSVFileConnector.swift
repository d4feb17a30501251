import DataPortIO
import DataPortModel
import Foundation

/// A folder of CSV files, such as a mailing tool's audience export: one file per dataset, with a header row.
///
/// Options: `path` (the folder; relative to the config file), `delimiter` (one character, default `,`;
/// `tab` or `\t` for tab-separated files). Each dataset names its file (`"file": "audience.csv"`), maps
/// fields to header columns with `column`, and is matched by identity only. Rows come in file order.
/// An empty unquoted cell is NULL; a quoted empty cell (`""`) is the empty string for string fields and
/// NULL otherwise. A leading byte-order mark is skipped. Specified in `formats/csv.md`.
public final class CSVFileConnector: StoreConnector {
    private let store: FileStore
    private let delimiter: UInt8

    public init(config: StoreConfig) throws {
        store = try FileStore(config: config, options: ["path", "delimiter"])
        let raw = config.options["delimiter"] ?? ","
        let text = raw == "tab" || raw == "\\t" ? "\t" : raw
        guard text.utf8.count == 1, let byte = text.utf8.first, CSVParser.isValidDelimiter(byte) else {
            throw DataPortError(.invalidConfig, "options.delimiter must be one ASCII character other than a quote or a line break (or \"tab\")", at: "store \(config.name)")
        }
        delimiter = byte
    }

    /// An open file positioned after its header, with the header column of each configured field.
    private struct OpenFile {
        var parser: CSVParser
        /// For each of the dataset's configured fields (secrets included), its index in the header.
        var columns: [Int]
    }

    private func open(_ dataset: DatasetConfig) throws -> OpenFile {
        let input = try store.open(dataset)
        let options = CSVParser.Options(delimiter: delimiter, allowsByteOrderMark: true)
        let parser = try CSVParser(input, name: store.location(dataset), options: options, errorKind: .store)
        let header = try parser.readHeader()
        var index: [String: Int] = [:]
        var repeated = Set<String>()
        for (i, name) in header.enumerated() where index.updateValue(i, forKey: name) != nil { repeated.insert(name) }
        let columns = try dataset.fields.map { f in
            guard let i = index[f.column] else {
                throw DataPortError(.invalidConfig, "dataset \(dataset.name): column \(f.column) (field \(f.name)) is not in the header of \(store.label(dataset))", at: "store \(store.name)")
            }
            guard !repeated.contains(f.column) else {
                throw DataPortError(.invalidConfig, "dataset \(dataset.name): column \(f.column) appears more than once in the header of \(store.label(dataset))", at: "store \(store.name)")
            }
            return i
        }
        return OpenFile(parser: parser, columns: columns)
    }

    public func validate() throws {
        for d in store.config.datasets { _ = try open(d) }
    }

    /// The raw cell of configured field `field` in the current row.
    private func cell(_ file: OpenFile, field: Int, type: FieldType) -> StoreCell {
        let i = file.columns[field]
        if file.parser.isEmpty(i) {
            return file.parser.isQuoted(i) && type == .string ? .text("") : .null
        }
        return .text(file.parser.text(i))
    }

    /// Calls `body` for each of the subject's rows, in file order; returns the number of rows.
    private func scan(_ dataset: DatasetConfig, for subject: SubjectQuery, _ body: (OpenFile) throws -> Bool) throws -> Int {
        let filter = SubjectRowFilter(dataset: dataset, subject: subject)
        guard filter.canMatch else { return 0 }
        let file = try open(dataset)
        let fieldIndex = Dictionary(uniqueKeysWithValues: dataset.fields.enumerated().map { ($1.name, $0) })
        let ruleFields = filter.rules.map { fieldIndex[$0.field.name]! }
        var count = 0
        while try file.parser.nextRecord() {
            var belongs = false
            for (r, rule) in filter.rules.enumerated() {
                let i = file.columns[ruleFields[r]]
                if !file.parser.isEmpty(i), rule.contains(file.parser.text(i)) { belongs = true; break }
            }
            guard belongs else { continue }
            count += 1
            guard try body(file) else { break }
        }
        return count
    }

    /// The typed value of configured field `field` in the current row, or a store error at its cell.
    private func value(_ file: OpenFile, field: Int, in dataset: DatasetConfig) throws -> Value {
        let f = dataset.fields[field]
        guard let v = cell(file, field: field, type: f.type).value(as: f.type) else {
            throw file.parser.error("dataset \(dataset.name), field \(f.name): a value is not a valid \(f.type.rawValue)", field: file.columns[field])
        }
        return v
    }

    public func distinctValues(of field: String, in dataset: DatasetConfig, for subject: SubjectQuery, limit: Int) throws -> [String] {
        guard let index = dataset.fields.firstIndex(where: { $0.name == field }) else {
            throw DataPortError(.invalidConfig, "dataset \(dataset.name) has no field \(field)", at: "store \(store.name)")
        }
        var seen = Set<String>()
        var out: [String] = []
        _ = try scan(dataset, for: subject) { file in
            if let text = try value(file, field: index, in: dataset).canonicalText, seen.insert(text).inserted { out.append(text) }
            return out.count < limit
        }
        return out
    }

    @discardableResult
    public func read(_ dataset: DatasetConfig, for subject: SubjectQuery, into body: (Record) throws -> Void) throws -> Int {
        let exported = dataset.fields.indices.filter { !dataset.fields[$0].secret }
        return try scan(dataset, for: subject) { file in
            var values: [Value] = []
            values.reserveCapacity(exported.count)
            for i in exported { values.append(try value(file, field: i, in: dataset)) }
            try body(Record(values))
            return true
        }
    }

    public func close() {}
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
/// field's value in normal form (e-mail trimmed and lower-cased, integers canonical) equals one of the
/// subject's values of that kind exactly. Never by substring or prefix.
struct SubjectRowFilter {
    struct Rule {
        var field: FieldConfig
        var kind: IdentityKind
        var values: Set<String>

        func contains(_ raw: String) -> Bool {
            guard let key = SubjectRowFilter.key(raw, kind: kind, type: field.type) else { return false }
            return values.contains(key)
        }
    }

    /// The rules for which the subject has values (a match without values can select nothing).
    let rules: [Rule]

    init(dataset: DatasetConfig, subject: SubjectQuery) {
        var rules: [Rule] = []
        for case .identity(let kind, let name) in dataset.matches {
            guard let field = dataset.field(named: name) else { continue }
            let values = Set(subject.values(kind).compactMap { Self.key($0, kind: kind, type: field.type) })
            if !values.isEmpty { rules.append(Rule(field: field, kind: kind, values: values)) }
        }
        self.rules = rules
    }

    var canMatch: Bool { !rules.isEmpty }

    /// The normal form a value is compared in; `nil` for a value that matches nothing (empty, or not an integer in an integer field).
    static func key(_ raw: String, kind: IdentityKind, type: FieldType) -> String? {
        let normal = kind.normalize(raw)
        guard !normal.isEmpty else { return nil }
        if type == .integer { return Int64(normal).map { String($0) } }
        return normal
    }
}
