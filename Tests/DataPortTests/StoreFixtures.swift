import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// The same tables in every store type, so that a test written once runs on SQLite, PostgreSQL,
/// MySQL, CSV, JSONL and any other registered store (the store conformance suite, the identity
/// matrix, shared identifiers, long chains).
///
/// The SQL stores have a case each (their column types and how a table is created); a file store
/// needs none: its connector writes its own files (`StoreFileWriting`), so `StoreFixture.maker`
/// materialises any registered file store by its type name.
///
/// PostgreSQL and MySQL take part when their server is usable (`PostgreSQLTests.server`,
/// `MySQLTests.server`); when `DATAPORT_PG_URL` / `DATAPORT_MYSQL_URL` is set but the server does
/// not answer, `available` fails the test instead of leaving the store out.
enum StoreFixture: String, CaseIterable {
    case sqlite, postgresql, mysql, csv, jsonl

    /// A column: integer, text, or any field type.
    enum Column {
        case integer(String), text(String), typed(String, FieldType)
        var name: String { switch self { case .integer(let n), .text(let n), .typed(let n, _): n } }
        var type: FieldType {
            switch self { case .integer: .integer; case .text: .string; case .typed(_, let t): t }
        }
    }

    struct Table {
        var name: String
        var columns: [Column]
        var rows: [[Value]]
        /// The primary key, if any (an import upserts by it).
        var key: String?
        /// Columns declared NOT NULL (to make an import fail part-way).
        var notNull: Set<String> = []
        init(_ name: String, _ columns: [Column], _ rows: [[Value]], key: String? = nil, notNull: Set<String> = []) {
            self.name = name; self.columns = columns; self.rows = rows; self.key = key; self.notNull = notNull
        }
    }

    /// A store of this type holding `tables`: the store's `type` and `options` as JSON members, and
    /// for each table the dataset's source member (`"table": ...` or `"file": ...`).
    struct Made {
        var store: String
        var source: [String: String]
        /// Adds rows to a table of the store (as another client would, while an export runs).
        var append: (_ table: String, _ rows: [[Value]]) throws -> Void = { _, _ in XCTFail("this fixture cannot append") }
        /// `"name": ..., <store>, "datasets": [...]`, the store's JSON object.
        func json(_ name: String, datasets: [String]) -> String {
            "{\"name\": \"\(name)\", \(store), \"datasets\": [\(datasets.joined(separator: ", "))]}"
        }
    }

    /// The fixtures usable here: the file stores and SQLite always, the servers when they answer.
    static func available(file: StaticString = #filePath, line: UInt = #line) -> [StoreFixture] {
        allCases.filter { $0.isUsable(file: file, line: line) }
    }

    /// Whether this fixture can run here; a server that is configured but down is a failure.
    func isUsable(file: StaticString = #filePath, line: UInt = #line) -> Bool {
        switch self {
        case .postgresql:
            switch PostgreSQLTests.server {
            case .url: return true
            case .broken(let why): XCTFail("PostgreSQL: \(why)", file: file, line: line); return false
            case .unavailable: return false
            }
        case .mysql:
            switch MySQLTests.server {
            case .url: return true
            case .broken(let why): XCTFail("MySQL: \(why)", file: file, line: line); return false
            case .unavailable: return false
            }
        default: return true
        }
    }

