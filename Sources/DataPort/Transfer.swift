import DataPortBundle
import DataPortImport
import DataPortIO
import DataPortModel
import DataPortStores
import Foundation

/// What a transfer did: the export and the import of the same bundle.
public struct TransferResult: Sendable {
    public var exported: ExportResult
    public var imported: ImportReport
}

/// Moves one subject from one controller's stores to another's in one process (GDPR Art. 20(2)).
///
/// The bundle is written, whole, into a private temporary file (mode 0600, unlinked at once, so
/// nothing is left whatever happens) and then imported from it: the import verifies it like any
/// bundle (every file's SHA-256, record counts, the manifest) and, before COMMIT, that what it read
/// is what the export produced (`ImportOptions.producedBy`). A file rather than a pipe between two
/// threads: the import verifies a bundle completely before it writes anything, and a zip is read
/// from its end, so a pipe would be spooled anyway; one file keeps one code path with `import`.
public enum Transfer {
    /// How reports and errors name the bundle, which has no path.
    public static let name = "(transfer)"

    public static func run(from source: StoresConfig, identities: [Identity], to target: StoresConfig,
                           export: ExportOptions, import options: ImportOptions,
                           progress: (any ProgressObserver)? = nil) throws -> TransferResult {
        let spool = try TemporaryFile()
        let exported = try Exporter.export(config: source, identities: identities, name: name, options: export, stores: .standard,
                                           progress: progress) { spool.truncate(); return spool }
        var options = options
        options.producedBy = exported.manifest
        var report: ImportReport
        do {
            report = try Importer.run(bundle: spool.reopenPath, config: target, options: options, progress: progress)
        } catch var e as DataPortError {
            // The private file's path means nothing to a person: name the transfer instead.
            e.location = e.location.map { $0.replacingOccurrences(of: spool.reopenPath, with: name) }
            e.message = e.message.replacingOccurrences(of: spool.reopenPath, with: name)
            throw e
        }
        report.bundle = name
        return TransferResult(exported: exported, imported: report)
    }
}
