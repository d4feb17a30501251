import Foundation
import DataPortModel

/// A read-write session on a SQL store, for imports: statements with bound values, one transaction.
public protocol SQLSession: AnyObject {
    /// The placeholder for the n-th parameter (1-based).
    var placeholder: @Sendable (Int) -> String { get }
    /// Runs a statement; returns the rows it changed.
    @discardableResult
    func execute(_ sql: String, _ parameters: [Value]) throws -> Int
    /// Runs a query, handing each row to `row`; a row is valid only during that call.
    func query(_ sql: String, _ parameters: [Value], rows row: (any SQLRow) throws -> Void) throws
    /// Begins the import's one transaction, waiting first for any other import into the same store
    /// (SQLite `BEGIN IMMEDIATE` with a long busy timeout, PostgreSQL an advisory lock).
    func begin() throws
    func commit() throws
    func rollback()
    /// The null-safe equality operator (`IS` in SQLite, `IS NOT DISTINCT FROM` in PostgreSQL).
    var nullSafeEquals: String { get }
    /// `column` null-safe equal to the value bound at `placeholder`, a value of a field of `type`
    /// (how keyless rows are counted). Default: `column nullSafeEquals placeholder`.
    func nullSafeEquals(_ column: String, _ placeholder: String, as type: FieldType) -> String

    // Dialect pieces of the importer's SQL. The defaults are the SQL SQLite and PostgreSQL share;
    // a store whose SQL differs (MySQL: no `RETURNING`, no `ON CONFLICT`) overrides them.

    /// The words after `CREATE` for a table that lives as long as the session (`TEMP TABLE`).
    var temporaryTable: String { get }
    /// The column type of the importer's own text keys (id map, occurrence counts): `TEXT`.
    var keyTextType: String { get }
    /// Inserts one row and hands the `returning` columns of the row as stored to `row` (nothing
    /// when `returning` is empty). A returned column that is not inserted is a generated key.
    /// Names are quoted already. Default: `INSERT ... VALUES ... [RETURNING ...]`.
    func insert(into table: String, columns: [String], _ values: [Value], returning: [String],
                row: (any SQLRow) throws -> Void) throws
    /// Inserts rows of `columns.count` values each (flattened), skipping those whose key exists;
    /// returns how many were inserted. Default: `INSERT ... ON CONFLICT DO NOTHING`.
    func insertSkippingDuplicates(into table: String, columns: [String], _ values: [Value]) throws -> Int
    /// Adds one to the counter `n` of `key` (the values of `keyColumns`) in `table`, starting at 1;
    /// returns the new count. Default: `INSERT ... ON CONFLICT (...) DO UPDATE ... RETURNING n`.
    func incrementCounter(in table: String, keyColumns: [String], _ key: [Value]) throws -> Int64

    // Erasure (`dataport erase`, Erase/StoreErasure.swift).
    /// What makes a SELECT lock the rows it reads until the transaction ends: ` FOR UPDATE`
    /// (PostgreSQL, MySQL); SQLite's `BEGIN IMMEDIATE` holds the whole database already.
    var lockingRead: String { get }
}

extension SQLSession {
    public var temporaryTable: String { "TEMP TABLE" }
    public func nullSafeEquals(_ column: String, _ placeholder: String, as type: FieldType) -> String {
        "\(column) \(nullSafeEquals) \(placeholder)"
    }
    public var keyTextType: String { "TEXT" }

    private func marks(_ count: Int, from first: Int = 1) -> String {
        (first..<(first + count)).map(placeholder).joined(separator: ", ")
    }

    public func insert(into table: String, columns: [String], _ values: [Value], returning: [String],
                       row: (any SQLRow) throws -> Void) throws {
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(marks(columns.count)))"
        if returning.isEmpty {
            try execute(sql, values)
        } else {
            try query(sql + " RETURNING \(returning.joined(separator: ", "))", values, rows: row)
        }
    }

    public func insertSkippingDuplicates(into table: String, columns: [String], _ values: [Value]) throws -> Int {
        let n = columns.count
        let rows = (0..<(values.count / n)).map { "(\(marks(n, from: $0 * n + 1)))" }.joined(separator: ", ")
        return try execute("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES \(rows) ON CONFLICT DO NOTHING", values)
    }

    public func incrementCounter(in table: String, keyColumns: [String], _ key: [Value]) throws -> Int64 {
        let cols = keyColumns.joined(separator: ", ")
        var n: Int64 = 0
        try query("INSERT INTO \(table) (\(cols), n) VALUES (\(marks(key.count)), 1) ON CONFLICT (\(cols)) DO UPDATE SET n = \(table).n + 1 RETURNING n",
                  key, rows: { row in if case .integer(let i) = row.cell(0) { n = i } })
        return n
    }
}

extension SQLSession {
    /// Runs a query, handing each row's cells to `row`.
    public func query(_ sql: String, _ parameters: [Value], _ row: ([StoreCell]) throws -> Void) throws {
        try query(sql, parameters, rows: { r in try row((0..<r.columnCount).map { r.cell($0) }) })
    }
}

/// One row of a query's result.
public protocol SQLRow {
    var columnCount: Int { get }
    /// A column as a raw cell.
    func cell(_ column: Int) -> StoreCell
    /// Whether a column holds exactly `value` as this store's `execute` binds it, checked without
    /// building a cell: the fast path of reading rows back after an import. `false` only means
    /// "compare through `cell(_:)`".
    func holds(_ value: Value, at column: Int) -> Bool
}

extension SQLRow {
    public func holds(_ value: Value, at column: Int) -> Bool { false }
}

/// A store that can receive records (the reverse path).
public protocol WritableStoreConnector: StoreConnector {
    /// Opens a read-write session on the store.
    func openSession() throws -> any SQLSession
}
