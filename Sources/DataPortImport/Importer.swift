import DataPortIO
import DataPortBundle
import DataPortFormats
import DataPortModel
import DataPortStores

/// How an import runs.
public struct ImportOptions: Sendable {
    /// The target store's name; may be omitted when the config has one store.
    public var store: String?
    /// Plan and report without writing (the transaction is rolled back).
    public var dryRun = false
    /// Refuse a bundle holding datasets the target config does not map.
    public var strict = false
    /// Bundle fields (`dataset.field`) the target does not import that may be left out: any other
    /// field the target would lose refuses the import.
    public var dropFields: [String] = []
    public var limits = ArchiveLimits.default
    /// The manifest the bundle's maker returned (`transfer`): each imported dataset's record count
    /// and files' SHA-256 must be the ones it exported, or the import is rolled back (reconciliation).
    public var producedBy: Manifest?

    public init(store: String? = nil, dryRun: Bool = false, strict: Bool = false, dropFields: [String] = []) {
        self.store = store; self.dryRun = dryRun; self.strict = strict; self.dropFields = dropFields
    }
}

/// Imports a bundle into a store: verified first, all-or-nothing, idempotent.
///
/// Datasets are matched by name to the target config's datasets, fields by name to its fields (whose
/// columns may differ: another system's schema). Records with a key are upserted by that key; where
/// the target generates its own keys, the table `dataport_id_map` links bundle keys to target keys
/// and foreign keys between imported datasets are rewritten through it. Keyless records are
/// inserted as often as they occur in the bundle, less the identical rows the target already holds.
public enum Importer {
    /// The id map's table name.
    public static let idMapTable = "dataport_id_map"
    /// A temporary table (gone with the session) counting, per keyless dataset, how often each
    /// record has come so far in this import.
    static let occurrencesTable = "dataport_occurrences"
    /// A temporary table of the bundle keys of datasets with generated keys imported so far.
    static let generatedKeysTable = "dataport_generated_keys"

