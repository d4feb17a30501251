import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// The connector fetches DATETIME and TIMESTAMP columns as their parts and writes their text itself
/// (not through Connector/C's `sprintf`): the text must be exactly what the server's own client
/// prints, for every fraction width, trailing zeros, zero dates and the edges of the range.
extension MySQLTests {
    func testDateTimeTextIsTheServersForEveryFractionWidth() throws {
        let db = try freshDatabase()
        // TIMESTAMP text depends on the session's zone: UTC, as the connector's session.
        _ = try sql(db.url, """
            SET time_zone = '+00:00';
            CREATE TABLE times (id INT PRIMARY KEY, email VARCHAR(100),
              d0 DATETIME, d1 DATETIME(1), d3 DATETIME(3), d6 DATETIME(6), t2 TIMESTAMP(2) NULL, t0 TIMESTAMP NULL);
            INSERT INTO times VALUES
              (1, 'ana@example.com', '2024-07-01 12:34:56', '2024-07-01 12:34:56.7', '2024-07-01 12:34:56.1',
               '2024-07-01 12:34:56.000001', '2024-07-01 10:00:00.5', '1970-01-01 00:00:01'),
              (2, 'zero@example.com', '0000-00-00 00:00:00', '0000-00-00 00:00:00.0', '0000-00-00 00:00:00.000',
               '0000-00-00 00:00:00.000000', NULL, NULL),
              (3, 'ana@example.com', '1000-01-01 00:00:00', '9999-12-31 23:59:59.9', '0001-02-03 04:05:06.789',
               '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.99', '2038-01-19 03:14:07');
            """)
        let columns = ["d0", "d1", "d3", "d6", "t2", "t0"]
        // The server's own client is the reference: its text of each value, NULL as \\N.
        let expected = try sql(db.url, "SET time_zone = '+00:00'; SELECT \(columns.joined(separator: ", ")) FROM times ORDER BY id")
            .split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(expected.count, 3)
        XCTAssertEqual(expected.first?[3], "2024-07-01 12:34:56.000001")
        XCTAssertEqual(expected.first?[2], "2024-07-01 12:34:56.100")

        let fields = [("id", "integer"), ("email", "string")] + columns.map { ($0, "string") }
        let s = try store(db.url, [dataset("times", table: "times", fields)])
        let c = try MySQLConnector(config: s)
        defer { c.close() }
        try c.beginSnapshot()
        let rows = try TestSupport.rows(of: s.datasets[0], from: c, identities: [.email: ["ana@example.com", "zero@example.com"]])
            .sorted { ($0["id"]?.canonicalText ?? "") < ($1["id"]?.canonicalText ?? "") }
        XCTAssertEqual(rows.count, 3)
        for (row, want) in zip(rows, expected) {
            for (i, column) in columns.enumerated() {
                XCTAssertEqual(row[column], want[i] == "NULL" ? .null : .string(want[i]), "\(column) of row \(row["id"] ?? .null)")
            }
        }

        // As timestamps (not the zero dates, which a timestamp field refuses): the same instants,
        // fractions without their trailing zeros.
        let typed = try store(db.url, [dataset("times", table: "times", [("id", "integer"), ("email", "string"),
                                                                          ("d3", "timestamp"), ("d6", "timestamp"), ("t2", "timestamp")])])
        let t = try MySQLConnector(config: typed)
        defer { t.close() }
        try t.beginSnapshot()
        let first = try TestSupport.rows(of: typed.datasets[0], from: t, identities: [.email: ["ana@example.com"]])
            .first { $0["id"] == .integer(1) }
        let r = try XCTUnwrap(first)
        XCTAssertEqual(r["d3"], .timestamp(Timestamp("2024-07-01T12:34:56.1Z")!))
        XCTAssertEqual(r["d6"], .timestamp(Timestamp("2024-07-01T12:34:56.000001Z")!))
        XCTAssertEqual(r["t2"], .timestamp(Timestamp("2024-07-01T10:00:00.5Z")!))
    }

