import Foundation
import DataPortModel

/// A read-write session on a SQL store, for imports and erasure: statements with bound values, one
/// transaction, and every write of a row-at-a-time import as an operation in the store's dialect,
/// so that the importer writes no SQL and a new SQL store needs no importer change.
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

    // The import's writes, row by row (`BulkWritingSession` writes a dataset set-based). Table and
    // column names are quoted already. The defaults (`SQL/ImportSQL.swift`) are the SQL SQLite and
    // PostgreSQL share; a store whose SQL differs (MySQL: no `RETURNING`, no `ON CONFLICT`, DDL
    // that commits) overrides them.

    /// The words after `CREATE` for a table that lives as long as the session (`TEMP TABLE`).
    var temporaryTable: String { get }
    /// The column type of the importer's own text keys (id map, occurrence counts): `TEXT`.
    var keyTextType: String { get }
    /// Creates one of the import's own tables unless it exists. Default: `CREATE ... IF NOT EXISTS`.
    func createImportTable(_ table: ImportTable) throws
    /// Whether `table` holds no row; also the first statement on it, so a missing table fails here.
    /// Default: `SELECT 1 ... LIMIT 1`.
    func isEmpty(_ table: String) throws -> Bool
    /// What inserts one row of `columns` into `table` and hands the `returning` columns of the
    /// row as stored to its `row` (nothing when `returning` is empty); a returned column that is
    /// not inserted is a generated key. Made once per dataset and called per row, so the
    /// statement's text is built once. Default: `INSERT ... VALUES ... [RETURNING ...]`.
    func inserter(into table: String, columns: [String], returning: [String]) -> SQLInserter
    /// Sets `columns` to `values` in the row whose `keyColumn` holds `key`. Default: `UPDATE`.
    func update(_ table: String, setting columns: [String], to values: [Value], keyColumn: String, key: Value) throws
    /// Visits the rows of `table` (as `columns`) whose `keyColumn` holds one of `keys` (at most a
    /// few hundred). Default: `SELECT ... WHERE key IN (...)`.
    func readRows(of table: String, columns: [String], keyColumn: String, keys: [Value],
                  _ row: (any SQLRow) throws -> Void) throws
    /// A counter of the rows of `table` equal to given values in `columns` (of `types`), NULL equal
    /// to NULL: how keyless rows are compared. Made once per dataset, called once or twice per
    /// record. Default: `SELECT count(*) ... WHERE` with `nullSafeEquals(_:_:as:)`.
    func rowCounter(of table: String, columns: [String], types: [FieldType]) -> ([Value]) throws -> Int64
    /// Whether two rows of `table` hold the same value in `column`. Default: `GROUP BY ... HAVING`.
    func hasRepeatedValue(in table: String, column: String) throws -> Bool
    /// Inserts rows of `columns.count` values each (flattened), skipping those whose key exists;
    /// returns how many were inserted. Default: `INSERT ... ON CONFLICT DO NOTHING`.
    func insertSkippingDuplicates(into table: String, columns: [String], _ values: [Value]) throws -> Int
    /// Adds one to the counter `n` of `key` (the values of `keyColumns`) in `table`, starting at 1;
    /// returns the new count. Default: `INSERT ... ON CONFLICT (...) DO UPDATE ... RETURNING n`.
    func incrementCounter(in table: String, keyColumns: [String], _ key: [Value]) throws -> Int64
    /// The id map's entries of `dataset` for `keys`: bundle key -> target key (`reverse`: target
    /// key -> bundle key). Default: `SELECT ... IN (...)`, a few hundred keys at a time.
    func idMapEntries(of dataset: String, keys: [String], reverse: Bool) throws -> [String: String]
    /// Maps `bundleKey` of `dataset` to `targetKey` in the id map, replacing an older entry.
    /// Default: `DELETE`, then `INSERT`.
    func mapKey(of dataset: String, bundleKey: String, to targetKey: String) throws

    // Erasure (`dataport erase`, Erase/StoreErasure.swift).
    /// What makes a SELECT lock the rows it reads until the transaction ends: ` FOR UPDATE`
    /// (PostgreSQL, MySQL); SQLite's `BEGIN IMMEDIATE` holds the whole database already.
    var lockingRead: String { get }
}

/// Inserts one row (its values) and hands the returned columns to `row`: see `SQLSession.inserter`.
public typealias SQLInserter = (_ values: [Value], _ row: (any SQLRow) throws -> Void) throws -> Void

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
    /// A column as a value of `type`, or `nil` when it does not fit: what `cell(column).value(as:)`
    /// gives, which is the default. A wrapper that holds a column in another form than a cell
    /// (MySQL's date-time parts) builds the value from it directly, once per row of an export.
    func value(_ column: Int, as type: FieldType) -> Value?
}

extension SQLRow {
    public func holds(_ value: Value, at column: Int) -> Bool { false }
    public func value(_ column: Int, as type: FieldType) -> Value? { cell(column).value(as: type) }
}
