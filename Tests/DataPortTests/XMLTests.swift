import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The XML adapter: lossless round trips, the published XSD, and refusal of hostile documents.
final class XMLTests: XCTestCase {
    let xml = XMLFormat()

    // MARK: Helpers

    func dataset(_ name: String = "people", _ fields: [(String, FieldType)]) -> Dataset {
        Dataset(name: name, category: .account, description: "test", purposes: ["testing"], legalBasis: .contract,
                origin: .provided, source: Provenance(store: "t", connector: "test", object: name, matchedBy: []),
                fields: fields.map { Field(name: $0.0, type: $0.1) })
    }

    func write(_ records: [Record], _ ds: Dataset) throws -> [UInt8] {
        let sink = MemorySink()
        let w = try xml.makeWriter(for: ds, to: sink)
        for r in records { try w.write(r) }
        try w.finish()
        return sink.bytes
    }

    func read(_ bytes: [UInt8], _ ds: Dataset) throws -> [Record] {
        let r = try xml.makeReader(for: ds, from: MemorySource(bytes))
        var out: [Record] = []
        while let rec = try r.next() { out.append(rec) }
        return out
    }

    /// Reading `text` must fail with a `DataPortError` of `kind`; returns it for further checks.
    @discardableResult
    func assertRejects(_ text: String, _ ds: Dataset, kind: DataPortError.Kind = .invalidBundle, containing: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) -> DataPortError? {
        do {
            let records = try read(Array(text.utf8), ds)
            XCTFail("accepted a bad document (\(records.count) records)", file: file, line: line)
        } catch let e as DataPortError {
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertTrue(e.location?.hasPrefix("\(ds.name).xml") ?? false, "location: \(e.location ?? "none")", file: file, line: line)
            if let containing { XCTAssertTrue(e.message.contains(containing), "message: \(e.message)", file: file, line: line) }
            return e
        } catch {
            XCTFail("untyped error \(error)", file: file, line: line)
        }
        return nil
    }

    /// Runs `body` with file descriptor 2 redirected, and returns what was written to it.
    func capturingStderr(_ body: () throws -> Void) rethrows -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xml-stderr-\(UUID().uuidString)").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let saved = dup(2)
        dup2(fd, 2)
        defer {
            dup2(saved, 2); close(saved); close(fd)
            try? FileManager.default.removeItem(atPath: path)
        }
        try body()
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// A document in our shape for a dataset `people(id integer, name string)` with `records` inside `<records>`.
    func document(_ records: String, fields: String = #"<field name="id" type="integer"/><field name="name" type="string"/>"#,
                  root: String = #"<dp:dataset xmlns:dp="urn:dataport:dataset:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="people" version="1.0">"#,
                  prolog: String = "") -> String {
        #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n" + prolog + root + "<fields>" + fields + "</fields><records>" + records + "</records></dp:dataset>\n"
    }

    let people = [("id", FieldType.integer), ("name", FieldType.string)]