    /// Imports `path` into the target store. A report that does not agree (`agrees` false, see
    /// `ImportReport.mismatchError`) was rolled back before COMMIT: the store is as it was.
    public static func run(bundle path: String, config: StoresConfig, options: ImportOptions,
                           stores: StoreRegistry = .standard, formats: FormatRegistry = .standard,
                           progress: (any ProgressObserver)? = nil) throws -> ImportReport {
        let reader = try BundleReader(path: path, limits: options.limits)
        let store = try pickStore(config, options.store)
        let connector = try stores.connector(for: store)
        defer { connector.close() }
        try connector.validate()
        guard let writable = connector as? any WritableStoreConnector else {
            throw DataPortError(.invalidConfig, "stores of type \(store.type) cannot be imported into", at: "store \(store.name)")
        }

        var plans: [(ManifestDataset, DatasetConfig)] = []
        var skipped: [(name: String, reason: String)] = []
        for md in reader.manifest.datasets {
            if let target = store.datasets.first(where: { $0.name == md.dataset.name }) {
                plans.append((md, target))
            } else {
                skipped.append((md.dataset.name, "not mapped by the target config"))
            }
        }
        if options.strict && !skipped.isEmpty {
            throw DataPortError(.invalidConfig, "the target config does not map \(skipped.map(\.name).joined(separator: ", ")) (--strict)", at: config.file)
        }
        if plans.isEmpty && !reader.manifest.datasets.isEmpty {
            throw DataPortError(.invalidConfig, "the target config maps none of the bundle's datasets (\(skipped.map(\.name).joined(separator: ", "))): nothing would be imported", at: config.file)
        }
        plans = try ordered(plans)
        let mappings = try plans.map { try DatasetMapping(bundle: $0.0.dataset, target: $0.1, plans: plans) }
        try checkDroppedFields(mappings, skipped: reader.manifest.datasets.filter { md in !plans.contains { $0.0.dataset.name == md.dataset.name } },
                               allowed: options.dropFields, config: config)
        let ownership = SubjectOwnership(subject: reader.manifest.subject, plans: plans.map(\.1))
        // Structure, manifest, BagIt files and every file the import does not read are checked before
        // the first write. The files it reads are checked as they stream in (size, SHA-256, record
        // count), inside the transaction: any failure rolls it back, so a bad bundle changes nothing,
        // and the data is inflated and hashed once rather than twice.
        let streamed = Set(try plans.map { try reader.file(of: $0.0).path })
        _ = try reader.verify(registry: formats, parseRecords: false, except: streamed, progress: progress)

        let session = try writable.openSession()
        var results: [DatasetReconciliation] = []
        let counter = ProgressCounter(phase: "import", totalRecords: plans.reduce(0) { $0 + $1.0.recordCount }, observer: progress)
        var reading: ManifestFile?
        let report: ImportReport
        // First of all: on PostgreSQL this waits for any other import into the database.
        try session.begin()
        do {
            let text = session.keyTextType
            try session.execute("""
                CREATE TABLE IF NOT EXISTS \(idMapTable) (dataset \(text) NOT NULL, bundle_key \(text) NOT NULL, \
                target_key \(text) NOT NULL, PRIMARY KEY (dataset, bundle_key))
                """, [])
            if mappings.contains(where: \.keyGenerated) {
                try session.execute("""
                    CREATE \(session.temporaryTable) IF NOT EXISTS \(generatedKeysTable) (dataset \(text) NOT NULL, bundle_key \(text) NOT NULL, \
                    PRIMARY KEY (dataset, bundle_key))
                    """, [])
            }
            if mappings.contains(where: { $0.keyPosition == nil }) {
                try session.execute("""
                    CREATE \(session.temporaryTable) IF NOT EXISTS \(occurrencesTable) (dataset \(text) NOT NULL, record \(text) NOT NULL, \
                    n INTEGER NOT NULL, PRIMARY KEY (dataset, record))
                    """, [])
            }
            for ((md, _), mapping) in zip(plans, mappings) {
                var r = DatasetReconciliation(dataset: md.dataset.name, table: mapping.table)
                reading = try reader.file(of: md)
                do {
                    let records = try reader.records(of: md, registry: formats)
                    let bulk = BulkUpsert.session(for: mapping, session)
                    let writer = bulk == nil ? try RecordUpsert(session: session, mapping: mapping, ownership: ownership) : nil
                    counter.begin(md.dataset.name)
                    let ahead = ReadAheadRecords(records, fieldCount: mapping.bundleFieldCount, importedFields: mapping.importedFields,
                                                 chunkSize: RecordUpsert.chunkSize)
                    defer { ahead.stop() }
                    if let bulk {
                        try BulkUpsert(session: bulk, m: mapping, ownership: ownership).write(ahead, counter: counter, &r)
                    } else if let writer {
                        while let chunk = try ahead.nextChunk() {
                            try writer.write(chunk, &r)
                            for _ in chunk.records { counter.record() }
                        }
                        try writer.finish()
                    }
                    (r.bundleChecksum, r.mappedChecksum) = ahead.checksums
                    r.droppedFields = mapping.droppedFields
                }
                reading = nil
                guard r.inBundle == md.recordCount else {
                    throw DataPortError(.tamperedBundle, "\(md.dataset.name) holds \(r.inBundle) records, the manifest says \(md.recordCount)", at: path, code: .recordCountMismatch)
                }
                if let produced = options.producedBy {
                    let made = produced.datasets.first { $0.dataset.name == md.dataset.name }
                    guard let made, made.recordCount == r.inBundle, made.files.map(\.sha256) == md.files.map(\.sha256) else {
                        throw DataPortError(.reconciliation, "dataset \(md.dataset.name): the bundle read is not the one exported (record count or checksums differ); the import was rolled back", at: path, code: .reconciliation)
                    }
                }
                results.append(r)
            }
            report = ImportReport(bundle: path, store: store.name, dryRun: options.dryRun, datasets: results, skippedDatasets: skipped)
            // Reconciled before COMMIT: a target that changed what it was given keeps nothing.
            if options.dryRun || !report.agrees { session.rollback() } else { try session.commit() }
            counter.finish()
        } catch {
            session.rollback()
            // Whatever failed while a data file was read (a duplicate key, a row the store refused)
            // followed from tampering if the file fails its checksum: that is the error to report.
            if let file = reading, let tampered = reader.tampering(of: file, after: error) { throw tampered }
            throw error
        }
        return report
    }

