import DataPortBundle
import DataPortIO
import DataPortModel
import DataPortStores
import Foundation

/// How an erasure is made.
public struct EraseOptions: Sendable {
    /// Compute the plan and change nothing.
    public var dryRun = false
    /// The time of the request: the receipt's time, and the instant retention holds are measured
    /// against (a hold whose end is at or before it has ended). `nil` means now.
    public var requestedAt: Timestamp?
    /// Write the receipt bundle here.
    public var receipt: String?
    public var archive: ArchiveKind = .zip
    /// The receipt page's language and time zone instead of the config's (`--language`, `--time-zone`;
    /// checked by the caller, `StoresConfig.parsePresentation`).
    public var language: String?
    public var timeZone: String?
    public init(dryRun: Bool = false, requestedAt: Timestamp? = nil, receipt: String? = nil) {
        self.dryRun = dryRun; self.requestedAt = requestedAt; self.receipt = receipt
    }
}

/// What a request did to a dataset's rows: an erasure's policy, or `update` (an objection, a rectification).
public enum ReceiptAction: String, Sendable, Hashable { case delete, anonymize, retain, update }

/// What an erasure did to one dataset. Counts only: never a value.
public struct DatasetErasure: Sendable, Hashable {
    public var name: String
    public var title: String
    public var category: Category
    public var store: String
    public var action: ReceiptAction
    /// The fields an `update` wrote (names only).
    public var fields: [String] = []
    /// The subject's rows before (rows matched only through shared identifiers not included).
    public var before: Int
    public var erased: Int
    public var anonymized: Int
    public var retained: Int
    /// The subject's rows the gather finds afterwards (`nil`: not checked: a dry run, or its store failed).
    public var remaining: Int?
    /// Rows matched only through an identifier another person shares: never changed.
    public var sharedLeft: Int
    public var ground: ErasureGround?
    public var reason: String?
    /// The first and last day a retained row's hold ends (`until`), if it has one.
    public var retainedUntil: (first: CalendarDate, last: CalendarDate)?

    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.before == b.before && a.erased == b.erased && a.anonymized == b.anonymized && a.retained == b.retained
            && a.remaining == b.remaining && a.retainedUntil?.first == b.retainedUntil?.first && a.retainedUntil?.last == b.retainedUntil?.last
    }
    public func hash(into h: inout Hasher) { h.combine(name); h.combine(before); h.combine(erased) }
}

/// One store's outcome: each store is its own unit.
public struct StoreErasure: Sendable, Hashable {
    public enum Status: String, Sendable { case erased, changed, unchanged, failed, planned }
    public var name: String
    public var type: String
    public var status: Status
    /// Why it failed (no value).
    public var reason: String?
}

/// What `erase` did.
public struct ErasureResult: Sendable {
    /// Which right the request exercised: `erasure`, `objection` or `rectification`.
    public var request = "erasure"
    /// An objection's purpose.
    public var purpose: String?
    public var controller: Controller
    public var requestedAt: Timestamp
    public var dryRun: Bool
    /// Each identity the request resolved to, as its kind and the SHA-256 of its normal form.
    public var identities: [(kind: IdentityKind, sha256: String)]
    public var datasets: [DatasetErasure]
    public var stores: [StoreErasure]
    /// Datasets the proof found rows of the subject in after the erasure.
    public var proofFailures: [String]
    public var receipt: String?
    /// The language and time zone the receipt's page speaks in (recorded in its manifest).
    public var presentation: Presentation = .default
    /// The categories the config defined that the datasets use, in that language.
    public var categories: [CategoryDefinition] = []

    /// The error the command ends with, if any: a proof that failed (the data is not gone), else a
    /// store that failed (rolled back; the other stores' erasures stand).
    public var failure: DataPortError? {
        if !proofFailures.isEmpty {
            let names = proofFailures.joined(separator: ", ")
            return request == "erasure" ? DataPortError(.reconciliation, "the erasure proof found rows of the subject left in: \(names)")
                : DataPortError(.reconciliation, "the \(request) proof found rows of the subject without the new values in: \(names)")
        }
        let failed = stores.filter { $0.status == .failed }
        if !failed.isEmpty {
            return DataPortError(.store, "store \(failed.map(\.name).joined(separator: ", ")) failed and was rolled back; the other stores' \(request == "erasure" ? "erasures" : "changes") stand")
        }
        return nil
    }
}

