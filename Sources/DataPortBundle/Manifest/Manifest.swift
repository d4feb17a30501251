import DataPortIO
import DataPortModel

/// A file of the bundle as the manifest lists it.
public struct ManifestFile: Sendable, Hashable {
    /// Path relative to the bundle's top folder.
    public var path: String
    /// The format adapter's name, for data files.
    public var format: String?
    public var mediaType: String
    public var size: Int64
    public var sha256: String
    /// How values were encoded (the adapter's notes).
    public var encoding: [String: String]

    public init(path: String, format: String?, mediaType: String, size: Int64, sha256: String, encoding: [String: String] = [:]) {
        self.path = path; self.format = format; self.mediaType = mediaType; self.size = size; self.sha256 = sha256; self.encoding = encoding
    }
}

/// One dataset in the manifest: its description, how many records, and its files.
public struct ManifestDataset: Sendable, Hashable {
    public var dataset: Dataset
    public var recordCount: Int64
    public var files: [ManifestFile]
    /// Lines of the dataset's log that could not be parsed and were skipped (`skipMalformedLines`),
    /// so were not searched for the subject; `nil` when none were skipped.
    public var skippedLines: Int64?
    /// Records matched only through shared weak identities: left out (`withheld`) or, with
    /// `--include-shared`, part of `recordCount` (`included`). Never anything about the other person.
    public var sharedWithheld: Int64
    public var sharedIncluded: Int64

    public init(dataset: Dataset, recordCount: Int64, files: [ManifestFile], skippedLines: Int64? = nil,
                sharedWithheld: Int64 = 0, sharedIncluded: Int64 = 0) {
        self.dataset = dataset; self.recordCount = recordCount; self.files = files; self.skippedLines = skippedLines
        self.sharedWithheld = sharedWithheld; self.sharedIncluded = sharedIncluded
    }
}

/// A dataset held but left out of this bundle, and why.
public struct ExcludedDataset: Sendable, Hashable {
    public var name: String
    public var title: String
    public var category: Category
    public var reason: String

    public init(name: String, title: String, category: Category, reason: String) {
        self.name = name; self.title = title; self.category = category; self.reason = reason
    }
}

/// One store's outcome in the manifest.
public struct ManifestStore: Sendable, Hashable {
    public var name: String
    public var type: String
    public var status: String
    public var reason: String?
    public var readAt: Timestamp

    public init(name: String, type: String, status: String, reason: String?, readAt: Timestamp) {
        self.name = name; self.type = type; self.status = status; self.reason = reason; self.readAt = readAt
    }
}

/// `manifest.json`: what the bundle holds, where it came from, and the checksums that prove it.
/// Specified in `formats/bundle.md` and `formats/manifest.schema.json`.
public struct Manifest: Sendable, Hashable {
    public static let formatName = "dataport-bundle"
    public static let formatVersion = "1.0"
    /// Most JSON values a manifest may hold: it is read into memory whole, and a million values is some
    /// ten thousand datasets and some 60 MB.
    public static let maxJSONValues = 1_000_000
    /// Largest `manifest.json` a reader accepts, and so a writer writes.
    public static let maxBytes = 16 << 20

    public var toolVersion: String
    public var generatedAt: Timestamp
    public var scope: Scope
    public var controller: Controller
    public var subject: Subject
    public var stores: [ManifestStore]
    public var datasets: [ManifestDataset]
    public var excluded: [ExcludedDataset]
    /// Files other than data files (schemas, the index page, the dataset pages).
    public var otherFiles: [ManifestFile]
    /// The language and time zone of the pages.
    public var presentation: Presentation = .default
    /// The categories the config defined that the datasets use, in the bundle's language.
    public var categories: [CategoryDefinition] = []

    /// The title and definition of `c` for people: the catalogue's for the published vocabulary, else the manifest's.
    public func definition(of c: Category) -> CategoryDefinition? { categories.first { $0.category == c } }

    public init(toolVersion: String, generatedAt: Timestamp, scope: Scope, controller: Controller, subject: Subject,
                stores: [ManifestStore], datasets: [ManifestDataset], excluded: [ExcludedDataset], otherFiles: [ManifestFile]) {
        self.toolVersion = toolVersion; self.generatedAt = generatedAt; self.scope = scope; self.controller = controller
        self.subject = subject; self.stores = stores; self.datasets = datasets; self.excluded = excluded; self.otherFiles = otherFiles
    }

    /// Every file the manifest lists.
    public var allFiles: [ManifestFile] { datasets.flatMap(\.files) + otherFiles }

    // MARK: Writing

