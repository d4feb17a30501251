import DataPortIO
import DataPortModel

/// CSV data files (RFC 4180): one file per dataset, a header row of field names, one record per row.
///
/// UTF-8 without a byte-order mark, CRLF line ends, comma-separated. Each value is its canonical
/// text, exactly, for the machines an Art. 20 copy goes to (people get the xlsx workbooks); NULL is
/// an empty unquoted field and the empty string is `""`, so the two stay apart. With `formulaGuard`,
/// string values that a spreadsheet would run as a formula get a leading `'`; the manifest's
/// encoding notes say so, and the reader then removes it again. Specified in `formats/csv.md`.
public struct CSVFormat: FormatAdapter {
    /// Whether string values starting like a formula are written with a leading `'` (off by default:
    /// it changes the data for every tool but a spreadsheet).
    public var formulaGuard: Bool
    /// Whether each file starts with a UTF-8 byte-order mark (off by default), which makes Excel
    /// read a double-clicked file as UTF-8; the manifest's notes say so, and the reader skips it.
    public var byteOrderMark: Bool

    public init(formulaGuard: Bool = false, byteOrderMark: Bool = false) { self.formulaGuard = formulaGuard; self.byteOrderMark = byteOrderMark }
    public var name: String { "csv" }
    public var fileExtension: String { "csv" }
    public var mediaType: String { "text/csv" }
    public var summary: String { "CSV (RFC 4180): UTF-8, CRLF, header row; NULL is an empty field, \"\" the empty string" }
    /// RFC 4180 has no end mark: a file cut after a record's CRLF is a valid file of fewer records.
    public var isSelfDelimiting: Bool { false }

    /// Recorded per CSV file in the manifest: whether string values that start like a formula were neutralised.
    public var encodingNotes: [String: String] {
        var notes = formulaGuard ? ["formulaEscape": "apostrophe", "formulaTriggers": "= + - @ TAB CR NUL '", "null": "empty-unquoted-field"]
            : ["formulaEscape": "none", "null": "empty-unquoted-field"]
        if byteOrderMark { notes["byteOrderMark"] = "utf-8" }
        return notes
    }

    /// The reader for a file written with `notes`: bundles made before the guard became an option
    /// (and those made with it) say `formulaEscape: apostrophe`, and their reader removes the `'`.
    public func reading(encoding notes: [String: String]) throws -> any FormatAdapter {
        let bom: Bool
        switch notes["byteOrderMark"] {
        case "utf-8": bom = true
        case nil: bom = false
        default: throw DataPortError(.invalidBundle, "unknown CSV byteOrderMark in the manifest's encoding notes")
        }
        switch notes["formulaEscape"] {
        case "apostrophe": return CSVFormat(formulaGuard: true, byteOrderMark: bom)
        case "none", nil: return CSVFormat(formulaGuard: false, byteOrderMark: bom)
        default: throw DataPortError(.invalidBundle, "unknown CSV formulaEscape in the manifest's encoding notes")
        }
    }

    /// The longest record a reader accepts: every field may hold a value up to the writers' limit
    /// (`ValueLimits`, plus the formula escape), so a record may hold one in each.
    static func maxRecordBytes(fieldCount: Int) -> Int { max(1, fieldCount) * (ValueLimits.maxValueBytes + 1) }

    /// The field separator of DataPort's CSV files.
    static let delimiter = UInt8(ascii: ",")
    /// The escape written before a string value that starts with a formula trigger.
    static let formulaEscape = UInt8(ascii: "'")

    /// Whether a string value starting with `byte` is escaped with a leading `'`: the characters that make
    /// a spreadsheet evaluate a cell (`=`, `+`, `-`, `@`, tab, CR, NUL) and `'` itself, so the escape is reversible.
    @inline(__always) public static func isFormulaTrigger(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D, 0x00, UInt8(ascii: "'"): true
        default: false
        }
    }

    public func makeWriter(for dataset: Dataset, to sink: any ByteSink) throws -> any RecordWriter {
        try CSVRecordWriter(dataset: dataset, sink: sink, formulaGuard: formulaGuard, byteOrderMark: byteOrderMark)
    }

    public func makeReader(for dataset: Dataset, from source: any ByteSource) throws -> any RecordReader {
        try CSVRecordReader(dataset: dataset, source: source, formulaGuard: formulaGuard, byteOrderMark: byteOrderMark)
    }
}

final class CSVRecordWriter: RecordWriter {
    private let out: OutputBuffer
    private let types: [FieldType]
    private let name: String
    private let fieldNames: [String]
    private let formulaGuard: Bool
    private var count = 0

    init(dataset: Dataset, sink: any ByteSink, formulaGuard: Bool, byteOrderMark: Bool) throws {
        out = OutputBuffer(sink)
        self.formulaGuard = formulaGuard
        if byteOrderMark { try out.bytes("\u{FEFF}") }
        types = dataset.fields.map(\.type)
        fieldNames = dataset.fields.map(\.name)
        name = dataset.name
        for (i, f) in dataset.fields.enumerated() {
            if i > 0 { try out.byte(CSVFormat.delimiter) }
            try CSVText.appendField(f.name, delimiter: CSVFormat.delimiter, quoteEmpty: true, to: out)
        }
        try out.bytes("\r\n")
    }