    /// Refuses to lose a bundle field silently: every field of a mapped dataset that the target does
    /// not import (not in its config, or a secret there, which is never written) must be allowed by
    /// `allowed` (`dataset.field`). Each entry of `allowed` must name such a field, or one of a
    /// skipped dataset. Names only in the messages, never the entries themselves (they are input).
    static func checkDroppedFields(_ mappings: [DatasetMapping], skipped: [ManifestDataset], allowed: [String], config: StoresConfig) throws {
        let dropped = mappings.flatMap { m in m.droppedFields.map { "\(m.name).\($0)" } }
        let droppable = Set(dropped + skipped.flatMap { md in md.dataset.fields.map { "\(md.dataset.name).\($0.name)" } })
        if let i = allowed.firstIndex(where: { !droppable.contains($0) }) {
            throw DataPortError(.usage, "--drop-field number \(i + 1) names no bundle field that the target would leave out (give DATASET.FIELD)")
        }
        let refused = dropped.filter { !allowed.contains($0) }
        guard refused.isEmpty else {
            throw DataPortError(.invalidConfig, "the target config does not import the bundle fields \(refused.joined(separator: ", ")): they would be lost (allow each with --drop-field DATASET.FIELD)", at: config.file)
        }
    }

    static func pickStore(_ config: StoresConfig, _ name: String?) throws -> StoreConfig {
        if let name {
            guard let s = config.stores.first(where: { $0.name == name }) else {
                throw DataPortError(.usage, "no store named \(name) in the target config")
            }
            return s
        }
        guard config.stores.count == 1 else {
            throw DataPortError(.usage, "the target config has \(config.stores.count) stores; choose one with --store")
        }
        return config.stores[0]
    }

    /// Parents before children, following the bundle's references.
    static func ordered(_ plans: [(ManifestDataset, DatasetConfig)]) throws -> [(ManifestDataset, DatasetConfig)] {
        var done = Set<String>()
        var out: [(ManifestDataset, DatasetConfig)] = []
        var pending = plans
        let names = Set(plans.map { $0.0.dataset.name })
        while !pending.isEmpty {
            guard let i = pending.firstIndex(where: { p in
                p.0.dataset.fields.allSatisfy { f in
                    guard let ref = DatasetMapping.reference(of: f.name, bundle: p.0.dataset, target: p.1) else { return true }
                    return !names.contains(ref.dataset) || done.contains(ref.dataset) || ref.dataset == p.0.dataset.name
                }
            }) else {
                throw DataPortError(.invalidBundle, "datasets reference each other in a cycle: \(pending.map { $0.0.dataset.name }.joined(separator: ", "))")
            }
            done.insert(pending[i].0.dataset.name)
            out.append(pending.remove(at: i))
        }
        return out
    }
}

/// How one bundle dataset lands in one target table.
struct DatasetMapping {
    struct Column {
        var bundleIndex: Int
        var field: FieldConfig
        /// The dataset whose generated keys this field refers to (foreign key rewritten through the id map).
        var mapsThrough: String?
    }

    let name: String
    let table: String
    let columns: [Column]
    /// Position in `columns` of the key, if the target has one that the bundle carries.
    let keyPosition: Int?
    let keyGenerated: Bool
    /// How many fields the bundle's dataset has.
    let bundleFieldCount: Int
    /// The bundle fields the target does not import (absent from its config, or secret there).
    let droppedFields: [String]
    /// The imported fields' positions in the bundle, in bundle order: the checksums cover these.
    let importedFields: [Int]
    /// Positions in `columns`, in bundle order: a row's values in this order digest like its bundle record.
    let digestOrder: [Int]
    /// The target config's dataset.
    let target: DatasetConfig

    /// The dataset and key a field refers to: as the target config links it, else as the bundle does.
    static func reference(of field: String, bundle: Dataset, target: DatasetConfig) -> ForeignKey? {
        for case .reference(let f, let dataset, let key) in target.matches where f == field {
            return ForeignKey(field: f, dataset: dataset, key: key)
        }
        return bundle.references.first { $0.field == field }
    }