    func make(_ test: XCTestCase, in dir: URL, _ tables: [Table]) throws -> Made {
        switch self {
        case .sqlite:
            let path = dir.appendingPathComponent("\(rawValue)-\(UUID().uuidString.prefix(8)).db").path
            let db = try SQLiteDatabase(path: path, readOnly: false, create: true)
            // WAL, as applications run it: a writer does not wait for an export's snapshot to end.
            try db.execute("PRAGMA journal_mode=WAL")
            for t in tables { try db.execute(Self.createTable(t.name, t, type: Self.sqliteType)) }
            func insert(_ table: String, _ rows: [[Value]]) throws {
                guard let t = tables.first(where: { $0.name == table }) else { return }
                let stmt = try db.prepare("INSERT INTO \(t.name) VALUES (\(t.columns.map { _ in "?" }.joined(separator: ", ")))")
                for r in rows { try stmt.bind(values: r); while try stmt.step() {} }
            }
            for t in tables { try insert(t.name, t.rows) }
            var made = Made(store: "\"type\": \"sqlite\", \"options\": {\"path\": \"\(path)\"}", source: Self.sources(tables) { "\"table\": \"\($0)\"" })
            made.append = insert
            return made
        case .postgresql:
            guard case .url(let url) = PostgreSQLTests.server else { throw XCTSkip("no PostgreSQL server") }
            let schema = "fx_" + UUID().uuidString.prefix(8).lowercased()
            var sql = "CREATE SCHEMA \(schema);"
            for t in tables { sql += Self.createTable("\(schema).\(t.name)", t, type: Self.postgresType) + ";" }
            let r = try PostgreSQLTests.psqlRun(url, sql)
            XCTAssertEqual(r.code, 0, r.stderr)
            test.addTeardownBlock { _ = try? PostgreSQLTests.psqlRun(url, "DROP SCHEMA \(schema) CASCADE") }
            return try Self.filled(Made(store: "\"type\": \"postgresql\", \"options\": {\"url\": \"\(url)\"}",
                                        source: Self.sources(tables) { "\"table\": \"\(schema).\($0)\"" }), tables, prefix: "\(schema).", in: dir)
        case .mysql:
            let db = try MySQLTests.freshDatabase(for: test)
            // Text columns in WordPress's collation (case- and accent-insensitive, PAD SPACE):
            // DataPort's matching must not inherit its idea of equal.
            let sql = tables.map { Self.createTable($0.name, $0, type: Self.mysqlType) + " ENGINE=InnoDB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;" }.joined()
            let r = try MySQLTests.clientRun(db.url, database: db.name, sql)
            XCTAssertEqual(r.code, 0, r.stderr)
            return try Self.filled(Made(store: "\"type\": \"mysql\", \"options\": {\"url\": \"\(db.url)\"}",
                                        source: Self.sources(tables) { "\"table\": \"\($0)\"" }), tables, prefix: "", in: dir)
        case .csv, .jsonl:
            return try Self.fileStore(type: rawValue, in: dir, tables)
        }
    }

    // MARK: - Any registered store type

    /// How the suite materialises a registered store type: a case above, or, for a file store whose
    /// connector is `StoreFileWriting`, its own writer. `nil`: the type has no fixture (the suite
    /// fails). A case whose server is not here (and not configured) is `.unavailable`.
    enum Maker {
        case ready(capabilities: StoreCapabilities, make: (XCTestCase, URL, [Table]) throws -> Made)
        case unavailable
    }

    static func maker(forType type: String, file: StaticString = #filePath, line: UInt = #line) throws -> Maker? {
        if let fixture = StoreFixture(rawValue: type), let connector = fixture.connectorType {
            guard fixture.isUsable(file: file, line: line) else { return .unavailable }
            return .ready(capabilities: connector.capabilities, make: fixture.make)
        }
        guard let writer = try fileWriter(type) else { return nil }
        return .ready(capabilities: writer.capabilities, make: { _, dir, tables in try fileStore(type: type, in: dir, tables) })
    }

    /// The connector type of a SQL case (the file cases are found as any file store is).
    private var connectorType: (any StoreConnector.Type)? {
        switch self {
        case .sqlite: SQLiteConnector.self
        case .postgresql: PostgreSQLConnector.self
        case .mysql: MySQLConnector.self
        case .csv, .jsonl: nil
        }
    }

    /// The connector type of a file store (one whose connector writes its own files), found by
    /// making a connector of `type` over an empty folder.
    static func fileWriter(_ type: String) throws -> (any StoreFileWriting.Type)? {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dataport-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataset = """
            {"name": "probe", "file": "probe", "category": "account", "description": "Probe.", "purposes": ["test"],
             "legalBasis": "contract", "origin": "observed", "recipients": [],
             "fields": [{"name": "ip", "type": "string"}], "match": [{"identity": "ip", "field": "ip"}]}
            """
        let store = "{\"name\": \"probe\", \"type\": \"\(type)\", \"options\": {\"path\": \"\(dir.path)\"}, \"datasets\": [\(dataset)]}"
        guard let config = try? parse(store, in: dir), let c = try? StoreRegistry.standard.connector(for: config.stores[0]) else { return nil }
        c.close()
        return Swift.type(of: c) as? any StoreFileWriting.Type
    }

