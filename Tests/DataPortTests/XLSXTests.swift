@testable import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation
import XCTest

/// The xlsx adapter against readers no one here wrote: LibreOffice (headless, converting every
/// workbook back to CSV) and Python's openpyxl; and `convert` through xlsx back to JSON.
/// The conformance suite covers the adapter's own round trip and refusals.
final class XLSXTests: XCTestCase {
    static let provenance = Provenance(store: "test", connector: "memory", object: "generated", matchedBy: ["email"])

    static let dataset = Dataset(
        name: "people", title: "People: [test]", category: .account, description: "spreadsheet cases", purposes: ["testing"],
        legalBasis: .contract, origin: .provided, source: provenance,
        fields: [
            Field(name: "name", type: .string, description: "Full name"), Field(name: "count", type: .integer),
            Field(name: "big", type: .integer), Field(name: "amount", type: .decimal, description: "Amount (EUR)"),
            Field(name: "long_decimal", type: .decimal), Field(name: "active", type: .boolean),
            Field(name: "seen", type: .timestamp), Field(name: "seen_ms", type: .timestamp), Field(name: "born", type: .date),
            Field(name: "old", type: .date), Field(name: "formula", type: .string), Field(name: "phone", type: .string),
            Field(name: "lithuanian", type: .string), Field(name: "lines", type: .string), Field(name: "photo", type: .binary),
        ])

    static let records: [Record] = [
        Record([.string("Ana María Núñez"), .integer(42), .integer(9_007_199_254_740_993), .decimal(ExactDecimal("12.50")!),
                .decimal(ExactDecimal("123456789012345678901234567890.123456789")!), .boolean(true),
                .timestamp(Timestamp("2024-02-29T23:59:59Z")!), .timestamp(Timestamp("2000-02-29T12:00:00.5Z")!),
                .date(CalendarDate("2024-02-29")!), .date(CalendarDate("0500-01-01")!), .string("=1+2"), .string("+34 600 000 001"),
                .string("Šarūnas Žemaitė: ąčęėįšųūž, 5 €"), .string("first\nsecond"), .binary([0, 255, 1])]),
        Record([.string(""), .integer(-7), .integer(.min), .decimal(ExactDecimal("-0.001")!), .null, .boolean(false),
                .null, .null, .null, .null, .null, .string("'quoted"), .null, .null, .null]),
    ]

    /// What a spreadsheet shows for each cell of `records` (LibreOffice's "as shown" CSV export).
    static let shown: [[String]] = [
        ["Ana María Núñez", "42", "9007199254740993", "12.50", "123456789012345678901234567890.123456789", "TRUE",
         "2024-02-29 23:59:59", "2000-02-29 12:00:00.500", "2024-02-29", "0500-01-01", "=1+2", "+34 600 000 001",
         "Šarūnas Žemaitė: ąčęėįšųūž, 5 €", "first\nsecond", "AP8B"],
        ["", "-7", "-9223372036854775808", "-0.001", "", "FALSE", "", "", "", "", "", "'quoted", "", "", ""],
    ]

    static func workbook(_ dir: URL) throws -> URL {
        let sink = MemorySink()
        let w = try XLSXFormat().makeWriter(for: dataset, to: sink)
        for r in records { try w.write(r) }
        try w.finish()
        let url = dir.appendingPathComponent("people.xlsx")
        try Data(sink.bytes).write(to: url)
        return url
    }

    /// Converts workbooks to CSV with LibreOffice (its own profile, so parallel runs do not collide).
    static func libreOfficeCSV(_ files: [URL], in dir: URL) throws -> [String: [[String]]] {
        let out = dir.appendingPathComponent("lo")
        let profile = dir.appendingPathComponent("lo-profile")
        let quoted = files.map { "'\($0.path)'" }.joined(separator: " ")
        let run = try TestSupport.shell("soffice -env:UserInstallation=file://\(profile.path) --headless --convert-to "
                                        + "'csv:Text - txt - csv (StarCalc):44,34,76' --outdir '\(out.path)' \(quoted)")
        XCTAssertEqual(run.code, 0, run.stderr)
        var result: [String: [[String]]] = [:]
        for f in files {
            let csv = out.appendingPathComponent(f.deletingPathExtension().lastPathComponent + ".csv")
            let py = try TestSupport.shell("python3 -c 'import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline=\"\", encoding=\"utf-8\", errors=\"strict\")))))' '\(csv.path)'")
            XCTAssertEqual(py.code, 0, py.stderr)
            result[f.deletingPathExtension().lastPathComponent] = try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [[String]]
        }
        return result
    }

