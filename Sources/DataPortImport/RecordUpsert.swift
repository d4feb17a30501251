import DataPortIO
import DataPortModel
import DataPortStores

/// Applies records of one dataset to the target, idempotently, a chunk at a time: one query finds
/// which of a chunk's keys exist (skipped when the table was empty), one reads the written rows back
/// for the checksum, so the cost per record is about one INSERT however large the dataset. Three
/// paths: keyless records, records whose key the target generates, records with a natural key.
/// Every statement is the session's (`SQLSession`).
final class RecordUpsert {
    static let chunkSize = 500

    let session: any SQLSession
    let mapping: DatasetMapping
    let ownership: SubjectOwnership
    /// Every mapped column, quoted, in `mapping.columns` order.
    let columns: [String]
    /// The columns an insert writes (a generated key left out) and those it hands back: the
    /// generated key, or every column of a keyless row.
    let insertColumns: [String]
    let returning: [String]
    /// The columns an update of a keyed row sets: all but the key (none: such a row is never updated).
    let updateColumns: [String]
    /// How many rows equal a keyless record's values.
    let countRows: ([Value]) throws -> Int64
    /// Inserts one row (`insertColumns`), handing `returning` back: built once per dataset.
    let insertRow: SQLInserter
    /// No key is generated or rewritten: a row read back that holds exactly what was written has
    /// the bundle record's own digest.
    let storesBundleValues: Bool
    /// The target columns are the bundle's fields, all of them, in order: a record's values are
    /// written as they are.
    let columnsAreBundleFields: Bool
    /// The table held no row when this dataset began: no key of the bundle can exist in it yet.
    let startedEmpty: Bool
    var digester = RecordDigester()
    /// The last key of the chunk before.
    private var lastKey: Value?
    /// How an existing row's owner is found: the columns read with it (mapped ones, then the match
    /// fields the bundle does not carry) and the dataset's matches on them. Empty where no existing
    /// row can be overwritten (no key, or one the target generates).
    let ownerChecks: [(column: Int, type: FieldType, match: Match)]
    /// The columns rows are read back with: the mapped ones, then extra match fields.
    let readColumns: [String]
    /// Columns holding identities the target dataset `yields` (as the target config links its rows).
    let yieldColumns: [(column: Int, kind: IdentityKind)]

    init(session: any SQLSession, mapping: DatasetMapping, ownership: SubjectOwnership) throws {
        self.session = session
        self.mapping = mapping
        self.ownership = ownership
        let quoted = mapping.columns.map { SQLQueryBuilder.quote($0.field.column) }
        columns = quoted
        var read = quoted
        var checks: [(Int, FieldType, Match)] = []
        if mapping.keyPosition != nil && !mapping.keyGenerated {
            for match in mapping.target.matches {
                guard let field = mapping.target.field(named: match.field) else { continue }
                if let i = mapping.columns.firstIndex(where: { $0.field.name == match.field }) {
                    checks.append((i, field.type, match))
                } else {
                    checks.append((read.count, field.type, match))
                    read.append(SQLQueryBuilder.quote(field.column))
                }
            }
        }
        ownerChecks = checks
        readColumns = read
        yieldColumns = mapping.target.yields.compactMap { y in mapping.columns.firstIndex { $0.field.name == y.field }.map { ($0, y.kind) } }
        insertColumns = quoted.indices.filter { !(mapping.keyGenerated && $0 == mapping.keyPosition) }.map { quoted[$0] }
        if let k = mapping.keyPosition {
            returning = mapping.keyGenerated ? [quoted[k]] : []
            updateColumns = quoted.indices.filter { $0 != k }.map { quoted[$0] }
        } else {
            // Keyless rows cannot be read back by a key: the insert hands the row back as stored.
            returning = quoted
            updateColumns = []
        }
        countRows = session.rowCounter(of: mapping.table, columns: quoted, types: mapping.columns.map(\.field.type))
        insertRow = session.inserter(into: mapping.table, columns: insertColumns, returning: returning)
        storesBundleValues = !mapping.keyGenerated && mapping.columns.allSatisfy { $0.mapsThrough == nil }
        columnsAreBundleFields = storesBundleValues && mapping.columns.map(\.bundleIndex) == Array(0..<mapping.bundleFieldCount)
        startedEmpty = try session.isEmpty(mapping.table)
    }