    static let hardStrings: [String] = {
        var s = ["", " ", "  leading and trailing  ", "\t", "\n", "\r", "\r\n", "a\rb", "a\r\nb\nc\r", "\n\n  \n",
                 "<tag attr=\"x\">&amp; ]]> &#13; &lt;</tag>", "'\"", "\u{FFFE}", "\u{FFFF}", "x\u{FFFF}y", "\u{FFFD}",
                 "😀 𝄞 \u{10FFFF} \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", "e\u{301}", "\u{E9}", "a\u{300}\u{301}\u{302}",
                 "مرحبا بالعالم", "\u{202E}abc\u{202C} שלום", "\u{7F}\u{80}\u{85}\u{9F}\u{2028}\u{2029}", "\u{FEFF}bom",
                 "\u{0}", "a\u{0}b", String(repeating: "long text ", count: 5000)]
        for c in 0..<0x20 { s.append("[\(Character(Unicode.Scalar(UInt8(c))))]") }
        s.append(String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }))
        s.append("\r" + String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }) + "\u{FFFE}\r\n")
        return s
    }()

    // MARK: Round trips

    func testRoundTripsEveryTypeAndNull() throws {
        let ds = dataset("everything", [("s", .string), ("i", .integer), ("d", .decimal), ("b", .boolean),
                                        ("t", .timestamp), ("dt", .date), ("bin", .binary)])
        let records: [Record] = [
            Record([.string("Ana Núñez"), .integer(42), .decimal(ExactDecimal("12.50")!), .boolean(true),
                    .timestamp(Timestamp("2026-01-31T12:00:00.123456789Z")!), .date(CalendarDate("2026-02-28")!), .binary([0, 1, 2, 255])]),
            Record([.string(""), .integer(Int64.min), .decimal(ExactDecimal("-0.001")!), .boolean(false),
                    .timestamp(Timestamp("0001-01-01T00:00:00Z")!), .date(CalendarDate("0001-01-01")!), .binary([])]),
            Record([.string(" x "), .integer(Int64.max), .decimal(ExactDecimal("123456789012345678901234567890123456789.000000000000001")!),
                    .boolean(true), .timestamp(Timestamp("9999-12-31T23:59:59.5Z")!), .date(CalendarDate("9999-12-31")!),
                    .binary((0...255).map { UInt8($0) })]),
            Record([.null, .null, .null, .null, .null, .null, .null]),
            Record([.string("0"), .integer(0), .decimal(ExactDecimal("0")!), .boolean(false),
                    .timestamp(Timestamp("1970-01-01T00:00:00Z")!), .date(CalendarDate("2000-02-29")!), .binary([0x3C, 0x26])]),
        ]
        let bytes = try write(records, ds)
        XCTAssertEqual(try read(bytes, ds), records)
    }

    func testRoundTripsHardStringsExactly() throws {
        let ds = dataset("texts", [("n", .integer), ("text", .string), ("also", .string)])
        let strings = Self.hardStrings
        let records = strings.enumerated().map { Record([.integer(Int64($0.offset)), .string($0.element), .string("suffix" + $0.element)]) }
        let back = try read(try write(records, ds), ds)
        XCTAssertEqual(back.count, records.count)
        for (r, b) in zip(records, back) {
            // Compare scalars, not Strings: Swift's == treats canonically equivalent strings as equal.
            for (x, y) in zip(r.values, b.values) {
                guard case .string(let want) = x else { XCTAssertEqual(x, y); continue }
                guard case .string(let got) = y else { XCTFail("not a string: \(y)"); continue }
                XCTAssertEqual(Array(got.unicodeScalars), Array(want.unicodeScalars), "string \(Array(want.unicodeScalars.prefix(20)).map { $0.value })")
            }
        }
    }

    func testNullIsDistinctFromEmptyString() throws {
        let ds = dataset("t", [("a", .string), ("b", .string)])
        let records = [Record([.null, .string("")]), Record([.string(""), .null])]
        let bytes = try write(records, ds)
        XCTAssertEqual(try read(bytes, ds), records)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains(#"<a xsi:nil="true"/><b></b>"#), text)
    }

    func testEmptyDatasetAndNoFields() throws {
        let ds = dataset("empty", people)
        XCTAssertEqual(try read(try write([], ds), ds), [])
        let none = dataset("nofields", [])
        XCTAssertEqual(try read(try write([Record([]), Record([])], none), none), [Record([]), Record([])])
    }

    /// The exact bytes of a small file: the layout is published, so it must not drift unnoticed.
    func testWritesThePublishedShape() throws {
        let ds = dataset("people", [("id", .integer), ("name", .string), ("note", .string), ("paid", .decimal)])
        let bytes = try write([Record([.integer(1), .string("Ana & Bo <x>"), .null, .decimal(ExactDecimal("9.90")!)]),
                               Record([.integer(2), .string("line1\r\nline2"), .string("bell\u{7}"), .null])], ds)
        let expected = """
        <?xml version="1.0" encoding="UTF-8"?>
        <dp:dataset xmlns:dp="urn:dataport:dataset:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:dataport:dataset:1 ../../schemas/xml/people.xsd" name="people" version="1.1">
          <fields>
            <field name="id" type="integer"/>
            <field name="name" type="string"/>
            <field name="note" type="string"/>
            <field name="paid" type="decimal"/>
          </fields>
          <records>
            <record><id>1</id><name>Ana &amp; Bo &lt;x&gt;</name><note xsi:nil="true"/><paid>9.90</paid></record>
            <record><id>2</id><name>line1&#13;
        line2</name><note encoding="base64">YmVsbAc=</note><paid xsi:nil="true"/></record>
          </records>
        </dp:dataset>

        """
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), expected)
    }

    func testStreamsWhileWriting() throws {
        let ds = dataset("log", people)
        let sink = MemorySink()
        let w = try xml.makeWriter(for: ds, to: sink)
        for i in 0..<5000 { try w.write(Record([.integer(Int64(i)), .string("visit \(i)")])) }
        // Bytes reach the sink record by record, long before finish(): memory stays bounded.
        XCTAssertGreaterThan(sink.bytes.count, 100_000)
        try w.finish()
        let back = try read(sink.bytes, ds)
        XCTAssertEqual(back.count, 5000)
        XCTAssertEqual(back.last, Record([.integer(4999), .string("visit 4999")]))
    }

    func testWriterRefusesValuesOverTheLimitAndTypeMismatches() throws {
        let ds = dataset("big", [("text", .string)])
        let w = try xml.makeWriter(for: ds, to: MemorySink())
        XCTAssertThrowsError(try w.write(Record([.string(String(repeating: "a", count: XMLFormat.maxValueBytes + 1))]))) {
            XCTAssertEqual(($0 as? DataPortError)?.kind, .limitExceeded)
        }
        let w2 = try xml.makeWriter(for: ds, to: MemorySink())
        XCTAssertThrowsError(try w2.write(Record([.integer(1)]))) { XCTAssertEqual(($0 as? DataPortError)?.kind, .internal) }
    }

    func testSinkErrorsPropagate() throws {
        final class FailingSink: ByteSink {
            func write(_ bytes: UnsafeRawBufferPointer) throws { throw DataPortError(.output, "disk full") }
        }
        let ds = dataset("t", people)
        XCTAssertThrowsError(try {
            let w = try xml.makeWriter(for: ds, to: FailingSink())
            for i in 0..<1000 { try w.write(Record([.integer(Int64(i)), .string("x")])) }
            try w.finish()
        }()) { XCTAssertEqual($0 as? DataPortError, DataPortError(.output, "disk full")) }
    }

    func testSourceErrorsPropagate() throws {
        /// Hands out the start of a document, then fails as a checksumming source would.
        final class FailingSource: ByteSource {
            let head = MemorySource(Array(#"<?xml version="1.0"?><dp:dataset xmlns:dp="urn:dataport:dataset:1" name="people" version="1.0"><fields>"#.utf8))
            func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
                let n = try head.read(into: buffer)
                if n == 0 { throw DataPortError(.tamperedBundle, "checksum mismatch") }
                return n
            }
        }
        XCTAssertThrowsError(try {
            let r = try xml.makeReader(for: dataset("people", people), from: FailingSource())
            while try r.next() != nil {}
        }()) { XCTAssertEqual(($0 as? DataPortError)?.kind, .tamperedBundle, "\($0)") }
    }

    func testRegisteredWithSchema() {
        XCTAssertTrue(FormatRegistry.standard.adapter(named: "xml") is XMLFormat)
        XCTAssertEqual(xml.fileExtension, "xml")
        XCTAssertEqual(xml.mediaType, "application/xml")
        XCTAssertEqual(xml.schemaFiles.map(\.name), ["dataport-value-types.xsd", "dataport-dataset.xsd"])
        XCTAssertEqual(xml.schemaFiles.map(\.contents), [PublishedSchemas.xmlValueTypes, PublishedSchemas.xmlDataset])
        XCTAssertEqual(xml.schemaFile(for: dataset("people", people))?.name, "xml/people.xsd")
    }

    // MARK: The published XSD

    func testPublishedXSDMatchesFormatsFolder() throws {
        for schema in xml.schemaFiles {
            let onDisk = try String(contentsOf: TestSupport.root.appendingPathComponent("formats/\(schema.name)"), encoding: .utf8)
            XCTAssertEqual(onDisk, schema.contents, schema.name)
        }
    }

    /// Validates `text` with xmllint against the generic published XSD, or, given `perDataset`,
    /// against the schema the XML format makes for that dataset, laid out as in a bundle's `schemas/`.
    func xmllint(_ text: String, perDataset: Dataset? = nil) throws -> TestSupport.Run {
        guard TestSupport.has("xmllint") else {
            XCTFail("xmllint is not installed: install Debian's libxml2-utils (apt-get install -y libxml2-utils); CI needs it to check the XSD")
            throw XCTSkip("xmllint missing")
        }
        let dir = try TestSupport.tempDir(self)
        let file = dir.appendingPathComponent("data.xml")
        try Data(text.utf8).write(to: file)
        var xsd = TestSupport.root.appendingPathComponent("formats/dataport-dataset.xsd").path
        if let perDataset, let own = xml.schemaFile(for: perDataset) {
            let schemas = dir.appendingPathComponent("schemas")
            try FileManager.default.createDirectory(at: schemas.appendingPathComponent("xml"), withIntermediateDirectories: true)
            for s in xml.schemaFiles + [own] { try Data(s.contents.utf8).write(to: schemas.appendingPathComponent(s.name)) }
            xsd = schemas.appendingPathComponent(own.name).path
        }
        return try TestSupport.run("/bin/sh", ["-c", "xmllint --noout --schema '\(xsd)' '\(file.path)'"])
    }

    func testWrittenFilesValidateAgainstTheXSD() throws {
        let ds = dataset("everything", [("s", .string), ("i", .integer), ("d", .decimal), ("b", .boolean),
                                        ("t", .timestamp), ("dt", .date), ("bin", .binary), ("dataset", .string), ("record", .integer)])
        var records: [Record] = [
            Record([.string("x"), .integer(Int64.min), .decimal(ExactDecimal("123456789012345678901234567890.5")!), .boolean(true),
                    .timestamp(Timestamp("2026-01-31T12:00:00.000000001Z")!), .date(CalendarDate("2024-02-29")!), .binary([1, 2, 3]),
                    .string("field named like the root"), .integer(7)]),
            Record(Array(repeating: .null, count: 9)),
            Record([.string(""), .integer(0), .decimal(ExactDecimal("-1.25")!), .boolean(false),
                    .timestamp(Timestamp("0001-01-01T00:00:00Z")!), .date(CalendarDate("0001-01-01")!), .binary([]), .string(""), .integer(-1)]),
        ]
        for s in Self.hardStrings { records.append(Record([.string(s), .null, .null, .null, .null, .null, .null, .string(s), .null])) }
        let text = String(decoding: try write(records, ds), as: UTF8.self)
        for perDataset in [nil, ds] {
            let r = try xmllint(text, perDataset: perDataset)
            XCTAssertEqual(r.code, 0, "xmllint: \(r.stderr.prefix(2000))")
            XCTAssertTrue(r.stderr.contains("validates"), r.stderr)
        }
    }

    /// The schema made for a dataset checks each record field by field: names, order, count, types,
    /// NULL and base64 strings. Each document differs from a valid one by one detail.
    func testTheDatasetXSDChecksEveryFieldInOrder() throws {
        let ds = dataset("people", [("id", .integer), ("name", .string), ("born", .date)])
        func doc(_ records: String, name: String = "people") -> String {
            document(records, fields: #"<field name="id" type="integer"/><field name="name" type="string"/><field name="born" type="date"/>"#,
                     root: #"<dp:dataset xmlns:dp="urn:dataport:dataset:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="\#(name)" version="1.1">"#)
        }
        let valid = doc(#"<record><id>1</id><name>a</name><born>2000-01-31</born></record><record><id xsi:nil="true"/><name encoding="base64">YQc=</name><born xsi:nil="true"/></record>"#)
        XCTAssertEqual(try xmllint(valid, perDataset: ds).code, 0, "the baseline document must validate")
        let bad = [
            doc(#"<record><id>1x</id><name>a</name><born>2000-01-31</born></record>"#),
            doc(#"<record><id>1</id><name>a</name><born>2000-02-30</born></record>"#),
            doc(#"<record><name>a</name><id>1</id><born>2000-01-31</born></record>"#),
            doc(#"<record><id>1</id><name>a</name></record>"#),
            doc(#"<record><id>1</id><name>a</name><born>2000-01-31</born><born>2000-01-31</born></record>"#),
            doc(#"<record><id>1</id><name>a</name><born>2000-01-31</born><extra/></record>"#),
            doc(#"<record><id xsi:nil="true">5</id><name>a</name><born>2000-01-31</born></record>"#),
            doc(#"<record><id encoding="base64">MQ==</id><name>a</name><born>2000-01-31</born></record>"#),
            doc(#"<record><id>1</id><name encoding="hex">61</name><born>2000-01-31</born></record>"#),
            doc(#"<record><id>1</id><name>a</name><born>2000-01-31</born></record>"#, name: "others"),
        ]
        for (i, d) in bad.enumerated() {
            XCTAssertNotEqual(try xmllint(d, perDataset: ds).code, 0, "bad document \(i) validated:\n\(d)")
        }
    }

    /// The XSD really checks values: each document differs from a valid one by one detail.
    func testTheXSDRejectsBadValuesAndStructure() throws {
        let valid = document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string">a</name></record>"#)
        XCTAssertEqual(try xmllint(valid).code, 0, "the baseline document must validate")
        let bad = [
            document(#"<record><id xsi:type="dp:integer">1x</id><name xsi:type="dp:string">a</name></record>"#),
            document(#"<record><id xsi:type="dp:integer">007</id><name xsi:type="dp:string">a</name></record>"#),
            document(#"<record><id xsi:type="dp:integer">99999999999999999999</id><name xsi:type="dp:string">a</name></record>"#),
            document(#"<record><id xsi:type="dp:decimal">1.</id><name xsi:type="dp:string">a</name></record>"#),
            document(#"<record><id xsi:type="dp:boolean">yes</id><name xsi:type="dp:string">a</name></record>"#),
            document(#"<record><id xsi:type="dp:timestamp">2026-01-31T12:00:00+01:00</id><name xsi:type="dp:string">a</name></record>"#),
            document(#"<record><id xsi:type="dp:date">2026-02-30</id><name xsi:type="dp:string">a</name></record>"#),
            document(#"<record><id xsi:type="dp:binary">!!</id><name xsi:type="dp:string">a</name></record>"#),
            document(#"<record><id xsi:type="dp:null" xsi:nil="true">5</id><name xsi:type="dp:string">a</name></record>"#),
            document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:base64String">YQ==</name></record>"#),
            document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string" encoding="base64">YQ==</name></record>"#),
            document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string"><b/></name></record>"#),
            document(#"<record><id xsi:type="dp:integer">1</id><dp:name xsi:type="dp:string">a</dp:name></record>"#),
            document("<record/><extra/>"),
            document("", fields: #"<field name="id" type="number"/>"#),
            document("", fields: #"<field name="Id" type="integer"/>"#),
            document("", fields: #"<field name="id" type="integer"/><field name="id" type="string"/>"#),
            document("", root: #"<dp:dataset xmlns:dp="urn:dataport:dataset:1" name="people" version="2.0">"#),
        ]
        for (i, doc) in bad.enumerated() {
            XCTAssertNotEqual(try xmllint(doc).code, 0, "bad document \(i) validated:\n\(doc)")
        }
    }

    // MARK: Hostile and malformed input

    func testRefusesBillionLaughs() throws {
        let doctype = """
        <!DOCTYPE dp:dataset [
          <!ENTITY lol "lol">
          <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
          <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
          <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
          <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
          <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
          <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
          <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
          <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
          <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
        ]>

        """
        let doc = document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string">&lol9;</name></record>"#, prolog: doctype)
        let start = Date()
        let stderr = capturingStderr { assertRejects(doc, dataset("people", people)) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "entity expansion must not run")
        XCTAssertEqual(stderr, "", "libxml2 must not print")
    }

    func testRefusesExternalEntities() throws {
        let ds = dataset("people", people)
        let secret = "root:x:0:0"
        XCTAssertTrue((try? String(contentsOfFile: "/etc/passwd", encoding: .utf8))?.contains(secret) ?? false, "precondition: /etc/passwd")
        let docs = [
            // A general external entity used in a value.
            document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string">&xxe;</name></record>"#,
                     prolog: "<!DOCTYPE dp:dataset [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"),
            // An external DTD subset.
            document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string">x</name></record>"#,
                     prolog: "<!DOCTYPE dp:dataset SYSTEM \"file:///etc/passwd\">\n"),
            // A parameter entity pulling a file into the internal subset.
            document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string">x</name></record>"#,
                     prolog: "<!DOCTYPE dp:dataset [ <!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p; ]>\n"),
            // An entity from the network.
            document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string">&net;</name></record>"#,
                     prolog: "<!DOCTYPE dp:dataset [ <!ENTITY net SYSTEM \"http://127.0.0.1:9/x\"> ]>\n"),
        ]
        for doc in docs {
            let stderr = capturingStderr {
                let e = assertRejects(doc, ds)
                XCTAssertFalse(e?.description.contains(secret) ?? false)
            }
            XCTAssertFalse(stderr.contains(secret))
            XCTAssertEqual(stderr, "", "libxml2 must not print")
        }
        // Even a DOCTYPE with nothing in it is refused.
        assertRejects(document("", prolog: "<!DOCTYPE dp:dataset>\n"), ds, containing: "DOCTYPE")
    }

    func testRefusesDeepNesting() throws {
        let ds = dataset("people", people)
        let deep = String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000)
        let stderr = capturingStderr {
            assertRejects(document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string">"# + deep + "</name></record>"), ds)
            assertRejects(document(deep), ds)
            assertRejects(document(String(repeating: "<record>", count: 100) + String(repeating: "</record>", count: 100)), ds)
        }
        XCTAssertEqual(stderr, "", "libxml2 must not print")
    }

    func testRefusesTruncatedDocuments() throws {
        let ds = dataset("people", people)
        let bytes = try write((0..<20).map { Record([.integer(Int64($0)), .string("name \($0)")]) }, ds)
        XCTAssertEqual(try read(bytes, ds).count, 20)
        // Every cut before the root's end tag is finished must fail with a typed error (the final newline is optional).
        for cut in Array(stride(from: 0, to: bytes.count - 1, by: 7)) + [bytes.count - 2] {
            do {
                _ = try read(Array(bytes[..<cut]), ds)
                XCTFail("accepted a document cut at \(cut) of \(bytes.count)")
            } catch let e as DataPortError {
                XCTAssertEqual(e.kind, .invalidBundle, "\(e)")
            }
        }
        XCTAssertEqual(try read(Array(bytes.dropLast()), ds).count, 20)
    }

    func testRefusesWrongNamespaceOrRoot() {
        let ds = dataset("people", people)
        let body = #"<fields><field name="id" type="integer"/><field name="name" type="string"/></fields><records/>"#
        assertRejects(#"<dataset name="people" version="1.0">"# + body + "</dataset>", ds, containing: "namespace")
        assertRejects(#"<dataset xmlns="urn:dataport:dataset:2" name="people" version="1.0">"# + body + "</dataset>", ds, containing: "namespace")
        assertRejects(#"<dp:export xmlns:dp="urn:dataport:dataset:1" name="people" version="1.0">"# + body + "</dp:export>", ds)
        // Structure elements must be unqualified.
        assertRejects(#"<dataset xmlns="urn:dataport:dataset:1" name="people" version="1.0">"# + body + "</dataset>", ds)
        // The same namespace under another prefix is the same document.
        XCTAssertEqual(try read(Array((#"<x:dataset xmlns:x="urn:dataport:dataset:1" name="people" version="1.0">"# + body + "</x:dataset>").utf8), ds), [])
    }

    func testRefusesUnknownMissingOrMisplacedFields() {
        let ds = dataset("people", people)
        assertRejects(document(#"<record><id xsi:type="dp:integer">1</id><name xsi:type="dp:string">a</name><extra>1</extra></record>"#), ds, containing: "unknown field <extra>")
        assertRejects(document(#"<record><id xsi:type="dp:integer">1</id><nick>a</nick></record>"#), ds, containing: "unknown field <nick>")
        assertRejects(document(#"<record><id xsi:type="dp:integer">1</id></record>"#), ds, containing: "missing field name")
        assertRejects(document(#"<record><name>a</name><id>1</id></record>"#), ds, containing: "out of order")
        assertRejects(document("<record/>"), ds, containing: "missing field id")
        assertRejects(document("<row/>"), ds)
        assertRejects(document("text<record/>"), ds, containing: "unexpected text")
        // The fields list must equal the manifest's: names, types, order.
        assertRejects(document("", fields: #"<field name="id" type="integer"/>"#), ds, containing: "fields differ")
        assertRejects(document("", fields: #"<field name="id" type="string"/><field name="name" type="string"/>"#), ds, containing: "fields differ")
        assertRejects(document("", fields: #"<field name="name" type="string"/><field name="id" type="integer"/>"#), ds, containing: "fields differ")
        assertRejects(document("", fields: #"<field name="id" type="integer"/><field name="name" type="string"/><field name="x" type="string"/>"#), ds, containing: "fields differ")
        assertRejects(document("", fields: #"<field name="id" type="integer" secret="1"/><field name="name" type="string"/>"#), ds)
    }

    func testRefusesBadValues() {
        let ds = dataset("people", people)
        func rec(_ id: String, _ name: String = #"<name xsi:type="dp:string">a</name>"#) -> String { "<record>" + id + name + "</record>" }
        assertRejects(document(rec(#"<id xsi:type="dp:integer">12x</id>"#)), ds, containing: "not a valid integer")
        assertRejects(document(rec("<id> 12</id>")), ds, containing: "not a valid integer")
        assertRejects(document(rec("<id></id>")), ds, containing: "not a valid integer")
        assertRejects(document(rec(#"<id xsi:type="dp:string">12</id>"#)), ds, containing: "xsi:type")
        assertRejects(document(rec(#"<id xsi:type="xs:integer" xmlns:xs="http://www.w3.org/2001/XMLSchema">12</id>"#)), ds, containing: "xsi:type")
        assertRejects(document(rec(#"<id xsi:nil="true">12</id>"#)), ds, containing: "nil but has content")
        assertRejects(document(rec(#"<id xsi:nil="perhaps"/>"#)), ds, containing: "xsi:nil")
        assertRejects(document(rec(#"<id xsi:type="dp:integer" encoding="base64">MTI=</id>"#)), ds)
        assertRejects(document(rec("<id>1</id>", #"<name encoding="base64">not base64!</name>"#)), ds, containing: "base64")
        assertRejects(document(rec("<id>1</id>", #"<name encoding="base64">/w==</name>"#)), ds, containing: "UTF-8")
        assertRejects(document(rec("<id>1</id>", #"<name encoding="hex">61</name>"#)), ds, containing: "encoding")
        assertRejects(document(rec("<id>1</id>", #"<name style="bold">a</name>"#)), ds, containing: "unexpected attribute")
        assertRejects(document(rec("<id>1</id>", "<name>a<b/></name>")), ds, containing: "must not contain elements")
        assertRejects(document(rec("<id>1</id>", "<name>\u{1}</name>")), ds, containing: "malformed XML")
        assertRejects(document(rec("<id>1</id>", "<name>&#1;</name>")), ds, containing: "malformed XML")
        assertRejects(document(rec("<id>1</id>", "<name>&undefined;</name>")), ds)
        // Whoever writes by hand may omit xsi:type, use CDATA, comments and a default nil form.
        XCTAssertEqual(try read(Array(document(rec("<id><!-- c -->7</id>", "<name><![CDATA[<&>]]> &#13;x</name>") + rec(#"<id xsi:nil="1"/>"#, #"<name xsi:nil="true"></name>"#)).utf8), ds),
                       [Record([.integer(7), .string("<&> \rx")]), Record([.null, .null])])
    }

    func testRefusesOtherVersionsAndNames() {
        let ds = dataset("people", people)
        let root = #"<dp:dataset xmlns:dp="urn:dataport:dataset:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#
        assertRejects(document("", root: root + #"name="people" version="2.0">"#), ds, containing: "unsupported")
        assertRejects(document("", root: root + #"name="people">"#), ds, containing: "version")
        assertRejects(document("", root: root + #"name="other" version="1.0">"#), ds, containing: "dataset name")
        XCTAssertEqual(try read(Array(document("", root: root + #"name="people" version="1.7">"#).utf8), ds), [])
        assertRejects(document("") + "<dp:dataset/>", ds)
        assertRejects("", ds)
        assertRejects("not xml at all", ds)
    }

    func testErrorsGiveTheLine() throws {
        let ds = dataset("people", people)
        let records = (0..<5).map { Record([.integer(Int64($0)), .string("n")]) }
        let good = String(decoding: try write(records, ds), as: UTF8.self)
        // Line 12 holds the fifth record (id 4); break its integer.
        var lines = good.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertTrue(lines[11].contains(">4</id>"))
        lines[11] = lines[11].replacingOccurrences(of: ">4</id>", with: ">four</id>")
        let e = assertRejects(lines.joined(separator: "\n"), ds)
        XCTAssertEqual(e?.location, "people.xml, line 12")
        XCTAssertFalse(e?.description.contains("four") ?? true, "messages never quote values")
    }
}