    /// A file store of `type` in a new folder of `dir`, one file per table written by its connector type.
    static func fileStore(type: String, in dir: URL, _ tables: [Table]) throws -> Made {
        guard let writer = try fileWriter(type) else { throw XCTSkip("\(type) is not a file store") }
        let files = dir.appendingPathComponent("\(type)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        final class Contents { var rows: [String: [[Value]]] = [:] }
        let contents = Contents()
        func write(_ t: Table, _ rows: [[Value]]) throws {
            let url = files.appendingPathComponent("\(t.name).\(type)")
            let bytes = try writer.fileContents(columns: t.columns.map(\.name), rows: rows)
            // Grown in place when the old file is a prefix of the new one (a log is appended to).
            if let old = try? Data(contentsOf: url), bytes.starts(with: old), let handle = try? FileHandle(forWritingTo: url) {
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(bytes[old.count...]))
                try handle.close()
            } else {
                try Data(bytes).write(to: url)
            }
            contents.rows[t.name] = rows
        }
        for t in tables { try write(t, t.rows) }
        var made = Made(store: "\"type\": \"\(type)\", \"options\": {\"path\": \"\(files.path)\"}", source: sources(tables) { "\"file\": \"\($0).\(type)\"" })
        made.append = { name, rows in
            guard let t = tables.first(where: { $0.name == name }) else { return }
            try write(t, (contents.rows[name] ?? []) + rows)
        }
        return made
    }

    // MARK: - Helpers

    /// A stores config holding the store objects `stores`.
    static func parse(_ stores: String..., in dir: URL) throws -> StoresConfig {
        let text = "{\"version\": \"1\", \"controller\": {\"name\": \"Test\", \"contact\": \"dpo@example.com\"}, \"stores\": [\(stores.joined(separator: ", "))]}"
        return try StoresConfig.parse(Array(text.utf8), file: dir.appendingPathComponent("stores.json").path, baseDirectory: dir.path)
    }

    /// Rows inserted through the store's own writable session (one transaction), which also
    /// appends later rows.
    private static func filled(_ made: Made, _ tables: [Table], prefix: String, in dir: URL) throws -> Made {
        let config = try parse(made.json("fixture", datasets: []), in: dir)
        let store = config.stores[0]
        func insert(_ table: String, _ rows: [[Value]]) throws {
            guard let t = tables.first(where: { $0.name == table }), !rows.isEmpty else { return }
            guard let writable = try StoreRegistry.standard.connector(for: store) as? any WritableStoreConnector else { return }
            defer { writable.close() }
            let session = try writable.openSession()
            try session.begin()
            do {
                let insert = session.inserter(into: prefix + t.name, columns: t.columns.map(\.name), returning: [])
                for r in rows { try insert(r) { _ in } }
                try session.commit()
            } catch { session.rollback(); throw error }
        }
        for t in tables { try insert(t.name, t.rows) }
        var out = made
        out.append = insert
        return out
    }

    private static func createTable(_ name: String, _ t: Table, type: (FieldType) -> String) -> String {
        let columns = t.columns.map { c in
            "\(c.name) \(type(c.type))" + (c.name == t.key ? " PRIMARY KEY" : "") + (t.notNull.contains(c.name) ? " NOT NULL" : "")
        }
        return "CREATE TABLE \(name) (\(columns.joined(separator: ", ")))"
    }

    private static func sqliteType(_ t: FieldType) -> String {
        switch t { case .integer, .boolean: "INTEGER"; case .binary: "BLOB"; default: "TEXT" }
    }
    private static func postgresType(_ t: FieldType) -> String {
        switch t {
        case .integer: "bigint"; case .decimal: "numeric"; case .boolean: "boolean"; case .date: "date"
        case .timestamp: "timestamptz"; case .binary: "bytea"; case .string: "text"
        }
    }
    private static func mysqlType(_ t: FieldType) -> String {
        switch t {
        case .integer: "BIGINT"; case .decimal: "DECIMAL(30,9)"; case .boolean: "BOOLEAN"; case .date: "DATE"
        case .timestamp: "DATETIME(6)"; case .binary: "LONGBLOB"; case .string: "VARCHAR(255)"
        }
    }

    private static func sources(_ tables: [Table], _ member: (String) -> String) -> [String: String] {
        Dictionary(uniqueKeysWithValues: tables.map { ($0.name, member($0.name)) })
    }
}
