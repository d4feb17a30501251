import DataPortArchive
import DataPortIO
import DataPortModel
import Foundation

/// One cell as the sheet holds it.
struct XLSXCell {
    enum Kind { case number, boolean, inlineString }
    var column: Int
    var kind: Kind
    /// The `<v>` text of a number or boolean; the unescaped `<t>` text of an inline string.
    var text: String
}

/// Reads a worksheet's rows in order, streaming, with the hardened libxml2 reader: only the cell
/// forms DataPort writes (numbers, booleans, inline strings); formulas, shared strings and rich
/// text are refused, rows must be numbered 1, 2, 3, ... and cells must stay within `columns`.
final class XLSXSheetReader {
    private let xml: XMLNodeReader
    private let columns: Int
    private var row = 0
    private var ended = false

    init(source: any ByteSource, name: String, columns: Int) throws {
        xml = try XMLNodeReader(source: source, documentName: name)
        self.columns = columns
        guard try xml.nextStructural() == .element, xml.localName == "worksheet", xml.namespace == OOXML.main else {
            throw fail("not a SpreadsheetML worksheet")
        }
        guard !xml.isEmptyElement else { throw fail("the worksheet has no <sheetData>") }
        // Views, column widths and the like come first; the rows are in <sheetData>.
        while true {
            guard try xml.nextStructural() == .element else { throw fail("the worksheet has no <sheetData>") }
            try expectMain()
            if xml.localName == "sheetData" { break }
            try skipElement()
        }
        if xml.isEmptyElement { try finishDocument() }
    }

    func fail(_ message: String) -> DataPortError {
        DataPortError(.invalidBundle, message, at: "\(xml.documentName), line \(xml.line)")
    }

    private func expectMain() throws {
        guard xml.namespace == OOXML.main else { throw fail("an element outside the SpreadsheetML namespace") }
    }

    /// Skips the current element and everything in it.
    private func skipElement() throws {
        guard !xml.isEmptyElement else { return }
        var depth = 1
        while depth > 0 {
            switch try xml.nextStructural() {
            case .element?: if !xml.isEmptyElement { depth += 1 }
            case .endElement?: depth -= 1
            default: throw fail("the worksheet ends early")
            }
        }
    }

    /// After `</sheetData>`: nothing but the end of the worksheet.
    private func finishDocument() throws {
        guard try xml.nextStructural() == .endElement else { throw fail("unexpected content after <sheetData>") }
        guard try xml.nextStructural() == nil else { throw fail("unexpected content after </worksheet>") }
        ended = true
    }

    /// The next row's cells, in column order; `nil` after the last row.
    func nextRow() throws -> [XLSXCell]? {
        if ended { return nil }
        switch try xml.nextStructural() {
        case .endElement?:
            try finishDocument()
            return nil
        case .element?:
            try expectMain()
            guard xml.localName == "row" else { throw fail("expected <row> in <sheetData>") }
        default:
            throw fail("the worksheet ends inside <sheetData>")
        }
        row += 1
        guard xml.attributes().first(where: { $0.localName == "r" && $0.namespace == nil })?.value == String(row) else {
            throw fail("row \(row) is missing or out of order")
        }
        var cells: [XLSXCell] = []
        if xml.isEmptyElement { return cells }
        while let kind = try xml.nextStructural(), kind == .element {
            try expectMain()
            guard xml.localName == "c" else { throw fail("expected <c> in row \(row)") }
            cells.append(try readCell(after: cells.last?.column ?? -1))
        }
        return cells
    }