    /// LibreOffice converts the edge-case workbook, and every workbook of an exported bundle, back to
    /// CSV showing the values intact: for the bundle, what its CSV files hold (times as a spreadsheet
    /// shows them, booleans as TRUE/FALSE). One LibreOffice run for all, as it starts slowly.
    func testLibreOfficeConvertsEveryWorkbookBackWithValuesIntact() throws {
        guard TestSupport.has("soffice"), TestSupport.has("python3") else {
            return XCTFail("LibreOffice is not installed: apt-get install --no-install-recommends libreoffice-calc (.ci/run does this)")
        }
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, formats: "csv,xlsx", extra: ["--scope", "access"])
        let files = dir.appendingPathComponent("files")
        try TestSupport.unzip(bundle, into: files)
        let top = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: files.path).first)
        let data = files.appendingPathComponent(top).appendingPathComponent("data")
        let names = try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("xlsx").path).sorted()
        XCTAssertGreaterThan(names.count, 5)
        let sheets = try Self.libreOfficeCSV(names.map { data.appendingPathComponent("xlsx").appendingPathComponent($0) } + [try Self.workbook(dir)], in: dir)
        let people = try XCTUnwrap(sheets["people"])
        XCTAssertEqual(people.first, Self.dataset.fields.map { $0.description ?? $0.name })
        XCTAssertEqual(Array(people.dropFirst()), Self.shown)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: files.appendingPathComponent(top).appendingPathComponent("manifest.json"))) as! [String: Any]
        var types: [String: [String]] = [:]
        for d in manifest["datasets"] as! [[String: Any]] {
            types[d["name"] as! String] = (d["fields"] as! [[String: Any]]).map { $0["type"] as! String }
        }
        var checked = 0
        for name in names {
            let dataset = String(name.dropLast(5))
            let csv = try String(contentsOf: data.appendingPathComponent("csv/\(dataset).csv"), encoding: .utf8)
            let py = try TestSupport.shell("python3 -c 'import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline=\"\")))))' '\(data.path)/csv/\(dataset).csv'")
            let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [[String]])
            XCTAssertFalse(csv.isEmpty)
            let fieldTypes = try XCTUnwrap(types[dataset])
            let shown = try XCTUnwrap(sheets[dataset], dataset)
            XCTAssertEqual(shown.count, expected.count, dataset)
            for (row, want) in zip(shown.dropFirst(), expected.dropFirst()) {
                let converted = zip(want, fieldTypes).map { value, type -> String in
                    switch type {
                    case "timestamp": value.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
                    case "boolean": value.uppercased()
                    default: value
                    }
                }
                XCTAssertEqual(row, converted, dataset)
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 10)
    }

    func testOpenpyxlReadsTheTypes() throws {
        guard TestSupport.has("python3"), (try TestSupport.shell("python3 -c 'import openpyxl'")).code == 0 else {
            return XCTFail("openpyxl is not installed: python3 -m pip install openpyxl (.ci/run does this)")
        }
        let dir = try TestSupport.tempDir(self)
        let file = try Self.workbook(dir)
        let script = """
            import json, sys, openpyxl
            wb = openpyxl.load_workbook(sys.argv[1])
            ws = wb.worksheets[0]
            def cell(v):
                return [type(v).__name__, v.isoformat() if hasattr(v, "isoformat") else v]
            print(json.dumps({
                "sheets": wb.sheetnames, "states": [s.sheet_state for s in wb.worksheets], "freeze": ws.freeze_panes,
                "widths": [ws.column_dimensions[c.column_letter].width for c in ws[1]],
                "formulas": [c.data_type for row in ws.iter_rows() for c in row if c.data_type == "f"],
                "rows": [[cell(v) for v in row] for row in ws.iter_rows(values_only=True)],
                "fields": [list(r) for r in wb.worksheets[1].iter_rows(values_only=True)]}))
            """
        try script.write(to: dir.appendingPathComponent("read.py"), atomically: true, encoding: .utf8)
        let run = try TestSupport.shell("python3 '\(dir.path)/read.py' '\(file.path)'")
        XCTAssertEqual(run.code, 0, run.stderr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(doc["sheets"] as? [String], ["People test", "_dataport_fields"])
        XCTAssertEqual(doc["states"] as? [String], ["visible", "hidden"])
        XCTAssertEqual(doc["freeze"] as? String, "A2")
        XCTAssertEqual((doc["formulas"] as? [Any])?.count, 0)
        XCTAssertTrue((doc["widths"] as? [Double])?.allSatisfy { $0 >= 8 } == true)
        let rows = try XCTUnwrap(doc["rows"] as? [[[Any]]])
        XCTAssertEqual(rows[0].map { $0[1] as? String }, Self.dataset.fields.map { $0.description ?? $0.name })
        let types = rows[1].map { $0[0] as! String }
        XCTAssertEqual(types, ["str", "int", "str", "float", "str", "bool", "datetime", "datetime", "datetime", "str", "str", "str", "str", "str", "str"])
        XCTAssertEqual(rows[1][1][1] as? Int, 42)
        XCTAssertEqual(rows[1][2][1] as? String, "9007199254740993")
        XCTAssertEqual(rows[1][3][1] as? Double, 12.5)
        XCTAssertEqual(rows[1][4][1] as? String, "123456789012345678901234567890.123456789")
        XCTAssertEqual(rows[1][5][1] as? Bool, true)
        XCTAssertEqual(rows[1][6][1] as? String, "2024-02-29T23:59:59")
        XCTAssertEqual(rows[1][7][1] as? String, "2000-02-29T12:00:00.500000")
        XCTAssertEqual(rows[1][8][1] as? String, "2024-02-29T00:00:00")
        XCTAssertEqual(rows[1][10][1] as? String, "=1+2")
        XCTAssertEqual(rows[1][12][1] as? String, "Šarūnas Žemaitė: ąčęėįšųūž, 5 €")
        // NULL is an empty cell; the empty string is text.
        XCTAssertEqual(rows[2][4][0] as? String, "NoneType")
        XCTAssertEqual(rows[2][0][0] as? String, "str")
        XCTAssertEqual(rows[2][2][1] as? String, "-9223372036854775808")
        let fields = try XCTUnwrap(doc["fields"] as? [[String]])
        XCTAssertEqual(fields[0], ["dataport-xlsx", "1", "people"])
        XCTAssertEqual(Array(fields.dropFirst(2)).map { $0[0] }, Self.dataset.fields.map(\.name))
        XCTAssertEqual(Array(fields.dropFirst(2)).map { $0[1] }, Self.dataset.fields.map(\.type.rawValue))
    }

    /// JSON to xlsx and back with `convert`: the same JSON bytes, and an xlsx-only bundle verifies.
    func testConvertThroughXLSXBackToJSONIsByteIdentical() throws {
        let dir = try TestSupport.tempDir(self)
        let original = try TestSupport.exportSample(dir, extra: ["--scope", "access"])
        let xlsx = dir.appendingPathComponent("x.zip").path
        let back = dir.appendingPathComponent("back.zip").path
        XCTAssertEqual(try TestSupport.dataport("convert", original, "--format", "xlsx", "--output", xlsx).code, 0)
        XCTAssertEqual(try TestSupport.dataport("verify", xlsx).code, 0)
        let r = try TestSupport.dataport("convert", xlsx, "--format", "json", "--output", back)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: back)), try Data(contentsOf: URL(fileURLWithPath: original)))
        // The index page recommends the workbooks to spreadsheet users and links them.
        let page = try TestSupport.shell("python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.read([n for n in z.namelist() if n.endswith(\"/index.html\")][0]).decode())' '\(xlsx)'")
        XCTAssertTrue(page.stdout.contains("use the <strong>xlsx</strong> files"), page.stderr)
        XCTAssertTrue(page.stdout.contains("href=\"data/xlsx/account.xlsx\""))
        let plainPage = try TestSupport.shell("python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.read([n for n in z.namelist() if n.endswith(\"/index.html\")][0]).decode())' '\(original)'")
        XCTAssertFalse(plainPage.stdout.contains("xlsx"))
        // Deterministic: the same bundle converted twice gives the same bytes.
        let again = dir.appendingPathComponent("x2.zip").path
        XCTAssertEqual(try TestSupport.dataport("convert", original, "--format", "xlsx", "--output", again).code, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: again)), try Data(contentsOf: URL(fileURLWithPath: xlsx)))
    }

    /// Workbooks changed by hand or by another program are refused, never read approximately: a
    /// formula, a shared string, a DTD (an XXE attempt), a missing row, a cell outside the fields, a
    /// changed field list. Each is made from a good workbook with Python's zipfile.
    func testReaderRefusesWhatDataPortDoesNotWrite() throws {
        let dir = try TestSupport.tempDir(self)
        let good = try Self.workbook(dir)
        XCTAssertEqual(try FormatConformanceTests.read(XLSXFormat(), Self.dataset, Array(try Data(contentsOf: good))), Self.records)
        let cases: [(String, String, String, String)] = [
            ("formula", "xl/worksheets/sheet1.xml", "<c r=\"B2\" s=\"6\"><v>42</v></c>", "<c r=\"B2\" s=\"6\"><f>6*7</f><v>42</v></c>"),
            ("shared", "xl/worksheets/sheet1.xml", "<c r=\"K2\" t=\"inlineStr\"><is><t>=1+2</t></is></c>", "<c r=\"K2\" t=\"s\"><v>0</v></c>"),
            ("doctype", "xl/worksheets/sheet1.xml", "<worksheet", "<!DOCTYPE worksheet [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><worksheet"),
            ("gap", "xl/worksheets/sheet1.xml", "<row r=\"3\">", "<row r=\"4\">"),
            ("outside", "xl/worksheets/sheet1.xml", "<c r=\"B2\" s=\"6\">", "<c r=\"Z2\" s=\"6\">"),
            ("fields", "xl/worksheets/sheet2.xml", "<t>integer</t>", "<t>string</t>"),
            ("rounded", "xl/worksheets/sheet1.xml", "<v>12.50</v>", "<v>12.5000000000000001</v>"),
        ]
        let script = """
            import sys, zipfile
            src, dst, part, old, new = sys.argv[1:6]
            with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
                for info in z.infolist():
                    data = z.read(info.filename)
                    if info.filename == part:
                        text = data.decode()
                        assert old in text, old
                        data = text.replace(old, new, 1).encode()
                    out.writestr(info.filename, data)
            """
        try script.write(to: dir.appendingPathComponent("edit.py"), atomically: true, encoding: .utf8)
        for (name, part, old, new) in cases {
            let bad = dir.appendingPathComponent("\(name).xlsx")
            let args = [dir.appendingPathComponent("edit.py").path, good.path, bad.path, part, old, new]
            let run = try TestSupport.run("/usr/bin/env", ["python3"] + args)
            XCTAssertEqual(run.code, 0, run.stderr)
            XCTAssertThrowsError(try FormatConformanceTests.read(XLSXFormat(), Self.dataset, Array(try Data(contentsOf: bad))), name) { e in
                let error = e as? DataPortError
                XCTAssertEqual(error?.kind, .invalidBundle, "\(name): \(e)")
                XCTAssertFalse(error?.message.contains("passwd") ?? true, name)
                XCTAssertTrue(error?.location?.hasPrefix("people.xlsx") ?? false, "\(name): \(String(describing: error?.location))")
            }
        }
    }

    func testCellFormsKeepValuesExact() throws {
        XCTAssertTrue(XLSXFormat.isExactNumber("123456789012345"))
        XCTAssertFalse(XLSXFormat.isExactNumber("1234567890123456"))
        XCTAssertTrue(XLSXFormat.isExactNumber("-0.000000000000001"))
        XCTAssertFalse(XLSXFormat.isExactNumber("0.0000000000000001"))
        XCTAssertTrue(XLSXFormat.isExactNumber("12.50"))
        XCTAssertEqual(XLSXFormat.column(0), "A")
        XCTAssertEqual(XLSXFormat.column(25), "Z")
        XCTAssertEqual(XLSXFormat.column(26), "AA")
        XCTAssertEqual(XLSXFormat.column(16_383), "XFD")
        XCTAssertEqual(XLSXFormat.columnIndex(ofReference: "XFD7", row: 7), 16_383)
        XCTAssertNil(XLSXFormat.columnIndex(ofReference: "A8", row: 7))
        // Every millisecond of a day survives the serial.
        for ms in stride(from: 0, to: 86_400_000, by: 86_399) {
            let t = Timestamp(seconds: 1_709_251_199 + Int64(ms / 1000), fraction: String(String(ms % 1000 + 1000).dropFirst()))!
            XCTAssertEqual(XLSXFormat.timestamp(fromSerial: try XCTUnwrap(XLSXFormat.serialText(of: t))), t)
        }
        XCTAssertEqual(XLSXFormat.serial(of: CalendarDate("1970-01-01")!), 25_569)
        XCTAssertNil(XLSXFormat.serial(of: CalendarDate("1900-02-28")!))
        XCTAssertNil(XLSXFormat.serialText(of: Timestamp("2024-01-01T00:00:00.0001Z")!))
        // Characters XML cannot carry, and a literal escape, come back exactly.
        for s in ["\u{0}\u{1}x\u{1F}", "_x0041_", "__x005F_x", "\u{FFFE}", "plain"] {
            XCTAssertEqual(XLSXFormat.unescapedText(XLSXFormat.escapedText(s) ?? s), s)
        }
        XCTAssertNil(XLSXFormat.escapedText("plain_x41_"))
    }
}
