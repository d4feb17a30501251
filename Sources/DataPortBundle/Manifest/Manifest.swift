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

    public func serialized() -> [UInt8] { Array(json().serialized(pretty: true).utf8) }

    // MARK: Reading

    /// Parses and checks a manifest. Unknown members, unknown versions and invalid values are refused.
    public static func parse(_ bytes: [UInt8], name: String) throws -> Manifest {
        let reader = JSONReader(InputBuffer(MemorySource(bytes)), name: name, limits: JSONLimits(maxDepth: 16), errorKind: .invalidBundle)
        reader.maxValues = maxJSONValues
        let document = try JSONValue.parse(reader: reader)
        guard try reader.next() == .end else { throw reader.fail("unexpected data after the top-level value") }
        let r = try JSONObjectReader(document, path: "", file: name, errorKind: .invalidBundle)
        guard try r.string("format") == formatName else { throw r.error("not a DataPort manifest") }
        let version = try r.string("formatVersion")
        guard version.split(separator: ".").first == formatVersion.split(separator: ".").first else {
            throw r.error("unsupported bundle format version \(version); this DataPort reads \(formatVersion)", code: .unknownVersion)
        }
        let tool = try r.object("tool")
        _ = try tool.string("name")
        let toolVersion = try tool.string("version")
        try tool.finish()
        func timestamp(_ o: JSONObjectReader, _ key: String) throws -> Timestamp {
            guard let t = Timestamp(try o.string(key)) else { throw o.error("\(key) is not a timestamp") }
            return t
        }
        func file(_ o: JSONObjectReader) throws -> ManifestFile {
            var encoding: [String: String] = [:]
            if let e = try o.optionalObject("encoding") {
                if case .object(let members)? = o.value("encoding") {
                    for m in members { encoding[m.key] = try e.string(m.key) }
                }
                try e.finish()
            }
            let f = ManifestFile(path: try o.string("path"), format: try o.optionalString("format"), mediaType: try o.string("mediaType"),
                                 size: try o.integer("size"), sha256: try o.string("sha256"), encoding: encoding)
            try EntryName.check(f.path, archive: name)
            guard f.size >= 0, f.sha256.count == 64, f.sha256.allSatisfy(\.isHexDigit) else { throw o.error("invalid size or checksum for \(f.path)") }
            try o.finish()
            return f
        }
        let generatedAt = try timestamp(r, "generatedAt")
        let scope = try r.enumeration("scope", Scope.self)
        var presentation = Presentation.default
        if let p = try r.optionalObject("presentation") {
            presentation = Presentation(language: try p.string("language"), timeZone: try p.string("timeZone"))
            guard Presentation.languages.contains(presentation.language) else { throw p.error("unknown presentation language \(presentation.language)") }
            try p.finish()
        }
        let c = try r.object("controller")
        var controller = Controller(name: try c.string("name"), contact: try c.string("contact"),
                                    address: try c.optionalString("address"), dpoContact: try c.optionalString("dpo"))
        if let a = try c.optionalObject("supervisoryAuthority") {
            controller.supervisoryAuthority = SupervisoryAuthority(name: try a.string("name"), address: try a.optionalString("address"),
                                                                   website: try a.optionalString("website"))
            try a.finish()
        }
        try c.finish()
        let s = try r.object("subject")
        let displayName = try s.optionalString("displayName")
        // `finish()` refuses unknown members; it must run (and throw) after the members are read.
        let identities = try s.objects("identities").map { i in
            let identity = Identity(kind: IdentityKind(try i.string("kind")), value: try i.string("value"), foundIn: try i.strings("foundIn"),
                                    shared: try i.bool("shared", default: false))
            try i.finish()
            return identity
        }
        try s.finish()
        let stores = try r.objects("stores").map { o in
            let st = ManifestStore(name: try o.string("name"), type: try o.string("type"), status: try o.string("status"),
                                   reason: try o.optionalString("reason"), readAt: try timestamp(o, "readAt"))
            try o.finish()
            return st
        }
        let categories = try r.objects("categories").map { o -> CategoryDefinition in
            let c = CategoryDefinition(category: try o.enumeration("name", Category.self), title: try o.string("title"), definition: try o.string("definition"))
            guard !c.category.isBuiltIn else { throw o.error("category \(c.category.rawValue) is published; it cannot be defined again") }
            try o.finish()
            return c
        }
        let knownCategories = Set(Category.allCases + categories.map(\.category))
        func category(_ o: JSONObjectReader) throws -> Category {
            let c = try o.enumeration("category", Category.self)
            guard knownCategories.contains(c) else { throw o.error("category \(c.rawValue) is neither published nor defined in categories") }
            return c
        }
        var names = Set<String>()
        let datasets = try r.objects("datasets").map { o -> ManifestDataset in
            let name = try o.string("name")
            guard Dataset.isValidName(name), names.insert(name).inserted else { throw o.error("invalid or duplicate dataset name") }
            let src = try o.object("source")
            let source = Provenance(store: try src.string("store"), connector: try src.string("connector"),
                                    object: try src.string("object"), matchedBy: try src.strings("matchedBy"))
            try src.finish()
            var fieldNames = Set<String>()
            let fields = try o.objects("fields").map { f -> Field in
                let field = Field(name: try f.string("name"), type: try f.enumeration("type", FieldType.self), description: try f.optionalString("description"),
                                  title: try f.optionalString("title"))
                guard Dataset.isValidName(field.name), fieldNames.insert(field.name).inserted else { throw f.error("invalid or duplicate field name in \(name)") }
                try f.finish()
                return field
            }
            let references = try o.objects("references").map { f -> ForeignKey in
                let reference = ForeignKey(field: try f.string("field"), dataset: try f.string("dataset"), key: try f.string("key"))
                try f.finish()
                return reference
            }
            var d = Dataset(name: name, title: try o.string("title"), category: try category(o),
                            description: try o.string("description"), purposes: try o.strings("purposes"),
                            legalBasis: try o.enumeration("legalBasis", LegalBasis.self), origin: try o.enumeration("origin", Origin.self),
                            recipients: try o.strings("recipients"), retention: try o.optionalString("retention"), source: source,
                            fields: fields, key: try o.optionalString("key"), references: references, withheld: try o.strings("withheld"))
            if let a = try o.optionalObject("automatedDecisions") {
                d.automatedDecisions = AutomatedDecisions(logic: try a.string("logic"), consequences: try a.string("consequences"))
                try a.finish()
            }
            d.transfers = try o.objects("transfers").map { t in
                let transfer = ThirdCountryTransfer(country: try t.string("country"), safeguards: try t.string("safeguards"))
                try t.finish()
                return transfer
            }
            d.collectedFrom = try o.optionalString("collectedFrom")
            let count = try o.integer("recordCount")
            guard count >= 0 else { throw o.error("negative record count") }
            let skipped = try o.optionalInteger("skippedLines")
            if let skipped, skipped < 1 { throw o.error("skippedLines must be positive") }
            var withheld: Int64 = 0, included: Int64 = 0
            if let so = try o.optionalObject("sharedOnly") {
                withheld = try so.integer("withheld")
                included = try so.integer("included")
                guard withheld >= 0, included >= 0, included <= count else { throw so.error("invalid sharedOnly counts in \(name)") }
                try so.finish()
            }
            let files = try o.objects("files").map(file)
            try o.finish()
            return ManifestDataset(dataset: d, recordCount: count, files: files, skippedLines: skipped,
                                   sharedWithheld: withheld, sharedIncluded: included)
        }
        let excluded = try r.objects("excluded").map { o in
            let e = ExcludedDataset(name: try o.string("name"), title: try o.string("title"),
                                    category: try category(o), reason: try o.string("reason"))
            try o.finish()
            return e
        }
        let otherFiles = try r.objects("files").map(file)
        try r.finish()
        var paths = Set<String>()
        for f in (datasets.flatMap(\.files) + otherFiles) where !paths.insert(f.path).inserted {
            throw r.error("file \(f.path) is listed twice")
        }
        var manifest = Manifest(toolVersion: toolVersion, generatedAt: generatedAt, scope: scope, controller: controller,
                                subject: Subject(displayName: displayName, identities: identities), stores: stores,
                                datasets: datasets, excluded: excluded, otherFiles: otherFiles)
        manifest.presentation = presentation
        manifest.categories = categories
        return manifest
    }
}
