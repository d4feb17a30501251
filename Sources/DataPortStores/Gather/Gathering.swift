import DataPortModel

/// The outcome of reading one store.
public struct StoreStatus: Sendable, Hashable {
    public enum State: String, Sendable { case complete, failed }
    public var name: String
    public var type: String
    public var state: State
    /// Why it failed (no personal data).
    public var reason: String?
}

/// One subject's gather across all stores: opens the connectors, resolves the subject's identities
/// across stores, then reads each dataset on demand.
///
/// Identity resolution is a fixpoint: the identities given in the request find rows; the `yields`
/// of those rows (a user id, the IPs of visits, cookie ids) become identities for every store, until
/// nothing new is found. Values match exactly on their normal form (e-mail trimmed and lower-cased),
/// never by substring or prefix.
public final class Gathering {
    public let config: StoresConfig
    public private(set) var identities: [Identity] = []
    public private(set) var statuses: [StoreStatus] = []
    public private(set) var displayName: String?
    private var connectors: [String: any StoreConnector] = [:]
    private let request: [Identity]
    /// The store whose connector raised the last store error seen (while resolving or reading), so a
    /// partial export can record that store as failed.
    public private(set) var failedStore: String?

    /// The most identity values one subject may resolve to; beyond that, matching is too broad to be right.
    public static let maxIdentities = 10_000
    private static let maxRounds = 16

    /// Opens every store, validates the config against it, and resolves identities.
    /// - Parameter allowPartial: record a store that cannot be reached, or fails while its
    ///   identities are resolved, as failed instead of throwing.
    public init(config: StoresConfig, registry: StoreRegistry = .standard, request: [Identity], allowPartial: Bool = false) throws {
        self.config = config
        self.request = request
        identities = []
        for store in config.stores {
            do {
                let c = try registry.connector(for: store)
                try c.validate()
                try c.beginSnapshot()
                connectors[store.name] = c
                statuses.append(StoreStatus(name: store.name, type: store.type, state: .complete))
            } catch let e as DataPortError where e.kind == .store && allowPartial {
                statuses.append(StoreStatus(name: store.name, type: store.type, state: .failed, reason: e.description))
            }
        }
        try resolve(allowPartial: allowPartial)
    }

    /// Records `store` as failed (a store error while reading it, `reason` naming no value), closes
    /// it, and resolves the subject's identities again without it, so nothing it yielded is used
    /// or reported. A store that fails during that resolution is recorded as failed too.
    public func fail(_ store: String, reason: String) throws {
        markFailed(store, reason: reason)
        try resolve(allowPartial: true)
    }

    private func markFailed(_ store: String, reason: String) {
        failedStore = nil
        connectors.removeValue(forKey: store)?.close()
        if let i = statuses.firstIndex(where: { $0.name == store }) {
            statuses[i].state = .failed
            statuses[i].reason = reason
        }
    }

    /// Resolves identities; with `allowPartial` a store that fails meanwhile is marked failed and
    /// the resolution starts again without it (at most once per store).
    private func resolve(allowPartial: Bool) throws {
        while true {
            do {
                return try resolve()
            } catch let e as DataPortError where allowPartial && e.kind == .store {
                guard let store = failedStore else { throw e }
                markFailed(store, reason: e.description)
            }
        }
    }

    deinit { close() }

    /// The identity values known so far, by kind, for connectors.
    public var subjectQuery: SubjectQuery {
        var map: [IdentityKind: [String]] = [:]
        for id in identities { map[id.kind, default: []].append(id.value) }
        return SubjectQuery(identities: map)
    }

    private func add(_ kind: IdentityKind, _ raw: String, foundIn: String) {
        let value = kind.normalize(raw)
        guard !value.isEmpty else { return }
        if let i = identities.firstIndex(where: { $0.kind == kind && $0.value == value }) {
            if !identities[i].foundIn.contains(foundIn) { identities[i].foundIn.append(foundIn) }
        } else {
            identities.append(Identity(kind: kind, value: value, foundIn: [foundIn]))
        }
    }

    private func resolve() throws {
        identities = []
        displayName = nil
        for id in request { add(id.kind, id.value, foundIn: "request") }
        for _ in 0..<Self.maxRounds {
            let before = identities.count
            let query = subjectQuery
            for d in config.datasets where !d.yields.isEmpty {
                guard let c = connectors[d.store] else { continue }
                for y in d.yields {
                    let values = try guarded(d.store) { try c.distinctValues(of: y.field, in: d, for: query, limit: Self.maxIdentities + 1) }
                    for v in values { add(y.kind, v, foundIn: "\(d.store).\(d.name)") }
                }
            }
            guard identities.count <= Self.maxIdentities else {
                throw DataPortError(.limitExceeded, "the subject resolves to more than \(Self.maxIdentities) identities; the matching is too broad")
            }
            if identities.count == before { break }
        }
        identities.sort { ($0.kind, $0.value) < ($1.kind, $1.value) }
        if let (ds, field) = config.subjectName, let d = config.dataset(named: ds), let c = connectors[d.store] {
            displayName = try guarded(d.store) { try c.distinctValues(of: field, in: d, for: subjectQuery, limit: 1).first }
        }
    }

    /// Whether the store holding `dataset` is available.
    public func isAvailable(_ dataset: DatasetConfig) -> Bool { connectors[dataset.store] != nil }

    /// Streams the subject's records of `dataset`.
    @discardableResult
    public func read(_ dataset: DatasetConfig, into body: (Record) throws -> Void) throws -> Int {
        guard let c = connectors[dataset.store] else {
            throw DataPortError(.store, "store is not available", at: "store \(dataset.store)")
        }
        let query = subjectQuery
        failedStore = nil
        // An error `body` throws (the bundle's side) is not the store's failure.
        var fromBody = false
        return try guarded(dataset.store, blame: { !fromBody }) {
            try c.read(dataset, for: query) { r in
                do { try body(r) } catch { fromBody = true; throw error }
            }
        }
    }

    /// Lines of `dataset` its connector skipped as malformed in the last read, if any.
    public func skippedLines(_ dataset: DatasetConfig) -> Int? {
        connectors[dataset.store]?.skippedLines(in: dataset)
    }

    /// Adds the store's name to store errors that lack a location, and remembers which store failed.
    private func guarded<T>(_ store: String, blame: () -> Bool = { true }, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var e as DataPortError where e.kind == .store {
            if e.location == nil { e.location = "store \(store)" }
            if blame() { failedStore = store }
            throw e
        }
    }

    /// Closes every connector.
    public func close() {
        for c in connectors.values { c.close() }
        connectors.removeAll()
    }
}