    /// Read as `timestamp` fields (the export's path from the parts, not the text), every fraction
    /// width gives the instant and the text of the server's own text, parsed.
    func testDateTimeInstantsAreTheServersTextForEveryFractionWidth() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, """
            SET time_zone = '+00:00';
            CREATE TABLE times (id INT PRIMARY KEY, email VARCHAR(100),
              d0 DATETIME, d1 DATETIME(1), d2 DATETIME(2), d3 DATETIME(3), d4 DATETIME(4), d5 DATETIME(5), d6 DATETIME(6),
              t3 TIMESTAMP(3) NULL, t0 TIMESTAMP NULL);
            INSERT INTO times VALUES
              (1, 'ana@example.com', '2024-07-01 12:34:56', '2024-07-01 12:34:56.7', '2024-07-01 12:34:56.10', '2024-07-01 12:34:56.1',
               '2024-07-01 12:34:56.0001', '2024-07-01 12:34:56.00000', '2024-07-01 12:34:56.000001', '2024-07-01 10:00:00.5', '1970-01-01 00:00:01'),
              (2, 'ana@example.com', '1000-01-01 00:00:00', '9999-12-31 23:59:59.9', '2024-02-29 23:59:59.99', '0001-02-03 04:05:06.789',
               '2000-01-01 00:00:00.1230', '1999-12-31 23:59:59.12345', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999', '2038-01-19 03:14:07'),
              (3, 'ana@example.com', '2024-07-01 00:00:00', NULL, NULL, NULL, NULL, NULL, '2024-07-01 00:00:00.000000', NULL, NULL);
            """)
        let columns = ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "t3", "t0"]
        let expected = try sql(db.url, "SET time_zone = '+00:00'; SELECT \(columns.joined(separator: ", ")) FROM times ORDER BY id")
            .split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(expected.count, 3)
        let s = try store(db.url, [dataset("times", table: "times", [("id", "integer"), ("email", "string")] + columns.map { ($0, "timestamp") })])
        let c = try MySQLConnector(config: s)
        defer { c.close() }
        try c.beginSnapshot()
        let rows = try TestSupport.rows(of: s.datasets[0], from: c, identities: [.email: ["ana@example.com"]])
            .sorted { ($0["id"]?.canonicalText ?? "") < ($1["id"]?.canonicalText ?? "") }
        XCTAssertEqual(rows.count, 3)
        for (row, want) in zip(rows, expected) {
            for (i, column) in columns.enumerated() {
                let value = want[i] == "NULL" ? Value.null : try .timestamp(XCTUnwrap(Timestamp(want[i]), want[i]))
                XCTAssertEqual(row[column], value, "\(column) of row \(row["id"] ?? .null)")
                XCTAssertEqual(row[column]?.canonicalText, value.canonicalText, "\(column) of row \(row["id"] ?? .null)")
            }
        }
        XCTAssertEqual(rows.first?["d6"], .timestamp(Timestamp("2024-07-01T12:34:56.000001Z")!))
        XCTAssertEqual(rows.last?["d6"]?.canonicalText, "2024-07-01T00:00:00Z")
    }
}

/// The export builds a DATETIME's instant from its parts (`Timestamp(year:month:...)`) instead of
/// writing its text and parsing it: for any parts, the same instant and text as the parse, or nil
/// where the parse is nil.
final class MySQLDateTimeTextTests: XCTestCase {
    func testAnInstantFromPartsIsTheParsedText() {
        func pad(_ v: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(v).count)) + String(v) }
        var compared = 0, valid = 0
        for (y, m, d) in [(2024, 2, 29), (2023, 2, 29), (1, 1, 1), (9999, 12, 31), (1970, 1, 1), (0, 1, 1), (2024, 0, 1),
                          (2024, 13, 1), (2024, 4, 31), (2024, 1, 0), (1000, 1, 1), (2038, 1, 19)] {
            for (h, mi, s) in [(0, 0, 0), (23, 59, 59), (24, 0, 0), (12, 60, 0), (12, 0, 60), (3, 14, 7)] {
                for f in ["", "0", "5", "50", "000001", "999999", "123456789", "1234567890", "12a"] {
                    let text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2))" + (f.isEmpty ? "" : "." + f)
                    let parsed = Timestamp(text)
                    let built = Timestamp(year: y, month: m, day: d, hour: h, minute: mi, second: s, fraction: f)
                    XCTAssertEqual(built, parsed, text)
                    XCTAssertEqual(built?.text, parsed?.text, text)
                    compared += 1
                    if parsed != nil { valid += 1 }
                }
            }
        }
        // Both sides of the grid: instants and refusals.
        XCTAssertEqual(compared, 12 * 6 * 9)
        XCTAssertGreaterThan(valid, 100)
        XCTAssertLessThan(valid, compared / 2)
    }
}
