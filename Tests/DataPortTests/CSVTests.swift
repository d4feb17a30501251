import DataPortFormats
import DataPortIO
import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// The CSV parser, the CSV format adapter and the csv / jsonl store connectors.
final class CSVTests: XCTestCase {
    // MARK: - Helpers

    /// Parses all records of `bytes`; the first record is the header.
    static func parse(_ bytes: [UInt8], _ options: CSVParser.Options = .init()) throws -> [[CSVField]] {
        let parser = try CSVParser(InputBuffer(MemorySource(bytes)), name: "t.csv", options: options, errorKind: .store)
        var rows: [[CSVField]] = []
        while try parser.nextRecord() { rows.append(parser.fields) }
        return rows
    }

    static func parse(_ text: String, _ options: CSVParser.Options = .init()) throws -> [[CSVField]] {
        try parse(Array(text.utf8), options)
    }

    /// Asserts that parsing fails with a `DataPortError` of kind `.store` whose message holds `fragment`
    /// and whose location is exactly `t.csv, line L, column C`.
    func assertParseError(_ bytes: [UInt8], _ fragment: String, line: Int, column: Int,
                          _ options: CSVParser.Options = .init(), file: StaticString = #filePath, lineNo: UInt = #line) {
        XCTAssertThrowsError(try Self.parse(bytes, options), "accepted: \(bytes)", file: file, line: lineNo) { e in
            guard let e = e as? DataPortError else { return XCTFail("untyped error \(e)", file: file, line: lineNo) }
            XCTAssertEqual(e.kind, .store, file: file, line: lineNo)
            XCTAssertTrue(e.message.contains(fragment), "message: \(e.message)", file: file, line: lineNo)
            XCTAssertEqual(e.location, "t.csv, line \(line), column \(column)", e.message, file: file, line: lineNo)
        }
    }

    func assertParseError(_ text: String, _ fragment: String, line: Int, column: Int,
                          _ options: CSVParser.Options = .init(), file: StaticString = #filePath, lineNo: UInt = #line) {
        assertParseError(Array(text.utf8), fragment, line: line, column: column, options, file: file, lineNo: lineNo)
    }

    static let provenance = Provenance(store: "test", connector: "memory", object: "generated", matchedBy: ["email"])

    static func dataset(_ name: String, _ fields: [(String, FieldType)]) -> Dataset {
        Dataset(name: name, category: .communications, description: "test", purposes: ["testing"], legalBasis: .contract,
                origin: .provided, source: provenance, fields: fields.map { Field(name: $0.0, type: $0.1) })
    }

    static func write(_ dataset: Dataset, _ records: [Record], format: CSVFormat = CSVFormat()) throws -> [UInt8] {
        let sink = MemorySink()
        let w = try format.makeWriter(for: dataset, to: sink)
        for r in records { try w.write(r) }
        try w.finish()
        return sink.bytes
    }

    static func read(_ dataset: Dataset, _ bytes: [UInt8], format: CSVFormat = CSVFormat()) throws -> [Record] {
        let r = try format.makeReader(for: dataset, from: MemorySource(bytes))
        var out: [Record] = []
        while let rec = try r.next() { out.append(rec) }
        return out
    }

    // MARK: - Parser

