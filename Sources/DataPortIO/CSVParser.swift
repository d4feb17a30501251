import DataPortModel

/// One parsed CSV field with its position, for code that is not per-byte hot (configs, tests).
package struct CSVField: Sendable, Hashable {
    package var text: String
    /// Whether the field was enclosed in quotes: `""` (quoted, empty) differs from nothing at all.
    package var quoted: Bool
    /// 1-based position of the field's first byte (its opening quote when quoted).
    package var line: Int
    package var column: Int

    package init(text: String, quoted: Bool, line: Int, column: Int) {
        self.text = text; self.quoted = quoted; self.line = line; self.column = column
    }
}

/// A strict, streaming RFC 4180 CSV parser over an `InputBuffer`.
///
/// One record at a time is held, in one reused byte buffer: `nextRecord()` replaces it, and the
/// accessors (`text(_:)`, `isQuoted(_:)`, `position(ofField:)`) read the current record's fields.
/// CRLF and LF line ends are accepted; a bare CR outside quotes is not. Every record must have as
/// many fields as the first (the header). Malformed input throws `DataPortError` of the kind given
/// at creation with `"<name>, line L, column C"` as location; the parser never traps.
package final class CSVParser {
    /// How the input is read.
    package struct Options: Sendable {
        /// The field separator: one ASCII byte other than `"`, CR, LF and NUL.
        package var delimiter: UInt8
        /// Skip a leading UTF-8 byte-order mark (spreadsheet exports carry one) instead of refusing it.
        package var allowsByteOrderMark: Bool
        /// Accept NUL bytes inside quoted fields. NUL is refused everywhere else: it breaks most CSV tools.
        package var allowsNULInQuotedFields: Bool
        /// Require a line break after the last record (catches a file cut in the middle of a record).
        package var requiresFinalLineBreak: Bool
        /// Longest record, in bytes.
        package var maxRecordBytes: Int
        /// Most fields in a record.
        package var maxFields: Int

        package init(delimiter: UInt8 = UInt8(ascii: ","), allowsByteOrderMark: Bool = false,
                    allowsNULInQuotedFields: Bool = false, requiresFinalLineBreak: Bool = false,
                    maxRecordBytes: Int = ValueLimits.maxValueBytes, maxFields: Int = 100_000) {
            self.delimiter = delimiter; self.allowsByteOrderMark = allowsByteOrderMark
            self.allowsNULInQuotedFields = allowsNULInQuotedFields; self.requiresFinalLineBreak = requiresFinalLineBreak
            self.maxRecordBytes = maxRecordBytes; self.maxFields = maxFields
        }
    }

    private static let quote = UInt8(ascii: "\"")
    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A

    /// Whether `byte` can separate fields.
    package static func isValidDelimiter(_ byte: UInt8) -> Bool {
        byte > 0 && byte < 0x80 && byte != quote && byte != cr && byte != lf
    }

    private let input: InputBuffer
    /// The file name used in error locations.
    package let name: String
    package let options: Options
    private let errorKind: DataPortError.Kind
    private let delimiter: UInt8

    // The current record: all field bytes back to back, and per field its end, quoting and position.
    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    private var quotedFlags: [Bool] = []
    private var lines: [Int] = []
    private var columns: [Int] = []
    /// The line the current record starts on.
    package private(set) var recordLine = 0
    /// The number of fields every record must have (set by the first record).
    package private(set) var expectedFieldCount: Int?
    /// Records read so far, the header included.
    package private(set) var recordsRead = 0

    private var started = false
    // Position of the byte most recently taken, for errors about it.
    private var byteLine = 1
    private var byteColumn = 1
    // Incremental UTF-8 validation: continuation bytes still expected and the range of the next one.
    private var utf8Need = 0
    private var utf8Lower: UInt8 = 0x80
    private var utf8Upper: UInt8 = 0xBF

    /// - Parameters:
    ///   - name: the file name used in error locations.
    ///   - errorKind: the kind of error thrown for malformed input (`invalidBundle` for bundles, `store` for stores).
    /// - Throws: `invalidConfig` when the delimiter cannot be one.
    package init(_ input: InputBuffer, name: String, options: Options = Options(), errorKind: DataPortError.Kind = .invalidBundle) throws {
        guard Self.isValidDelimiter(options.delimiter) else {
            throw DataPortError(.invalidConfig, "a CSV delimiter must be one ASCII character other than a quote or a line break", at: name)
        }
        self.input = input; self.name = name; self.options = options; self.errorKind = errorKind
        delimiter = options.delimiter
    }

    // MARK: The current record

    /// The number of fields of the current record.
    package var fieldCount: Int { ends.count }

    private func range(_ i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    /// The text of field `i` of the current record (quotes removed, doubled quotes undone).
    package func text(_ i: Int) -> String {
        String(decoding: bytes[range(i)], as: UTF8.self)
    }

    /// The text of field `i` without its first `count` bytes (which must be ASCII, e.g. an escape character).
    package func text(_ i: Int, droppingFirst count: Int) -> String {
        let r = range(i)
        return String(decoding: bytes[min(r.lowerBound + count, r.upperBound)..<r.upperBound], as: UTF8.self)
    }

    /// The UTF-8 bytes of field `i` (a slice of the parser's buffer: valid until the next record).
    package func bytes(_ i: Int) -> ArraySlice<UInt8> { bytes[range(i)] }

    /// The first byte of field `i`, or `nil` when it is empty.
    package func firstByte(_ i: Int) -> UInt8? {
        let r = range(i)
        return r.isEmpty ? nil : bytes[r.lowerBound]
    }

    /// Whether field `i` holds no characters (quoted or not).
    package func isEmpty(_ i: Int) -> Bool { range(i).isEmpty }

    /// Whether field `i` was enclosed in quotes.
    package func isQuoted(_ i: Int) -> Bool { quotedFlags[i] }

    /// "line L, column C" of field `i`'s first byte.
    package func position(ofField i: Int) -> String { "line \(lines[i]), column \(columns[i])" }

    /// The fields of the current record as values.
    package var fields: [CSVField] {
        (0..<fieldCount).map { CSVField(text: text($0), quoted: quotedFlags[$0], line: lines[$0], column: columns[$0]) }
    }

    /// An error of the parser's kind located at field `i` of the current record.
    package func error(_ message: String, field i: Int) -> DataPortError {
        DataPortError(errorKind, message, at: "\(name), \(position(ofField: i))")
    }

    /// An error of the parser's kind at a position.
    package func error(_ message: String, line: Int, column: Int) -> DataPortError {
        DataPortError(errorKind, message, at: "\(name), line \(line), column \(column)")
    }

    private func malformed(_ message: String, line: Int, column: Int) -> DataPortError {
        error("malformed CSV: \(message)", line: line, column: column)
    }

    /// Reads the first record as the header row and returns its field texts.
    /// Throws when the input is empty.
    package func readHeader() throws -> [String] {
        guard try nextRecord() else { throw malformed("the header row is missing", line: 1, column: 1) }
        return (0..<fieldCount).map(text)
    }

    // MARK: Parsing

    private enum FieldEnd { case delimiter, lineBreak, endOfInput }

    /// Takes the next byte, remembering its position for errors.
    @inline(__always) private func take() throws -> UInt8? {
        byteLine = input.line
        byteColumn = input.column
        return try input.next()
    }

    /// Feeds one byte to the UTF-8 validator; `false` when it makes the input invalid UTF-8.
    @inline(__always) private func validUTF8(_ b: UInt8) -> Bool {
        if utf8Need == 0 {
            if b < 0x80 { return true }
            switch b {
            case 0xC2...0xDF: utf8Need = 1
            case 0xE0: utf8Need = 2; utf8Lower = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: utf8Need = 2
            case 0xED: utf8Need = 2; utf8Upper = 0x9F // no UTF-16 surrogates
            case 0xF0: utf8Need = 3; utf8Lower = 0x90
            case 0xF1...0xF3: utf8Need = 3
            case 0xF4: utf8Need = 3; utf8Upper = 0x8F // nothing above U+10FFFF
            default: return false
            }
            return true
        }
        guard b >= utf8Lower && b <= utf8Upper else { return false }
        utf8Lower = 0x80; utf8Upper = 0xBF
        utf8Need -= 1
        return true
    }

    @inline(__always) private func append(_ b: UInt8) throws {
        bytes.append(b)
        if bytes.count > options.maxRecordBytes {
            throw DataPortError(.limitExceeded, "CSV record longer than \(options.maxRecordBytes) bytes", at: "\(name), line \(recordLine)")
        }
    }

    /// Reads the next record; `false` at the end of the input.
    package func nextRecord() throws -> Bool {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        quotedFlags.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        columns.removeAll(keepingCapacity: true)
        guard let first = try input.peek() else { return false }
        recordLine = input.line
        var seeded = false
        if !started {
            started = true
            if first == 0xEF {
                seeded = try byteOrderMark()
                if !seeded, try input.peek() == nil { return false }
            }
        }
        var endLine = 0, endColumn = 0
        while true {
            let fieldLine = seeded ? 1 : input.line, fieldColumn = seeded ? 1 : input.column
            if let expected = expectedFieldCount, ends.count == expected {
                throw malformed("record has more fields than the header's \(expected)", line: fieldLine, column: fieldColumn)
            }
            guard ends.count < options.maxFields else {
                throw DataPortError(.limitExceeded, "CSV record with more than \(options.maxFields) fields", at: "\(name), line \(recordLine)")
            }
            lines.append(fieldLine)
            columns.append(fieldColumn)
            let end: FieldEnd
            if !seeded, try input.peek() == Self.quote {
                _ = try take()
                quotedFlags.append(true)
                end = try quotedField(line: fieldLine, column: fieldColumn)
            } else {
                quotedFlags.append(false)
                end = try unquotedField()
            }
            seeded = false
            ends.append(bytes.count)
            if end == .delimiter { continue }
            if end == .endOfInput {
                endLine = input.line; endColumn = input.column
                if options.requiresFinalLineBreak {
                    throw malformed("the last record has no line break (is the file cut short?)", line: endLine, column: endColumn)
                }
            } else {
                endLine = byteLine; endColumn = byteColumn
            }
            break
        }
        if let expected = expectedFieldCount {
            guard ends.count == expected else {
                throw malformed("record has \(ends.count) field\(ends.count == 1 ? "" : "s"), the header has \(expected)", line: endLine, column: endColumn)
            }
        } else {
            expectedFieldCount = ends.count
        }
        recordsRead += 1
        return true
    }

    /// Handles a leading 0xEF: skips or refuses a byte-order mark; any other character starts the first field.
    /// Returns whether the first field has begun (with the character's bytes already in the buffer).
    private func byteOrderMark() throws -> Bool {
        var taken: [UInt8] = []
        for _ in 0..<3 {
            guard let b = try take() else { throw malformed("invalid UTF-8", line: input.line, column: input.column) }
            guard validUTF8(b) else { throw malformed("invalid UTF-8", line: byteLine, column: byteColumn) }
            taken.append(b)
        }
        if taken == [0xEF, 0xBB, 0xBF] {
            guard options.allowsByteOrderMark else { throw malformed("a byte-order mark is not allowed", line: 1, column: 1) }
            return false
        }
        bytes.append(contentsOf: taken)
        return true
    }

    private func unquotedField() throws -> FieldEnd {
        while true {
            guard let b = try take() else {
                if utf8Need > 0 { throw malformed("invalid UTF-8 (truncated character)", line: input.line, column: input.column) }
                return .endOfInput
            }
            if b >= 0x80 || utf8Need > 0 {
                guard validUTF8(b) else { throw malformed("invalid UTF-8", line: byteLine, column: byteColumn) }
                try append(b)
                continue
            }
            switch b {
            case delimiter: return .delimiter
            case Self.lf: return .lineBreak
            case Self.cr: return try lineBreakAfterCR("outside quotes")
            case Self.quote:
                throw malformed("quote inside an unquoted field (quote the whole field and double the quote)", line: byteLine, column: byteColumn)
            case 0:
                throw malformed("NUL byte", line: byteLine, column: byteColumn)
            default:
                try append(b)
            }
        }
    }

    private func quotedField(line: Int, column: Int) throws -> FieldEnd {
        while true {
            guard let b = try take() else {
                throw malformed("unterminated quoted field (the quote opened here is never closed)", line: line, column: column)
            }
            if b >= 0x80 || utf8Need > 0 {
                guard validUTF8(b) else { throw malformed("invalid UTF-8", line: byteLine, column: byteColumn) }
                try append(b)
                continue
            }
            if b == Self.quote {
                if try input.peek() == Self.quote {
                    _ = try take()
                    try append(Self.quote)
                    continue
                }
                return try afterClosingQuote()
            }
            if b == 0 && !options.allowsNULInQuotedFields { throw malformed("NUL byte", line: byteLine, column: byteColumn) }
            try append(b)
        }
    }

    /// A CR just taken must start a CRLF line break; the break is reported at the CR.
    private func lineBreakAfterCR(_ place: String) throws -> FieldEnd {
        let line = byteLine, column = byteColumn
        guard try input.peek() == Self.lf else {
            throw malformed("carriage return without a line feed \(place)", line: line, column: column)
        }
        _ = try take()
        byteLine = line; byteColumn = column
        return .lineBreak
    }

    private func afterClosingQuote() throws -> FieldEnd {
        guard let b = try take() else { return .endOfInput }
        switch b {
        case delimiter: return .delimiter
        case Self.lf: return .lineBreak
        case Self.cr: return try lineBreakAfterCR("after a closing quote")
        default:
            throw malformed("unexpected character after a closing quote (expected a delimiter or a line break)", line: byteLine, column: byteColumn)
        }
    }
}

/// Writing CSV fields (RFC 4180 quoting), shared by the CSV format writer and anything else that emits CSV.
package enum CSVText {
    /// Whether a field must be enclosed in quotes: it holds the delimiter, a quote, CR, LF or NUL.
    package static func needsQuoting(_ s: String, delimiter: UInt8 = UInt8(ascii: ",")) -> Bool {
        s.utf8.contains { needsQuoting(byte: $0, delimiter: delimiter) }
    }

    @inlinable @inline(__always)
    static func needsQuoting(byte b: UInt8, delimiter: UInt8) -> Bool {
        b == delimiter || b == 0x22 || b == 0x0D || b == 0x0A || b == 0
    }

    /// `s` as a CSV field: unchanged, or quoted with its quotes doubled when it needs quoting.
    package static func field(_ s: String, delimiter: UInt8 = UInt8(ascii: ",")) -> String {
        let sink = MemorySink()
        let out = OutputBuffer(sink)
        try! appendField(s, delimiter: delimiter, to: out)
        try! out.flush()
        return String(decoding: sink.bytes, as: UTF8.self)
    }

    /// Appends `s` as one CSV field (without a delimiter or line end).
    /// - Parameters:
    ///   - prefix: a byte written before the text, inside the quotes if any (CSV's formula escape `'`).
    ///   - quoteEmpty: write an empty `s` as `""` (so it differs from an empty, unquoted field).
    @inlinable
    package static func appendField(_ s: String, delimiter: UInt8, prefix: UInt8? = nil, quoteEmpty: Bool = false, to out: OutputBuffer) throws {
        try s.withUTF8Bytes { utf8 in
            var quoted = quoteEmpty && utf8.isEmpty && prefix == nil
            if !quoted {
                for b in utf8 where needsQuoting(byte: b, delimiter: delimiter) { quoted = true; break }
            }
            guard quoted else {
                if let prefix { try out.byte(prefix) }
                try out.bytes(utf8)
                return
            }
            try out.byte(0x22)
            if let prefix { try out.byte(prefix) }
            var runStart = 0
            for i in 0..<utf8.count where utf8[i] == 0x22 {
                // Write up to and including the quote; the next run starts at it, so it is written twice.
                try out.bytes(UnsafeBufferPointer(rebasing: utf8[runStart...i]))
                runStart = i
            }
            try out.bytes(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
            try out.byte(0x22)
        }
    }
}
