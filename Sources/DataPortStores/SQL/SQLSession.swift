import DataPortModel

/// A read-write session on a SQL store, for imports: statements with bound values, one transaction.
public protocol SQLSession: AnyObject {
    /// The placeholder for the n-th parameter (1-based).
    var placeholder: @Sendable (Int) -> String { get }
    /// Runs a statement; returns the rows it changed.
    @discardableResult
    func execute(_ sql: String, _ parameters: [Value]) throws -> Int
    /// Runs a query, handing each row's cells to `row`.
    func query(_ sql: String, _ parameters: [Value], _ row: ([StoreCell]) throws -> Void) throws
    func begin() throws
    func commit() throws
    func rollback()
    /// The null-safe equality operator (`IS` in SQLite, `IS NOT DISTINCT FROM` in PostgreSQL).
    var nullSafeEquals: String { get }
}

/// A store that can receive records (the reverse path).
public protocol WritableStoreConnector: StoreConnector {
    /// Opens a read-write session on the store.
    func openSession() throws -> any SQLSession
}
