import DataPortIO
import DataPortModel
import XCTest

final class JSONReaderTests: XCTestCase {
    func parse(_ text: String) throws -> JSONValue {
        try JSONValue.parse(Array(text.utf8), name: "test.json")
    }

    func testNumbersStayExact() throws {
        XCTAssertEqual(try parse("[9007199254740993, 1.10, -0, 1e400]"),
                       .array([.number("9007199254740993"), .number("1.10"), .number("-0"), .number("1e400")]))
    }

    func testStrictRejections() {
        for bad in ["{\"a\":1,\"a\":2}", "[1,]", "{\"a\":1,}", "[01]", "\u{FEFF}{}", "[\"\\ud800\"]", "[\"a\nb\"]", "[1] x", "", "[", "{\"a\"}", "[tru]", "[1.]", "[.5]", "[\"\\x\"]"] {
            XCTAssertThrowsError(try parse(bad), bad) { e in
                XCTAssertNotEqual((e as? DataPortError)?.kind, .internal)
            }
        }
        XCTAssertThrowsError(try JSONValue.parse([0x22, 0xC3, 0x28, 0x22], name: "t")) // invalid UTF-8
    }

    func testNestingLimit() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssertThrowsError(try parse(deep)) { XCTAssertEqual(($0 as? DataPortError)?.kind, .limitExceeded) }
    }

    func testSurrogatePairsAndEscapes() throws {
        XCTAssertEqual(try parse("[\"\\ud834\\udd1e\\u00e9\\n\\/\"]"), .array([.string("𝄞é\n/")]))
    }

    /// Every event and error is the same however the input is cut into buffers: the fast paths
    /// that read a string, an integer or an expected key straight from the buffer fall back at a
    /// buffer's end (and for anything they do not handle) without consuming anything.
    func testEventsDoNotDependOnBufferSize() {
        let documents = [
            #"{"id": 12345, "name": "plain text", "n": -0, "f": 1.25e3, "u": "Grüße 🎉", "e": "a\n\u00e9", "z": 0}"#,
            #"[123456789012345678901234567890, -7, "x", true, null, 0.5, 10]"#,
            #"[007]"#, #"["\#u{1}"]"#, #"[1x]"#, #"[-]"#, #"["abc"#, "[\"\u{FF}\"]", #"[12"#,
        ]
        func events(_ text: String, capacity: Int) -> [String] {
            let reader = JSONReader(InputBuffer(MemorySource(Array(text.utf8)), capacity: capacity), name: "t.json")
            var out: [String] = []
            do {
                while true {
                    let e = try reader.next()
                    out.append("\(e)")
                    if e == .end { break }
                }
            } catch { out.append("error \(error)") }
            return out
        }
        for d in documents {
            let whole = events(d, capacity: 1 << 16)
            for capacity in 1...24 { XCTAssertEqual(events(d, capacity: capacity), whole, "\(d) in buffers of \(capacity)") }
        }
        // Keys matched in the buffer, or read the slow way at a buffer's end, or written with an escape.
        let record = #"{"id": 1, "na\u006de": "x", "name": "y", "other": 2}"#
        func keys(capacity: Int) -> [String] {
            let reader = JSONReader(InputBuffer(MemorySource(Array(record.utf8)), capacity: capacity), name: "t.json")
            let names = ["id", "name", "other"].map { Array($0.utf8) }
            var out: [String] = []
            do {
                _ = try reader.next()
                var i = 0
                while case .key(let k) = try reader.nextKey(likely: names[min(i, 2)], { key in names.firstIndex(of: key) }) {
                    out.append("\(k.map(String.init) ?? "nil") \(try reader.next())")
                    i += 1
                }
            } catch { out.append("error \(error)") }
            return out
        }
        let whole = keys(capacity: 1 << 16)
        // (A known key twice is the lookup's to refuse: this one does not.)
        XCTAssertEqual(whole, ["0 number(\"1\")", "1 string(\"x\")", "1 string(\"y\")", "2 number(\"2\")"])
        for capacity in 1...24 { XCTAssertEqual(keys(capacity: capacity), whole, "buffers of \(capacity)") }
    }

    /// The public JSONTestSuite: y_ accepted, n_ rejected, i_ either, never a crash. The suite accepts
    /// duplicate keys (RFC 8259 allows them), so it runs with that one check off; DataPort's own files keep it on.
    func testJSONTestSuite() throws {
        // The corpus lives in the repository (Tests/Fixtures/JSONTestSuite, MIT licence): never skipped.
        let dir = TestSupport.root.appendingPathComponent("Tests/Fixtures/JSONTestSuite/test_parsing")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertGreaterThan(files.count, 300, "the JSONTestSuite corpus is incomplete")
        var checked = 0
        for name in files.sorted() where name.hasSuffix(".json") {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            var limits = JSONLimits.default
            limits.rejectDuplicateKeys = false
            let result = Result { try JSONValue.parse(bytes, name: name, limits: limits) }
            if name.hasPrefix("y_") {
                if case .failure(let e) = result { XCTFail("\(name) must be accepted: \(e)") }
            } else if name.hasPrefix("n_") {
                if case .success = result { XCTFail("\(name) must be rejected") }
            }
            if case .failure(let e) = result { XCTAssertNotEqual((e as? DataPortError)?.kind, .internal, name) }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 300)
    }
}