    public func json() -> JSONValue {
        func file(_ f: ManifestFile) -> JSONValue {
            .object([
                "path": .string(f.path), "format": f.format.map(JSONValue.string), "mediaType": .string(f.mediaType),
                "size": .integer(f.size), "sha256": .string(f.sha256),
                "encoding": f.encoding.isEmpty ? nil : .object(f.encoding.sorted { $0.key < $1.key }.map { .init($0.key, .string($0.value)) }),
            ])
        }
        func dataset(_ m: ManifestDataset) -> JSONValue {
            let d = m.dataset
            return .object([
                "name": .string(d.name), "title": .string(d.title), "category": .string(d.category.rawValue),
                "description": .string(d.description), "purposes": .array(d.purposes.map(JSONValue.string)),
                "legalBasis": .string(d.legalBasis.rawValue), "origin": .string(d.origin.rawValue),
                "recipients": .array(d.recipients.map(JSONValue.string)), "retention": d.retention.map(JSONValue.string),
                "source": .object([
                    "store": .string(d.source.store), "connector": .string(d.source.connector),
                    "object": .string(d.source.object), "matchedBy": .array(d.source.matchedBy.map(JSONValue.string)),
                ]),
                "key": d.key.map(JSONValue.string),
                "fields": .array(d.fields.map { f in
                    .object(["name": .string(f.name), "type": .string(f.type.rawValue), "title": f.title.map(JSONValue.string),
                             "description": f.description.map(JSONValue.string)])
                }),
                "references": .array(d.references.map { r in
                    .object(["field": .string(r.field), "dataset": .string(r.dataset), "key": .string(r.key)])
                }),
                "withheld": .array(d.withheld.map(JSONValue.string)),
                "automatedDecisions": d.automatedDecisions.map { a in .object(["logic": .string(a.logic), "consequences": .string(a.consequences)]) },
                "transfers": d.transfers.isEmpty ? nil : .array(d.transfers.map { t in .object(["country": .string(t.country), "safeguards": .string(t.safeguards)]) }),
                "collectedFrom": d.collectedFrom.map(JSONValue.string),
                "recordCount": .integer(m.recordCount),
                "skippedLines": m.skippedLines.map(JSONValue.integer),
                "sharedOnly": m.sharedWithheld == 0 && m.sharedIncluded == 0 ? nil
                    : .object(["withheld": .integer(m.sharedWithheld), "included": .integer(m.sharedIncluded)]),
                "files": .array(m.files.map(file)),
            ])
        }
        return .object([
            "format": .string(Self.formatName),
            "formatVersion": .string(Self.formatVersion),
            "tool": .object(["name": .string("dataport"), "version": .string(toolVersion)]),
            "generatedAt": .string(generatedAt.text),
            "scope": .string(scope.rawValue),
            "presentation": .object(["language": .string(presentation.language), "timeZone": .string(presentation.timeZone)]),
            "controller": .object([
                "name": .string(controller.name), "contact": .string(controller.contact),
                "address": controller.address.map(JSONValue.string), "dpo": controller.dpoContact.map(JSONValue.string),
                "supervisoryAuthority": controller.supervisoryAuthority.map { a in
                    .object(["name": .string(a.name), "address": a.address.map(JSONValue.string), "website": a.website.map(JSONValue.string)])
                },
            ]),
            "subject": .object([
                "displayName": subject.displayName.map(JSONValue.string),
                "identities": .array(subject.identities.map { i in
                    .object(["kind": .string(i.kind.rawValue), "value": .string(i.value), "foundIn": .array(i.foundIn.map(JSONValue.string)),
                             "shared": i.shared ? .bool(true) : nil])
                }),
            ]),
            "stores": .array(stores.map { s in
                .object(["name": .string(s.name), "type": .string(s.type), "status": .string(s.status),
                         "reason": s.reason.map(JSONValue.string), "readAt": .string(s.readAt.text)])
            }),
            "categories": categories.isEmpty ? nil : .array(categories.map { c in
                .object(["name": .string(c.category.rawValue), "title": .string(c.title), "definition": .string(c.definition)])
            }),
            "datasets": .array(datasets.map(dataset)),
            "excluded": .array(excluded.map { e in
                .object(["name": .string(e.name), "title": .string(e.title), "category": .string(e.category.rawValue), "reason": .string(e.reason)])
            }),
            "files": .array(otherFiles.map(file)),
        ])
    }

    public func serialized() -> [UInt8] { json().serializedBytes(pretty: true) }

    // Reading: `parse(_:name:)`, in ManifestParsing.swift.
}