    private func readCell(after previous: Int) throws -> XLSXCell {
        var reference: String?, type = "n"
        for a in xml.attributes() where a.namespace == nil {
            switch a.localName {
            case "r": reference = a.value
            case "t": type = a.value
            case "s": break
            default: throw fail("unexpected attribute on a cell in row \(row)")
            }
        }
        guard let reference, let column = XLSXFormat.columnIndex(ofReference: reference, row: row), column > previous, column < columns else {
            throw fail("a cell of row \(row) has a missing, repeated or out-of-range reference")
        }
        let kind: XLSXCell.Kind
        switch type {
        case "n": kind = .number
        case "b": kind = .boolean
        case "inlineStr": kind = .inlineString
        default: throw fail("cell \(XLSXFormat.column(column))\(row) has a cell type DataPort does not write (shared strings, formulas, errors)")
        }
        guard !xml.isEmptyElement else { throw fail("cell \(XLSXFormat.column(column))\(row) is empty (NULL is no cell)") }
        let expected = kind == .inlineString ? "is" : "v"
        guard try xml.nextStructural() == .element, xml.namespace == OOXML.main, xml.localName == expected else {
            throw fail("cell \(XLSXFormat.column(column))\(row) must hold only <\(expected)> (no formulas)")
        }
        var text: String
        if kind == .inlineString {
            guard !xml.isEmptyElement, try xml.nextStructural() == .element, xml.namespace == OOXML.main, xml.localName == "t" else {
                throw fail("inline string of cell \(XLSXFormat.column(column))\(row) must hold one <t> (no rich text)")
            }
            let raw = try readText()
            guard let unescaped = XLSXFormat.unescapedText(raw) else { throw fail("cell \(XLSXFormat.column(column))\(row) has an invalid _x escape") }
            text = unescaped
            guard try xml.nextStructural() == .endElement else { throw fail("inline string of cell \(XLSXFormat.column(column))\(row) must hold one <t>") }
        } else {
            text = try readText()
        }
        guard try xml.nextStructural() == .endElement else { throw fail("cell \(XLSXFormat.column(column))\(row) holds more than its value") }
        return XLSXCell(column: column, kind: kind, text: text)
    }

    /// The character data of the current element, up to its end.
    private func readText() throws -> String {
        var text = ""
        if xml.isEmptyElement { return text }
        while try xml.read() {
            switch xml.kind {
            case .text:
                text += xml.text
                guard text.utf8.count <= XMLFormat.maxValueBytes else {
                    throw DataPortError(.limitExceeded, "a cell in row \(row) is larger than the xlsx format's limit of \(XMLFormat.maxValueBytes) bytes",
                                        at: "\(xml.documentName), line \(xml.line)", code: .valueTooLarge)
                }
            case .ignorable: continue
            case .endElement: return text
            case .element: throw fail("a value in row \(row) must not contain elements")
            case .documentType, .entityReference, .other: throw fail("unexpected XML node in row \(row)")
            }
        }
        throw fail("the worksheet ends inside a cell")
    }
}

/// Reads a workbook DataPort wrote: spooled into a temporary file (a zip is read from its end),
/// opened with the bundle's defensive zip reader; the hidden sheet must name the dataset's fields
/// and types, in order, and every cell of the data sheet must be the form its field's type is written in.
final class XLSXRecordReader: RecordReader {
    private let dataset: Dataset
    private let file: String
    private let spool: TemporaryFile
    private let zip: ZipReader
    private let sheet: XLSXSheetReader

    init(dataset: Dataset, source: any ByteSource) throws {
        self.dataset = dataset
        let file = "\(dataset.name).xlsx"
        self.file = file
        let spool = try TemporaryFile()
        self.spool = spool
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try spool.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        let zip = try ZipReader(temporaryFile: spool, name: file)
        self.zip = zip
        let names = Set(zip.entryNames)
        for part in ["[Content_Types].xml", "xl/workbook.xml", XLSXFormat.dataSheetPath, XLSXFormat.fieldsSheetPath] where !names.contains(part) {
            throw DataPortError(.invalidBundle, "not a DataPort workbook: \(part) is missing", at: file)
        }
        try Self.checkFields(of: dataset, in: try XLSXSheetReader(source: try zip.open(XLSXFormat.fieldsSheetPath),
                                                                    name: "\(file): \(XLSXFormat.fieldsSheetPath)", columns: 3), file: file)
        let sheet = try XLSXSheetReader(source: try zip.open(XLSXFormat.dataSheetPath), name: "\(file): \(XLSXFormat.dataSheetPath)",
                                    columns: dataset.fields.count)
        self.sheet = sheet
        // Row 1 is the header of field titles, for people; the hidden sheet carries the names.
        guard let header = try sheet.nextRow(), header.count == dataset.fields.count, header.allSatisfy({ $0.kind == .inlineString }) else {
            throw sheet.fail("the header row must hold one title per field (\(dataset.fields.count))")
        }
    }

