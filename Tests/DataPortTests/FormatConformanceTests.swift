import DataPortFormats
import DataPortIO
import DataPortModel
import XCTest

/// A format that exists only in the tests, to prove that registering an adapter is enough to get
/// the whole conformance suite: one line per record, tab-separated, `\N` for NULL, percent-escaping.
struct ToyLinesFormat: FormatAdapter {
    var name: String { "toy" }
    var fileExtension: String { "lines" }
    var mediaType: String { "text/plain" }
    var summary: String { "test-only: tab-separated lines" }

    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "%": out += "%25"
            case "\t": out += "%09"
            case "\n": out += "%0A"
            case "\r": out += "%0D"
            case "\\": out += "%5C"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    static func unescape(_ s: Substring) -> String? {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            out.append(v)
            bytes = bytes.dropFirst(2)
        }
        return String(validating: out, as: UTF8.self)
    }

    final class Writer: RecordWriter {
        let out: OutputBuffer
        init(_ d: Dataset, _ sink: any ByteSink) throws {
            out = OutputBuffer(sink)
            try out.text(d.fields.map(\.name).joined(separator: "\t") + "\n")
        }
        func write(_ record: Record) throws {
            try out.text(record.values.map { $0.canonicalText.map(ToyLinesFormat.escape) ?? "\\N" }.joined(separator: "\t") + "\n")
        }
        func finish() throws { try out.text("END\n"); try out.flush() }
    }

    final class Reader: RecordReader {
        var lines: [Substring]
        let dataset: Dataset
        init(_ d: Dataset, _ source: any ByteSource) throws {
            dataset = d
            var bytes: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = try buf.withUnsafeMutableBytes { try source.read(into: $0) }
                if n == 0 { break }
                bytes += buf[0..<n]
            }
            guard let text = String(validating: bytes, as: UTF8.self) else { throw DataPortError(.invalidBundle, "not UTF-8") }
            lines = text.utf8.split(separator: 10, omittingEmptySubsequences: false).map { Substring(String(decoding: $0, as: UTF8.self)) }
            guard lines.count >= 3, lines.removeFirst() == d.fields.map(\.name).joined(separator: "\t"),
                  lines.removeLast() == "", lines.removeLast() == "END" else { throw DataPortError(.invalidBundle, "bad toy file") }
            lines.reverse()
        }
        func next() throws -> Record? {
            guard let line = lines.popLast() else { return nil }
            let cells = line.utf8.split(separator: 9, omittingEmptySubsequences: false).map { Substring(String(decoding: $0, as: UTF8.self)) }
            guard cells.count == dataset.fields.count else { throw DataPortError(.invalidBundle, "ragged toy line") }
            return Record(try zip(cells, dataset.fields).map { cell, field in
                if cell == "\\N" { return .null }
                guard let text = ToyLinesFormat.unescape(cell), let v = Value.parse(canonical: text, as: field.type) else {
                    throw DataPortError(.invalidBundle, "bad toy value")
                }
                return v
            })
        }
    }

    func makeWriter(for dataset: Dataset, to sink: any ByteSink) throws -> any RecordWriter { try Writer(dataset, sink) }
    func makeReader(for dataset: Dataset, from source: any ByteSource) throws -> any RecordReader { try Reader(dataset, source) }
}

/// The conformance suite every registered format adapter runs, with no per-adapter test code.
final class FormatConformanceTests: XCTestCase {
    /// Every adapter under test: the registry's, the test-only toy, and CSV with its formula guard on.
    static var adapters: [any FormatAdapter] { FormatRegistry.standard.adapters + [ToyLinesFormat(), CSVFormat(formulaGuard: true)] }

    static let provenance = Provenance(store: "test", connector: "memory", object: "generated", matchedBy: ["email"])

    static let dataset = Dataset(
        name: "edge_cases", category: .communications, description: "every value type and edge case",
        purposes: ["testing"], legalBasis: .contract, origin: .provided, source: provenance,
        fields: FieldType.allCases.map { Field(name: "f_\($0.rawValue)", type: $0) }, key: "f_integer")

    static let emptyDataset = Dataset(
        name: "nothing", category: .billing, description: "no records", purposes: [], legalBasis: .contract, origin: .provided,
        source: provenance, fields: [Field(name: "id", type: .integer), Field(name: "note", type: .string)])

    /// Strings that break naive writers.
    static let hardStrings: [String] = [
        "", " ", "plain", "  leading and trailing  ", "Ana María Núñez", "李小龍", "שלום عمر الفاروق", "e\u{301}\u{302} combining",
        "astral 𝄞😀👩‍👩‍👧", "tab\there", "line\nbreak", "cr\ronly", "crlf\r\nend", "\r\n", "ctrl \u{01}\u{02}\u{1B}\u{1F}\u{7F}",
        "=1+2", "+SUM(A1)", "-2", "@cmd", "\tformula", "\rformula", "'already quoted", "''", "a,\"b\",c", "\"", "\"\"",
        "<xml attr='1'>&amp;</xml>", "]]>", "\\N", "%25", "NULL", "null", "\u{FEFF}bom", "\u{FFFD}",
        String(repeating: "long é 😀 ", count: 12_000),
    ]