/// Erases one subject from the stores, as the config's `erasure` policies say.
///
/// The subject is resolved by the same gather an export uses, so rows matched only through a shared
/// weak identifier are never touched. Each dataset's rows are read, each is given its fate
/// (delete, anonymize, retain, or delete when its retention hold has ended), and then each store
/// applies its changes as one unit, children before parents (the reverse of `references`). A store
/// that fails is rolled back and reported; the stores done before it stay done. Afterwards the
/// gather runs again for every identity the subject resolved to: a `delete` or `anonymize` dataset
/// that still holds a row of theirs is a failed proof.
public enum Eraser {
    /// The receipt's language and time zone: the options', else the config's.
    static func presentation(_ config: StoresConfig, _ options: EraseOptions) -> Presentation {
        var p = config.presentation
        if let l = options.language { p.language = l }
        if let z = options.timeZone { p.timeZone = z }
        return p
    }

    /// Adds the receipt's language and the config's category titles in it to `result`.
    static func present(_ result: inout ErasureResult, _ config: StoresConfig, _ options: EraseOptions) {
        result.presentation = presentation(config, options)
        result.categories = config.categoryDefinitions(used: result.datasets.map(\.category), language: result.presentation.language)
    }

    public static func erase(config: StoresConfig, identities: [Identity], options: EraseOptions,
                             stores registry: StoreRegistry = .standard) throws -> ErasureResult {
        let undecided = config.datasets.filter { $0.erasure == nil }.map(\.name)
        guard undecided.isEmpty else {
            throw DataPortError(.invalidConfig, "erase needs an erasure policy for every dataset; none is given for: \(undecided.joined(separator: ", "))", at: config.file)
        }
        try Exporter.checkIdentities(identities)
        if let r = options.receipt { try OutputPath.check(r, protected: config.ownFiles) }
        let requestedAt = options.requestedAt ?? Timestamp.now()

        let language = presentation(config, options).language

        // 1. The plan, from one gather.
        let gathering = try Gathering(config: config, registry: registry, request: identities)
        var results: [DatasetErasure] = []
        var changes: [String: DatasetChanges] = [:]
        for d in config.datasets {
            let policy = d.erasure!
            var result = DatasetErasure(name: d.name, title: d.metadata(language: language).title, category: d.metadata.category, store: d.store,
                                        action: ReceiptAction(rawValue: policy.action.rawValue)!, before: 0, erased: 0, anonymized: 0, retained: 0,
                                        sharedLeft: try gathering.sharedOnlyCount(d), ground: policy.ground, reason: policy.reason?.text(language))
            let untilIndex = policy.until.flatMap { u in d.exportedFields.firstIndex { $0.name == u.field } }
            var rows: [PlannedRow] = []
            var ends: [Int64] = []
            var ordinal = 0
            try gathering.read(d) { r in
                defer { ordinal += 1 }
                switch policy.action {
                case .delete: rows.append(PlannedRow(ordinal: ordinal, record: r, change: .delete))
                case .anonymize: rows.append(PlannedRow(ordinal: ordinal, record: r, change: .anonymize, masks: policy.masks))
                case .retain:
                    if let end = policy.retainedUntil(untilIndex.map { r.values[$0] }) {
                        if end <= requestedAt.seconds { rows.append(PlannedRow(ordinal: ordinal, record: r, change: .delete)); return }
                        ends.append(end)
                    }
                    result.retained += 1
                }
            }
            result.before = ordinal
            result.erased = rows.filter { $0.change == .delete }.count
            result.anonymized = rows.count - result.erased
            if let first = ends.min(), let last = ends.max(), let a = day(first), let b = day(last) { result.retainedUntil = (a, b) }
            results.append(result)
            if !rows.isEmpty { changes[d.name] = DatasetChanges(dataset: d, rows: rows) }
        }
        let found = results.reduce(0) { $0 + $1.before + $1.sharedLeft }
        guard found > 0 else { throw DataPortError(.subjectNotFound, "no store holds any record about the given identities", code: .subjectNotFound) }
        let resolved = gathering.identities.filter { !$0.shared }
        let subject = gathering.readSubjectQuery
        gathering.close()

        // 2. Each store as one unit, children first.
        let stores = apply(changes, config: config, registry: registry, subject: subject, dryRun: options.dryRun)

        // 3. The proof: gather again for every identity the subject resolved to.
        let proofFailures = options.dryRun ? [] : try prove(&results, stores: stores, config: config, registry: registry, identities: resolved) { d, result, again in
            let n = try again.read(d) { _ in }
            return (n, result.action == .retain || n == 0)
        }

        var result = ErasureResult(controller: config.controller, requestedAt: requestedAt, dryRun: options.dryRun,
                                   identities: resolved.map { ($0.kind, SHA256.hex(of: Array($0.value.utf8))) },
                                   datasets: results, stores: stores, proofFailures: proofFailures, receipt: nil)
        present(&result, config, options)
        if let path = options.receipt {
            try ErasureReceipt.write(result, to: path, archive: options.archive)
            result.receipt = path
        }
        return result
    }

