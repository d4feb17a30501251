import DataPortIO
import DataPortModel
import DataPortStores
import Foundation

/// One change a rectification asks for: a field of the subject's row with key `key` in `dataset`.
public struct FieldChange: Sendable, Hashable {
    public var dataset: String
    public var key: String
    public var field: String
    public var value: Value
    public init(dataset: String, key: String, field: String, value: Value) {
        self.dataset = dataset; self.key = key; self.field = field; self.value = value
    }
}

/// A change as made: the old and the new value (for the `--json` report on stdout only).
public struct AppliedChange: Sendable, Hashable {
    public var dataset: String
    public var key: String
    public var field: String
    public var old: Value
    public var new: Value
}

/// Rectification (Art. 16) and objection (Art. 21): rows of the subject updated through the
/// erasure's machinery (the same gather, one unit per store, SQL rows by key, files rewritten),
/// then proved by a second gather that finds the new values.
public enum Rectifier {
    /// Applies the config's objection for `purpose` (`objections.PURPOSE`).
    public static func object(config: StoresConfig, identities: [Identity], purpose: String, options: EraseOptions,
                              stores registry: StoreRegistry = .standard) throws -> ErasureResult {
        guard let rules = config.objections[purpose] else {
            let known = config.objections.keys.sorted()
            throw DataPortError(.usage, "the config declares no objection for purpose \(purpose)\(known.isEmpty ? "" : "; it declares: \(known.joined(separator: ", "))")")
        }
        if let missing = rules.first(where: { !$0.declared }) {
            throw DataPortError(.invalidConfig, "objections.\(purpose) names dataset \(missing.dataset), which the config does not declare", at: config.file)
        }
        let time = options.requestedAt ?? Timestamp.now()
        var options = options
        options.requestedAt = time
        let (result, _) = try update(config: config, identities: identities, options: options, registry: registry,
                                     datasets: rules.map(\.dataset), request: "objection", purpose: purpose) { d, _, _ in
            rules.filter { $0.dataset == d.name }.flatMap { $0.masks(at: time, fields: d.fields) }
        }
        return result
    }

    /// Applies `changes`: each to the subject's row whose key is `key`; a key that is not one of
    /// the subject's rows refuses the whole request (usage), before anything is written.
    public static func rectify(config: StoresConfig, identities: [Identity], changes: [FieldChange], options: EraseOptions,
                               stores registry: StoreRegistry = .standard) throws -> (ErasureResult, [AppliedChange]) {
        for (i, c) in changes.enumerated() {
            let at = "change number \(i + 1)"
            guard let d = config.dataset(named: c.dataset) else { throw DataPortError(.usage, "\(at): unknown dataset \(c.dataset)") }
            guard let key = d.key else { throw DataPortError(.usage, "\(at): dataset \(d.name) has no key, so no row can be named") }
            guard let f = d.field(named: c.field), !f.secret else { throw DataPortError(.usage, "\(at): dataset \(d.name) has no exported field \(c.field)") }
            let linked = d.matches.map(\.field) + d.yields.map { $0.field } + [key]
            guard !linked.contains(f.name) else {
                throw DataPortError(.usage, "\(at): \(d.name).\(f.name) is the key or links the row to the person; change it by hand")
            }
            guard c.value.isNull || c.value.type == f.type else { throw DataPortError(.usage, "\(at): the value is not a valid \(f.type.rawValue)") }
            if case .query = d.source { throw DataPortError(.usage, "\(at): dataset \(d.name) is read through a query and cannot be changed") }
        }
        var applied: [AppliedChange] = []
        let (result, _) = try update(config: config, identities: identities, options: options, registry: registry,
                                     datasets: changes.map(\.dataset), request: "rectification", purpose: nil, check: { seen in
            for (i, c) in changes.enumerated() where !seen.contains("\(c.dataset)\u{1F}\(c.key)") {
                throw DataPortError(.usage, "change number \(i + 1): dataset \(c.dataset) holds no row of the subject with that key; nothing was changed")
            }
        }) { d, _, record in
            let keyIndex = d.exportedFields.firstIndex { $0.name == d.key }!
            let key = record.values[keyIndex].canonicalText ?? ""
            var masks: [ErasurePolicy.Mask] = []
            for c in changes where c.dataset == d.name && c.key == key {
                masks.removeAll { $0.field == c.field }
                masks.append(ErasurePolicy.Mask(field: c.field, value: c.value))
                let old = d.exportedFields.firstIndex { $0.name == c.field }.map { record.values[$0] } ?? .null
                applied.removeAll { $0.dataset == c.dataset && $0.key == key && $0.field == c.field }
                applied.append(AppliedChange(dataset: c.dataset, key: key, field: c.field, old: old, new: c.value))
            }
            return masks
        }
        return (result, applied)
    }

