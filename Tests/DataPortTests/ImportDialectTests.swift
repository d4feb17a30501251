import DataPortImport
import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// The importer writes no SQL of its own: a SQL store whose dialect lacks what SQLite and
/// PostgreSQL share (`LIMIT`, `RETURNING`, `ON CONFLICT`, `TEMP TABLE`, `GROUP BY`) imports through
/// its session's operations alone, with no importer change, and ends with the same rows.
final class ImportDialectTests: XCTestCase {
    /// A SQLite session that refuses the shared dialect's words and overrides the operations that use them.
    final class OtherDialectSession: SQLSession {
        let base: SQLiteSession
        /// Statements that reached `execute` or `query`.
        private(set) var statements: [String] = []
        init(path: String) throws { base = try SQLiteSession(path: path) }

        static let refused = [" LIMIT ", "RETURNING", "ON CONFLICT", "TEMP TABLE", "GROUP BY"]

        private func check(_ sql: String) throws {
            statements.append(sql)
            if let word = Self.refused.first(where: { sql.contains($0) }) {
                throw DataPortError(.internal, "this dialect has no \(word.trimmingCharacters(in: .whitespaces))")
            }
        }

        var placeholder: @Sendable (Int) -> String { base.placeholder }
        var nullSafeEquals: String { base.nullSafeEquals }
        var lockingRead: String { "" }
        var temporaryTable: String { "TEMPORARY TABLE" }
        @discardableResult
        func execute(_ sql: String, _ parameters: [Value]) throws -> Int { try check(sql); return try base.execute(sql, parameters) }
        func query(_ sql: String, _ parameters: [Value], rows row: (any SQLRow) throws -> Void) throws {
            try check(sql)
            try base.query(sql, parameters, rows: row)
        }
        func begin() throws { try base.begin() }
        func commit() throws { try base.commit() }
        func rollback() { base.rollback() }

        private func integer(_ sql: String, _ parameters: [Value] = []) throws -> Int64 {
            var n: Int64 = 0
            try query(sql, parameters) { cells in if case .integer(let i) = cells[0] { n = i } }
            return n
        }

        func isEmpty(_ table: String) throws -> Bool { try integer("SELECT count(*) FROM \(table)") == 0 }

        func hasRepeatedValue(in table: String, column: String) throws -> Bool {
            try integer("SELECT count(\(column)) - count(DISTINCT \(column)) FROM \(table)") > 0
        }

        func inserter(into table: String, columns: [String], returning: [String]) -> SQLInserter {
            let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
            return { values, row in
                _ = try self.execute(sql, values)
                guard !returning.isEmpty else { return }
                try self.query("SELECT \(returning.joined(separator: ", ")) FROM \(table) WHERE rowid = last_insert_rowid()", [], rows: row)
            }
        }

        func insertSkippingDuplicates(into table: String, columns: [String], _ values: [Value]) throws -> Int {
            let one = "(\(columns.map { _ in "?" }.joined(separator: ", ")))"
            let rows = Array(repeating: one, count: values.count / columns.count).joined(separator: ", ")
            return try execute("INSERT OR IGNORE INTO \(table) (\(columns.joined(separator: ", "))) VALUES \(rows)", values)
        }

        func incrementCounter(in table: String, keyColumns: [String], _ key: [Value]) throws -> Int64 {
            let cols = keyColumns.joined(separator: ", ")
            let condition = keyColumns.map { "\($0) = ?" }.joined(separator: " AND ")
            try execute("INSERT OR IGNORE INTO \(table) (\(cols), n) VALUES (\(key.map { _ in "?" }.joined(separator: ", ")), 0)", key)
            try execute("UPDATE \(table) SET n = n + 1 WHERE \(condition)", key)
            return try integer("SELECT n FROM \(table) WHERE \(condition)", key)
        }
    }

