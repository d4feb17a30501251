import DataPortModel

/// Connectors kept open from one subject of a batch to the next: each store is opened and its
/// config validated once, and every subject still reads its own snapshot (`beginSnapshot` when a
/// gathering takes the connector, `endSnapshot` when it gives it back). A connector that failed is
/// closed and not kept: the next subject opens and validates that store again, as a subject of a
/// batch without a pool would.
///
/// Not shared between threads: a snapshot is a transaction of one connection, and the connectors
/// hold C handles used from one thread at a time. Each job of a parallel batch has its own pool.
public final class ConnectorPool {
    private let registry: StoreRegistry
    private var idle: [String: any StoreConnector] = [:]

    public init(registry: StoreRegistry = .standard) { self.registry = registry }

    deinit { closeAll() }

    /// The store's open connector, or a new one, validated.
    func take(_ store: StoreConfig) throws -> any StoreConnector {
        if let c = idle.removeValue(forKey: store.name) { return c }
        let c = try registry.connector(for: store)
        try c.validate()
        return c
    }

    /// Ends the connector's snapshot and keeps it for the next subject.
    func giveBack(_ store: String, _ connector: any StoreConnector) {
        connector.endSnapshot()
        if let old = idle.updateValue(connector, forKey: store) { old.close() }
    }

    /// Closes every kept connector (after a store failed, so that the next subject starts afresh).
    public func closeAll() {
        for c in idle.values { c.close() }
        idle.removeAll()
    }
}
