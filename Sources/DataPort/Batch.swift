import DataPortBundle
import DataPortIO
import DataPortModel
import DataPortStores
import Foundation

/// Many subjects exported with one config and one set of options (`export --subjects`). What a
/// bundle does not depend on is set up once per batch instead of once per subject: the files an
/// output must not replace, and the compressed constant entries (`EntryCache`, shared by every
/// job); each job (`Worker`) keeps its stores open and validated between subjects. Every bundle is
/// byte for byte the one `Exporter.export` writes for the same subject and options.
public final class BatchExporter: Sendable {
    public let config: StoresConfig
    public let options: ExportOptions
    let registry: StoreRegistry
    let ownFiles: ProtectedFiles
    let cache = EntryCache()

    public init(config: StoresConfig, options: ExportOptions, stores: StoreRegistry = .standard) {
        self.config = config
        self.options = options
        registry = stores
        ownFiles = ProtectedFiles(config.ownFiles)
    }

    /// A job's exporter: its own open connectors, used from one thread at a time. Connectors are
    /// not shared between jobs: each subject reads one snapshot, a transaction of one connection.
    public func makeWorker() -> Worker { Worker(batch: self) }

    public final class Worker {
        public let batch: BatchExporter
        let pool: ConnectorPool

        init(batch: BatchExporter) {
            self.batch = batch
            pool = ConnectorPool(registry: batch.registry)
        }

        /// Exports one subject into a bundle at `output`, as `Exporter.export` does. After a store
        /// (or internal) failure the open connectors are closed, so the next subject starts afresh.
        public func export(identities: [Identity], output: String, progress: (any ProgressObserver)? = nil) throws -> ExportResult {
            try export(identities, output, progress) { try Exporter.destination(output, batch.options) }
        }

        /// `export(identities:output:progress:)`, but the bundle is left written and closed under
        /// its hidden name, not yet synced nor in place: the caller makes it durable and moves it
        /// with others (`SyncGroup.commit`), one sync for many bundles.
        public func exportSyncingLater(identities: [Identity], output: String,
                                       progress: (any ProgressObserver)? = nil) throws -> (result: ExportResult, file: PendingFile) {
            var last: PartialFile?
            let result = try export(identities, output, progress) {
                let file = try PartialFile(destination: output, syncLater: true)
                last = file
                return file
            }
            guard let pending = last?.unsynced else { throw DataPortError(.internal, "a bundle was not left to be synced") }
            return (result, pending)
        }

        private func export(_ identities: [Identity], _ output: String, _ progress: (any ProgressObserver)?,
                            destination: () throws -> any BundleDestination) throws -> ExportResult {
            let b = batch
            try OutputPath.check(output, protected: b.ownFiles)
            do {
                return try Exporter.export(config: b.config, identities: identities, name: output, options: b.options, stores: b.registry,
                                           pool: pool, cache: b.cache, progress: progress, destination: destination)
            } catch {
                if (error as? DataPortError).map({ $0.kind == .store || $0.kind == .internal }) ?? true { pool.closeAll() }
                throw error
            }
        }
    }
}
