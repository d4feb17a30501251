import DataPortIO
import DataPortModel
import Foundation

/// A folder of CSV files, such as a mailing tool's audience export: one file per dataset, with a header row.
///
/// Each dataset names its file (`"file": "audience.csv"`), maps
/// fields to header columns with `column`, and is matched by identity only. Rows come in file order.
/// An empty unquoted cell is NULL; a quoted empty cell (`""`) is the empty string for string fields and
/// NULL otherwise. A leading byte-order mark is skipped. Specified in `formats/csv.md`.
public final class CSVFileConnector: RowScanningConnector {
    /// Read-only, identity matches only; every read opens the file again (no snapshot).
    public static let capabilities: StoreCapabilities = [.namedColumns]
    let store: FileStore
    var storeName: String { store.name }
    let delimiter: UInt8

    /// The options a csv store accepts.
    public static let options: [StoreOption] = [
        FileStore.folderOption,
        StoreOption("delimiter", .delimiter, default: ",", help: "The character between cells; `tab` (or `\\t`) for tab-separated files."),
    ]

    public init(config: StoreConfig) throws {
        store = try FileStore(config: config, options: Self.options)
        // The check made sure it is one.
        delimiter = store.options.text("delimiter").flatMap(StoreOption.delimiter) ?? UInt8(ascii: ",")
    }

    /// An open file positioned after its header, with the header column of each configured field.
    struct OpenFile {
        var parser: CSVParser
        /// For each of the dataset's configured fields (secrets included), its index in the header.
        var columns: [Int]
        let input: InputBuffer
        /// Where the current record's bytes are in the file, line end included (for erasure).
        let span = RecordSpan()
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
                throw DataPortError(.invalidConfig, "dataset \(dataset.name): column \(f.column) (field \(f.name)) is not in the header of \(store.label(dataset))", at: "store \(store.name)", code: .missingColumn)
            }
            guard !repeated.contains(f.column) else {
                throw DataPortError(.invalidConfig, "dataset \(dataset.name): column \(f.column) appears more than once in the header of \(store.label(dataset))", at: "store \(store.name)")
            }
            return i
        }
        return OpenFile(parser: parser, columns: columns, input: input)
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
    func scan(_ dataset: DatasetConfig, for subject: SubjectQuery, _ body: (OpenFile) throws -> Bool) throws -> Int {
        let filter = SubjectRowFilter(dataset: dataset, subject: subject)
        guard filter.canMatch else { return 0 }
        let file = try open(dataset)
        let fieldIndex = Dictionary(uniqueKeysWithValues: dataset.fields.enumerated().map { ($1.name, $0) })
        let ruleFields = filter.rules.map { fieldIndex[$0.field.name]! }
        var count = 0
        var start = file.input.offset
        while try file.parser.nextRecord() {
            file.span.range = start..<file.input.offset
            start = file.input.offset
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
    func value(_ file: OpenFile, field: Int, in dataset: DatasetConfig) throws -> Value {
        let f = dataset.fields[field]
        guard let v = cell(file, field: field, type: f.type).value(as: f.type) else {
            throw file.parser.error("dataset \(dataset.name), field \(f.name): a value is not a valid \(f.type.rawValue)", field: file.columns[field])
        }
        return v
    }

    public func close() {}
}


extension CSVFileConnector: StoreFileWriting {
    /// A header and one line per row, `,`-separated: NULL is an empty field, the empty string `""`.
    package static func fileContents(columns: [String], rows: [[Value]]) throws -> [UInt8] {
        var text = columns.map { CSVText.field($0) }.joined(separator: ",") + "\n"
        for row in rows {
            text += try zip(columns, row).map { column, value in
                guard let s = try value.fileText(column: column) else { return "" }
                return s.isEmpty ? "\"\"" : CSVText.field(s)
            }.joined(separator: ",") + "\n"
        }
        return Array(text.utf8)
    }
}
