import Foundation

/// A store that can receive records (the reverse path): imports, and the erasure every SQL store
/// shares (`Erase/StoreErasure.swift`). Its session speaks the store's SQL dialect, so the importer
/// writes none (`SQL/SQLSession.swift`, `SQL/ImportSQL.swift`).
public protocol WritableStoreConnector: StoreConnector {
    /// Opens a read-write session on the store.
    func openSession() throws -> any SQLSession
}
