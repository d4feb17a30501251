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
