import DataPortAge
import DataPortBundle
import DataPortFormats
import DataPortIO
import DataPortModel
import DataPortStores
import Foundation

/// The version of DataPort, written into every manifest.
public let dataportVersion = "0.1.0"

/// How an export is made.
public struct ExportOptions: Sendable {
    public var formats: [any FormatAdapter]
    public var scope: Scope
    /// Pins the bundle's time (and so makes it byte-for-byte reproducible); `nil` means now.
    public var generatedAt: Timestamp?
    public var archive: ArchiveKind
    /// Write the bundle even when a store cannot be read, recording the failure.
    public var allowPartial: Bool
    /// Encrypt the bundle (age); the caller names the output (the CLI appends `.age`).
    public var encryption: AgeEncryption?
    /// When no store holds a record about the subject, write a bundle with zero records that says
    /// so (the confirmation Art. 15(1) requires) instead of throwing `subjectNotFound`.
    public var allowEmpty = false
    /// Include the rows matched only through weak identities another person shares (an access
    /// request where the controller has checked them); they are counted in the manifest either way.
    public var includeShared = false
    /// The pages' language and time zone instead of the config's (`--language`, `--time-zone`;
    /// checked with `StoresConfig.parsePresentation`).
    public var language: String?
    public var timeZone: String?

    public init(formats: [any FormatAdapter] = [JSONFormat()], scope: Scope = .portability, generatedAt: Timestamp? = nil,
                archive: ArchiveKind = .zip, allowPartial: Bool = false) {
        self.formats = formats; self.scope = scope; self.generatedAt = generatedAt; self.archive = archive; self.allowPartial = allowPartial
    }
}

/// What an export produced.
public struct ExportResult: Sendable {
    public var output: String
    public var manifest: Manifest
    /// Size of the bundle file.
    public var bytes: Int64
    public var records: Int64 { manifest.datasets.reduce(0) { $0 + $1.recordCount } }
}

/// Gathers one subject from the stores and writes their bundle.
public enum Exporter {
    /// Exports the subject found by `identities` into a bundle at `output`.
    ///
    /// Streams: each dataset's records go from the store through the format writer into the
    /// archive without being collected. Throws `subjectNotFound` (and writes nothing) when no store
    /// holds a record about the subject, unless `options.allowEmpty`.
    ///
    /// With `allowPartial`, a store that fails while it is read (a bad cell, a malformed log line)
    /// is recorded as failed and the bundle is written again from the start without it: all of that
    /// store's datasets are left out (listed as excluded), none half-written, and the identities it
    /// yielded are resolved away. Every other store is read from the same snapshot.
    public static func export(config: StoresConfig, identities: [Identity], output: String, options: ExportOptions,
                              stores: StoreRegistry = .standard, progress: (any ProgressObserver)? = nil) throws -> ExportResult {
        // Before any store is read: a refused output or identity costs nothing and touches nothing.
        try OutputPath.check(output, protected: config.ownFiles)
        return try export(config: config, identities: identities, name: output, options: options, stores: stores,
                          progress: progress) { try destination(output, options) }
    }

    /// Exports into a new `destination()` for each attempt; `name` names the bundle in the result.
    /// A batch passes its open connectors (`pool`) and its constant entries (`cache`).
    static func export(config: StoresConfig, identities: [Identity], name: String, options: ExportOptions, stores: StoreRegistry,
                       pool: ConnectorPool? = nil, cache: EntryCache? = nil,
                       progress: (any ProgressObserver)?, destination: () throws -> any BundleDestination) throws -> ExportResult {
        try checkIdentities(identities)
        let gathering = try Gathering(config: config, registry: stores, request: identities, allowPartial: options.allowPartial,
                                      includeShared: options.includeShared, pool: pool)
        defer { gathering.close() }
        let generatedAt = options.generatedAt ?? Timestamp.now()
        while true {
            do {
                return try write(gathering, config: config, output: name, options: options, generatedAt: generatedAt,
                                 progress: progress, destination: try destination(), cache: cache)
            } catch let e as DataPortError where options.allowPartial && e.kind == .store {
                guard let store = gathering.failedStore else { throw e }
                try gathering.fail(store, reason: e.description)
            }
        }
    }

