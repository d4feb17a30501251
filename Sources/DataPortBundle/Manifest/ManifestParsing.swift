import DataPortIO
import DataPortModel
import Foundation

// Reading `manifest.json`: one function per part of the document, each refusing unknown members
// (`finish()`, which must run, and throw, after the members are read), unknown versions and
// invalid values. The order of reads is the order of the checks, so the first problem is reported.
extension Manifest {
    /// Parses and checks a manifest. Unknown members, unknown versions and invalid values are refused.
    public static func parse(_ bytes: [UInt8], name: String) throws -> Manifest {
        let r = try document(bytes, name: name)
        let toolVersion = try formatAndTool(r)
        let generatedAt = try timestamp(r, "generatedAt")
        let scope = try r.enumeration("scope", Scope.self)
        let presentation = try self.presentation(r)
        let controller = try r.controller()
        let subject = try self.subject(r)
        let stores = try r.objects("stores").map(store)
        let categories = try r.objects("categories").map(categoryDefinition)
        let known = Set(Category.allCases + categories.map(\.category))
        var names = Set<String>()
        let datasets = try r.objects("datasets").map { try dataset($0, names: &names, categories: known, manifest: name) }
        let excluded = try r.objects("excluded").map { o in
            let e = ExcludedDataset(name: try o.string("name"), title: try o.string("title"),
                                    category: try category(o, known: known), reason: try o.string("reason"))
            try o.finish()
            return e
        }
        let otherFiles = try r.objects("files").map { try file($0, manifest: name) }
        try r.finish()
        var paths = Set<String>()
        for f in (datasets.flatMap(\.files) + otherFiles) where !paths.insert(f.path).inserted {
            throw r.error("file \(f.path) is listed twice")
        }
        var manifest = Manifest(toolVersion: toolVersion, generatedAt: generatedAt, scope: scope, controller: controller,
                                subject: subject, stores: stores, datasets: datasets, excluded: excluded, otherFiles: otherFiles)
        manifest.presentation = presentation
        manifest.categories = categories
        return manifest
    }

    /// The top-level object of strict JSON with the manifest's depth and size limits, and nothing after it.
    private static func document(_ bytes: [UInt8], name: String) throws -> JSONObjectReader {
        let reader = JSONReader(InputBuffer(MemorySource(bytes)), name: name, limits: JSONLimits(maxDepth: 16), errorKind: .invalidBundle)
        reader.maxValues = maxJSONValues
        let document = try JSONValue.parse(reader: reader)
        guard try reader.next() == .end else { throw reader.fail("unexpected data after the top-level value") }
        return try JSONObjectReader(document, path: "", file: name, errorKind: .invalidBundle)
    }

    /// Checks `format` and the major `formatVersion`; the version of the tool that wrote the bundle.
    private static func formatAndTool(_ r: JSONObjectReader) throws -> String {
        guard try r.string("format") == formatName else { throw r.error("not a DataPort manifest") }
        let version = try r.string("formatVersion")
        guard version.split(separator: ".").first == formatVersion.split(separator: ".").first else {
            throw r.error("unsupported bundle format version \(version); this DataPort reads \(formatVersion)", code: .unknownVersion)
        }
        let tool = try r.object("tool")
        _ = try tool.string("name")
        let toolVersion = try tool.string("version")
        try tool.finish()
        return toolVersion
    }

    private static func timestamp(_ o: JSONObjectReader, _ key: String) throws -> Timestamp {
        guard let t = Timestamp(try o.string(key)) else { throw o.error("\(key) is not a timestamp") }
        return t
    }

    /// A listed file; its path must be a safe entry name, its size and SHA-256 well formed.
    private static func file(_ o: JSONObjectReader, manifest name: String) throws -> ManifestFile {
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

    /// The pages' language and time zone; the default when the member is absent (older bundles).
    private static func presentation(_ r: JSONObjectReader) throws -> Presentation {
        guard let p = try r.optionalObject("presentation") else { return .default }
        let presentation = Presentation(language: try p.string("language"), timeZone: try p.string("timeZone"))
        guard Presentation.languages.contains(presentation.language) else { throw p.error("unknown presentation language \(presentation.language)") }
        try p.finish()
        return presentation
    }

    private static func subject(_ r: JSONObjectReader) throws -> Subject {
        let s = try r.object("subject")
        let displayName = try s.optionalString("displayName")
        let identities = try s.objects("identities").map { i in
            let identity = Identity(kind: IdentityKind(try i.string("kind")), value: try i.string("value"), foundIn: try i.strings("foundIn"),
                                    shared: try i.bool("shared", default: false))
            try i.finish()
            return identity
        }
        try s.finish()
        return Subject(displayName: displayName, identities: identities)
    }

    private static func store(_ o: JSONObjectReader) throws -> ManifestStore {
        let st = ManifestStore(name: try o.string("name"), type: try o.string("type"), status: try o.string("status"),
                               reason: try o.optionalString("reason"), readAt: try timestamp(o, "readAt"))
        try o.finish()
        return st
    }

    /// A category the config defined; a published one cannot be defined again.
    private static func categoryDefinition(_ o: JSONObjectReader) throws -> CategoryDefinition {
        let c = CategoryDefinition(category: try o.enumeration("name", Category.self), title: try o.string("title"), definition: try o.string("definition"))
        guard !c.category.isBuiltIn else { throw o.error("category \(c.category.rawValue) is published; it cannot be defined again") }
        try o.finish()
        return c
    }

    /// The `category` member: published, or defined in the manifest's `categories`.
    private static func category(_ o: JSONObjectReader, known: Set<Category>) throws -> Category {
        let c = try o.enumeration("category", Category.self)
        guard known.contains(c) else { throw o.error("category \(c.rawValue) is neither published nor defined in categories") }
        return c
    }

    /// One dataset: its description, its counts (records, skipped lines, shared-only records) and files.
    private static func dataset(_ o: JSONObjectReader, names: inout Set<String>, categories: Set<Category>, manifest: String) throws -> ManifestDataset {
        let name = try o.string("name")
        guard Dataset.isValidName(name), names.insert(name).inserted else { throw o.error("invalid or duplicate dataset name") }
        let d = try datasetDescription(o, name: name, categories: categories)
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
        let files = try o.objects("files").map { try file($0, manifest: manifest) }
        try o.finish()
        return ManifestDataset(dataset: d, recordCount: count, files: files, skippedLines: skipped,
                               sharedWithheld: withheld, sharedIncluded: included)
    }

    /// What a dataset is (the `Dataset` of the model): source, fields, references, purposes and the
    /// rest of what Art. 15 asks to be told.
    private static func datasetDescription(_ o: JSONObjectReader, name: String, categories: Set<Category>) throws -> Dataset {
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
        var d = Dataset(name: name, title: try o.string("title"), category: try category(o, known: categories),
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
        return d
    }
}
