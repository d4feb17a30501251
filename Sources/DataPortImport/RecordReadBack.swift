import DataPortIO
import DataPortModel
import DataPortStores

/// Foreign keys of one chunk into datasets whose keys the target generates: bundle key -> target
/// key per parent dataset (from the id map), and back.
struct ParentKeys {
    let toTarget: [String: [String: String]]
    let toBundle: [String: [String: String]]

    init(of records: [Record], _ mapping: DatasetMapping, _ session: any SQLSession) throws {
        var toTarget: [String: [String: String]] = [:]
        for column in mapping.columns {
            guard let parent = column.mapsThrough, toTarget[parent] == nil else { continue }
            let keys = Set(mapping.columns.filter { $0.mapsThrough == parent }.flatMap { c in records.compactMap { $0.values[c.bundleIndex].canonicalText } })
            toTarget[parent] = try session.idMapEntries(of: parent, keys: Array(keys), reverse: false)
        }
        self.toTarget = toTarget
        toBundle = toTarget.mapValues { Dictionary($0.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a }) }
    }
}

/// Values on their way in and back out: bundle records as target rows, stored rows typed,
/// compared with what was written and turned back into bundle values for the checksum.
extension RecordUpsert {
    /// A record's values as the target's columns hold them, foreign keys into generated-key datasets mapped.
    func targetValues(of record: Record, _ parentKeys: ParentKeys) throws -> [Value] {
        if columnsAreBundleFields { return record.values }
        return try mapping.columns.map { c in
            let value = record.values[c.bundleIndex]
            guard let parent = c.mapsThrough, let text = value.canonicalText else { return value }
            guard let targetKey = parentKeys.toTarget[parent]?[text] else {
                throw DataPortError(.invalidBundle, "dataset \(mapping.name), field \(c.field.name) refers to a \(parent) record that is not in the bundle")
            }
            return try typed(targetKey, c.field.type, "a mapped key")
        }
    }

    /// Target values turned back into bundle values (generated and mapped keys replaced) for the checksum.
    func bundleView(_ values: [Value], bundleKey: Value?, _ parentKeys: ParentKeys) throws -> [Value] {
        var out = values
        for (i, c) in mapping.columns.enumerated() {
            if mapping.keyGenerated, i == mapping.keyPosition, let bundleKey { out[i] = bundleKey; continue }
            guard let parent = c.mapsThrough, let text = values[i].canonicalText else { continue }
            var key = parentKeys.toBundle[parent]?[text]
            if key == nil { key = try session.idMapEntries(of: parent, keys: [text], reverse: true)[text] }
            if let key { out[i] = try typed(key, c.field.type, "a mapped key") }
        }
        return out
    }

    func typed(_ text: String, _ type: FieldType, _ what: String) throws -> Value {
        guard let value = StoreCell.text(text).value(as: type) else {
            throw DataPortError(.store, "dataset \(mapping.name): \(what) is not a valid \(type.rawValue)")
        }
        return value
    }

    /// Reads the chunk back as stored, for the reconciliation checksum. A row holding exactly what
    /// was written counts with the bundle record's digest; any other is typed and hashed as stored.
    func readBack(_ rows: KeyedRows, _ chunk: RecordChunk, after before: Int64, _ parentKeys: ParentKeys,
                  _ reconciliation: inout DatasetReconciliation) throws {
        let k = rows.key
        var found = [Bool](repeating: false, count: rows.values.count)
        var retyped: [(Int, [Value])] = []
        try readRows(withKeys: rows.values.map { $0[k] }, rows.position) { stored, i in
            guard !found[i] else { return }
            found[i] = true
            if storesBundleValues && rows.values[i].indices.allSatisfy({ stored.holds(rows.values[i][$0], at: $0) }) {
                reconciliation.importedChecksum.add(digest: chunk.digests[i])
            } else {
                retyped.append((i, try self.values(of: stored)))
            }
        }
        // Mapped back after the query: mapping may query the id map, and a connection runs one query at a time.
        for (i, row) in retyped {
            let view = try bundleView(row, bundleKey: rows.bundleKeys[i], parentKeys)
            let digest = digester.digest(mapping.digestOrder.lazy.map { view[$0] })
            reconciliation.importedChecksum.add(digest: digest)
            if digest != chunk.digests[i] {
                reconciliation.disagree(record: before + Int64(i) + 1, field: differingField(view, chunk.records[i]), "the target stored another value than the bundle's")
            }
        }
        if let i = found.firstIndex(of: false) {
            throw DataPortError(.reconciliation, "dataset \(mapping.name), field \(mapping.columns[k].field.name), record \(before + Int64(i) + 1): the row written is not found again by its key (the target changed it); the import was rolled back")
        }
    }

    /// Visits the stored rows whose key is one of `keys`, each with the position its key has in `position`.
    func readRows(withKeys keys: [Value], _ position: [Value: Int], _ body: (any SQLRow, Int) throws -> Void) throws {
        guard let k = mapping.keyPosition, !keys.isEmpty else { return }
        let keyType = mapping.columns[k].field.type
        try session.readRows(of: mapping.table, columns: readColumns, keyColumn: columns[k], keys: keys) { row in
            guard let key = row.cell(k).value(as: keyType), let i = position[key] else { return }
            try body(row, i)
        }
    }

    /// A stored row as typed values.
    func values(of row: any SQLRow) throws -> [Value] {
        try mapping.columns.enumerated().map { i, c in try row.cell(i).value(of: c.field, in: mapping.name, at: "table \(mapping.table)") }
    }

    /// Whether a stored row equals `values`, column by column in canonical form.
    func row(_ row: any SQLRow, equals values: [Value]) throws -> Bool {
        try firstDifference(row, values) == nil
    }

    /// The first column in which a stored row differs from `values`, if any.
    func firstDifference(_ row: any SQLRow, _ values: [Value]) throws -> Int? {
        for (i, value) in values.enumerated() where !row.holds(value, at: i) {
            if try row.cell(i).value(of: mapping.columns[i].field, in: mapping.name, at: "table \(mapping.table)") != value { return i }
        }
        return nil
    }

    /// Equal as the checksum sees them: same type, same canonical bytes (Swift's `==` on strings
    /// would call two Unicode normal forms equal).
    private static func same(_ a: Value, _ b: Value) -> Bool {
        a.type == b.type && a.canonicalText.map { Array($0.utf8) } == b.canonicalText.map { Array($0.utf8) }
    }

    /// The imported field in which a row read back (as bundle values, in column order) differs from its bundle record.
    private func differingField(_ view: [Value], _ record: Record) -> String? {
        mapping.columns.indices.first { !Self.same(view[$0], record.values[mapping.columns[$0].bundleIndex]) }.map { mapping.columns[$0].field.name }
    }

    /// Whether an existing row belongs to the bundle's subject: one of the dataset's match fields
    /// holds one of the subject's identities, or refers to a row of this import.
    func belongsToSubject(_ row: any SQLRow) -> Bool {
        ownerChecks.contains { check in
            guard let text = row.cell(check.column).value(as: check.type)?.canonicalText else { return false }
            return ownership.holds(check.match, text)
        }
    }
}