    init(bundle: Dataset, target: DatasetConfig, plans: [(ManifestDataset, DatasetConfig)]) throws {
        name = bundle.name
        bundleFieldCount = bundle.fields.count
        guard case .table(let t) = target.source else {
            throw DataPortError(.invalidConfig, "dataset \(target.name) must name a table to be imported into", at: "store \(target.store)")
        }
        table = t.split(separator: ".").map { SQLQueryBuilder.quote(String($0)) }.joined(separator: ".")
        var cols: [Column] = []
        for f in target.fields where !f.secret {
            guard let i = bundle.index(of: f.name) else { continue }
            guard bundle.fields[i].type == f.type else {
                throw DataPortError(.invalidConfig, "dataset \(target.name), field \(f.name): the bundle has \(bundle.fields[i].type.rawValue), the target \(f.type.rawValue)", at: "store \(target.store)")
            }
            var through: String?
            if let ref = DatasetMapping.reference(of: f.name, bundle: bundle, target: target),
               let parent = plans.first(where: { $0.0.dataset.name == ref.dataset })?.1,
               parent.key == ref.key, parent.field(named: ref.key)?.generated == true {
                through = ref.dataset
            }
            cols.append(Column(bundleIndex: i, field: f, mapsThrough: through))
        }
        guard !cols.isEmpty else {
            throw DataPortError(.invalidConfig, "dataset \(target.name) shares no field with the bundle", at: "store \(target.store)")
        }
        columns = cols
        self.target = target
        droppedFields = bundle.fields.filter { f in !cols.contains { $0.field.name == f.name } }.map(\.name)
        digestOrder = cols.indices.sorted { cols[$0].bundleIndex < cols[$1].bundleIndex }
        importedFields = digestOrder.map { cols[$0].bundleIndex }
        keyPosition = target.key.flatMap { k in cols.firstIndex { $0.field.name == k } }
        keyGenerated = keyPosition.map { cols[$0].field.generated } ?? false
    }
}

/// Applies records of one dataset to the target, idempotently, a chunk at a time: one query finds
/// which of a chunk's keys exist (skipped when the table was empty), one reads the written rows back
/// for the checksum, so the cost per record is about one INSERT however large the dataset.
final class RecordUpsert {
    let session: any SQLSession
    let m: DatasetMapping
    /// The columns an insert writes (a generated key left out) and those it hands back: the
    /// generated key, or every column of a keyless row.
    let insertColumns: [String]
    let returning: [String]
    let updateSQL: String?
    /// How many rows equal a keyless record.
    let countSQL: String
    /// Rows read back can be compared with the written values as they are: no key is generated or
    /// rewritten, so a row that holds exactly what was written has the bundle record's own digest.
    let direct: Bool
    /// The table held no row when this dataset began: no key of the bundle can exist in it yet.
    let startedEmpty: Bool
    /// The target columns are the bundle's fields, all of them, in order: a record's values are written as they are.
    let identity: Bool
    private var digester = RecordDigester()
    /// The last key of the chunk before.
    private var lastKey: Value?
    let ownership: SubjectOwnership
    /// How an existing row's owner is found: the columns read with it (mapped ones, then the match
    /// fields the bundle does not carry) and the dataset's matches on them. Empty where no existing
    /// row can be overwritten (no key, or one the target generates).
    private let ownerChecks: [(column: Int, type: FieldType, match: Match)]
    /// The columns rows are read back with: the mapped ones, then extra match fields.
    private let selectList: String
    /// Columns holding identities the target dataset `yields` (as the target config links its rows).
    private let yieldColumns: [(column: Int, kind: IdentityKind)]
    static let chunkSize = 500

