import DataPortArchive
import DataPortIO
import DataPortModel
import Foundation

/// Office Open XML spreadsheets (ECMA-376, SpreadsheetML): one workbook per dataset, for people who
/// open their data in Excel, LibreOffice or Numbers. Specified in `formats/xlsx.md`.
///
/// The first sheet holds the records under a header row of field titles, frozen, with typed cells
/// that never lose a digit: numbers only where a spreadsheet's 15 significant digits hold the value,
/// text otherwise; dates and times as date serials with a display format; no formulas. A hidden second
/// sheet keeps the canonical field names and types, so the workbook reads back exactly. Written with
/// the bundle's zip writer (fixed timestamps: deterministic bytes) and libxml2; read with the zip
/// reader and the hardened libxml2 reader the XML format uses.
public struct XLSXFormat: FormatAdapter {
    public init() {}
    public var name: String { "xlsx" }
    public var fileExtension: String { "xlsx" }
    public var mediaType: String { "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" }
    public var summary: String { "Office Open XML spreadsheet: one workbook per dataset, typed cells, exact values, no formulas" }

    /// The version of the workbook layout (the hidden sheet's B1); readers accept the same major version.
    public static let version = "1"
    /// The most records one sheet holds: Excel's 1,048,576 rows, less the header.
    public static let maxRecords = 1_048_575
    /// The most fields: Excel's 16,384 columns.
    public static let maxFields = 16_384
    /// The largest significant-digit count a number cell keeps exactly (IEEE double, as spreadsheets compute).
    public static let maxNumberDigits = 15
    /// The date serial of 1970-01-01 (serials count days from 1899-12-30).
    static let unixEpochSerial: Int64 = 25_569
    /// Serials from 1900-03-01 (61; before it, spreadsheets count a 29 February 1900 that never was) to 9999-12-31.
    static let serialRange: ClosedRange<Int64> = 61...2_958_465
    /// Zip entry times of every workbook: fixed, so that the same records give the same bytes.
    static let entryDate = Timestamp("1980-01-01T00:00:00Z")!

    public func makeWriter(for dataset: Dataset, to sink: any ByteSink) throws -> any RecordWriter {
        try XLSXRecordWriter(dataset: dataset, sink: sink)
    }

    public func makeReader(for dataset: Dataset, from source: any ByteSource) throws -> any RecordReader {
        try XLSXRecordReader(dataset: dataset, source: source)
    }

    // MARK: Cell forms shared by the writer and the reader

    /// The column letters of a zero-based column index (`0` is `A`, `26` is `AA`).
    static func column(_ index: Int) -> String {
        var n = index + 1
        var letters: [UInt8] = []
        while n > 0 {
            let r = (n - 1) % 26
            letters.append(UInt8(65 + r))
            n = (n - 1) / 26
        }
        return String(decoding: letters.reversed(), as: UTF8.self)
    }

    /// The zero-based column of a cell reference such as `AB12`, when its row is `row`.
    static func columnIndex(ofReference reference: String, row: Int) -> Int? {
        var n = 0
        var digits = Substring(reference)
        for b in reference.utf8 {
            guard b >= 65, b <= 90 else { break }
            n = n * 26 + Int(b - 64)
            digits = digits.dropFirst()
            if n > maxFields { return nil }
        }
        guard n > 0, digits == Substring(String(row)) else { return nil }
        return n - 1
    }

    /// Whether integer or decimal text stays exact as a spreadsheet number: at most 15 digits from the
    /// first non-zero one to the last, and at most 15 after the point (so the magnitude is a double's).
    static func isExactNumber(_ text: String) -> Bool {
        var significant = 0, fraction = 0
        var started = false, inFraction = false
        for b in text.utf8 {
            if b == UInt8(ascii: "-") { continue }
            if b == UInt8(ascii: ".") { inFraction = true; continue }
            if inFraction { fraction += 1 }
            if b != UInt8(ascii: "0") { started = true }
            if started { significant += 1 }
        }
        return significant <= maxNumberDigits && fraction <= maxNumberDigits
    }

    /// The date serial of a date, when spreadsheets show it correctly.
    static func serial(of date: CalendarDate) -> Int64? {
        guard let midnight = Timestamp(date.text + "T00:00:00Z") else { return nil }
        let serial = midnight.seconds / 86_400 + unixEpochSerial
        return serialRange.contains(serial) ? serial : nil
    }

    static func date(fromSerial serial: Int64) -> CalendarDate? {
        guard serialRange.contains(serial), let t = Timestamp(seconds: (serial - unixEpochSerial) * 86_400) else { return nil }
        return CalendarDate(String(t.text.prefix(10)))
    }