    /// The shared path: gather; `masks` says what each of the subject's rows of `datasets` gets
    /// (nothing: left alone); apply per store; gather again and check the values are there.
    /// `check` gets `dataset<US>key` of every row seen, before anything is applied.
    static func update(config: StoresConfig, identities: [Identity], options: EraseOptions, registry: StoreRegistry,
                       datasets names: [String], request: String, purpose: String?,
                       check: (Set<String>) throws -> Void = { _ in },
                       masks: (DatasetConfig, Int, Record) throws -> [ErasurePolicy.Mask]) throws -> (ErasureResult, Set<String>) {
        try Exporter.checkIdentities(identities)
        if let r = options.receipt { try OutputPath.check(r, protected: config.ownFiles) }
        let requestedAt = options.requestedAt ?? Timestamp.now()
        let involved = config.datasets.filter { Set(names).contains($0.name) }
        let gathering = try Gathering(config: config, registry: registry, request: identities)
        var results: [DatasetErasure] = []
        var changes: [String: DatasetChanges] = [:]
        var seen = Set<String>()
        var found = 0
        for d in involved {
            var rows: [PlannedRow] = []
            let keyIndex = d.key.flatMap { k in d.exportedFields.firstIndex { $0.name == k } }
            var ordinal = 0
            try gathering.read(d) { r in
                defer { ordinal += 1 }
                if let keyIndex { seen.insert("\(d.name)\u{1F}\(r.values[keyIndex].canonicalText ?? "")") }
                let m = try masks(d, ordinal, r)
                // A row that holds every value already is left alone.
                let differs = m.contains { mask in
                    guard let i = d.exportedFields.firstIndex(where: { $0.name == mask.field }) else { return true }
                    return r.values[i] != mask.value
                }
                if !m.isEmpty && differs { rows.append(PlannedRow(ordinal: ordinal, record: r, change: .anonymize, masks: m)) }
            }
            found += ordinal
            var result = DatasetErasure(name: d.name, title: d.metadata(language: Eraser.presentation(config, options).language).title, category: d.metadata.category, store: d.store,
                                        action: .update, before: ordinal, erased: 0, anonymized: rows.count, retained: 0,
                                        sharedLeft: try gathering.sharedOnlyCount(d))
            result.fields = Array(Set(rows.flatMap { $0.masks.map(\.field) })).sorted()
            results.append(result)
            if !rows.isEmpty { changes[d.name] = DatasetChanges(dataset: d, rows: rows) }
        }
        var held = found > 0
        for d in config.datasets where !held && !involved.contains(where: { $0.name == d.name }) { held = try gathering.read(d) { _ in } > 0 }
        guard held else { throw DataPortError(.subjectNotFound, "no store holds any record about the given identities", code: .subjectNotFound) }
        let resolved = gathering.identities.filter { !$0.shared }
        let subject = gathering.readSubjectQuery
        gathering.close()
        // Before anything is written (a rectification's rows must all be the subject's).
        try check(seen)

        let stores = Eraser.apply(changes, config: config, registry: registry, subject: subject, dryRun: options.dryRun, done: .changed)

        let proofFailures = options.dryRun ? [] : try Eraser.prove(&results, stores: stores, config: config, registry: registry, identities: resolved) { d, _, again in
            let wanted = changes[d.name]?.rows ?? []
            let keyIndex = d.key.flatMap { k in d.exportedFields.firstIndex { $0.name == k } }
            var after: [Int: Record] = [:], byKey: [Value: Record] = [:]
            var ordinal = 0
            try again.read(d) { r in
                after[ordinal] = r
                if let keyIndex { byKey[r.values[keyIndex]] = r }
                ordinal += 1
            }
            let holds = wanted.allSatisfy { p in
                guard let now = keyIndex.map({ byKey[p.record.values[$0]] }) ?? after[p.ordinal] else { return false }
                return p.masks.allSatisfy { m in
                    d.exportedFields.firstIndex { $0.name == m.field }.map { now.values[$0] == m.value } ?? true
                }
            }
            return (ordinal, holds)
        }
        var result = ErasureResult(controller: config.controller, requestedAt: requestedAt, dryRun: options.dryRun,
                                   identities: resolved.map { ($0.kind, SHA256.hex(of: Array($0.value.utf8))) },
                                   datasets: results, stores: stores, proofFailures: proofFailures, receipt: nil)
        result.request = request
        result.purpose = purpose
        Eraser.present(&result, config, options)
        if let path = options.receipt {
            try ErasureReceipt.write(result, to: path, archive: options.archive)
            result.receipt = path
        }
        return (result, seen)
    }
}