    /// A SQLite store whose import session speaks `OtherDialectSession`.
    final class OtherDialectConnector: WritableStoreConnector {
        let sqlite: SQLiteConnector
        let path: String
        nonisolated(unsafe) static var sessions: [OtherDialectSession] = []
        static let options = SQLiteConnector.options
        static let capabilities = StoreCapabilities.sql
        init(config: StoreConfig) throws {
            sqlite = try SQLiteConnector(config: config)
            path = config.path("path")!
        }
        func validate() throws { try sqlite.validate() }
        func distinctValues(of field: String, in dataset: DatasetConfig, for subject: SubjectQuery, limit: Int) throws -> [String] {
            try sqlite.distinctValues(of: field, in: dataset, for: subject, limit: limit)
        }
        func read(_ dataset: DatasetConfig, for subject: SubjectQuery, into body: (Record) throws -> Void) throws -> Int {
            try sqlite.read(dataset, for: subject, into: body)
        }
        func close() { sqlite.close() }
        func openSession() throws -> any SQLSession {
            let session = try OtherDialectSession(path: path)
            Self.sessions.append(session)
            return session
        }
    }

    let registry = StoreRegistry(factories: StoreRegistry.standard.factories.merging(["otherdialect": { try OtherDialectConnector(config: $0) }]) { a, _ in a },
                                 options: StoreRegistry.standard.options.merging(["otherdialect": OtherDialectConnector.options]) { a, _ in a })

    /// The CRM sample (generated keys, foreign keys rewritten through the id map, a keyless
    /// dataset) and the sample app's own schema (natural keys), each imported twice through the
    /// other dialect and once through plain SQLite: the same reports, byte-identical databases.
    func testAStoreWithAnotherDialectImportsWithNoImporterChange() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "ana.zip")
        let dropped = stride(from: 1, to: TestSupport.crmDroppedFields.count, by: 2).map { TestSupport.crmDroppedFields[$0] }
        func crm(_ name: String) throws -> (config: StoresConfig, db: String) {
            let folder = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for f in ["crm-stores.json", "crm-schema.sql"] {
                try FileManager.default.copyItem(at: TestSupport.samples.appendingPathComponent("migration/\(f)"), to: folder.appendingPathComponent(f))
            }
            return (try StoresConfig.load(path: folder.appendingPathComponent("crm-stores.json").path), folder.appendingPathComponent("crm.db").path)
        }
        let plain = try crm("plain")
        var other = try crm("other")
        other.config.stores[0].type = "otherdialect"
        let sample = dir.appendingPathComponent("sample")
        try FileManager.default.createDirectory(at: sample, withIntermediateDirectories: true)
        let app = try TestSupport.emptySampleStore(in: sample)
        var appConfig = try StoresConfig.load(path: app.config)
        appConfig.stores[0].type = "otherdialect"

        for (config, options) in [(other.config, ImportOptions(dropFields: dropped)), (appConfig, ImportOptions())] {
            OtherDialectConnector.sessions = []
            let first = try Importer.run(bundle: bundle, config: config, options: options, stores: registry)
            XCTAssertTrue(first.agrees, first.text)
            XCTAssertGreaterThan(first.datasets.map(\.inserted).reduce(0, +), 0)
            let again = try Importer.run(bundle: bundle, config: config, options: options, stores: registry)
            XCTAssertTrue(again.agrees, again.text)
            XCTAssertTrue(again.datasets.allSatisfy { $0.inserted == 0 && $0.updated == 0 }, again.text)
            XCTAssertEqual(OtherDialectConnector.sessions.count, 2, "both imports went through the other dialect's session")
            XCTAssertFalse(OtherDialectConnector.sessions.flatMap(\.statements).isEmpty)
        }
        let reference = try Importer.run(bundle: bundle, config: plain.config, options: ImportOptions(dropFields: dropped))
        XCTAssertTrue(reference.agrees)
        func dump(_ db: String) throws -> String { try TestSupport.run("/usr/bin/sqlite3", [db, ".dump"]).stdout }
        XCTAssertEqual(try dump(other.db), try dump(plain.db))
        XCTAssertTrue(try dump(other.db).contains("dataport_id_map"))
    }
}