    /// Writes one chunk of records (with their bundle-side digests) and reads it back.
    func write(_ chunk: RecordChunk, _ reconciliation: inout DatasetReconciliation) throws {
        guard !chunk.records.isEmpty else { return }
        let parentKeys = try ParentKeys(of: chunk.records, mapping, session)
        // Records are numbered from 1 in bundle order, in messages: these follow `before` others.
        let before = reconciliation.inBundle
        reconciliation.inBundle += Int64(chunk.records.count)
        if mapping.keyPosition == nil {
            try writeKeyless(chunk.records, after: before, parentKeys, &reconciliation)
        } else if mapping.keyGenerated {
            try writeGeneratedKeys(chunk, after: before, parentKeys, &reconciliation)
        } else {
            try writeNaturalKeys(chunk, after: before, parentKeys, &reconciliation)
        }
    }

    /// Keyless: the n-th copy of a record in the bundle is inserted unless the target holds n
    /// identical rows already, so repeated records are all kept and a second import adds none.
    private func writeKeyless(_ records: [Record], after before: Int64, _ parentKeys: ParentKeys,
                              _ reconciliation: inout DatasetReconciliation) throws {
        for (n, record) in records.enumerated() {
            let values = try targetValues(of: record, parentKeys)
            let occurrence = try session.countOccurrence(of: mapping.name, record: digester.hex(values))
            if try countRows(values) >= occurrence {
                reconciliation.unchanged += 1
            } else {
                var difference: Int?? = .none
                try insertRow(values) { stored in difference = .some(try firstDifference(stored, values)) }
                reconciliation.inserted += 1
                // There is no key to read the row back by: the insert returns it as stored (type
                // conversions), and counting again catches a trigger that changed it afterwards.
                // A changed row leaves this record out of the imported checksum.
                if case .some(.some(let j)) = difference {
                    reconciliation.disagree(record: before + Int64(n) + 1, field: mapping.columns[j].field.name, "the target stored another value than the bundle's")
                    continue
                }
                guard difference != nil, try countRows(values) >= occurrence else {
                    reconciliation.disagree(record: before + Int64(n) + 1, field: nil, "the target changed the row after it was written")
                    continue
                }
            }
            let view = try bundleView(values, bundleKey: nil, parentKeys)
            reconciliation.importedChecksum.add(digest: digester.digest(mapping.digestOrder.lazy.map { view[$0] }))
        }
    }

    /// A natural key: an existing row is overwritten only if it is the subject's.
    private func writeNaturalKeys(_ chunk: RecordChunk, after before: Int64, _ parentKeys: ParentKeys,
                                  _ reconciliation: inout DatasetReconciliation) throws {
        var rows = try keyedRows(chunk.records, parentKeys)
        let k = rows.key
        for i in rows.values.indices { rows.position[rows.values[i][k]] = i }
        var existing: [Int: Bool] = [:]
        var foreign: Int?
        // A table empty when the dataset began holds only this import's rows: no lookup (a second
        // record with a key is caught in `finish`).
        if !startedEmpty {
            try readRows(withKeys: Array(rows.position.keys), rows.position) { stored, i in
                let same = try row(stored, equals: rows.values[i])
                existing[i] = (existing[i] ?? true) && same
                if foreign == nil && !belongsToSubject(stored) { foreign = i }
            }
        }
        if let i = foreign {
            throw DataPortError(.reconciliation, "dataset \(mapping.name), record \(before + Int64(i) + 1): its key \(mapping.columns[k].field.name) is held in the target by a row that does not belong to the bundle's subject (none of its match fields ties it to the subject); the import was rolled back", code: .foreignKey)
        }
        for i in rows.values.indices {
            if let same = existing[i] {
                try keepOrUpdate(rows.values[i], key: k, same: same, &reconciliation)
            } else {
                try insertRow(rows.values[i]) { _ in }
                reconciliation.inserted += 1
            }
        }
        try readBack(rows, chunk, after: before, parentKeys, &reconciliation)
        noteSubjectRows(rows)
    }