    /// One attempt at writing the bundle from an open gathering (the writer discards its partial
    /// file when this throws).
    static func write(_ gathering: Gathering, config: StoresConfig, output: String, options: ExportOptions,
                      generatedAt: Timestamp, progress: (any ProgressObserver)?, destination: any BundleDestination,
                      cache: EntryCache? = nil) throws -> ExportResult {
        let counter = ProgressCounter(phase: "export", observer: progress)
        let writer = try BundleWriter(destination: destination, output: output, kind: options.archive,
                                      generatedAt: generatedAt, layer: options.encryption?.layer, cache: cache)
        var datasets: [ManifestDataset] = []
        var excluded: [ExcludedDataset] = []
        var pageFiles: [ManifestFile] = []
        let presentation = presentation(config, options)
        for d in config.datasets {
            let meta = d.metadata(language: presentation.language)
            if let reason = exclusionReason(d, meta, gathering, options) {
                excluded.append(ExcludedDataset(name: meta.name, title: meta.title, category: meta.category, reason: reason))
                continue
            }
            let pages = try DatasetPages(dataset: meta, presentation: presentation, deflateAhead: writer.acceptsSpools)
            let (files, count) = try writeData(of: d, meta, gathering, formats: options.formats, to: writer, pages: pages, counter: counter)
            pageFiles += try pages.write(to: writer, controller: config.controller.name)
            var m = ManifestDataset(dataset: meta, recordCount: count, files: files, skippedLines: skipped(gathering, d))
            // How many of the dataset's rows match only through shared identities.
            let shared = Int64(try gathering.sharedOnlyCount(d))
            if options.includeShared { m.sharedIncluded = shared } else { m.sharedWithheld = shared }
            datasets.append(m)
        }
        // Records withheld as shared are held about the subject: the bundle must say so.
        let total = datasets.reduce(Int64(0)) { $0 + $1.recordCount }
        let withheld = datasets.reduce(Int64(0)) { $0 + $1.sharedWithheld }
        guard total > 0 || withheld > 0 || options.allowEmpty else {
            writer.discard()
            throw DataPortError(.subjectNotFound, "no store holds any record about the given identities", code: .subjectNotFound)
        }
        var manifest = Manifest(
            toolVersion: dataportVersion, generatedAt: generatedAt, scope: options.scope, controller: config.controller,
            subject: Subject(displayName: gathering.displayName, identities: gathering.identities),
            stores: gathering.statuses.map { ManifestStore(name: $0.name, type: $0.type, status: $0.state.rawValue, reason: $0.reason.map(forThePerson), readAt: generatedAt) },
            datasets: datasets, excluded: excluded, otherFiles: pageFiles)
        manifest.presentation = presentation
        manifest.categories = config.categoryDefinitions(used: datasets.map(\.dataset.category) + excluded.map(\.category),
                                                         language: presentation.language)
        let result = try complete(writer, manifest: manifest, formats: options.formats)
        counter.finish()
        return result
    }

    /// The config's presentation, with the options' language and time zone where given.
    private static func presentation(_ config: StoresConfig, _ options: ExportOptions) -> Presentation {
        var presentation = config.presentation
        if let l = options.language { presentation.language = l }
        if let z = options.timeZone { presentation.timeZone = z }
        return presentation
    }

    /// Why a dataset is left out of the bundle (the scope, or its store could not be read); `nil` to include it.
    private static func exclusionReason(_ d: DatasetConfig, _ meta: Dataset, _ gathering: Gathering, _ options: ExportOptions) -> String? {
        if let reason = options.scope.exclusionReason(origin: meta.origin, legalBasis: meta.legalBasis) { return reason }
        return gathering.isAvailable(d) ? nil : "store \(d.store) could not be read"
    }

    /// The dataset's data files and record count. Each format that reads the store again must find
    /// the same number of records: a store written to meanwhile is a store error, not a bundle whose
    /// files disagree.
    private static func writeData(of d: DatasetConfig, _ meta: Dataset, _ gathering: Gathering, formats: [any FormatAdapter],
                                  to writer: BundleWriter, pages: DatasetPages, counter: ProgressCounter) throws -> ([ManifestFile], Int64) {
        var count: Int?
        let files = try DataFiles.write(meta, formats: formats, to: writer, pages: pages, counter: counter,
                                        read: { try gathering.read(d, into: $0) }) { n in
            if let count, n != count {
                throw DataPortError(.store, "dataset \(meta.name) changed while it was read", at: "store \(d.store)")
            }
            count = n
        }
        // No format at all: nothing was read (the manifest has always said -1 then).
        return (files, count.map(Int64.init) ?? -1)
    }

