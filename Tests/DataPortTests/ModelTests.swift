import DataPortModel
import Foundation
import XCTest

final class ModelTests: XCTestCase {
    func testExactDecimalNormalisesWithoutLosingScale() {
        XCTAssertEqual(ExactDecimal("12.50")?.text, "12.50")
        XCTAssertEqual(ExactDecimal("+007.5")?.text, "7.5")
        XCTAssertEqual(ExactDecimal("-0.00")?.text, "0.00")
        XCTAssertEqual(ExactDecimal(".5")?.text, "0.5")
        XCTAssertEqual(ExactDecimal("1.5e-7")?.text, "0.00000015")
        XCTAssertEqual(ExactDecimal("12E3")?.text, "12000")
        XCTAssertEqual(ExactDecimal("99999999999999999999.99")?.text, "99999999999999999999.99")
        for bad in ["", "-", "1.2.3", "abc", "1e", "1,5", " 1", "0x10", "."] {
            XCTAssertNil(ExactDecimal(bad), bad)
        }
    }

    func testTimestampsAreUTCAndValidated() {
        XCTAssertEqual(Timestamp("2024-06-15T14:00:00+02:00")?.text, "2024-06-15T12:00:00Z")
        XCTAssertEqual(Timestamp("2024-05-01 10:30:00")?.text, "2024-05-01T10:30:00Z")
        XCTAssertEqual(Timestamp("2024-02-29T23:59:59.500Z")?.text, "2024-02-29T23:59:59.5Z")
        XCTAssertEqual(Timestamp("2000-01-01T00:30:00-0100")?.text, "2000-01-01T01:30:00Z")
        XCTAssertEqual(Timestamp("1969-12-31T23:59:59Z")?.seconds, -1)
        XCTAssertEqual(Timestamp("0001-01-01T00:00:00Z")?.text, "0001-01-01T00:00:00Z")
        for bad in ["2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01", "2024-01-01T00:00:00.Z",
                    "2024-01-01T00:00:00.1234567891Z", "2024-01-01T00:00:00+25:00", "yesterday"] {
            XCTAssertNil(Timestamp(bad), bad)
        }
        XCTAssertEqual(Timestamp(seconds: 951_782_400)?.text, "2000-02-29T00:00:00Z")
    }

    func testDates() {
        XCTAssertEqual(CalendarDate("2024-02-29")?.text, "2024-02-29")
        XCTAssertNil(CalendarDate("1900-02-29"))
        XCTAssertNil(CalendarDate("2024-2-9"))
    }

    func testCanonicalTextRoundTripsForEveryType() {
        let values: [Value] = [.string("a\u{0}b"), .integer(.min), .integer(.max), .decimal(ExactDecimal("-1.10")!), .boolean(false),
                               .timestamp(Timestamp("2024-02-29T12:00:00.000000001Z")!), .date(CalendarDate("0001-01-01")!), .binary([0, 255, 7])]
        for v in values {
            XCTAssertEqual(Value.parse(canonical: v.canonicalText!, as: v.type!), v)
        }
        XCTAssertNil(Value.parse(canonical: "007", as: .integer))
        XCTAssertNil(Value.parse(canonical: "TRUE", as: .boolean))
    }

    func testScopeLeavesOutDerivedAndOtherLegalBases() {
        XCTAssertNil(Scope.portability.exclusionReason(origin: .provided, legalBasis: .contract))
        XCTAssertNil(Scope.portability.exclusionReason(origin: .observed, legalBasis: .consent))
        XCTAssertNotNil(Scope.portability.exclusionReason(origin: .derived, legalBasis: .consent))
        XCTAssertNotNil(Scope.portability.exclusionReason(origin: .provided, legalBasis: .legitimateInterests))
        XCTAssertNil(Scope.access.exclusionReason(origin: .derived, legalBasis: .legitimateInterests))
    }

    func testIdentityNormalisation() {
        XCTAssertEqual(IdentityKind.email.normalize("  Ana.Nunez@Example.COM \n"), "ana.nunez@example.com")
        XCTAssertEqual(IdentityKind.ip.normalize(" 203.0.113.7 "), "203.0.113.7")
    }

    /// Posts and comments, orders, and derived scores have a category of their own, which a config
    /// can use and the index page shows with its title and definition.
    func testContentOrdersAndProfilingCategories() throws {
        XCTAssertEqual(Category(rawValue: "content")?.title, "Content you published")
        XCTAssertEqual(Category(rawValue: "orders")?.title, "Orders and purchases")
        XCTAssertEqual(Category(rawValue: "profiling")?.title, "Profiling, scores and segments")
        let dir = try TestSupport.tempDir(self)
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.sampleConfig))) as! [String: Any]
        var stores = config["stores"] as! [[String: Any]]
        var options = stores[0]["options"] as! [String: Any]
        for key in ["path", "initScript"] { options[key] = TestSupport.samples.appendingPathComponent(options[key] as! String).path }
        stores[0]["options"] = options
        stores[0]["datasets"] = (stores[0]["datasets"] as! [[String: Any]]).map { d in
            var d = d
            if d["name"] as? String == "customer_segments" { d["category"] = "profiling" }
            return d
        }
        config["stores"] = stores
        let path = dir.appendingPathComponent("stores.json")
        try JSONSerialization.data(withJSONObject: config).write(to: path)
        let out = dir.appendingPathComponent("b.zip").path
        let r = try TestSupport.dataport("export", "--config", path.path, "--subject", "email=ana.nunez@example.com", "--scope", "access", "--output", out)
        XCTAssertEqual(r.code, 0, r.stderr)
        let page = try TestSupport.shell("python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.read([n for n in z.namelist() if n.endswith(\"/index.html\")][0]).decode())' '\(out)'")
        XCTAssertTrue(page.stdout.contains("<h3>Profiling, scores and segments</h3>"), page.stderr)
        XCTAssertTrue(page.stdout.contains(Category.profiling.definition))
        XCTAssertEqual(try TestSupport.dataport("verify", out).code, 0)
    }

    /// formats/categories.md publishes the vocabulary: it must say exactly what the code says.
    func testPublishedCategoriesMatchTheCode() throws {
        let page = try String(contentsOf: TestSupport.root.appendingPathComponent("formats/categories.md"), encoding: .utf8)
        for c in Category.allCases {
            XCTAssertTrue(page.contains("| `\(c.rawValue)` | \(c.title) | \(c.definition) |"), c.rawValue)
        }
        let rows = page.split(separator: "\n").filter { $0.hasPrefix("| `") }
        XCTAssertEqual(rows.count, Category.allCases.count, "no category documented that the code lacks")
        for b in LegalBasis.allCases { XCTAssertTrue(page.contains("`\(b.rawValue)`"), b.rawValue) }
    }
}
