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