    /// A store's failure as the manifest, which the person receives, words it: the name of an
    /// environment variable tells them nothing and tells others how the controller's machines are
    /// set up (the operator's error message on stderr keeps it).
    static func forThePerson(_ reason: String) -> String {
        reason.replacing(/environment variable [A-Za-z_][A-Za-z0-9_]*/, with: "environment variable")
    }

    /// The malformed lines the dataset's last read skipped, for the manifest (`nil` for none).
    private static func skipped(_ gathering: Gathering, _ d: DatasetConfig) -> Int64? {
        gathering.skippedLines(d).flatMap { $0 > 0 ? Int64($0) : nil }
    }

    /// Refuses identities holding a control character (`usage`): a store may cut a value at NUL
    /// (SQLite's binding does), so `ana@example.com<NUL>-other` would match Ana. No value in the message.
    public static func checkIdentities(_ identities: [Identity]) throws {
        for id in identities where id.value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw DataPortError(.usage, "identity \(id.kind.rawValue) holds a control character; identities may not")
        }
    }

    /// Adds what every bundle carries besides its data and pages (`manifest.otherFiles` holds the
    /// pages already written): schemas, `datapackage.json`, `index.html`; then the manifest and
    /// BagIt files, and moves the bundle into place.
    static func complete(_ writer: BundleWriter, manifest: Manifest, formats: [any FormatAdapter]) throws -> ExportResult {
        var manifest = manifest
        manifest.otherFiles += try writeSchemas(writer, formats: formats, datasets: manifest.datasets.map(\.dataset))
        if let descriptor = DataPackage.descriptor(manifest) {
            let entry = try writer.addFile(DataPackage.fileName, contents: descriptor.serializedBytes())
            manifest.otherFiles.append(ManifestFile(path: DataPackage.fileName, format: nil, mediaType: "application/json", size: entry.size, sha256: entry.sha256))
        }
        let page = IndexPage.render(manifest)
        let entry = try writer.addFile("index.html", contents: Array(page.utf8))
        manifest.otherFiles.append(ManifestFile(path: "index.html", format: nil, mediaType: "text/html", size: entry.size, sha256: entry.sha256))
        try writer.commit(manifest: manifest)
        return ExportResult(output: writer.output, manifest: manifest, bytes: writer.bytesWritten)
    }

    /// Where an attempt writes. A stream cannot be rewound, and `allowPartial` may start the bundle
    /// again without a failed store: then the bundle goes to a private spool and onto the stream
    /// only when it is complete. Otherwise it streams as it is made.
    static func destination(_ output: String, _ options: ExportOptions) throws -> any BundleDestination {
        guard output == "-" else { return try PartialFile(destination: output) }
        return options.allowPartial ? try SpooledStreamDestination(StreamDestination()) : StreamDestination()
    }

    /// Copies the published schemas of the bundle and of each format into `schemas/`, then the
    /// schemas the formats make for each dataset.
    static func writeSchemas(_ writer: BundleWriter, formats: [any FormatAdapter], datasets: [Dataset]) throws -> [ManifestFile] {
        var files: [ManifestFile] = []
        var schemas = [SchemaFile(name: "manifest.schema.json", contents: Manifest.schema)]
        for f in formats { schemas += f.schemaFiles }
        for f in formats { schemas += datasets.compactMap { f.schemaFile(for: $0) } }
        for s in schemas {
            let path = "schemas/\(s.name)"
            let entry = try writer.addFile(path, contents: Array(s.contents.utf8))
            let media = s.name.hasSuffix(".xsd") ? "application/xml" : "application/schema+json"
            files.append(ManifestFile(path: path, format: nil, mediaType: media, size: entry.size, sha256: entry.sha256))
        }
        return files
    }
}

extension StoresConfig {
    /// The files an output must never replace: the config itself, each SQLite database (with its
    /// journal, WAL and shared-memory files) and `initScript`, and each file a CSV, JSONL or
    /// access-log dataset reads in its store's folder.
    public var ownFiles: [String] {
        var files = [file]
        for s in stores {
            if let p = s.path("initScript") { files.append(p) }
            guard let p = s.path("path") else { continue }
            let named = s.datasets.compactMap { d -> String? in
                if case .file(let f) = d.source { return URL(fileURLWithPath: p).appendingPathComponent(f).path }
                return nil
            }
            files += named.isEmpty ? [p, p + "-journal", p + "-wal", p + "-shm"] : named
        }
        return files
    }
}