    /// A key the target generates: bundle keys are mapped to target keys through the id map, and a
    /// new row's key is entered there.
    private func writeGeneratedKeys(_ chunk: RecordChunk, after before: Int64, _ parentKeys: ParentKeys,
                                    _ reconciliation: inout DatasetReconciliation) throws {
        var rows = try keyedRows(chunk.records, parentKeys)
        let k = rows.key
        let keyType = mapping.columns[k].field.type
        let bundleKeys = rows.bundleKeys.map { $0.canonicalText! }
        // Two records with one bundle key would get two target keys, so the keys are also entered
        // in a temporary table for the whole dataset. In a table that was empty, no mapped row
        // existed when the import began: map entries left from earlier imports are stale (their
        // keys may be handed out again) and are not looked up.
        guard try session.addGeneratedKeys(of: mapping.name, bundleKeys) == bundleKeys.count else {
            throw DataPortError(.invalidBundle, "dataset \(mapping.name) holds two records with the same key")
        }
        let mapped = startedEmpty ? [:] : try session.idMapEntries(of: mapping.name, keys: bundleKeys, reverse: false)
        for i in rows.values.indices {
            guard let targetKey = mapped[bundleKeys[i]] else { continue }
            rows.values[i][k] = try typed(targetKey, keyType, "a mapped key")
            rows.position[rows.values[i][k]] = i
        }
        var existing: [Int: Bool] = [:]
        if !startedEmpty {
            try readRows(withKeys: Array(rows.position.keys), rows.position) { stored, i in
                let same = try row(stored, equals: rows.values[i])
                existing[i] = (existing[i] ?? true) && same
            }
        }
        for i in rows.values.indices {
            if let same = existing[i] {
                try keepOrUpdate(rows.values[i], key: k, same: same, &reconciliation)
            } else {
                let newKey = try insertReturningKey(rows.values[i], key: k)
                try session.mapKey(of: mapping.name, bundleKey: bundleKeys[i], to: newKey)
                rows.values[i][k] = try typed(newKey, keyType, "a generated key")
                rows.position[rows.values[i][k]] = i
                reconciliation.inserted += 1
            }
        }
        try readBack(rows, chunk, after: before, parentKeys, &reconciliation)
        noteSubjectRows(rows)
    }

    /// An existing row: kept when it holds these values, else updated (where there is more than the key).
    private func keepOrUpdate(_ values: [Value], key k: Int, same: Bool, _ reconciliation: inout DatasetReconciliation) throws {
        if same {
            reconciliation.unchanged += 1
        } else if !updateColumns.isEmpty {
            try session.update(mapping.table, setting: updateColumns, to: values.enumerated().filter { $0.offset != k }.map(\.element),
                               keyColumn: columns[k], key: values[k])
            reconciliation.updated += 1
        }
    }

    /// Inserts a row without its key; returns the key the target generated.
    private func insertReturningKey(_ values: [Value], key k: Int) throws -> String {
        var returned: String?
        try insertRow(values.enumerated().filter { $0.offset != k }.map(\.element)) { stored in
            switch stored.cell(0) {
            case .integer(let n): returned = String(n)
            case .text(let t): returned = t
            default: break
            }
        }
        guard let returned else { throw DataPortError(.store, "dataset \(mapping.name): the store returned no key for an inserted row") }
        return returned
    }

    /// After the last chunk: in a table that was empty, no key may be there twice (two bundle records
    /// with the same key in different chunks; a target with a unique key refuses the second earlier).
    func finish() throws {
        guard startedEmpty, !mapping.keyGenerated, let k = mapping.keyPosition else { return }
        if try session.hasRepeatedValue(in: mapping.table, column: columns[k]) {
            throw DataPortError(.invalidBundle, "dataset \(mapping.name) holds two records with the same key")
        }
    }

    /// A chunk of keyed records as the target is to hold them.
    struct KeyedRows {
        /// The key's position in `mapping.columns`.
        let key: Int
        /// The records' keys as the bundle has them.
        let bundleKeys: [Value]
        /// Target values per record, with the target key where it is known.
        var values: [[Value]]
        /// A record by its target key.
        var position: [Value: Int] = [:]
    }

    /// The chunk's records with their keys, refused when one has none or two share one: within the
    /// chunk, and against the chunk before (bundles list records in key order, so a repeated key
    /// usually sits next to itself, possibly across the boundary).
    private func keyedRows(_ records: [Record], _ parentKeys: ParentKeys) throws -> KeyedRows {
        let k = mapping.keyPosition!
        let bundleKeys: [Value] = try records.map { record in
            let key = record.values[mapping.columns[k].bundleIndex]
            guard !key.isNull else { throw DataPortError(.invalidBundle, "dataset \(mapping.name) has a record without a key") }
            return key
        }
        guard Set(bundleKeys).count == bundleKeys.count, lastKey.map({ !bundleKeys.contains($0) }) ?? true else {
            throw DataPortError(.invalidBundle, "dataset \(mapping.name) holds two records with the same key")
        }
        lastKey = bundleKeys.last
        return KeyedRows(key: k, bundleKeys: bundleKeys, values: try records.map { try targetValues(of: $0, parentKeys) })
    }

    /// These rows are the subject's now: their keys and the identities they yield vouch for the
    /// rows of later datasets that refer to them or match by those identities.
    private func noteSubjectRows(_ rows: KeyedRows) {
        if ownership.tracks(mapping.name) { ownership.add(mapping.name, keys: rows.values.compactMap { $0[rows.key].canonicalText }) }
        for (column, kind) in yieldColumns {
            ownership.add(kind, identities: rows.values.compactMap { $0[column].canonicalText })
        }
    }
}