    init(session: any SQLSession, mapping m: DatasetMapping, ownership: SubjectOwnership) throws {
        self.session = session
        self.m = m
        self.ownership = ownership
        var select = m.columns.map { SQLQueryBuilder.quote($0.field.column) }
        var checks: [(Int, FieldType, Match)] = []
        if m.keyPosition != nil && !m.keyGenerated {
            for match in m.target.matches {
                guard let f = m.target.field(named: match.field) else { continue }
                if let i = m.columns.firstIndex(where: { $0.field.name == match.field }) {
                    checks.append((i, f.type, match))
                } else {
                    checks.append((select.count, f.type, match))
                    select.append(SQLQueryBuilder.quote(f.column))
                }
            }
        }
        ownerChecks = checks
        yieldColumns = m.target.yields.compactMap { y in m.columns.firstIndex { $0.field.name == y.field }.map { ($0, y.kind) } }
        selectList = select.joined(separator: ", ")
        let q = SQLQueryBuilder.quote
        let ph = session.placeholder
        let all = m.columns.map { q($0.field.column) }
        let insertCols = m.columns.enumerated().filter { !(m.keyGenerated && $0.offset == m.keyPosition) }.map { q($0.element.field.column) }
        insertColumns = insertCols
        if m.keyGenerated, let k = m.keyPosition {
            returning = [all[k]]
        } else {
            // Keyless rows cannot be read back by a key: the insert hands the row back as stored.
            returning = m.keyPosition == nil ? all : []
        }
        if let k = m.keyPosition {
            let sets = m.columns.indices.filter { $0 != k }.map { all[$0] }
            updateSQL = sets.isEmpty ? nil : "UPDATE \(m.table) SET \(sets.enumerated().map { "\($0.element) = \(ph($0.offset + 1))" }.joined(separator: ", ")) WHERE \(all[k]) = \(ph(sets.count + 1))"
        } else {
            updateSQL = nil
        }
        countSQL = "SELECT count(*) FROM \(m.table) WHERE \(all.enumerated().map { session.nullSafeEquals($0.element, ph($0.offset + 1), as: m.columns[$0.offset].field.type) }.joined(separator: " AND "))"
        direct = !m.keyGenerated && m.columns.allSatisfy { $0.mapsThrough == nil }
        identity = direct && m.columns.map(\.bundleIndex) == Array(0..<m.bundleFieldCount)
        var empty = true
        try session.query("SELECT 1 FROM \(m.table) LIMIT 1", [], rows: { _ in empty = false })
        startedEmpty = empty
    }

    private func typed(_ text: String, _ type: FieldType, _ what: String) throws -> Value {
        guard let v = StoreCell.text(text).value(as: type) else {
            throw DataPortError(.store, "dataset \(m.name): \(what) is not a valid \(type.rawValue)")
        }
        return v
    }

    /// Id-map entries of `dataset` for `keys`: bundle key -> target key (or the reverse).
    private func idMap(_ dataset: String, _ keys: [String], reverse: Bool = false) throws -> [String: String] {
        var out: [String: String] = [:]
        let (from, to) = reverse ? ("target_key", "bundle_key") : ("bundle_key", "target_key")
        for start in stride(from: 0, to: keys.count, by: Self.chunkSize) {
            let part = Array(keys[start..<min(start + Self.chunkSize, keys.count)])
            let marks = (0..<part.count).map { session.placeholder($0 + 2) }.joined(separator: ", ")
            try session.query("SELECT \(from), \(to) FROM \(Importer.idMapTable) WHERE dataset = \(session.placeholder(1)) AND \(from) IN (\(marks))",
                              [.string(dataset)] + part.map(Value.string)) { row in
                if case .text(let a) = row[0], case .text(let b) = row[1] { out[a] = b }
            }
        }
        return out
    }

    /// Visits the stored rows whose key is one of `keys`, each with the position its key has in `position`.
    private func readRows(withKeys keys: [Value], _ position: [Value: Int], _ body: (any SQLRow, Int) throws -> Void) throws {
        guard let k = m.keyPosition, !keys.isEmpty else { return }
        let marks = (1...keys.count).map(session.placeholder).joined(separator: ", ")
        let keyType = m.columns[k].field.type
        try session.query("SELECT \(selectList) FROM \(m.table) WHERE \(SQLQueryBuilder.quote(m.columns[k].field.column)) IN (\(marks))", keys, rows: { row in
            guard let key = row.cell(k).value(as: keyType), let i = position[key] else { return }
            try body(row, i)
        })
    }

