import DataPortModel
import Foundation

/// The embedded default store: a SQLite database file.
public final class SQLiteConnector: WritableStoreConnector {
    public static let capabilities = StoreCapabilities.sql
    /// The options a sqlite store accepts.
    public static let options: [StoreOption] = [
        StoreOption("path", .path, required: true, help: "The database file."),
        StoreOption("initScript", .path, help: "A SQL script that builds the database on first use, when the file is missing; it can build that one file only (no ATTACH, no extensions)."),
    ]

    private let config: StoreConfig
    private let db: SQLiteDatabase
    private let path: String
    private let builder: SQLQueryBuilder
    private var inSnapshot = false
    /// Prepared statements by text, kept while the connection is: a batch runs the same few
    /// queries for every subject.
    private var statements: [String: SQLiteStatement] = [:]

    public init(config: StoreConfig) throws {
        self.config = config
        let options = try StoreOptionValues(config, Self.options)
        let path = try options.requiredPath("path")
        if !FileManager.default.fileExists(atPath: path), let script = options.path("initScript") {
            try Self.build(path: path, script: script)
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataPortError(.store, "SQLite database file does not exist", at: "store \(config.name): \(path)", code: .missingFile)
        }
        self.path = path
        db = try SQLiteDatabase(path: path, readOnly: true)
        builder = SQLQueryBuilder(datasets: config.datasets, dialect: .sqlite)
    }

    /// Builds a database from a SQL script, atomically: into a temporary file with an unpredictable
    /// name in the same folder, renamed into place only when the whole script succeeded, so a failed
    /// build leaves nothing behind. The script can create only that file (see `executeConfined`).
    static func build(path: String, script: String) throws {
        guard let sql = try? String(contentsOfFile: script, encoding: .utf8) else {
            throw DataPortError(.invalidConfig, "cannot read initScript", at: script)
        }
        let target = URL(fileURLWithPath: path)
        let temp = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).building-\(UUID().uuidString)").path
        func removeTemp() {
            for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temp + suffix) }
        }
        do {
            let db = try SQLiteDatabase(path: temp, readOnly: false, create: true)
            do { try db.executeConfined(sql) } catch var e as DataPortError {
                e.message = "initScript: \(e.message)"
                e.location = script
                throw e
            }
        } catch {
            removeTemp()
            throw error
        }
        guard rename(temp, path) == 0 else {
            removeTemp()
            throw DataPortError(.store, "cannot move the built database into place", at: path)
        }
    }

    public func validate() throws {
        for d in config.datasets {
            do { _ = try db.prepare(builder.probe(d)) } catch let e as DataPortError {
                throw DataPortError(e.kind, "dataset \(d.name): \(e.message)", at: "store \(config.name)", code: e.code)
            }
        }
    }

    public func beginSnapshot() throws {
        try db.execute("BEGIN")
        inSnapshot = true
    }

    /// Runs a query of the builder on the snapshot's connection, handing each row to `row`.
    private func run(_ q: SQLQuery, _ row: (SQLiteStatement) throws -> Void) throws {
        let stmt: SQLiteStatement
        if let kept = statements[q.text] {
            stmt = kept
        } else {
            stmt = try db.prepare(q.text)
            if statements.count >= 64 { statements.removeAll() }
            statements[q.text] = stmt
        }
        defer { stmt.reset() }
        try stmt.bind(q.parameters)
        while try stmt.step() { try row(stmt) }
    }

    public func distinctValues(of field: String, in dataset: DatasetConfig, for subject: SubjectQuery, limit: Int) throws -> [String] {
        try builder.distinctValues(of: field, in: dataset, for: subject, limit: limit, store: config.name, run: run)
    }

    public func read(_ dataset: DatasetConfig, for subject: SubjectQuery, into body: (Record) throws -> Void) throws -> Int {
        try builder.read(dataset, for: subject, store: config.name, run: run, into: body)
    }

    public func openSession() throws -> any SQLSession {
        do { return try SQLiteSession(path: path) } catch let e as DataPortError {
            throw DataPortError(.store, "cannot open the store for writing: \(e.message)", at: "store \(config.name)")
        }
    }

    public func endSnapshot() {
        if inSnapshot { try? db.execute("COMMIT"); inSnapshot = false }
    }

    public func close() {
        statements.removeAll()
        endSnapshot()
    }
}
