import DataPortAge
import DataPortBundle
import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation

/// Re-encodes a bundle's datasets into other formats, without going back to the stores.
public enum Converter {
    /// Reads every dataset of the bundle at `input` (verifying checksums as it reads) and writes a new
    /// bundle at `output` with the same manifest metadata and files in `formats`.
    public static func convert(input: String, output: String, formats: [any FormatAdapter], archive: ArchiveKind = .zip,
                               registry: FormatRegistry = .standard, limits: ArchiveLimits = .default,
                               encryption: AgeEncryption? = nil, progress: (any ProgressObserver)? = nil) throws -> ExportResult {
        try OutputPath.check(output, protected: [input])
        let reader = try BundleReader(path: input, limits: limits)
        // Everything but the data files read below is checked first; those are checked as they are
        // read (size, SHA-256, record count), and any failure discards the half-written output.
        let streamed = Set(try reader.manifest.datasets.map { try reader.file(of: $0).path })
        _ = try reader.verify(registry: registry, except: streamed, progress: progress)
        let source = reader.manifest
        let writer = try BundleWriter(output: output, kind: archive, generatedAt: source.generatedAt, layer: encryption?.layer)
        let passes = DataFiles.readsOnce(formats, into: writer) ? 1 : formats.count
        let total = source.datasets.reduce(0) { $0 + $1.recordCount } * Int64(passes)
        let counter = ProgressCounter(phase: "convert", totalRecords: total, observer: progress)
        var datasets: [ManifestDataset] = []
        var pageFiles: [ManifestFile] = []
        for d in source.datasets {
            // The pages are made again from the records, in the bundle's language: never read back.
            let pages = try DatasetPages(dataset: d.dataset, presentation: source.presentation, deflateAhead: writer.acceptsSpools)
            // A file that fails its checksum is the cause of whatever its records led to.
            let files = try reader.blamingTampering(of: try reader.file(of: d)) {
                try DataFiles.write(d.dataset, formats: formats, to: writer, pages: pages, counter: counter, read: { body in
                    let records = try reader.records(of: d, registry: registry)
                    var n = 0
                    while let r = try records.next() {
                        try body(r)
                        n += 1
                    }
                    return n
                }) { n in
                    guard Int64(n) == d.recordCount else {
                        throw DataPortError(.tamperedBundle, "dataset \(d.dataset.name) holds \(n) records, the manifest says \(d.recordCount)", at: input, code: .recordCountMismatch)
                    }
                }
            }
            pageFiles += try pages.write(to: writer, controller: source.controller.name)
            datasets.append(ManifestDataset(dataset: d.dataset, recordCount: d.recordCount, files: files, skippedLines: d.skippedLines))
        }
        var manifest = source
        manifest.toolVersion = dataportVersion
        manifest.datasets = datasets
        manifest.otherFiles = pageFiles
        let result = try Exporter.complete(writer, manifest: manifest, formats: formats)
        counter.finish()
        return result
    }
}
