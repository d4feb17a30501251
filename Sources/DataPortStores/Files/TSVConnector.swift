import DataPortIO
import DataPortModel

/// A folder of tab-separated files (`\t` between fields, a header row, no quoting): one file per
/// dataset. An empty field is NULL; `\t`, `\n` and `\\` inside a value are escaped as in
/// PostgreSQL's text COPY format.
public final class TSVConnector: RowScanningConnector {
    public static let capabilities: StoreCapabilities = [.namedColumns]
    let store: FileStore
    var storeName: String { store.name }

    public init(config: StoreConfig) throws {
        store = try FileStore(config: config, options: ["path"])
    }

    /// The current line's fields and, for each configured field, its index in the header.
    final class Row {
        var fields: [Substring] = []
        var columns: [Int] = []
        var line = 0
    }

    private func lines(_ dataset: DatasetConfig, _ body: (Row) throws -> Bool) throws {
        let input = try store.open(dataset)
        var bytes: [UInt8] = []
        while let b = try input.next() { bytes.append(b) }
        let text = String(decoding: bytes, as: UTF8.self)
        var all = text.split(separator: "\n", omittingEmptySubsequences: false)
        if all.last == "" { all.removeLast() }
        guard let header = all.first?.split(separator: "\t", omittingEmptySubsequences: false) else { return }
        let row = Row()
        row.columns = try dataset.fields.map { f in
            guard let i = header.firstIndex(where: { $0 == f.column }) else {
                throw DataPortError(.invalidConfig, "dataset \(dataset.name): column \(f.column) (field \(f.name)) is not in the header of \(store.label(dataset))", at: "store \(store.name)")
            }
            return i
        }
        for (n, line) in all.enumerated().dropFirst() {
            row.fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            row.line = n + 1
            guard row.fields.count == header.count else {
                throw DataPortError(.store, "dataset \(dataset.name): a line has \(row.fields.count) fields, the header \(header.count)", at: "\(store.location(dataset)), line \(row.line)")
            }
            guard try body(row) else { return }
        }
    }

    public func validate() throws {
        for d in store.config.datasets { try lines(d) { _ in false } }
    }

    static func unescape(_ s: Substring) -> String {
        guard s.contains("\\") else { return String(s) }
        var out = "", escaped = false
        for c in s {
            if escaped { out.append(c == "t" ? "\t" : c == "n" ? "\n" : c); escaped = false } else if c == "\\" { escaped = true } else { out.append(c) }
        }
        return out
    }

    func scan(_ dataset: DatasetConfig, for subject: SubjectQuery, _ body: (Row) throws -> Bool) throws -> Int {
        let filter = SubjectRowFilter(dataset: dataset, subject: subject)
        guard filter.canMatch else { return 0 }
        let ruleFields = filter.rules.map { r in dataset.fields.firstIndex { $0.name == r.field.name }! }
        var count = 0
        try lines(dataset) { row in
            let belongs = filter.rules.indices.contains { r in
                let text = row.fields[row.columns[ruleFields[r]]]
                return !text.isEmpty && filter.rules[r].contains(Self.unescape(text))
            }
            guard belongs else { return true }
            count += 1
            return try body(row)
        }
        return count
    }

    func value(_ row: Row, field: Int, in dataset: DatasetConfig) throws -> Value {
        let text = row.fields[row.columns[field]]
        let cell: StoreCell = text.isEmpty ? .null : .text(Self.unescape(text))
        return try cell.value(of: dataset.fields[field], in: dataset.name, at: "\(store.location(dataset)), line \(row.line)")
    }

    public func close() {}
}

extension TSVConnector: StoreFileWriting {
    package static func fileContents(columns: [String], rows: [[Value]]) throws -> [UInt8] {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(of: "\n", with: "\\n")
        }
        var text = columns.joined(separator: "\t") + "\n"
        for row in rows {
            text += try zip(columns, row).map { c, v in try v.fileText(column: c).map(escape) ?? "" }.joined(separator: "\t") + "\n"
        }
        return Array(text.utf8)
    }
}