    func write(_ record: Record) throws {
        count += 1
        guard record.values.count == types.count else {
            throw DataPortError(.internal, "record has \(record.values.count) values, the dataset has \(types.count) fields", at: "\(name).csv, record \(count)")
        }
        // Values read from the record's buffer, with no array or enumeration per field. The switch
        // still copies each value, a retain per string (perf; README, fifth session).
        let types = types
        try record.values.withUnsafeBufferPointer { values in
            for i in values.indices {
                if i > 0 { try out.byte(CSVFormat.delimiter) }
                if let t = values[i].type, t != types[i] {
                    throw DataPortError(.internal, "a \(t.rawValue) value in a \(types[i].rawValue) field", at: "\(name).csv, record \(count), field \(i + 1)")
                }
                switch values[i] {
                case .null: break
                case .string(let s):
                    let first = s.utf8.first
                    let escape = formulaGuard && first.map(CSVFormat.isFormulaTrigger) == true ? CSVFormat.formulaEscape : nil
                    if s.utf8.count + (escape == nil ? 0 : 1) > ValueLimits.maxValueBytes { throw tooLarge(i) }
                    try CSVText.appendField(s, delimiter: CSVFormat.delimiter, prefix: escape, quoteEmpty: true, to: out)
                case .integer(let n): try out.integer(n)
                case .decimal(let d): try out.text(d.text)
                case .boolean(let b): try out.bytes(b ? "true" : "false")
                case .timestamp(let t): try t.withCanonicalBytes { try out.bytes($0) }
                case .date(let d): try out.text(d.text)
                case .binary(let b):
                    // The empty binary value is quoted so that it differs from NULL.
                    if b.isEmpty { try out.bytes("\"\"") } else {
                        if (b.count + 2) / 3 * 4 > ValueLimits.maxValueBytes { throw tooLarge(i) }
                        try Base64.append(b, to: out)
                    }
                }
            }
        }
        try out.bytes("\r\n")
    }

    /// A value readers would refuse (`ValueLimits`): refused here first, naming dataset and field.
    private func tooLarge(_ i: Int) -> DataPortError {
        DataPortError(.limitExceeded, "a value of field \(fieldNames[i]) is larger than the JSON and CSV limit of \(ValueLimits.maxValueBytes) bytes",
                      at: "dataset \(name), record \(count)", code: .valueTooLarge)
    }

    func finish() throws {
        try out.flush()
    }
}

/// Standard base64 with padding (RFC 4648 §4), straight into the output: no intermediate string per value.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func append(_ bytes: [UInt8], to out: OutputBuffer) throws {
        var i = 0
        let n = bytes.count
        while i + 3 <= n {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            try out.byte(alphabet[Int(v >> 18 & 63)])
            try out.byte(alphabet[Int(v >> 12 & 63)])
            try out.byte(alphabet[Int(v >> 6 & 63)])
            try out.byte(alphabet[Int(v & 63)])
            i += 3
        }
        switch n - i {
        case 1:
            let v = UInt32(bytes[i]) << 16
            try out.byte(alphabet[Int(v >> 18 & 63)])
            try out.byte(alphabet[Int(v >> 12 & 63)])
            try out.bytes("==")
        case 2:
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            try out.byte(alphabet[Int(v >> 18 & 63)])
            try out.byte(alphabet[Int(v >> 12 & 63)])
            try out.byte(alphabet[Int(v >> 6 & 63)])
            try out.byte(UInt8(ascii: "="))
        default: break
        }
    }
}

final class CSVRecordReader: RecordReader {
    private let parser: CSVParser
    private let types: [FieldType]
    private let names: [String]
    private let formulaGuard: Bool

    /// With `byteOrderMark` (the manifest says the file starts with one) the mark is skipped.
    init(dataset: Dataset, source: any ByteSource, formulaGuard: Bool, byteOrderMark: Bool) throws {
        self.formulaGuard = formulaGuard
        types = dataset.fields.map(\.type)
        names = dataset.fields.map(\.name)
        let options = CSVParser.Options(delimiter: CSVFormat.delimiter, allowsByteOrderMark: byteOrderMark,
                                        allowsNULInQuotedFields: true, requiresFinalLineBreak: true,
                                        maxRecordBytes: CSVFormat.maxRecordBytes(fieldCount: dataset.fields.count))
        parser = try CSVParser(InputBuffer(source), name: "\(dataset.name).csv", options: options, errorKind: .invalidBundle)
        try readHeader()
    }

    /// The header must name the dataset's fields, in order. The message names the expected field, never
    /// what was found (a damaged file could hold anything there).
    private func readHeader() throws {
        let header = try parser.readHeader()
        for (i, expected) in names.enumerated() {
            guard i < header.count else {
                throw parser.error("the header has \(header.count) field\(header.count == 1 ? "" : "s"), the dataset has \(names.count)", line: parser.recordLine, column: 1)
            }
            guard header[i] == expected else {
                throw parser.error("header field \(i + 1) should be \(expected)", field: i)
            }
        }
        guard header.count == names.count else {
            throw parser.error("the header has \(header.count) fields, the dataset has \(names.count)", field: names.count)
        }
    }

    func next() throws -> Record? {
        guard try parser.nextRecord() else { return nil }
        var values: [Value] = []
        values.reserveCapacity(types.count)
        for i in 0..<types.count { values.append(try value(i)) }
        return Record(values)
    }

    /// Field `i` of the current row as a value of its type, or `nil` when the text is not valid for it.
    private func typedValue(_ i: Int) -> Value? {
        if parser.isEmpty(i) && !parser.isQuoted(i) { return .null }
        let type = types[i]
        if type == .string {
            return .string(formulaGuard && parser.firstByte(i) == CSVFormat.formulaEscape ? parser.text(i, droppingFirst: 1) : parser.text(i))
        }
        return Value.parse(canonical: parser.text(i), as: type)
    }

    private func value(_ i: Int) throws -> Value {
        guard let v = typedValue(i) else {
            throw parser.error("\(names[i]) is not a valid \(types[i].rawValue)", field: i)
        }
        return v
    }
}