    static var records: [Record] {
        var rows: [Record] = []
        let decimals = ["0", "-0.5", "12.50", "123456789012345678901234567890.123456789", "0.000000000000000000000000001", "-99999999999999999999.99"]
        let times = ["2024-02-29T23:59:59Z", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2000-02-29T12:00:00.5Z"]
        let dates = ["2024-02-29", "0001-01-01", "9999-12-31", "1970-01-01"]
        let ints: [Int64] = [0, -1, 1, .max, .min, 9_007_199_254_740_993]
        let blobs: [[UInt8]] = [[], [0, 255, 1, 2], (0..<1000).map { UInt8(($0 * 7919) % 256) }]
        for (i, s) in hardStrings.enumerated() {
            rows.append(Record([
                .string(s), .integer(Int64(i) * 1000 + ints[i % ints.count] % 1000),
                .decimal(ExactDecimal(decimals[i % decimals.count])!), .boolean(i % 2 == 0),
                .timestamp(Timestamp(times[i % times.count])!), .date(CalendarDate(dates[i % dates.count])!),
                .binary(blobs[i % blobs.count]),
            ]))
        }
        rows.append(Record([.null, .integer(.max), .null, .null, .null, .null, .null]))
        rows.append(Record([.string(""), .integer(.min), .decimal(ExactDecimal("0")!), .boolean(false), .null, .null, .binary([])]))
        return rows
    }

    static func write(_ adapter: any FormatAdapter, _ dataset: Dataset, _ records: [Record]) throws -> [UInt8] {
        let sink = MemorySink()
        let w = try adapter.makeWriter(for: dataset, to: sink)
        for r in records { try w.write(r) }
        try w.finish()
        return sink.bytes
    }

    static func read(_ adapter: any FormatAdapter, _ dataset: Dataset, _ bytes: [UInt8]) throws -> [Record] {
        let r = try adapter.makeReader(for: dataset, from: MemorySource(bytes))
        var out: [Record] = []
        while let rec = try r.next() { out.append(rec) }
        return out
    }

    func testEveryAdapterRoundTripsEveryValueAndEdgeCase() throws {
        let records = Self.records
        for adapter in Self.adapters {
            let bytes = try Self.write(adapter, Self.dataset, records)
            let back = try Self.read(adapter, Self.dataset, bytes)
            XCTAssertEqual(back.count, records.count, adapter.name)
            for (i, (a, b)) in zip(records, back).enumerated() where a != b {
                XCTFail("\(adapter.name): record \(i) differs after a round trip")
                for (x, y) in zip(a.values, b.values) where x != y { print("  \(adapter.name) expected \(String(reflecting: x).prefix(80)) got \(String(reflecting: y).prefix(80))") }
            }
            // Writing is deterministic.
            XCTAssertTrue(try Self.write(adapter, Self.dataset, records) == bytes, "\(adapter.name) output is not deterministic")
        }
    }

    func testEveryAdapterRoundTripsAnEmptyDataset() throws {
        for adapter in Self.adapters {
            let bytes = try Self.write(adapter, Self.emptyDataset, [])
            XCTAssertEqual(try Self.read(adapter, Self.emptyDataset, bytes), [], adapter.name)
        }
    }

    /// The public JSON value codec, for every value of the generated dataset: what `write` writes
    /// parses to what `json` builds, and `value(of:from:reader:)` reads it back as the same value.
    /// Too large a value is declined with nothing written; a value of another JSON type is refused
    /// naming the field.
    func testJSONValueCodecWritesItsJSONFormAndReadsItBack() throws {
        for record in Self.records {
            for (field, value) in zip(Self.dataset.fields, record.values) {
                let sink = MemorySink()
                let out = OutputBuffer(sink)
                XCTAssertTrue(try JSONValueCodec.write(value, to: out), field.name)
                try out.flush()
                XCTAssertEqual(try JSONValue.parse(sink.bytes, name: "value"), JSONValueCodec.json(value), field.name)
                let reader = JSONReader(InputBuffer(MemorySource(sink.bytes)), name: "value")
                XCTAssertEqual(try JSONValueCodec.value(of: field, from: try reader.next(), reader: reader), value, field.name)
            }
        }
        let sink = MemorySink()
        let out = OutputBuffer(sink)
        XCTAssertFalse(try JSONValueCodec.write(.string(String(repeating: "x", count: ValueLimits.maxValueBytes + 1)), to: out))
        XCTAssertFalse(try JSONValueCodec.write(.binary([UInt8](repeating: 7, count: ValueLimits.maxValueBytes)), to: out))
        try out.flush()
        XCTAssertEqual(sink.bytes, [])
        let reader = JSONReader(InputBuffer(MemorySource(Array("\"12\"".utf8))), name: "value")
        XCTAssertThrowsError(try JSONValueCodec.value(of: Field(name: "amount", type: .integer), from: try reader.next(), reader: reader)) { e in
            XCTAssertEqual((e as? DataPortError)?.kind, .invalidBundle)
            XCTAssertTrue((e as? DataPortError)?.message.contains("amount must be a integer") == true, "\(e)")
            XCTAssertFalse("\(e)".contains("12"), "the value is not shown")
        }
    }

    /// Through every adapter in turn and back to the first: the first adapter's bytes are identical.
    func testCrossFormatChainIsIdentical() throws {
        let adapters = Self.adapters
        var records = Self.records
        let start = try Self.write(adapters[0], Self.dataset, records)
        for adapter in adapters.dropFirst() + [adapters[0]] {
            records = try Self.read(adapter, Self.dataset, try Self.write(adapter, Self.dataset, records))
        }
        XCTAssertTrue(try Self.write(adapters[0], Self.dataset, records) == start, "the chain through every format changed \(adapters[0].name)'s bytes")
    }

    /// Where `bytes` cut short are refused: at 0 and 1 bytes, at every record boundary and one byte
    /// either side of it, inside every record and inside the end mark (a final line end after it
    /// is not data: JSON and XML read a file without it). A record boundary is where
    /// the file of the first k records parts from the full one (k = 0 is the empty dataset's file).
    /// A self-delimiting format refuses every cut (adding-a-format.md); one that is not may read a
    /// cut that leaves exactly the file of fewer records, as exactly those records, and refuses the rest.
    func testEveryReaderRejectsTruncatedAndMalformedInput() throws {
        let sample = Array(Self.records.prefix(6))
        for adapter in Self.adapters {
            let bytes = try Self.write(adapter, Self.dataset, sample)
            let shorter = try (0..<sample.count).map { try Self.write(adapter, Self.dataset, Array(sample.prefix($0))) }
            let boundaries = shorter.map { zip($0, bytes).prefix { $0 == $1 }.count }
            var cuts: Set<Int> = [0, 1, bytes.count / 3, bytes.count / 2, bytes.count - 3]
            for (start, end) in zip(boundaries, boundaries.dropFirst() + [bytes.count]) {
                cuts.formUnion([start - 1, start, start + 1, (start + end) / 2])
            }
            var acceptedAsShorter = 0
            for cut in cuts.sorted() where cut >= 0 && cut < bytes.count {
                let truncated = Array(bytes.prefix(cut))
                if !adapter.isSelfDelimiting, let k = shorter.firstIndex(of: truncated) {
                    XCTAssertEqual(try Self.read(adapter, Self.dataset, truncated), Array(sample.prefix(k)),
                                   "\(adapter.name) read the file of \(k) records as other records")
                    acceptedAsShorter += 1
                    continue
                }
                XCTAssertThrowsError(try Self.read(adapter, Self.dataset, truncated), "\(adapter.name) accepted input cut at \(cut) of \(bytes.count)") { e in
                    XCTAssertNotNil(e as? DataPortError, "\(adapter.name): untyped error \(e)")
                    XCTAssertNotEqual((e as? DataPortError)?.kind, .internal)
                }
            }
            // Not self-delimiting is a claim about the format, checked: its shorter files are prefixes.
            if !adapter.isSelfDelimiting { XCTAssertEqual(acceptedAsShorter, sample.count, "\(adapter.name) is self-delimiting after all") }
            let garbage: [[UInt8]] = [[0xFF, 0xFE, 0x00, 0x01], Array("not a data file at all\n".utf8), Array(repeating: 0x22, count: 50)]
            for g in garbage {
                XCTAssertThrowsError(try Self.read(adapter, Self.dataset, g), "\(adapter.name) accepted garbage") { e in
                    XCTAssertNotNil(e as? DataPortError, "\(adapter.name): untyped error \(e)")
                }
            }
            // A file of another dataset (different fields) is refused.
            XCTAssertThrowsError(try Self.read(adapter, Self.emptyDataset, bytes), "\(adapter.name) read a file against the wrong schema")
        }
    }

    func testRegistryNamesAreUniqueAndListParsingRefusesUnknown() throws {
        let names = FormatRegistry.standard.adapters.map(\.name)
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertTrue(names.contains("json"))
        XCTAssertThrowsError(try FormatRegistry.standard.adapters(forList: "json,yaml")) { XCTAssertEqual(($0 as? DataPortError)?.kind, .usage) }
    }
}