    /// The hidden sheet: `dataport-xlsx`, the version and the dataset name; the column titles; one row per field.
    private static func checkFields(of dataset: Dataset, in fields: XLSXSheetReader, file: String) throws {
        func strings(_ row: [XLSXCell]?) -> [String]? {
            guard let row, row.allSatisfy({ $0.kind == .inlineString }), row.map(\.column) == Array(0..<row.count) else { return nil }
            return row.map(\.text)
        }
        guard let head = strings(try fields.nextRow()), head.count == 3, head[0] == XLSXFormat.marker else {
            throw DataPortError(.invalidBundle, "not a DataPort workbook: the hidden sheet \(XLSXFormat.fieldsSheetName) is missing its marker", at: file)
        }
        guard head[1].split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) == XLSXFormat.version else {
            throw DataPortError(.invalidBundle, "unsupported xlsx workbook version (this reader reads \(XLSXFormat.version).x)", at: file, code: .unknownVersion)
        }
        guard head[2] == dataset.name else { throw DataPortError(.invalidBundle, "the workbook's dataset name differs from the manifest", at: file) }
        guard strings(try fields.nextRow()) == ["name", "type", "title"] else {
            throw DataPortError(.invalidBundle, "the hidden sheet's second row must be name, type, title", at: file)
        }
        var found: [Field] = []
        while let row = try fields.nextRow() {
            guard let cells = strings(row), cells.count == 3, let type = FieldType(rawValue: cells[1]) else {
                throw DataPortError(.invalidBundle, "the hidden sheet's field \(found.count + 1) needs a name, a known type and a title", at: file)
            }
            found.append(Field(name: cells[0], type: type))
        }
        guard found == dataset.fields.map({ Field(name: $0.name, type: $0.type) }) else {
            throw DataPortError(.invalidBundle, "the workbook's fields differ from the manifest", at: file)
        }
    }

    func next() throws -> Record? {
        guard let cells = try sheet.nextRow() else { return nil }
        let fields = dataset.fields
        var values = [Value](repeating: .null, count: fields.count)
        for cell in cells {
            let field = fields[cell.column]
            guard let value = Self.value(cell, field.type) else {
                throw sheet.fail("cell \(XLSXFormat.column(cell.column)) of field \(field.name) is not a valid \(field.type.rawValue)")
            }
            values[cell.column] = value
        }
        return Record(values)
    }

    /// A cell as a value of `type`: each type in the forms the writer gives it, nothing else.
    private static func value(_ cell: XLSXCell, _ type: FieldType) -> Value? {
        switch (type, cell.kind) {
        case (.boolean, .boolean):
            return cell.text == "1" ? .boolean(true) : cell.text == "0" ? .boolean(false) : nil
        case (.integer, .number), (.decimal, .number):
            guard XLSXFormat.isExactNumber(cell.text) else { return nil }
            return Value.parse(canonical: cell.text, as: type)
        case (.timestamp, .number):
            return XLSXFormat.timestamp(fromSerial: cell.text).map(Value.timestamp)
        case (.date, .number):
            return Int64(cell.text).flatMap(XLSXFormat.date(fromSerial:)).map(Value.date)
        case (.string, .inlineString):
            return .string(cell.text)
        case (.integer, .inlineString), (.decimal, .inlineString), (.timestamp, .inlineString), (.date, .inlineString), (.binary, .inlineString):
            return Value.parse(canonical: cell.text, as: type)
        default:
            return nil
        }
    }
}