    /// A stored row as typed values.
    private func values(of row: any SQLRow) throws -> [Value] {
        try m.columns.enumerated().map { i, c in try row.cell(i).value(of: c.field, in: m.name, at: "table \(m.table)") }
    }

    /// Whether a stored row equals `values`, column by column in canonical form.
    private func row(_ row: any SQLRow, equals values: [Value]) throws -> Bool {
        try firstDifference(row, values) == nil
    }

    /// The first column in which a stored row differs from `values`, if any.
    private func firstDifference(_ row: any SQLRow, _ values: [Value]) throws -> Int? {
        for (i, v) in values.enumerated() where !row.holds(v, at: i) {
            if try row.cell(i).value(of: m.columns[i].field, in: m.name, at: "table \(m.table)") != v { return i }
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
        m.columns.indices.first { !Self.same(view[$0], record.values[m.columns[$0].bundleIndex]) }.map { m.columns[$0].field.name }
    }

    /// Whether an existing row belongs to the bundle's subject: one of the dataset's match fields
    /// holds one of the subject's identities, or refers to a row of this import.
    private func belongsToSubject(_ row: any SQLRow) -> Bool {
        ownerChecks.contains { check in
            guard let text = row.cell(check.column).value(as: check.type)?.canonicalText else { return false }
            return ownership.holds(check.match, text)
        }
    }

    /// Writes one chunk of records (with their bundle-side digests) and reads it back.
    func write(_ chunk: RecordChunk, _ r: inout DatasetReconciliation) throws {
        let records = chunk.records
        guard !records.isEmpty else { return }
        // Foreign keys into datasets with generated keys: bundle key -> target key, per parent.
        var forward: [String: [String: String]] = [:]
        for c in m.columns {
            guard let parent = c.mapsThrough, forward[parent] == nil else { continue }
            let keys = Set(m.columns.filter { $0.mapsThrough == parent }.flatMap { col in records.compactMap { $0.values[col.bundleIndex].canonicalText } })
            forward[parent] = try idMap(parent, Array(keys))
        }
        let reverse = forward.mapValues { Dictionary($0.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a }) }
        func targetValues(_ record: Record) throws -> [Value] {
            if identity { return record.values }
            return try m.columns.map { c in
                let v = record.values[c.bundleIndex]
                guard let parent = c.mapsThrough, let text = v.canonicalText else { return v }
                guard let t = forward[parent]?[text] else {
                    throw DataPortError(.invalidBundle, "dataset \(m.name), field \(c.field.name) refers to a \(parent) record that is not in the bundle")
                }
                return try typed(t, c.field.type, "a mapped key")
            }
        }
        // Records are numbered from 1 in bundle order, in messages.
        let base = r.inBundle
        r.inBundle += Int64(records.count)
        guard let k = m.keyPosition else {
            // Keyless: the n-th copy of a record in the bundle is inserted unless the target holds
            // n identical rows already, so repeated records are all kept and a second import adds none.
            func integer(_ sql: String, _ parameters: [Value]) throws -> Int64 {
                var n: Int64 = 0
                try session.query(sql, parameters, rows: { row in if case .integer(let i) = row.cell(0) { n = i } })
                return n
            }
            for (n, record) in records.enumerated() {
                let values = try targetValues(record)
                let occurrence = try session.incrementCounter(in: Importer.occurrencesTable, keyColumns: ["dataset", "record"],
                                                              [.string(m.name), .string(digester.hex(values))])
                if try integer(countSQL, values) >= occurrence {
                    r.unchanged += 1
                } else {
                    var difference: Int?? = .none
                    try session.insert(into: m.table, columns: insertColumns, values, returning: returning,
                                       row: { stored in difference = .some(try firstDifference(stored, values)) })
                    r.inserted += 1
                    // There is no key to read the row back by: the insert returns it as stored (type
                    // conversions), and counting again catches a trigger that changed it afterwards.
                    // A changed row leaves this record out of the imported checksum.
                    if case .some(.some(let j)) = difference {
                        r.disagree(record: base + Int64(n) + 1, field: m.columns[j].field.name, "the target stored another value than the bundle's")
                        continue
                    }
                    guard difference != nil, try integer(countSQL, values) >= occurrence else {
                        r.disagree(record: base + Int64(n) + 1, field: nil, "the target changed the row after it was written")
                        continue
                    }
                }
                let view = try bundleView(values, bundleKey: nil, reverse: reverse)
                r.importedChecksum.add(digest: digester.digest(m.digestOrder.lazy.map { view[$0] }))
            }
            return
        }
        let keyType = m.columns[k].field.type
        let bundleKeys: [Value] = try records.map { rec in
            let v = rec.values[m.columns[k].bundleIndex]
            guard !v.isNull else { throw DataPortError(.invalidBundle, "dataset \(m.name) has a record without a key") }
            return v
        }
        let ph = session.placeholder
        // Within the chunk, and against the chunk before (bundles list records in key order, so a
        // repeated key usually sits next to itself, possibly across the boundary).
        guard Set(bundleKeys).count == bundleKeys.count, lastKey.map({ !bundleKeys.contains($0) }) ?? true else {
            throw DataPortError(.invalidBundle, "dataset \(m.name) holds two records with the same key")
        }
        lastKey = bundleKeys.last
        // Target values per record, with the target key where it is known; `position` finds a record by it.
        var values = try records.map(targetValues)
        var position: [Value: Int] = [:]
        // Generated keys: two records with one bundle key would get two target keys, so the keys
        // are also entered in a temporary table for the whole dataset. In a table that was empty,
        // no mapped row existed when the import began: map entries left from earlier imports are
        // stale (their keys may be handed out again) and are not looked up.
        if m.keyGenerated {
            let added = try session.insertSkippingDuplicates(into: Importer.generatedKeysTable, columns: ["dataset", "bundle_key"],
                                                             bundleKeys.flatMap { [Value.string(m.name), .string($0.canonicalText!)] })
            guard added == bundleKeys.count else { throw DataPortError(.invalidBundle, "dataset \(m.name) holds two records with the same key") }
        }
        var ownMap: [String: String] = m.keyGenerated && !startedEmpty ? try idMap(m.name, bundleKeys.map { $0.canonicalText! }) : [:]
        for i in records.indices {
            if m.keyGenerated {
                guard let t = ownMap[bundleKeys[i].canonicalText!] else { continue }
                values[i][k] = try typed(t, keyType, "a mapped key")
            }
            position[values[i][k]] = i
        }
        // Which keys exist, and whether their rows already hold these values.
        var existing: [Int: Bool] = [:]
        // An existing row with a natural key is overwritten only if it is the subject's.
        var foreign: Int?
        // A table empty when the dataset began holds only this import's rows: no lookup (a second
        // record with a key is caught in `finish`, or above for generated keys).
        if !startedEmpty {
            try readRows(withKeys: Array(position.keys), position) { stored, i in
                let same = try row(stored, equals: values[i])
                existing[i] = (existing[i] ?? true) && same
                if !m.keyGenerated && foreign == nil && !belongsToSubject(stored) { foreign = i }
            }
        }
        if let i = foreign {
            throw DataPortError(.reconciliation, "dataset \(m.name), record \(base + Int64(i) + 1): its key \(m.columns[k].field.name) is held in the target by a row that does not belong to the bundle's subject (none of its match fields ties it to the subject); the import was rolled back", code: .foreignKey)
        }
        var written: [Int] = []
        written.reserveCapacity(records.count)
        for i in records.indices {
            let key = values[i][k]
            if let same = existing[i] {
                if same {
                    r.unchanged += 1
                } else if let update = updateSQL {
                    try session.execute(update, values[i].enumerated().filter { $0.offset != k }.map(\.element) + [key])
                    r.updated += 1
                }
            } else if m.keyGenerated {
                var returned: String?
                try session.insert(into: m.table, columns: insertColumns, values[i].enumerated().filter { $0.offset != k }.map(\.element),
                                   returning: returning) { stored in
                    switch stored.cell(0) {
                    case .integer(let n): returned = String(n)
                    case .text(let t): returned = t
                    default: break
                    }
                }
                guard let newKey = returned else { throw DataPortError(.store, "dataset \(m.name): the store returned no key for an inserted row") }
                let bundleText = bundleKeys[i].canonicalText!
                try session.execute("DELETE FROM \(Importer.idMapTable) WHERE dataset = \(ph(1)) AND bundle_key = \(ph(2))", [.string(m.name), .string(bundleText)])
                try session.execute("INSERT INTO \(Importer.idMapTable) (dataset, bundle_key, target_key) VALUES (\(ph(1)), \(ph(2)), \(ph(3)))",
                                    [.string(m.name), .string(bundleText), .string(newKey)])
                ownMap[bundleText] = newKey
                values[i][k] = try typed(newKey, keyType, "a generated key")
                position[values[i][k]] = i
                r.inserted += 1
            } else {
                try session.insert(into: m.table, columns: insertColumns, values[i], returning: [], row: { _ in })
                r.inserted += 1
            }
            written.append(i)
        }
        // Read the chunk back as stored, for the reconciliation checksum. A row holding exactly what
        // was written counts with the bundle record's digest; any other is typed and hashed as stored.
        var readBack = [Bool](repeating: false, count: records.count)
        var retyped: [(Int, [Value])] = []
        try readRows(withKeys: written.map { values[$0][k] }, position) { stored, i in
            guard !readBack[i] else { return }
            readBack[i] = true
            if direct && values[i].indices.allSatisfy({ stored.holds(values[i][$0], at: $0) }) {
                r.importedChecksum.add(digest: chunk.digests[i])
            } else {
                retyped.append((i, try self.values(of: stored)))
            }
        }
        // Mapped back after the query: mapping may query the id map, and a connection runs one query at a time.
        for (i, row) in retyped {
            let view = try bundleView(row, bundleKey: bundleKeys[i], reverse: reverse)
            let d = digester.digest(m.digestOrder.lazy.map { view[$0] })
            r.importedChecksum.add(digest: d)
            if d != chunk.digests[i] {
                r.disagree(record: base + Int64(i) + 1, field: differingField(view, records[i]), "the target stored another value than the bundle's")
            }
        }
        if let i = written.first(where: { !readBack[$0] }) {
            throw DataPortError(.reconciliation, "dataset \(m.name), field \(m.columns[k].field.name), record \(base + Int64(i) + 1): the row written is not found again by its key (the target changed it); the import was rolled back")
        }
        // These rows are the subject's now: their keys and the identities they yield vouch for the
        // rows of later datasets that refer to them or match by those identities.
        if ownership.tracks(m.name) { ownership.add(m.name, keys: records.indices.compactMap { values[$0][k].canonicalText }) }
        for (column, kind) in yieldColumns {
            ownership.add(kind, identities: records.indices.compactMap { values[$0][column].canonicalText })
        }
    }