    /// The proof after the changes: gathers again for every identity the subject resolved to and
    /// reads each dataset of a store that did not fail, `check` saying how many rows remain and
    /// whether they are what the request asked for. Returns the datasets whose proof failed; a
    /// dataset whose store cannot be read now is left as it was reported.
    static func prove(_ results: inout [DatasetErasure], stores: [StoreErasure], config: StoresConfig, registry: StoreRegistry,
                      identities resolved: [Identity],
                      check: (DatasetConfig, DatasetErasure, Gathering) throws -> (remaining: Int, holds: Bool)) throws -> [String] {
        let again = try Gathering(config: config, registry: registry, request: resolved, allowPartial: true)
        defer { again.close() }
        let failed = Set(stores.filter { $0.status == .failed }.map(\.name))
        var proofFailures: [String] = []
        for i in results.indices where !failed.contains(results[i].store) {
            guard let d = config.dataset(named: results[i].name), again.isAvailable(d) else { continue }
            let outcome: (remaining: Int, holds: Bool)
            do { outcome = try check(d, results[i], again) } catch let e as DataPortError where e.kind == .store { continue }
            results[i].remaining = outcome.remaining
            if !outcome.holds { proofFailures.append(d.name) }
        }
        return proofFailures
    }

    /// Applies each store's changes as one unit, children first; a store that fails is recorded
    /// (rolled back by its connector) and the others go on.
    static func apply(_ changes: [String: DatasetChanges], config: StoresConfig, registry: StoreRegistry,
                      subject: SubjectQuery, dryRun: Bool, done: StoreErasure.Status = .erased) -> [StoreErasure] {
        var stores: [StoreErasure] = []
        for store in config.stores {
            let planned = childrenFirst(store.datasets, in: config).compactMap { changes[$0.name] }
            var status = StoreErasure(name: store.name, type: store.type, status: planned.isEmpty ? .unchanged : dryRun ? .planned : done)
            if !planned.isEmpty && !dryRun {
                do {
                    let connector = try registry.connector(for: store)
                    defer { connector.close() }
                    guard let writable = connector as? any ErasableConnector else {
                        throw DataPortError(.store, "a \(store.type) store cannot be erased", at: "store \(store.name)")
                    }
                    try writable.erase(planned, subject: subject, store: store.name)
                } catch let e as DataPortError {
                    status.status = .failed
                    status.reason = e.description
                } catch {
                    status.status = .failed
                    status.reason = "unexpected error"
                }
            }
            stores.append(status)
        }

        return stores
    }

    /// The datasets of a store, each after every dataset that references it.
    static func childrenFirst(_ datasets: [DatasetConfig], in config: StoresConfig) -> [DatasetConfig] {
        var left = datasets, out: [DatasetConfig] = []
        func parents(_ d: DatasetConfig) -> Set<String> {
            Set(d.matches.compactMap { if case .reference(_, let t, _) = $0 { t } else { nil } })
        }
        while !left.isEmpty {
            // A dataset no remaining dataset references (a cycle is broken in config order).
            let i = left.firstIndex { d in !left.contains { $0.name != d.name && parents($0).contains(d.name) } } ?? 0
            out.append(left.remove(at: i))
        }
        return out
    }

    /// The calendar day (UTC) of seconds since 1970.
    static func day(_ seconds: Int64) -> CalendarDate? {
        Timestamp(seconds: seconds).flatMap { CalendarDate(String($0.text.prefix(10))) }
    }
}
