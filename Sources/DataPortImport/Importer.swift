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
/// The SQL is the store's (`SQLSession`, `BulkWritingSession`): the importer writes none.
public enum Importer {
    /// The id map's table name.
    public static let idMapTable = ImportTable.idMap.name

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
        let plan = try ImportPlan(manifest: reader.manifest, store: store, config: config, dropFields: options.dropFields, strict: options.strict)
        // Structure, manifest, BagIt files and every file the import does not read are checked before
        // the first write. The files it reads are checked as they stream in (size, SHA-256, record
        // count), inside the transaction: any failure rolls it back, so a bad bundle changes nothing,
        // and the data is inflated and hashed once rather than twice.
        let streamed = Set(try plan.datasets.map { try reader.file(of: $0.bundle).path })
        _ = try reader.verify(registry: formats, parseRecords: false, except: streamed, progress: progress)

        let session = try writable.openSession()
        let run = ImportRun(reader: reader, plan: plan, session: session, formats: formats, options: options,
                            counter: ProgressCounter(phase: "import", totalRecords: plan.totalRecords, observer: progress))
        return try run.inTransaction()
    }

    static func pickStore(_ config: StoresConfig, _ name: String?) throws -> StoreConfig {
        if let name {
            guard let store = config.stores.first(where: { $0.name == name }) else {
                throw DataPortError(.usage, "no store named \(name) in the target config")
            }
            return store
        }
        guard config.stores.count == 1 else {
            throw DataPortError(.usage, "the target config has \(config.stores.count) stores; choose one with --store")
        }
        return config.stores[0]
    }
}

/// One import's writes: every planned dataset in the one transaction, each reconciled with the
/// bundle before COMMIT.
struct ImportRun {
    let reader: BundleReader
    let plan: ImportPlan
    let session: any SQLSession
    let formats: FormatRegistry
    let options: ImportOptions
    let counter: ProgressCounter

    private var path: String { reader.path }

    /// Writes every dataset, then commits, or rolls back when anything fails, on a dry run, or when
    /// the target disagrees with the bundle.
    func inTransaction() throws -> ImportReport {
        let ownership = SubjectOwnership(subject: reader.manifest.subject, plans: plan.datasets.map(\.mapping.target))
        var results: [DatasetReconciliation] = []
        // The data file being read, if any: a failure then may follow from tampering with it.
        var reading: ManifestFile?
        // First of all: on PostgreSQL this waits for any other import into the database.
        try session.begin()
        do {
            try createImportTables()
            for dataset in plan.datasets {
                reading = try reader.file(of: dataset.bundle)
                let reconciliation = try write(dataset, ownership: ownership)
                reading = nil
                try check(reconciliation, of: dataset.bundle)
                results.append(reconciliation)
            }
            let report = ImportReport(bundle: path, store: plan.store.name, dryRun: options.dryRun, datasets: results, skippedDatasets: plan.skipped)
            // Reconciled before COMMIT: a target that changed what it was given keeps nothing.
            if options.dryRun || !report.agrees { session.rollback() } else { try session.commit() }
            counter.finish()
            return report
        } catch {
            session.rollback()
            // Whatever failed while a data file was read (a duplicate key, a row the store refused)
            // followed from tampering if the file fails its checksum: that is the error to report.
            if let file = reading, let tampered = reader.tampering(of: file, after: error) { throw tampered }
            throw error
        }
    }

    /// The id map always (a later import may need it); the session's own tables where a dataset needs them.
    private func createImportTables() throws {
        try session.createImportTable(.idMap)
        if plan.datasets.contains(where: \.mapping.keyGenerated) { try session.createImportTable(.generatedKeys) }
        if plan.datasets.contains(where: { $0.mapping.keyPosition == nil }) { try session.createImportTable(.occurrences) }
    }

    /// Streams one dataset's records into its table, set-based where the session can, else row by row.
    private func write(_ dataset: ImportPlan.Dataset, ownership: SubjectOwnership) throws -> DatasetReconciliation {
        let mapping = dataset.mapping
        var reconciliation = DatasetReconciliation(dataset: mapping.name, table: mapping.table)
        let records = try reader.records(of: dataset.bundle, registry: formats)
        let bulk = BulkUpsert.session(for: mapping, session)
        let upsert = bulk == nil ? try RecordUpsert(session: session, mapping: mapping, ownership: ownership) : nil
        counter.begin(mapping.name)
        let read = { ReadAheadRecords($0, fieldCount: mapping.bundleFieldCount, importedFields: mapping.importedFields,
                                      chunkSize: RecordUpsert.chunkSize) }
        var ahead = read(records)
        defer { ahead.stop() }
        if let bulk {
            // Its fast path may read the file a second time (then those checksums count).
            ahead = try BulkUpsert(session: bulk, m: mapping, ownership: ownership)
                .write(ahead, reopen: { read(try reader.records(of: dataset.bundle, registry: formats)) }, counter: counter, &reconciliation)
        } else if let upsert {
            while let chunk = try ahead.nextChunk() {
                try upsert.write(chunk, &reconciliation)
                for _ in chunk.records { counter.record() }
            }
            try upsert.finish()
        }
        (reconciliation.bundleChecksum, reconciliation.mappedChecksum) = ahead.checksums
        reconciliation.droppedFields = mapping.droppedFields
        return reconciliation
    }

    /// The dataset as read must be the one its manifest (and, for `transfer`, its maker's) describes.
    private func check(_ reconciliation: DatasetReconciliation, of dataset: ManifestDataset) throws {
        let name = dataset.dataset.name
        guard reconciliation.inBundle == dataset.recordCount else {
            throw DataPortError(.tamperedBundle, "\(name) holds \(reconciliation.inBundle) records, the manifest says \(dataset.recordCount)", at: path, code: .recordCountMismatch)
        }
        if let produced = options.producedBy {
            let made = produced.datasets.first { $0.dataset.name == name }
            guard let made, made.recordCount == reconciliation.inBundle, made.files.map(\.sha256) == dataset.files.map(\.sha256) else {
                throw DataPortError(.reconciliation, "dataset \(name): the bundle read is not the one exported (record count or checksums differ); the import was rolled back", at: path, code: .reconciliation)
            }
        }
    }
}