    /// The date-time serial of a timestamp, as the shortest text that reads back to the same double,
    /// when it is exact to the millisecond (at most 3 fraction digits) and in the serial range.
    static func serialText(of t: Timestamp) -> String? {
        guard t.fraction.count <= 3 else { return nil }
        let days = t.seconds >= 0 ? t.seconds / 86_400 : (t.seconds - 86_399) / 86_400
        guard serialRange.contains(days + unixEpochSerial) else { return nil }
        let millis = Int64(t.fraction.padding(toLength: 3, withPad: "0", startingAt: 0))!
        let total = (t.seconds + unixEpochSerial * 86_400) * 1000 + millis
        return String(Double(total) / 86_400_000)
    }

    /// A timestamp from a date-time serial, to the nearest millisecond (which is how it was written).
    static func timestamp(fromSerial text: String) -> Timestamp? {
        guard let serial = Double(text), serial.isFinite,
              serial >= Double(serialRange.lowerBound), serial < Double(serialRange.upperBound + 1) else { return nil }
        let total = Int64((serial * 86_400_000).rounded())
        let millis = total % 1000
        let fraction = millis == 0 ? "" : String(String(millis + 1000).dropFirst())
        return Timestamp(seconds: total / 1000 - unixEpochSerial * 86_400, fraction: fraction)
    }

    /// Whether a scalar cannot stand in XML 1.0 character data and is written `_xHHHH_` (ECMA-376 ST_Xstring).
    @inline(__always) static func needsCodeEscape(_ u: Unicode.Scalar) -> Bool {
        (u.value < 0x20 && u.value != 0x09 && u.value != 0x0A && u.value != 0x0D) || u.value == 0xFFFE || u.value == 0xFFFF
    }

    /// Whether `bytes[i...]` starts with `_xHHHH_`, which a reader takes for an escape.
    static func startsEscape(_ bytes: [UInt8], at i: Int) -> Bool {
        guard i + 7 <= bytes.count, bytes[i] == 0x5F, bytes[i + 1] == UInt8(ascii: "x"), bytes[i + 6] == 0x5F else { return false }
        return bytes[(i + 2)..<(i + 6)].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) || ($0 >= 97 && $0 <= 102) }
    }

    /// The text written for a string: characters XML cannot carry as `_xHHHH_`, and the `_` that
    /// starts a literal `_xHHHH_` as `_x005F_`, so that the reader's unescaping is exact.
    /// `nil` when the string needs no such escape (the common case).
    static func escapedText(_ s: String) -> String? {
        let bytes = Array(s.utf8)
        let needed = s.unicodeScalars.contains(where: needsCodeEscape)
            || bytes.indices.contains { bytes[$0] == 0x5F && startsEscape(bytes, at: $0) }
        guard needed else { return nil }
        var out = ""
        var scalars = Array(s.unicodeScalars)[...]
        var offset = 0
        while let u = scalars.popFirst() {
            if needsCodeEscape(u) {
                out += "_x" + hex4(u.value) + "_"
            } else if u == "_", startsEscape(bytes, at: offset) {
                out += "_x005F_"
            } else {
                out.unicodeScalars.append(u)
            }
            offset += UTF8.width(u)
        }
        return out
    }

    /// Undoes `escapedText`: every `_xHHHH_` is the character it names.
    static func unescapedText(_ s: String) -> String? {
        let bytes = Array(s.utf8)
        guard bytes.contains(0x5F) else { return s }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x5F, startsEscape(bytes, at: i) {
                let code = UInt32(String(decoding: bytes[(i + 2)..<(i + 6)], as: UTF8.self), radix: 16)!
                guard let u = Unicode.Scalar(code) else { return nil }
                out.append(contentsOf: String(u).utf8)
                i += 7
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    /// A sheet name Excel accepts: no `[ ] : * ? / \`, not starting or ending with `'`, at most 31 characters.
    static func sheetName(for dataset: Dataset) -> String {
        var name = String(dataset.title.unicodeScalars.filter { !"[]:*?/\\".unicodeScalars.contains($0) && $0.value >= 0x20 }
            .map(Character.init).prefix(31))
        while name.hasPrefix("'") { name.removeFirst() }
        while name.hasSuffix("'") { name.removeLast() }
        name = name.trimmingCharacters(in: .whitespaces)
        if name.isEmpty || name.lowercased() == fieldsSheetName.lowercased() || name.lowercased() == "history" { return dataset.name.count <= 31 ? dataset.name : String(dataset.name.prefix(31)) }
        return name
    }

    /// The hidden sheet with the canonical field names and types.
    static let fieldsSheetName = "_dataport_fields"
    /// The first cell of the hidden sheet: what the workbook is.
    static let marker = "dataport-xlsx"
    static let dataSheetPath = "xl/worksheets/sheet1.xml"
    static let fieldsSheetPath = "xl/worksheets/sheet2.xml"
}