    func testParserReadsQuotesDoubledQuotesEmbeddedBreaksAndBothLineEnds() throws {
        let rows = try Self.parse("a,b,c\r\n\"x,\"\"y\"\"\",,\"\"\nplain,\"multi\r\nline\",é😀\r\n")
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows[0].map(\.text), ["a", "b", "c"])
        XCTAssertEqual(rows[1].map(\.text), ["x,\"y\"", "", ""])
        // NULL (empty, unquoted) and the empty string (quoted) are told apart by the quoted flag.
        XCTAssertEqual(rows[1].map(\.quoted), [true, false, true])
        XCTAssertEqual(rows[2].map(\.text), ["plain", "multi\r\nline", "é😀"])
        XCTAssertEqual(rows[2].map(\.quoted), [false, true, false])
        // Positions: line 3 starts after the LF of line 2; columns count characters.
        XCTAssertEqual(rows[1].map(\.column), [1, 11, 12])
        XCTAssertEqual(rows[2].map { "\($0.line):\($0.column)" }, ["3:1", "3:7", "4:7"])
        // No final line break is fine by default.
        XCTAssertEqual(try Self.parse("a,b\n1,2").map { $0.map(\.text) }, [["a", "b"], ["1", "2"]])
        // A single-column file keeps its empty (NULL) rows: blank lines are records.
        XCTAssertEqual(try Self.parse("a\r\n\r\n\"\"\r\n").map { $0.map(\.quoted) }, [[false], [false], [true]])
    }

    func testParserErrorsNameLineAndColumn() {
        assertParseError("a,b\r\n1,\"x\r\n", "unterminated quoted field", line: 2, column: 3)
        assertParseError("a,b\n1,x\"y\n", "quote inside an unquoted field", line: 2, column: 4)
        assertParseError("a,b\n1,\"x\"y\n", "after a closing quote", line: 2, column: 6)
        assertParseError("a,b\n1,\"x\" \n", "after a closing quote", line: 2, column: 6)
        assertParseError("a,b\n1,2,3\n", "more fields", line: 2, column: 5)
        assertParseError("a,b\n1,2\n3\n", "record has 1 field, the header has 2", line: 3, column: 2)
        assertParseError("a,b\r\n1,2\r\n\r\n", "record has 1 field, the header has 2", line: 3, column: 1)
        assertParseError(Array("a,b\n1,".utf8) + [0xFF] + Array("\n".utf8), "invalid UTF-8", line: 2, column: 3)
        assertParseError(Array("a,b\n1,x".utf8) + [0xC3] + Array(",\n".utf8), "invalid UTF-8", line: 2, column: 5)
        assertParseError(Array("a,b\n\"".utf8) + [0xED, 0xA0, 0x80] + Array("\",1\n".utf8), "invalid UTF-8", line: 2, column: 3) // a surrogate
        assertParseError(Array("a,b\n1,x".utf8) + [0xE2, 0x82], "truncated", line: 2, column: 6) // columns count bytes
        assertParseError(Array("a,b\n1,x".utf8) + [0] + Array("\n".utf8), "NUL byte", line: 2, column: 4)
        assertParseError(Array("a,b\n1,\"x".utf8) + [0] + Array("\"\n".utf8), "NUL byte", line: 2, column: 5)
        assertParseError("a,b\r1,2\r\n", "carriage return without a line feed", line: 1, column: 4)
        assertParseError(Array("\u{FEFF}a,b\n".utf8), "byte-order mark", line: 1, column: 1)
        assertParseError("a\n1", "no line break", line: 2, column: 2, CSVParser.Options(requiresFinalLineBreak: true))
        assertParseError("a\n\"1\"", "no line break", line: 2, column: 4, CSVParser.Options(requiresFinalLineBreak: true))
    }

    func testParserOptions() throws {
        // A byte-order mark is skipped when allowed; other characters starting with 0xEF are kept.
        let bom = try Self.parse(Array("\u{FEFF}Email,Name\r\nx,y\r\n".utf8), CSVParser.Options(allowsByteOrderMark: true))
        XCTAssertEqual(bom[0].map(\.text), ["Email", "Name"])
        XCTAssertEqual(try Self.parse("\u{F8FF}x,y\n").first?.first?.text, "\u{F8FF}x")
        // NUL inside quotes, when allowed.
        let nul = try Self.parse(Array("\"a".utf8) + [0] + Array("\"\n".utf8), CSVParser.Options(allowsNULInQuotedFields: true))
        XCTAssertEqual(nul[0][0].text, "a\u{0}")
        // Other delimiters.
        XCTAssertEqual(try Self.parse("a;b\n\"1;2\";3,4\n", CSVParser.Options(delimiter: UInt8(ascii: ";")))[1].map(\.text), ["1;2", "3,4"])
        XCTAssertEqual(try Self.parse("a\tb\n1\t2\n", CSVParser.Options(delimiter: 9))[1].map(\.text), ["1", "2"])
        for bad: UInt8 in [0x22, 0x0A, 0x0D, 0, 0xC3] {
            XCTAssertThrowsError(try Self.parse("a\n", CSVParser.Options(delimiter: bad))) { XCTAssertEqual(($0 as? DataPortError)?.kind, .invalidConfig) }
        }
        // Limits are typed errors, not crashes.
        XCTAssertThrowsError(try Self.parse(String(repeating: "x", count: 100) + "\n", CSVParser.Options(maxRecordBytes: 10))) {
            XCTAssertEqual(($0 as? DataPortError)?.kind, .limitExceeded)
        }
        XCTAssertThrowsError(try Self.parse(String(repeating: ",", count: 20) + "\n", CSVParser.Options(maxFields: 5))) {
            XCTAssertEqual(($0 as? DataPortError)?.kind, .limitExceeded)
        }
    }

    /// Thousands of random inputs over the bytes that matter: every outcome is records or a typed error.
    func testParserNeverTrapsOnRandomInput() throws {
        let alphabet: [UInt8] = [0x22, 0x2C, 0x0D, 0x0A, 0x61, 0x00, 0xFF, 0xC3, 0xA9, 0xEF, 0xBB, 0xBF, 0x27, 0xF0, 0x9F, 0x98, 0x80]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        var accepted = 0, refused = 0
        for _ in 0..<5000 {
            let bytes = (0..<random(40)).map { _ in alphabet[random(alphabet.count)] }
            for options in [CSVParser.Options(), CSVParser.Options(allowsByteOrderMark: true, allowsNULInQuotedFields: true, requiresFinalLineBreak: true)] {
                do {
                    let rows = try Self.parse(bytes, options)
                    // Whatever was accepted is rectangular and valid UTF-8 (String(decoding:) would have repaired it otherwise).
                    XCTAssertEqual(Set(rows.map(\.count)).count <= 1, true)
                    for f in rows.joined() { XCTAssertFalse(f.text.contains("\u{FFFD}")) }
                    accepted += 1
                } catch let e as DataPortError {
                    XCTAssertTrue(e.location?.contains("line ") ?? false, e.description)
                    refused += 1
                }
            }
        }
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(refused, 100)
    }

    func testFieldQuotingHelper() {
        XCTAssertEqual(CSVText.field("plain"), "plain")
        XCTAssertEqual(CSVText.field(""), "")
        XCTAssertEqual(CSVText.field("a,b"), "\"a,b\"")
        XCTAssertEqual(CSVText.field("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(CSVText.field("\""), "\"\"\"\"")
        XCTAssertEqual(CSVText.field("line\nbreak"), "\"line\nbreak\"")
        XCTAssertEqual(CSVText.field("cr\r"), "\"cr\r\"")
        XCTAssertEqual(CSVText.field("a;b"), "a;b")
        XCTAssertEqual(CSVText.field("a;b", delimiter: UInt8(ascii: ";")), "\"a;b\"")
        XCTAssertTrue(CSVText.needsQuoting("x\"y"))
        XCTAssertFalse(CSVText.needsQuoting("  spaced é  "))
        // What the helper writes, the parser reads back.
        for s in ["a,b", "\"", "x\r\ny", "\"\"\"", "é,😀"] {
            XCTAssertEqual(try Self.parse(CSVText.field(s) + "\r\n")[0][0].text, s)
        }
    }

    // MARK: - CSV format adapter

    static let everyType = dataset("every_type", [("id", .integer), ("name", .string), ("note", .string), ("amount", .decimal),
                                                  ("active", .boolean), ("seen", .timestamp), ("born", .date), ("photo", .binary)])

    func testAdapterWritesTheDocumentedBytes() throws {
        let records = [
            Record([.integer(1), .string("Ana"), .string(""), .decimal(ExactDecimal("12.50")!), .boolean(true),
                    .timestamp(Timestamp("2024-02-29T23:59:59Z")!), .date(CalendarDate("1990-01-31")!), .binary([0x00, 0xFF, 0x01])]),
            Record([.integer(-2), .string("=HYPERLINK(\"x\")"), .null, .null, .null, .null, .null, .binary([])]),
        ]
        let bytes = try Self.write(Self.everyType, records)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self),
                       "id,name,note,amount,active,seen,born,photo\r\n"
                       + "1,Ana,\"\",12.50,true,2024-02-29T23:59:59Z,1990-01-31,AP8B\r\n"
                       + "-2,\"=HYPERLINK(\"\"x\"\")\",,,,,,\"\"\r\n")
        XCTAssertEqual(try Self.read(Self.everyType, bytes), records)
        // An empty dataset is just the header.
        XCTAssertEqual(try Self.write(Self.everyType, []), Array("id,name,note,amount,active,seen,born,photo\r\n".utf8))
        XCTAssertEqual(try Self.read(Self.everyType, try Self.write(Self.everyType, [])), [])
    }

    func testAdapterRoundTripKeepsNullEmptyTriggersBreaksAndUnicode() throws {
        let strings = ["", " ", "a,b", "\"quoted\"", "\"", "crlf\r\nin the middle", "\r\n", "lf\nonly", "cr\ronly", "tab\tinside",
                       "Ana María Núñez", "李小龍", "שלום عمر", "e\u{301}\u{302}", "😀👩‍👩‍👧 astral", "\u{FEFF}bom first", "NULL", "null",
                       "=1+2", "+SUM(A1)", "-2", "@cmd", "\tlead tab", "\rlead cr", "\u{0}lead nul", "'quoted already", "''", "'",
                       "= \"a,b\"\r\n", "mid=dle", "x'"]
        var records: [Record] = strings.enumerated().map { i, s in
            Record([.integer(Int64(i)), .string(s), i % 3 == 0 ? .null : .string(s), .decimal(ExactDecimal("-0.001")!), .boolean(i % 2 == 0),
                    .timestamp(Timestamp("9999-12-31T23:59:59.999999999Z")!), .date(CalendarDate("0001-01-01")!), .binary((0..<i).map { UInt8($0 * 37 % 256) })])
        }
        records.append(Record([.integer(.min), .null, .null, .null, .null, .null, .null, .null]))
        records.append(Record([.integer(.max), .string(""), .string(""), .decimal(ExactDecimal("0")!), .boolean(false), .null, .null, .binary([])]))
        let bytes = try Self.write(Self.everyType, records)
        let back = try Self.read(Self.everyType, bytes)
        XCTAssertEqual(back.count, records.count)
        for (a, b) in zip(records, back) { XCTAssertEqual(a, b) }
        // NULL and "" stay apart.
        XCTAssertEqual(back.last?.values[1], .string(""))
        XCTAssertEqual(back[back.count - 2].values[1], .null)
        // Deterministic output, no byte-order mark, CRLF line ends only.
        XCTAssertEqual(try Self.write(Self.everyType, records), bytes)
        XCTAssertNotEqual(Array(bytes.prefix(3)), [0xEF, 0xBB, 0xBF])
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).hasSuffix("\r\n"))
    }

    func testDefaultCSVCarriesFormulaTriggersAsTheyAre() throws {
        let d = Self.dataset("cells", [("text", .string), ("number", .integer)])
        let triggers = ["=cmd", "+34 600 000 001", "-1", "@SUM(1)", "\tx", "\rx", "'x", "''", "\u{0}x"]
        let records = triggers.map { Record([.string($0), .integer(-5)]) }
        let bytes = try Self.write(d, records)
        let rows = try Self.parse(bytes, CSVParser.Options(allowsNULInQuotedFields: true)).dropFirst()
        for (row, trigger) in zip(rows, triggers) { XCTAssertEqual(row[0].text, trigger) }
        XCTAssertEqual(try Self.read(d, bytes), records)
        XCTAssertEqual(CSVFormat().encodingNotes, ["formulaEscape": "none", "null": "empty-unquoted-field"])
    }

    func testFormulaGuardOptionNeutralisesStringFieldsOnlyAndItsReaderUndoesIt() throws {
        let guarded = CSVFormat(formulaGuard: true)
        let d = Self.dataset("cells", [("text", .string), ("number", .integer), ("amount", .decimal)])
        let triggers = ["=cmd", "+1", "-1", "@SUM(1)", "\tx", "\rx", "'x", "\u{0}x"]
        let records = triggers.map { Record([.string($0), .integer(-5), .decimal(ExactDecimal("-1.5")!)]) }
        let bytes = try Self.write(d, records, format: guarded)
        let rows = try Self.parse(bytes, CSVParser.Options(allowsNULInQuotedFields: true)).dropFirst()
        for (row, trigger) in zip(rows, triggers) {
            // Every written string cell starts with the apostrophe; numbers are untouched.
            XCTAssertEqual(row[0].text, "'" + trigger)
            XCTAssertEqual(row[1].text, "-5")
            XCTAssertEqual(row[2].text, "-1.5")
        }
        XCTAssertEqual(try Self.read(d, bytes, format: guarded), records)
        // Values that merely contain a trigger later on are written as they are.
        let plain = try Self.write(d, [Record([.string("a=b-c+d@e"), .null, .null])], format: guarded)
        XCTAssertEqual(String(decoding: plain, as: UTF8.self), "text,number,amount\r\na=b-c+d@e,,\r\n")
        // The manifest learns how to undo it, and the reader for those notes undoes it; the
        // notes of bundles made before the guard became an option read the same way.
        XCTAssertEqual(guarded.encodingNotes["formulaEscape"], "apostrophe")
        let legacy = ["formulaEscape": "apostrophe", "formulaTriggers": "= + - @ TAB CR NUL '", "null": "empty-unquoted-field"]
        for notes in [guarded.encodingNotes, legacy] {
            let reader = try XCTUnwrap(try FormatRegistry.standard.reader(named: "csv", encoding: notes))
            let r = try reader.makeReader(for: d, from: MemorySource(bytes))
            var back: [Record] = []
            while let rec = try r.next() { back.append(rec) }
            XCTAssertEqual(back, records)
        }
        // Without the guard's note, the apostrophes are data.
        let unguarded = try XCTUnwrap(try FormatRegistry.standard.reader(named: "csv", encoding: CSVFormat().encodingNotes))
        let first = try unguarded.makeReader(for: d, from: MemorySource(bytes)).next()
        XCTAssertEqual(first?.values[0], .string("'=cmd"))
        XCTAssertThrowsError(try FormatRegistry.standard.reader(named: "csv", encoding: ["formulaEscape": "backslash"])) {
            XCTAssertEqual(($0 as? DataPortError)?.kind, .invalidBundle)
        }
    }

    func testAdapterRefusesBadFilesWithLineAndColumn() throws {
        let d = Self.dataset("people", [("id", .integer), ("name", .string), ("born", .date)])
        func refuses(_ text: String, _ fragment: String, _ location: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try Self.read(d, Array(text.utf8)), file: file, line: line) { e in
                guard let e = e as? DataPortError else { return XCTFail("untyped \(e)", file: file, line: line) }
                XCTAssertEqual(e.kind, .invalidBundle, file: file, line: line)
                XCTAssertTrue(e.message.contains(fragment), e.message, file: file, line: line)
                XCTAssertEqual(e.location, location, file: file, line: line)
            }
        }
        refuses("id,name,born\r\n1,a,2024-01-01\r\nx,b,\r\n", "id is not a valid integer", "people.csv, line 3, column 1")
        refuses("id,name,born\r\n1,a,2024-02-30\r\n", "born is not a valid date", "people.csv, line 2, column 5")
        refuses("id,name,born\r\n\"\",a,\r\n", "id is not a valid integer", "people.csv, line 2, column 1")
        refuses("id,name,born\r\n007,a,\r\n", "id is not a valid integer", "people.csv, line 2, column 1")
        refuses("id,nom,born\r\n", "header field 2 should be name", "people.csv, line 1, column 4")
        refuses("id,name\r\n", "the header has 2 fields, the dataset has 3", "people.csv, line 1, column 1")
        refuses("id,name,born,extra\r\n", "the header has 4 fields, the dataset has 3", "people.csv, line 1, column 14")
        refuses("", "header row is missing", "people.csv, line 1, column 1")
        refuses("\u{FEFF}id,name,born\r\n", "byte-order mark", "people.csv, line 1, column 1")
        refuses("id,name,born\r\n1,a,\r\n2,b,", "no line break", "people.csv, line 3, column 5")
        refuses("id,name,born\r\n1,\"a\r\n", "unterminated", "people.csv, line 2, column 3")
        refuses("id,name,born\r\n1,a\r\n", "record has 2 fields, the header has 3", "people.csv, line 2, column 4")
        // LF line ends are accepted on read.
        XCTAssertEqual(try Self.read(d, Array("id,name,born\n1,,\n".utf8)), [Record([.integer(1), .null, .null])])
    }

    /// A reader no one here wrote: Python's csv module sees the same cells as DataPort's parser.
    func testPythonCSVModuleReadsTheSameCells() throws {
        guard TestSupport.has("python3") else { throw XCTSkip("python3 is not installed") }
        let d = Self.dataset("cells", [("text", .string), ("number", .integer), ("when", .timestamp), ("blob", .binary)])
        let strings = ["plain", "", "a,b", "say \"hi\"", "two\r\nlines", "lf\nonly", "=1+2", "-3", "@x", "'q", "Ana María Núñez 李小龍 😀", "  spaced  "]
        let records = strings.enumerated().map { i, s in
            Record([i == 3 ? .null : .string(s), .integer(Int64(i) - 5), .timestamp(Timestamp(seconds: Int64(i) * 86_399, fraction: "25")!), .binary([UInt8(i), 0xFB, 0xFF])])
        }
        let dir = try TestSupport.tempDir(self)
        let path = dir.appendingPathComponent("cells.csv").path
        try Data(try Self.write(d, records)).write(to: URL(fileURLWithPath: path))
        let script = "import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline=\"\", encoding=\"utf-8\", errors=\"strict\")))))"
        let run = try TestSupport.shell("python3 -c '\(script)' '\(path)'")
        XCTAssertEqual(run.code, 0, run.stderr)
        let python = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String]]
        let ours = try Self.parse(try Self.write(d, records)).map { $0.map(\.text) }
        XCTAssertEqual(python, ours)
        XCTAssertEqual(python?.count, strings.count + 1)
        XCTAssertEqual(python?[0], ["text", "number", "when", "blob"])
        XCTAssertEqual(python?[5], ["two\r\nlines", "-1", "1970-01-04T23:59:56.25Z", "BPv/"])
        XCTAssertEqual(python?[7].first, "=1+2")  // exact: no formula guard by default
        XCTAssertEqual(python?[4].first, "") // NULL reads as an empty cell in tools without the distinction
    }

    /// Art. 20 receivers using standard tools get the data as it is: in an exported bundle, every CSV
    /// cell read by Python's csv module and by pandas is the JSON file's value text, and every value
    /// frictionless reads through datapackage.json equals the JSON value, with no added characters (no `'`).
    func testCSVValuesEqualJSONValuesInPythonCSVPandasAndFrictionless() throws {
        guard TestSupport.has("python3"), (try TestSupport.shell("python3 -c 'import frictionless, pandas'")).code == 0 else {
            return XCTFail("python3 with frictionless and pandas is needed (.ci/run installs them)")
        }
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, formats: "json,csv", extra: ["--scope", "access"])
        let files = dir.appendingPathComponent("files")
        try TestSupport.unzip(bundle, into: files)
        let top = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: files.path).first)
        let script = """
            import csv, datetime, decimal, json, os, sys
            import pandas
            from frictionless import Package
            top = sys.argv[1]
            problems, cells, typed = [], 0, 0
            def records(name):
                doc = json.load(open(os.path.join(top, "data/json", name + ".json"), encoding="utf-8"), parse_int=str, parse_float=str)
                return [{k: (None if v is None else ("true" if v is True else "false" if v is False else v)) for k, v in r.items()} for r in doc["records"]]
            package = Package(os.path.join(top, "datapackage.json"))
            for resource in package.resources:
                want = records(resource.name)
                with open(os.path.join(top, resource.path), newline="", encoding="utf-8", errors="strict") as f:
                    got = list(csv.DictReader(f))
                if len(got) != len(want): problems.append(resource.name + ": row count")
                for w, g in zip(want, got):
                    for k, v in w.items():
                        cells += 1
                        if g[k] != ("" if v is None else v): problems.append(resource.name + "." + k + " (csv)")
                frame = pandas.read_csv(os.path.join(top, resource.path), dtype=str, keep_default_na=False, encoding="utf-8")
                if len(frame) != len(want): problems.append(resource.name + ": row count (pandas)")
                for w, g in zip(want, frame.to_dict("records")):
                    for k, v in w.items():
                        cells += 1
                        if g[k] != ("" if v is None else v): problems.append(resource.name + "." + k + " (pandas)")
                for w, row in zip(want, resource.read_rows()):
                    for field in resource.schema.fields:
                        v, x = w[field.name], row[field.name]
                        typed += 1
                        if v is None or v == "": ok = x is None
                        elif field.type == "string": ok = x == v
                        elif field.type == "integer": ok = x == int(v)
                        elif field.type == "number": ok = x == decimal.Decimal(v)
                        elif field.type == "boolean": ok = x == (v == "true")
                        elif field.type == "date": ok = x.isoformat() == v
                        elif field.type == "datetime": ok = x == datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
                        else: ok = False
                        if not ok: problems.append(resource.name + "." + field.name + " (frictionless)")
            print(json.dumps({"problems": problems, "cells": cells, "typed": typed}))
            """
        try script.write(to: dir.appendingPathComponent("compare.py"), atomically: true, encoding: .utf8)
        let run = try TestSupport.shell("python3 '\(dir.path)/compare.py' '\(files.appendingPathComponent(top).path)'")
        XCTAssertEqual(run.code, 0, run.stderr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(doc["problems"] as? [String], [])
        XCTAssertGreaterThan(doc["cells"] as? Int ?? 0, 50)
        XCTAssertGreaterThan(doc["typed"] as? Int ?? 0, 50)
        // The sample's phone number starts with +: exactly as stored.
        let csv = try String(contentsOf: files.appendingPathComponent(top).appendingPathComponent("data/csv/contact_details.csv"), encoding: .utf8)
        XCTAssertTrue(csv.contains(",+34 600 000 001,"))
    }

    /// `--csv-formula-guard` writes the apostrophes, says so in the manifest and datapackage.json, and
    /// the bundle still reads back exactly (convert to JSON gives the unguarded bundle's JSON).
    func testFormulaGuardOptionIsRecordedAndReadBack() throws {
        let dir = try TestSupport.tempDir(self)
        let plain = try TestSupport.exportSample(dir, formats: "json", name: "plain.zip")
        let guarded = try TestSupport.exportSample(dir, formats: "csv", extra: ["--csv-formula-guard"], name: "guarded.zip")
        let files = dir.appendingPathComponent("files")
        try TestSupport.unzip(guarded, into: files)
        let top = files.appendingPathComponent(try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: files.path).first))
        let csv = try String(contentsOf: top.appendingPathComponent("data/csv/contact_details.csv"), encoding: .utf8)
        XCTAssertTrue(csv.contains(",'+34 600 000 001,"))
        let manifest = try String(contentsOf: top.appendingPathComponent("manifest.json"), encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"formulaEscape\": \"apostrophe\"") || manifest.contains("\"formulaEscape\":\"apostrophe\""))
        let package = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("datapackage.json"))) as! [String: Any]
        XCTAssertTrue((package["resources"] as! [[String: Any]]).allSatisfy { $0["formulaEscape"] as? String == "apostrophe" })
        let back = dir.appendingPathComponent("back.zip").path
        XCTAssertEqual(try TestSupport.dataport("convert", guarded, "--format", "json", "--output", back).code, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: back)), try Data(contentsOf: URL(fileURLWithPath: plain)))
        // The option needs a CSV format to apply to.
        let r = try TestSupport.dataport("convert", guarded, "--format", "json", "--csv-formula-guard", "--output", dir.appendingPathComponent("x.zip").path)
        XCTAssertEqual(r.code, 2, r.stderr)
    }

    func testAdapterIsRegistered() throws {
        let csv = try XCTUnwrap(FormatRegistry.standard.adapter(named: "csv"))
        XCTAssertEqual(csv.fileExtension, "csv")
        XCTAssertEqual(csv.mediaType, "text/csv")
        XCTAssertEqual(try FormatRegistry.standard.adapters(forList: "json,csv").map(\.name), ["json", "csv"])
    }

    // MARK: - csv and jsonl store connectors

    static let audienceCSV = "\u{FEFF}Email Address,First Name,MEMBER_RATING,OPTIN_TIME,Notes,LEID\r\n"
        + "ana.nunez@example.com,Ana,4,2024-03-01 10:15:00,\"likes \"\"quotes\"\", commas\",101\r\n"
        + "ana.nunez@example.co,Eve,1,2024-01-01T00:00:00Z,near miss,103\r\n"
        + "\" Ana.Nunez@Example.COM \",Ana,2,2024-05-01T08:00:00+02:00,,102\r\n"
        + "xana.nunez@example.com,X,1,2024-01-01T00:00:00Z,prefix,104\r\n"
        + "ana.nunez@example.com.evil,Y,1,2024-01-01T00:00:00Z,suffix,105\r\n"
        + "nunez@example.com,Z,1,2024-01-01T00:00:00Z,\"\",106\r\n"

    static let eventsJSONL = """
        {"email":"ANA.NUNEZ@example.com","event":"open","at":"2024-06-01T09:00:00Z","campaign":17,"score":0.5}
        {"email":"ana.nunez@example.co","event":"click","at":"2024-06-01T09:01:00Z","campaign":17,"score":1}
        {"email":" ana.nunez@example.com","event":"click","at":"2024-06-02T10:00:00+02:00","campaign":18,"tags":["a","b"],"score":null,"ok":true}
        {"email":"ana.nunez@example.com.evil","event":"open","at":"2024-06-03T00:00:00Z","campaign":19}

        """

    /// A stores config with a csv store (`mailing`) and a jsonl store (`events`) over files in `dir`.
    static func config(_ dir: URL, csvColumns: String? = nil, jsonlColumns: String? = nil, csvOptions: String = "",
                       csvMatch: String = #"[{"field": "email", "identity": "email"}]"#) throws -> StoresConfig {
        let csvFields = csvColumns ?? """
            [{"name": "email", "column": "Email Address", "type": "string"},
             {"name": "first_name", "column": "First Name", "type": "string"},
             {"name": "rating", "column": "MEMBER_RATING", "type": "integer"},
             {"name": "opted_in_at", "column": "OPTIN_TIME", "type": "timestamp"},
             {"name": "notes", "column": "Notes", "type": "string"},
             {"name": "leid", "column": "LEID", "secret": true}]
            """
        let jsonlFields = jsonlColumns ?? """
            [{"name": "email", "type": "string"}, {"name": "event", "type": "string"}, {"name": "at", "type": "timestamp"},
             {"name": "campaign", "type": "integer"}, {"name": "score", "type": "decimal"}, {"name": "tags", "type": "string"},
             {"name": "ok", "type": "boolean"}]
            """
        let text = """
            {"version": "1", "controller": {"name": "Test Ltd", "contact": "privacy@test.example"},
             "stores": [
              {"name": "mailing", "type": "csv", "options": {"path": "exports"\(csvOptions)},
               "datasets": [{"name": "newsletter", "file": "audience.csv", "category": "subscriptions",
                 "description": "Newsletter subscription", "purposes": ["newsletter"], "legalBasis": "consent", "origin": "provided",
                 "match": \(csvMatch), "yields": [{"identity": "email", "field": "email"}],
                 "fields": \(csvFields)}]},
              {"name": "events", "type": "jsonl", "options": {"path": "\(dir.appendingPathComponent("exports").path)"},
               "datasets": [{"name": "email_events", "file": "events.jsonl", "category": "communications",
                 "description": "Opens and clicks", "purposes": ["newsletter"], "legalBasis": "consent", "origin": "observed",
                 "match": [{"field": "email", "identity": "email"}],
                 "fields": \(jsonlFields)}]}]}
            """
        return try StoresConfig.parse(Array(text.utf8), file: dir.appendingPathComponent("stores.json").path, baseDirectory: dir.path)
    }

    func makeStores(csv: String = audienceCSV, jsonl: String = eventsJSONL) throws -> URL {
        let dir = try TestSupport.tempDir(self)
        let exports = dir.appendingPathComponent("exports")
        try FileManager.default.createDirectory(at: exports, withIntermediateDirectories: true)
        try Data(csv.utf8).write(to: exports.appendingPathComponent("audience.csv"))
        try Data(jsonl.utf8).write(to: exports.appendingPathComponent("events.jsonl"))
        return dir
    }

    func gather(_ config: StoresConfig, email: String) throws -> (records: [String: [Record]], identities: [String]) {
        let g = try Gathering(config: config, request: [Identity(kind: .email, value: email, foundIn: ["request"])])
        defer { g.close() }
        var out: [String: [Record]] = [:]
        for d in config.datasets {
            var rows: [Record] = []
            try g.read(d) { rows.append($0) }
            out[d.name] = rows
        }
        return (out, g.identities.map { "\($0.kind)=\($0.value)" })
    }

    func testFileStoresFindTheSubjectByExactNormalisedEmail() throws {
        let dir = try makeStores()
        let (records, identities) = try gather(try Self.config(dir), email: "  Ana.NUNEZ@Example.com\t")
        XCTAssertEqual(identities, ["email=ana.nunez@example.com"])
        let ts = { Value.timestamp(Timestamp($0)!) }
        // File order; secrets left out; NULL for an empty cell; embedded quotes and commas intact.
        XCTAssertEqual(records["newsletter"], [
            Record([.string("ana.nunez@example.com"), .string("Ana"), .integer(4), ts("2024-03-01T10:15:00Z"), .string("likes \"quotes\", commas")]),
            Record([.string(" Ana.Nunez@Example.COM "), .string("Ana"), .integer(2), ts("2024-05-01T06:00:00Z"), .null]),
        ])
        XCTAssertEqual(records["email_events"], [
            Record([.string("ANA.NUNEZ@example.com"), .string("open"), ts("2024-06-01T09:00:00Z"), .integer(17),
                    .decimal(ExactDecimal("0.5")!), .null, .null]),
            Record([.string(" ana.nunez@example.com"), .string("click"), ts("2024-06-02T08:00:00Z"), .integer(18),
                    .null, .string("[\"a\",\"b\"]"), .boolean(true)]),
        ])
    }

    /// CSV only: a quoted empty cell of a string field is the empty string, not NULL (the store
    /// conformance suite covers near misses, NULLs and config errors for every store).
    func testAQuotedEmptyCellIsTheEmptyStringNotNULL() throws {
        let config = try Self.config(try makeStores())
        XCTAssertEqual(try gather(config, email: "nunez@example.com").records["newsletter"]?.first?.values[4], .string(""))
        XCTAssertEqual(try gather(config, email: "ana.nunez@example.com").records["newsletter"]?.last?.values[4], .null, "an unquoted empty cell is NULL")
    }

    func testFileStoreConfigChecks() throws {
        let dir = try makeStores()
        func refuses(_ config: @autoclosure () throws -> StoresConfig, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try gather(try config(), email: "ana.nunez@example.com"), file: file, line: line) { e in
                let e = e as? DataPortError
                XCTAssertEqual(e?.kind, .invalidConfig, file: file, line: line)
                XCTAssertTrue(e?.message.contains(fragment) ?? false, e?.description ?? "", file: file, line: line)
            }
        }
        refuses(try Self.config(dir, csvOptions: #", "delimiter": "::""#), "delimiter")
        // A semicolon-separated export with the delimiter option.
        let semicolons = "Email Address;First Name;MEMBER_RATING;OPTIN_TIME;Notes;LEID\nana.nunez@example.com;Ana;3;2024-03-01T10:15:00Z;a, b;1\n"
        let other = try makeStores(csv: semicolons)
        let found = try gather(try Self.config(other, csvOptions: #", "delimiter": ";""#), email: "ana.nunez@example.com")
        XCTAssertEqual(found.records["newsletter"]?.first?.values[4], .string("a, b"))
    }

    func testMalformedStoreRowsAreStoreErrorsWithFileLineAndColumn() throws {
        func fails(csv: String = CSVTests.audienceCSVHeaderOnly, jsonl: String = "", _ fragment: String, _ location: String,
                   file: StaticString = #filePath, line: UInt = #line) throws {
            let dir = try makeStores(csv: csv, jsonl: jsonl)
            XCTAssertThrowsError(try gather(try Self.config(dir), email: "ana.nunez@example.com"), file: file, line: line) { e in
                let e = e as? DataPortError
                XCTAssertEqual(e?.kind, .store, e?.description ?? "", file: file, line: line)
                XCTAssertTrue(e?.message.contains(fragment) ?? false, e?.description ?? "", file: file, line: line)
                XCTAssertEqual(e?.location, location, file: file, line: line)
            }
        }
        let header = Self.audienceCSVHeaderOnly
        try fails(csv: header + "ana.nunez@example.com,Ana,4\r\n", "record has 3 fields, the header has 6", "store mailing: audience.csv, line 2, column 28")
        try fails(csv: header + "a@b.c,A,1,2024-01-01T00:00:00Z,x,1\r\nana.nunez@example.com,\"Ana,4,,,\r\n", "unterminated", "store mailing: audience.csv, line 3, column 23")
        try fails(csv: header + "ana.nunez@example.com,Ana,four,2024-01-01T00:00:00Z,,1\r\n", "field rating: a value is not a valid integer", "store mailing: audience.csv, line 2, column 27")
        try fails(jsonl: "{\"email\":\"x@y.z\"}\n{\"email\":\"ana.nunez@example.com\",}\n", "malformed JSON", "store events: events.jsonl, line 2, column 35")
        try fails(jsonl: "{\"email\":\"x@y.z\"}\n\n", "blank line", "store events: events.jsonl, line 2, column 1")
        try fails(jsonl: "{\"email\":\"x@y.z\"} {\"email\":\"x@y.z\"}\n", "one object per line", "store events: events.jsonl, line 1, column 19")
        try fails(jsonl: "[1]\n", "one JSON object", "store events: events.jsonl, line 1, column 2")
        try fails(jsonl: #"{"email":"ana.nunez@example.com","event":"x","at":"2024-01-01T00:00:00Z","campaign":1.5,"score":1,"tags":"t","ok":false}"# + "\n",
                  "field campaign: a value is not a valid integer", "store events: events.jsonl, line 1, column 85")
    }

    static let audienceCSVHeaderOnly = "Email Address,First Name,MEMBER_RATING,OPTIN_TIME,Notes,LEID\r\n"

}
