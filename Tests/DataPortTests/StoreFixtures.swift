import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// The same tables in every store type that holds tables, so that a test written once runs on
/// SQLite, PostgreSQL, MySQL, CSV and JSONL (the identity matrix, shared identifiers, long chains).
///
/// PostgreSQL and MySQL take part when their server is usable (`PostgreSQLTests.server`,
/// `MySQLTests.server`); when `DATAPORT_PG_URL` / `DATAPORT_MYSQL_URL` is set but the server does
/// not answer, `available` fails the test instead of leaving the store out.
enum StoreFixture: String, CaseIterable {
    case sqlite, postgresql, mysql, csv, jsonl

    /// A column: integer or text.
    enum Column { case integer(String), text(String)
        var name: String { switch self { case .integer(let n), .text(let n): n } }
    }

    struct Table {
        var name: String
        var columns: [Column]
        var rows: [[Value]]
        init(_ name: String, _ columns: [Column], _ rows: [[Value]]) { self.name = name; self.columns = columns; self.rows = rows }
    }

    /// A store of this type holding `tables`: the store's `type` and `options` as JSON members, and
    /// for each table the dataset's source member (`"table": ...` or `"file": ...`).
    struct Made {
        var store: String
        var source: [String: String]
        /// `"name": ..., <store>, "datasets": [...]`, the store's JSON object.
        func json(_ name: String, datasets: [String]) -> String {
            "{\"name\": \"\(name)\", \(store), \"datasets\": [\(datasets.joined(separator: ", "))]}"
        }
    }

    /// The fixtures usable here: the file stores and SQLite always, the servers when they answer.
    static func available(file: StaticString = #filePath, line: UInt = #line) -> [StoreFixture] {
        var out: [StoreFixture] = [.sqlite, .csv, .jsonl]
        switch PostgreSQLTests.server {
        case .url: out.append(.postgresql)
        case .broken(let why): XCTFail("PostgreSQL: \(why)", file: file, line: line)
        case .unavailable: break
        }
        switch MySQLTests.server {
        case .url: out.append(.mysql)
        case .broken(let why): XCTFail("MySQL: \(why)", file: file, line: line)
        case .unavailable: break
        }
        return out
    }

    func make(_ test: XCTestCase, in dir: URL, _ tables: [Table]) throws -> Made {
        let files = dir.appendingPathComponent("\(rawValue)-files")
        switch self {
        case .sqlite:
            let path = dir.appendingPathComponent("\(rawValue)-\(UUID().uuidString.prefix(8)).db").path
            let db = try SQLiteDatabase(path: path, readOnly: false, create: true)
            for t in tables {
                try db.execute("CREATE TABLE \(t.name) (\(t.columns.map { "\($0.name) \(Self.isInteger($0) ? "INTEGER" : "TEXT")" }.joined(separator: ", ")))")
                let stmt = try db.prepare("INSERT INTO \(t.name) VALUES (\(t.columns.map { _ in "?" }.joined(separator: ", ")))")
                for r in t.rows { try stmt.bind(values: r); while try stmt.step() {} }
            }
            return Made(store: "\"type\": \"sqlite\", \"options\": {\"path\": \"\(path)\"}", source: Self.sources(tables) { "\"table\": \"\($0)\"" })
        case .postgresql:
            guard case .url(let url) = PostgreSQLTests.server else { throw XCTSkip("no PostgreSQL server") }
            let schema = "fx_" + UUID().uuidString.prefix(8).lowercased()
            var sql = "CREATE SCHEMA \(schema);"
            for t in tables {
                sql += "CREATE TABLE \(schema).\(t.name) (\(t.columns.map { "\($0.name) \(Self.isInteger($0) ? "bigint" : "text")" }.joined(separator: ", ")));"
                sql += Self.inserts("\(schema).\(t.name)", t)
            }
            let r = try PostgreSQLTests.psqlRun(url, sql)
            XCTAssertEqual(r.code, 0, r.stderr)
            test.addTeardownBlock { _ = try? PostgreSQLTests.psqlRun(url, "DROP SCHEMA \(schema) CASCADE") }
            return Made(store: "\"type\": \"postgresql\", \"options\": {\"url\": \"\(url)\"}", source: Self.sources(tables) { "\"table\": \"\(schema).\($0)\"" })
        case .mysql:
            let db = try MySQLTests.freshDatabase(for: test)
            // Text columns in WordPress's collation (case- and accent-insensitive, PAD SPACE):
            // DataPort's matching must not inherit its idea of equal.
            var sql = ""
            for t in tables {
                sql += "CREATE TABLE \(t.name) (\(t.columns.map { "\($0.name) \(Self.isInteger($0) ? "BIGINT" : "VARCHAR(255)")" }.joined(separator: ", "))) "
                    + "ENGINE=InnoDB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;"
                sql += Self.inserts(t.name, t)
            }
            let r = try MySQLTests.clientRun(db.url, database: db.name, sql)
            XCTAssertEqual(r.code, 0, r.stderr)
            return Made(store: "\"type\": \"mysql\", \"options\": {\"url\": \"\(db.url)\"}", source: Self.sources(tables) { "\"table\": \"\($0)\"" })
        case .csv:
            try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
            for t in tables {
                var text = t.columns.map(\.name).joined(separator: ",") + "\n"
                for r in t.rows { text += r.map { Self.csvField($0) }.joined(separator: ",") + "\n" }
                try text.write(to: files.appendingPathComponent("\(t.name).csv"), atomically: true, encoding: .utf8)
            }
            return Made(store: "\"type\": \"csv\", \"options\": {\"path\": \"\(files.path)\"}", source: Self.sources(tables) { "\"file\": \"\($0).csv\"" })
        case .jsonl:
            try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
            for t in tables {
                var text = ""
                for r in t.rows {
                    var object: [String: Any] = [:]
                    for (c, v) in zip(t.columns, r) {
                        switch v {
                        case .integer(let i): object[c.name] = i
                        case .string(let s): object[c.name] = s
                        default: object[c.name] = NSNull()
                        }
                    }
                    text += String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) + "\n"
                }
                try text.write(to: files.appendingPathComponent("\(t.name).jsonl"), atomically: true, encoding: .utf8)
            }
            return Made(store: "\"type\": \"jsonl\", \"options\": {\"path\": \"\(files.path)\"}", source: Self.sources(tables) { "\"file\": \"\($0).jsonl\"" })
        }
    }

    private static func isInteger(_ c: Column) -> Bool { if case .integer = c { true } else { false } }

    private static func sources(_ tables: [Table], _ member: (String) -> String) -> [String: String] {
        Dictionary(uniqueKeysWithValues: tables.map { ($0.name, member($0.name)) })
    }

    /// INSERT statements with the values as SQL literals (standard quoting: both servers' clients
    /// take it, MySQL's backslash escapes are never needed since no value holds a backslash).
    private static func inserts(_ table: String, _ t: Table) -> String {
        t.rows.map { r in
            "INSERT INTO \(table) VALUES (" + r.map { v -> String in
                switch v {
                case .integer(let i): return String(i)
                case .string(let s):
                    precondition(!s.contains("\\"), "a fixture value with a backslash would mean two things to MySQL")
                    return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
                default: return "NULL"
                }
            }.joined(separator: ", ") + ");"
        }.joined()
    }

    private static func csvField(_ v: Value) -> String {
        switch v {
        case .integer(let i): return String(i)
        case .string(let s): return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        default: return ""
        }
    }
}