    /// After the last chunk: in a table that was empty, no key may be there twice (two bundle records
    /// with the same key in different chunks; a target with a unique key refuses the second earlier).
    func finish() throws {
        guard startedEmpty, !m.keyGenerated, let k = m.keyPosition else { return }
        let key = SQLQueryBuilder.quote(m.columns[k].field.column)
        var twice = false
        try session.query("SELECT 1 FROM \(m.table) GROUP BY \(key) HAVING count(*) > 1 LIMIT 1", [], rows: { _ in twice = true })
        if twice { throw DataPortError(.invalidBundle, "dataset \(m.name) holds two records with the same key") }
    }

    /// Target values turned back into bundle values (generated and mapped keys replaced) for the checksum.
    private func bundleView(_ values: [Value], bundleKey: Value?, reverse: [String: [String: String]]) throws -> [Value] {
        var out = values
        for (i, c) in m.columns.enumerated() {
            if m.keyGenerated, i == m.keyPosition, let bundleKey { out[i] = bundleKey; continue }
            guard let parent = c.mapsThrough, let text = values[i].canonicalText else { continue }
            var b = reverse[parent]?[text]
            if b == nil { b = try idMap(parent, [text], reverse: true)[text] }
            if let b { out[i] = try typed(b, c.field.type, "a mapped key") }
        }
        return out
    }
}
