import DataPortIO
import DataPortModel

/// A folder of JSON Lines files (one JSON object per line), such as a mailing tool's event log.
///
/// Each dataset names its file
/// (`"file": "events.jsonl"`), maps fields to top-level keys with `column`, and is matched by identity
/// only. Every line is parsed strictly (RFC 8259, no duplicate keys) and must hold exactly one object;
/// a missing key or `null` is NULL; integers are integers, other numbers keep their exact text;
/// `true`/`false` are the text `true`/`false`; nested arrays and objects are their compact JSON text.
/// Rows come in file order. Specified in `formats/csv.md` (store connectors).
public final class JSONLinesConnector: RowScanningConnector {
    /// Read-only, identity matches only; every read opens the file again (no snapshot).
    public static let capabilities: StoreCapabilities = [.namedColumns]
    let store: FileStore
    var storeName: String { store.name }

    /// The options a jsonl store accepts.
    public static let options: [StoreOption] = [FileStore.folderOption]

    public init(config: StoreConfig) throws {
        store = try FileStore(config: config, options: Self.options)
    }

    /// The cells of the current line, one per configured field, with where each value starts.
    final class Row {
        var cells: [StoreCell]
        var lines: [Int]
        var columns: [Int]
        /// Where the line's bytes are in the file, line end included (for erasure).
        var range: Range<Int64> = 0..<0
        init(count: Int) {
            cells = Array(repeating: .null, count: count)
            lines = Array(repeating: 0, count: count)
            columns = Array(repeating: 0, count: count)
        }
        func reset() { for i in cells.indices { cells[i] = .null; lines[i] = 0; columns[i] = 0 } }
    }

    /// Reads every line of the dataset's file; `body` gets each row's cells and returns `false` to stop.
    /// `seen`, if given, collects the keys that occur in any row.
    private func lines(_ dataset: DatasetConfig, seen: KeyCollector? = nil, _ body: (Row, JSONReader) throws -> Bool) throws {
        let input = try store.open(dataset)
        let name = store.location(dataset)
        var slots: [String: [Int]] = [:]
        for (i, f) in dataset.fields.enumerated() { slots[f.column, default: []].append(i) }
        let row = Row(count: dataset.fields.count)
        while let first = try input.peek() {
            let line = input.line, start = input.offset
            let reader = JSONReader(input, name: name, errorKind: .store)
            if first == 0x0A || first == 0x0D { throw reader.fail("blank line (each line must hold one JSON object)") }
            guard try reader.next() == .beginObject else { throw reader.fail("each line must hold one JSON object") }
            row.reset()
            while true {
                let event = try reader.next()
                if event == .endObject { break }
                guard case .key(let key) = event else { throw reader.fail("expected a key") }
                seen?.keys.insert(key)
                let valueLine = input.line, valueColumn = input.column
                let value = try reader.next()
                guard let targets = slots[key] else { try reader.skipValue(startingWith: value); continue }
                let cell = Self.cell(try JSONValue.parse(reader, first: value))
                for t in targets { row.cells[t] = cell; row.lines[t] = valueLine; row.columns[t] = valueColumn }
            }
            guard input.line == line else { throw reader.fail("a JSON object must not span several lines") }
            // The rest of the line: optional blanks, then the line end or the end of the file.
            while let b = try input.peek(), b == 0x20 || b == 0x09 || b == 0x0D {
                _ = try input.next()
                if b == 0x0D { guard try input.peek() == 0x0A else { throw reader.fail("carriage return without a line feed") } }
            }
            if let b = try input.peek() {
                guard b == 0x0A else { throw reader.fail("unexpected data after the object (one object per line)") }
                _ = try input.next()
            }
            row.range = start..<input.offset
            guard try body(row, reader) else { return }
        }
    }

    /// Collects keys seen across rows (a class so the line loop can fill it through an optional).
    private final class KeyCollector { var keys = Set<String>() }

    /// A JSON value as a raw store cell: integers as integers, other numbers as their exact text.
    static func cell(_ value: JSONValue) -> StoreCell {
        switch value {
        case .null: return .null
        case .bool(let b): return .text(b ? "true" : "false")
        case .string(let s): return .text(s)
        case .number(let n):
            if !n.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }), let i = Int64(n) {
                return .integer(i)
            }
            return .text(n)
        case .array, .object: return .text(value.serialized(pretty: false))
        }
    }

    /// Every file exists and parses, and every configured column occurs as a key in at least one line
    /// (an empty file has nothing to check).
    public func validate() throws {
        for d in store.config.datasets {
            let seen = KeyCollector()
            var rows = 0
            try lines(d, seen: seen) { _, _ in rows += 1; return true }
            guard rows > 0 else { continue }
            if let missing = d.fields.first(where: { !seen.keys.contains($0.column) }) {
                throw DataPortError(.invalidConfig, "dataset \(d.name): column \(missing.column) (field \(missing.name)) occurs in no line of \(store.label(d))", at: "store \(store.name)", code: .missingColumn)
            }
        }
    }

    /// Calls `body` for each of the subject's rows, in file order; returns the number of rows.
    func scan(_ dataset: DatasetConfig, for subject: SubjectQuery, _ body: (Row) throws -> Bool) throws -> Int {
        let filter = SubjectRowFilter(dataset: dataset, subject: subject)
        guard filter.canMatch else { return 0 }
        let fieldIndex = Dictionary(uniqueKeysWithValues: dataset.fields.enumerated().map { ($1.name, $0) })
        let ruleFields = filter.rules.map { fieldIndex[$0.field.name]! }
        var count = 0
        try lines(dataset) { row, _ in
            var belongs = false
            for (r, rule) in filter.rules.enumerated() {
                let text: String
                switch row.cells[ruleFields[r]] {
                case .text(let s): text = s
                case .integer(let i): text = String(i)
                case .null, .real, .blob: continue
                }
                if rule.contains(text) { belongs = true; break }
            }
            guard belongs else { return true }
            count += 1
            return try body(row)
        }
        return count
    }

    /// The typed value of configured field `field` in `row`, or a store error at its value.
    func value(_ row: Row, field: Int, in dataset: DatasetConfig) throws -> Value {
        try row.cells[field].value(of: dataset.fields[field], in: dataset.name,
                                   at: "\(store.location(dataset)), line \(row.lines[field]), column \(row.columns[field])")
    }

    public func close() {}
}

extension JSONLinesConnector: StoreFileWriting {
    /// One object per row: numbers for integers and decimals, `true`/`false`, `null`, text otherwise.
    package static func fileContents(columns: [String], rows: [[Value]]) throws -> [UInt8] {
        var text = ""
        for row in rows {
            let members = try zip(columns, row).map { column, value -> JSONValue.Member in
                switch value {
                case .null: JSONValue.Member(column, .null)
                case .integer(let i): JSONValue.Member(column, .number(String(i)))
                case .decimal(let d): JSONValue.Member(column, .number(d.text))
                case .boolean(let b): JSONValue.Member(column, .bool(b))
                default: JSONValue.Member(column, .string(try value.fileText(column: column) ?? ""))
                }
            }
            text += JSONValue.object(members).serialized(pretty: false) + "\n"
        }
        return Array(text.utf8)
    }
}
