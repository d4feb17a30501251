import DataPortArchive
import DataPortIO
import DataPortModel
import Foundation

/// The namespaces and relationship types of the parts a workbook holds.
enum OOXML {
    static let main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    static let relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    static let packageRelationships = "http://schemas.openxmlformats.org/package/2006/relationships"
    static let contentTypes = "http://schemas.openxmlformats.org/package/2006/content-types"
    static let worksheetType = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
}

/// Cell styles (`s`, the index into styles.xml's `cellXfs`).
enum XLSXStyle {
    static let general = 0, header = 1, date = 2, dateTime = 3, dateTimeMillis = 4, text = 5, integer = 6

    /// The style showing a decimal with its scale (`0.00` for `12.50`), so the cell shows the written digits.
    static func decimal(scale: Int) -> Int { scale == 0 ? integer : integer + min(scale, XLSXFormat.maxNumberDigits) }

    /// styles.xml: a bold header, `yyyy-mm-dd`, `yyyy-mm-dd hh:mm:ss`, `yyyy-mm-dd hh:mm:ss.000`, the
    /// text format `@` for numbers kept as text (long decimals, big integers), `0` for integers and
    /// `0.0` to `0.000000000000000` for decimals by their scale.
    static let sheet: String = {
        let scales = 1...XLSXFormat.maxNumberDigits
        let decimalFormats = scales.map { "<numFmt numFmtId=\"\(166 + $0)\" formatCode=\"0.\(String(repeating: "0", count: $0))\"/>" }.joined()
        let plain = "fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\""
        let decimalStyles = scales.map { "<xf numFmtId=\"\(166 + $0)\" \(plain) applyNumberFormat=\"1\"/>" }.joined()
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <styleSheet xmlns="\(OOXML.main)">\
            <numFmts count="\(3 + scales.count)"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/>\
            <numFmt numFmtId="166" formatCode="yyyy-mm-dd hh:mm:ss.000"/>\(decimalFormats)</numFmts>\
            <fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>\
            <fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
            <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
            <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
            <cellXfs count="\(7 + scales.count)"><xf numFmtId="0" \(plain)/>\
            <xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
            <xf numFmtId="164" \(plain) applyNumberFormat="1"/>\
            <xf numFmtId="165" \(plain) applyNumberFormat="1"/>\
            <xf numFmtId="166" \(plain) applyNumberFormat="1"/>\
            <xf numFmtId="49" \(plain) applyNumberFormat="1"/>\
            <xf numFmtId="1" \(plain) applyNumberFormat="1"/>\(decimalStyles)</cellXfs>\
            <cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
            </styleSheet>
            """
    }()
}

/// Writes one sheet's rows: fixed markup as prepared bytes, laid out in a buffer and handed to
/// libxml2 in large raw writes; string content goes through libxml2's escaping (as the XML format does).
final class XLSXSheetWriter {
    private let xml: XMLNodeWriter
    private var pending: [UInt8] = []
    private let columns: [[UInt8]]
    private var row = 0
    private var rowText: [UInt8] = []
    let file: String

    init(sink: any ByteSink, fieldCount: Int, file: String) throws {
        xml = try XMLNodeWriter(sink: sink)
        columns = (0..<fieldCount).map { Array(XLSXFormat.column($0).utf8) }
        self.file = file
        pending.reserveCapacity(1 << 16)
        // The root is libxml2's own element: its text escaping applies only inside one.
        try xml.raw("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n")
        try xml.startElement("worksheet")
        try xml.attribute("xmlns", OOXML.main)
    }

    func raw(_ s: String) { pending.append(contentsOf: s.utf8) }

    private func flushPending() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try xml.raw(bytes: $0) }
        pending.removeAll(keepingCapacity: true)
    }

    func startRow() {
        row += 1
        rowText = Array(String(row).utf8)
        raw("<row r=\""); pending += rowText; raw("\">")
    }

    func endRow() throws {
        raw("</row>")
        if pending.count >= 1 << 15 { try flushPending() }
    }

    private func cellStart(_ column: Int, type: String?, style: Int) {
        raw("<c r=\""); pending += columns[column]; pending += rowText; raw("\"")
        if style != XLSXStyle.general { raw(" s=\"\(style)\"") }
        if let type { raw(" t=\"\(type)\"") }
        raw(">")
    }

    /// A number cell; `text` is already valid `xsd:double` text (canonical digits or a serial).
    func number(_ column: Int, _ text: String, style: Int) {
        cellStart(column, type: nil, style: style)
        raw("<v>"); raw(text); raw("</v></c>")
    }

    func boolean(_ column: Int, _ value: Bool) {
        cellStart(column, type: "b", style: XLSXStyle.general)
        raw(value ? "<v>1</v></c>" : "<v>0</v></c>")
    }

    /// An inline string cell (never a formula, never shared strings).
    func string(_ column: Int, _ value: String, style: Int = XLSXStyle.general, field: String) throws {
        let text = XLSXFormat.escapedText(value) ?? value
        guard text.utf8.count <= XMLFormat.maxValueBytes else {
            throw DataPortError(.limitExceeded, "a value of field \(field) is larger than the xlsx format's limit of \(XMLFormat.maxValueBytes) bytes",
                                at: "\(file), row \(row)", code: .valueTooLarge)
        }
        cellStart(column, type: "inlineStr", style: style)
        // Excel drops leading and trailing white space unless told to keep it.
        let edges = [text.unicodeScalars.first, text.unicodeScalars.last].compactMap { $0 }
        raw(edges.contains { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" } ? "<is><t xml:space=\"preserve\">" : "<is><t>")
        switch XMLFormat.form(of: text) {
        case .plain:
            pending.append(contentsOf: text.utf8)
        case .escaped, .base64:
            try flushPending()
            try xml.text(text)
        }
        raw("</t></is></c>")
    }

    func finish() throws {
        try flushPending()
        try xml.fullEndElement()
        try xml.flush(close: true)
    }
}

/// Writes a workbook: the package parts first, then the data sheet, record by record, into an open
/// zip entry, and the zip's central directory at the end.
final class XLSXRecordWriter: RecordWriter {
    private let dataset: Dataset
    private let file: String
    private let zip: ZipWriter
    private var entry: ZipWriter.OpenEntry?
    private var sheet: XLSXSheetWriter?
    private var count = 0

    init(dataset: Dataset, sink: any ByteSink) throws {
        self.dataset = dataset
        file = "\(dataset.name).xlsx"
        guard dataset.fields.count <= XLSXFormat.maxFields else {
            throw DataPortError(.limitExceeded, "dataset \(dataset.name) has more fields than a sheet has columns (\(XLSXFormat.maxFields))", at: file)
        }
        zip = ZipWriter(sink: sink, date: XLSXFormat.entryDate)
        try part("[Content_Types].xml", """
            <Types xmlns="\(OOXML.contentTypes)"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
            <Default Extension="xml" ContentType="application/xml"/>\
            <Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
            <Override PartName="/\(XLSXFormat.dataSheetPath)" ContentType="\(OOXML.worksheetType)"/>\
            <Override PartName="/\(XLSXFormat.fieldsSheetPath)" ContentType="\(OOXML.worksheetType)"/>\
            <Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>
            """)
        try part("_rels/.rels", """
            <Relationships xmlns="\(OOXML.packageRelationships)">\
            <Relationship Id="rId1" Type="\(OOXML.relationships)/officeDocument" Target="xl/workbook.xml"/></Relationships>
            """)
        _ = try zip.addEntry(path: "xl/workbook.xml") { sink in
            let xml = try XMLNodeWriter(sink: sink)
            try xml.raw("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n")
            try xml.startElement("workbook")
            try xml.attribute("xmlns", OOXML.main)
            try xml.attribute("xmlns:r", OOXML.relationships)
            try xml.raw("<bookViews><workbookView activeTab=\"0\"/></bookViews><sheets>")
            for (i, name) in [XLSXFormat.sheetName(for: dataset), XLSXFormat.fieldsSheetName].enumerated() {
                try xml.startElement("sheet")
                try xml.attribute("name", name)
                try xml.attribute("sheetId", String(i + 1))
                if i == 1 { try xml.attribute("state", "hidden") }
                try xml.attribute("r:id", "rId\(i + 1)")
                try xml.endElement()
            }
            try xml.raw("</sheets>")
            try xml.fullEndElement()
            try xml.flush(close: true)
        }
        try part("xl/_rels/workbook.xml.rels", """
            <Relationships xmlns="\(OOXML.packageRelationships)">\
            <Relationship Id="rId1" Type="\(OOXML.relationships)/worksheet" Target="worksheets/sheet1.xml"/>\
            <Relationship Id="rId2" Type="\(OOXML.relationships)/worksheet" Target="worksheets/sheet2.xml"/>\
            <Relationship Id="rId3" Type="\(OOXML.relationships)/styles" Target="styles.xml"/></Relationships>
            """)
        _ = try zip.addEntry(path: "xl/styles.xml") { try $0.write(XLSXStyle.sheet) }
        try writeFieldsSheet()
        try startDataSheet()
    }

    private func part(_ path: String, _ body: String) throws {
        _ = try zip.addEntry(path: path) { try $0.write("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n" + body) }
    }

    /// The hidden sheet: the marker, version and dataset name, then one row per field (name, type, title).
    private func writeFieldsSheet() throws {
        _ = try zip.addEntry(path: XLSXFormat.fieldsSheetPath) { sink in
            let sheet = try XLSXSheetWriter(sink: sink, fieldCount: 3, file: file)
            sheet.raw("<sheetData>")
            let rows = [[XLSXFormat.marker, XLSXFormat.version, dataset.name], ["name", "type", "title"]]
                + dataset.fields.map { [$0.name, $0.type.rawValue, $0.description ?? $0.name] }
            for cells in rows {
                sheet.startRow()
                for (i, c) in cells.enumerated() { try sheet.string(i, c, field: "title") }
                try sheet.endRow()
            }
            sheet.raw("</sheetData>")
            try sheet.finish()
        }
    }

    /// Widths from each field's title and type (the values are not known yet: the sheet streams).
    private static func width(_ field: Field) -> Int {
        let title = (field.description ?? field.name).count + 3
        let typical = switch field.type {
        case .integer: 12
        case .decimal: 14
        case .boolean: 8
        case .timestamp: 24
        case .date: 12
        case .string: 30
        case .binary: 20
        }
        return min(max(title, typical, 8), 60)
    }

    private func startDataSheet() throws {
        let entry = try zip.beginEntry(path: XLSXFormat.dataSheetPath)
        self.entry = entry
        let sheet = try XLSXSheetWriter(sink: entry.sink, fieldCount: dataset.fields.count, file: file)
        self.sheet = sheet
        // The header row stays in view while the records scroll.
        sheet.raw("<sheetViews><sheetView tabSelected=\"1\" workbookViewId=\"0\"><pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>"
                  + "<selection pane=\"bottomLeft\" activeCell=\"A2\" sqref=\"A2\"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight=\"15\"/>")
        if !dataset.fields.isEmpty {
            sheet.raw("<cols>")
            for (i, f) in dataset.fields.enumerated() { sheet.raw("<col min=\"\(i + 1)\" max=\"\(i + 1)\" width=\"\(Self.width(f))\" customWidth=\"1\"/>") }
            sheet.raw("</cols>")
        }
        sheet.raw("<sheetData>")
        sheet.startRow()
        for (i, f) in dataset.fields.enumerated() { try sheet.string(i, f.description ?? f.name, style: XLSXStyle.header, field: f.name) }
        try sheet.endRow()
    }

    func write(_ record: Record) throws {
        guard let sheet else { throw DataPortError(.internal, "write after finish", at: file) }
        let fields = dataset.fields
        guard record.values.count == fields.count else {
            throw DataPortError(.internal, "record has \(record.values.count) values for \(fields.count) fields", at: file)
        }
        guard count < XLSXFormat.maxRecords else {
            throw DataPortError(.limitExceeded, "dataset \(dataset.name) has more records than a sheet has rows (\(XLSXFormat.maxRecords))", at: file)
        }
        count += 1
        sheet.startRow()
        for (i, value) in record.values.enumerated() {
            let field = fields[i]
            if let t = value.type, t != field.type {
                throw DataPortError(.internal, "a \(t.rawValue) value in field \(field.name) of type \(field.type.rawValue)", at: "\(file), record \(count)")
            }
            switch value {
            case .null: continue  // NULL is no cell at all; the empty string is an empty text cell.
            case .string(let s): try sheet.string(i, s, field: field.name)
            case .integer(let n):
                let text = String(n)
                if XLSXFormat.isExactNumber(text) { sheet.number(i, text, style: XLSXStyle.integer) } else { try sheet.string(i, text, style: XLSXStyle.text, field: field.name) }
            case .decimal(let d):
                if XLSXFormat.isExactNumber(d.text) {
                    let scale = d.text.firstIndex(of: ".").map { d.text.distance(from: $0, to: d.text.endIndex) - 1 } ?? 0
                    sheet.number(i, d.text, style: XLSXStyle.decimal(scale: scale))
                } else {
                    try sheet.string(i, d.text, style: XLSXStyle.text, field: field.name)
                }
            case .boolean(let b): sheet.boolean(i, b)
            case .timestamp(let t):
                if let serial = XLSXFormat.serialText(of: t) {
                    sheet.number(i, serial, style: t.fraction.isEmpty ? XLSXStyle.dateTime : XLSXStyle.dateTimeMillis)
                } else {
                    try sheet.string(i, t.text, field: field.name)
                }
            case .date(let d):
                if let serial = XLSXFormat.serial(of: d) { sheet.number(i, String(serial), style: XLSXStyle.date) } else { try sheet.string(i, d.text, field: field.name) }
            case .binary:
                try sheet.string(i, value.canonicalText ?? "", field: field.name)
            }
        }
        try sheet.endRow()
    }

    func finish() throws {
        guard let sheet, let entry else { return }
        sheet.raw("</sheetData>")
        try sheet.finish()
        _ = try entry.close()
        self.sheet = nil
        self.entry = nil
        try zip.finish()
    }
}
