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
/// nothing new is found. Values match exactly on their normal form (`IdentityForm`), never by
/// substring or prefix. Reaching a limit of the config's `resolution` before the fixed point is an
/// error (`limitExceeded`, exit 9) naming the limit: a cut-off answer would look complete.
///
/// Weak identities (`IdentityStrength`: `ip`, `cookie_id` by default) find rows but never yield:
/// only rows matched through a strong identity do. After the fixed point, a weak value is *shared*
/// when a dataset that matches or yields its kind holds a row with that value whose strong
/// identity (an identity match or yield of a strong kind) is not the subject's. Rows matched only
/// through shared values are withheld (`read` leaves them out and `sharedOnlyCount` counts them)
/// unless `includeShared`.
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

    /// The rounds of expansion the last resolution took (the last one found nothing new).
    public private(set) var rounds = 0
    /// Read rows matched only through shared weak values too.
    public let includeShared: Bool
    /// Where the connectors come from and go back to (a batch), if not opened for this gathering alone.
    private let pool: ConnectorPool?

    /// Opens every store, validates the config against it, and resolves identities.
    /// - Parameter allowPartial: record a store that cannot be reached, or fails while its
    ///   identities are resolved, as failed instead of throwing.
    /// - Parameter includeShared: read rows matched only through shared weak identities too.
    /// - Parameter pool: takes the connectors from it (open and validated already when an earlier
    ///   subject used them) and gives them back on `close`; connectors of `registry` otherwise.
    public init(config: StoresConfig, registry: StoreRegistry = .standard, request: [Identity], allowPartial: Bool = false,
                includeShared: Bool = false, pool: ConnectorPool? = nil) throws {
        self.config = config
        self.includeShared = includeShared
        self.request = request
        self.pool = pool
        for store in config.stores {
            do {
                let c: any StoreConnector
                if let pool {
                    c = try pool.take(store)
                } else {
                    c = try registry.connector(for: store)
                    try c.validate()
                }
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

    /// Resolves identities and marks the shared ones; with `allowPartial` a store that fails
    /// meanwhile is marked failed and the resolution starts again without it (once per store).
    private func resolve(allowPartial: Bool) throws {
        while true {
            do {
                try resolve()
                try markShared()
                return
            } catch let e as DataPortError where allowPartial && e.kind == .store {
                guard let store = failedStore else { throw e }
                markFailed(store, reason: e.description)
            }
        }
    }

    deinit { close() }

    /// The identity values known so far, by kind, for connectors.
    public var subjectQuery: SubjectQuery { query { _ in true } }

    /// The identities that `include` keeps, by kind, for connectors.
    private func query(_ include: (Identity) -> Bool) -> SubjectQuery {
        var map: [IdentityKind: [String]] = [:]
        for id in identities where include(id) { map[id.kind, default: []].append(id.value) }
        return SubjectQuery(identities: map, forms: config.identityForms)
    }

    /// The shared weak identities.
    public var sharedIdentities: [Identity] { identities.filter(\.shared) }

    private func add(_ kind: IdentityKind, _ raw: String, foundIn: String) {
        let value = (config.identityForms[kind] ?? kind.defaultForm).normalize(raw)
        guard !value.isEmpty else { return }
        if let i = identities.firstIndex(where: { $0.kind == kind && $0.value == value }) {
            if !identities[i].foundIn.contains(foundIn) { identities[i].foundIn.append(foundIn) }
        } else {
            var id = Identity(kind: kind, value: value, foundIn: [foundIn])
            id.value = value
            identities.append(id)
        }
    }

    private static func tooMany(_ limits: ResolutionLimits) -> DataPortError {
        DataPortError(.limitExceeded, "the subject resolves to more than resolution.maxIdentities (\(limits.maxIdentities)) identities; the matching is too broad, or raise the limit in the config", code: .tooManyIdentities)
    }

    private func resolve() throws {
        let limits = config.resolution
        identities = []
        displayName = nil
        for id in request { add(id.kind, id.value, foundIn: "request") }
        guard identities.count <= limits.maxIdentities else { throw Self.tooMany(limits) }
        rounds = 0
        while true {
            guard rounds < limits.maxRounds else {
                throw DataPortError(.limitExceeded, "identity resolution reached resolution.maxRounds (\(limits.maxRounds)) and was still finding identities; raise the limit in the config", code: .tooManyIdentities)
            }
            rounds += 1
            let before = identities.count
            // Only rows matched through a strong identity yield.
            let query = self.query { config.strength($0.kind) == .strong }
            guard !query.identities.isEmpty else { break }
            for d in config.datasets where !d.yields.isEmpty {
                guard let c = connectors[d.store] else { continue }
                for y in d.yields {
                    let values = try guarded(d.store) { try c.distinctValues(of: y.field, in: d, for: query, limit: limits.maxIdentities + 1) }
                    for v in values { add(y.kind, v, foundIn: "\(d.store).\(d.name)") }
                    guard identities.count <= limits.maxIdentities else { throw Self.tooMany(limits) }
                }
            }
            if identities.count == before { break }
        }
        identities.sort { ($0.kind, $0.value) < ($1.kind, $1.value) }
        if let (ds, field) = config.subjectName, let d = config.dataset(named: ds), let c = connectors[d.store] {
            displayName = try guarded(d.store) { try c.distinctValues(of: field, in: d, for: subjectQuery, limit: 1).first }
        }
    }

    /// Marks the weak identities that also belong to another person (see the type's documentation).
    private func markShared() throws {
        let subject = subjectQuery
        for i in identities.indices where config.strength(identities[i].kind) == .weak {
            let id = identities[i]
            search: for d in config.datasets {
                guard let c = connectors[d.store] else { continue }
                let fields = Set(d.matches.compactMap { m -> String? in
                    if case .identity(let k, let f) = m, k == id.kind { f } else { nil }
                } + d.yields.filter { $0.kind == id.kind }.map(\.field))
                // Who a row of d belongs to: its strong identity matches and yields.
                let owners = Set(d.matches.compactMap { m -> [String]? in
                    if case .identity(let k, let f) = m, config.strength(k) == .strong { [k.rawValue, f] } else { nil }
                } + d.yields.filter { config.strength($0.kind) == .strong }.map { [$0.kind.rawValue, $0.field] })
                guard !fields.isEmpty, !owners.isEmpty else { continue }
                for field in fields.sorted() {
                    // The rows of d whose field holds the value, whoever they belong to.
                    var probe = d
                    probe.matches = [.identity(kind: id.kind, field: field)]
                    let only = SubjectQuery(identities: [id.kind: [id.value]], forms: config.identityForms)
                    for owner in owners.sorted(by: { $0.joined() < $1.joined() }) where owner[1] != field {
                        let kind = IdentityKind(owner[0])
                        let mine = Set(subject.values(kind))
                        let values = try guarded(d.store) { try c.distinctValues(of: owner[1], in: probe, for: only, limit: 1_000) }
                        if values.contains(where: { !mine.contains(config.form(kind).normalize($0)) }) {
                            identities[i].shared = true
                            break search
                        }
                    }
                }
            }
        }
    }

    /// The identities `read` selects rows with (all but the shared ones, unless `includeShared`):
    /// what an erasure changes rows by.
    public var readSubjectQuery: SubjectQuery { readQuery() }

    /// The query that reads `dataset`: every identity, or, unless `includeShared`, all but the shared ones.
    private func readQuery() -> SubjectQuery {
        includeShared ? subjectQuery : query { !$0.shared }
    }

    /// How many of the subject's rows of `dataset` match only through shared identities: withheld
    /// from `read`, or (with `includeShared`) included in it.
    public func sharedOnlyCount(_ dataset: DatasetConfig) throws -> Int {
        let shared = Set(sharedIdentities.map(\.kind))
        guard let c = connectors[dataset.store], !shared.isEmpty, usesKinds(dataset, shared, depth: 0) else { return 0 }
        let all = try guarded(dataset.store) { try c.read(dataset, for: subjectQuery) { _ in } }
        let unshared = try guarded(dataset.store) { try c.read(dataset, for: query { !$0.shared }) { _ in } }
        return all - unshared
    }

    /// Whether rows of `d` (or of the datasets it references) are matched on one of `kinds`.
    private func usesKinds(_ d: DatasetConfig, _ kinds: Set<IdentityKind>, depth: Int) -> Bool {
        d.matches.contains { m in
            switch m {
            case .identity(let k, _): return kinds.contains(k)
            case .reference(_, let target, _):
                guard depth < 16, let t = config.dataset(named: target), t.store == d.store else { return false }
                return usesKinds(t, kinds, depth: depth + 1)
            }
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
        let query = readQuery()
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

    /// Closes every connector (or, with a pool, ends its snapshot and gives it back).
    public func close() {
        for (store, c) in connectors {
            if let pool { pool.giveBack(store, c) } else { c.close() }
        }
        connectors.removeAll()
    }
}
