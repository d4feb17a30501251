import DataPortIO
import DataPortModel
import Foundation

/// How a dataset's rows link to the subject.
public enum Match: Sendable, Hashable {
    /// Rows whose `field` equals one of the subject's identities of `kind`.
    case identity(kind: IdentityKind, field: String)
    /// Rows whose `field` equals the key of a row of `dataset` (in the same store) that belongs to the subject.
    case reference(field: String, dataset: String, key: String)

    public var field: String {
        switch self { case .identity(_, let f), .reference(let f, _, _): f }
    }
    /// How provenance names it: the identity kind or `dataset.key`.
    public var label: String {
        switch self {
        case .identity(let k, _): k.rawValue
        case .reference(_, let d, let k): "\(d).\(k)"
        }
    }
}

/// One field as configured: its name in the model, its column in the store, its type; or a secret.
public struct FieldConfig: Sendable, Hashable {
    public var name: String
    public var column: String
    public var type: FieldType
    public var description: String?
    /// The field's title and description by language (`title`, `description` in the config).
    public var titles: LocalizedText?
    public var descriptions: LocalizedText?
    /// Held in the store but never exported (password hashes, tokens).
    public var secret: Bool
    /// A key the store assigns itself (an identity or serial column): imports map bundle keys to it.
    public var generated: Bool
}

/// Where a dataset's rows live in its store.
public enum SourceObject: Sendable, Hashable {
    case table(String)
    case query(String)
    case file(String)

    public var label: String {
        switch self {
        case .table(let t): t
        case .query: "query"
        case .file(let f): f
        }
    }
}

/// One dataset of a store, as the config declares it.
public struct DatasetConfig: Sendable {
    public var name: String
    public var store: String
    public var source: SourceObject
    public var metadata: Dataset
    public var key: String?
    public var matches: [Match]
    /// Identities this dataset reveals: the values of `field` become identities of `kind`.
    public var yields: [(kind: IdentityKind, field: String)]
    /// All configured fields, secrets included, in order.
    public var fields: [FieldConfig]
    /// Access logs only: lines that do not parse are skipped and counted instead of failing the read.
    public var skipMalformedLines = false
    /// The dataset's title and description by language, when the config gives them so.
    public var titles: LocalizedText?
    public var descriptions: LocalizedText?
    /// Art. 15 information by language: automated decisions (logic, consequences), transfers
    /// (country, safeguards), where the data came from.
    public var automatedDecisions: (logic: LocalizedText, consequences: LocalizedText)?
    public var transfers: [(country: LocalizedText, safeguards: LocalizedText)] = []
    public var collectedFrom: LocalizedText?

    /// The dataset's metadata with its titles and descriptions in `language`.
    public func metadata(language: String) -> Dataset {
        var m = metadata
        if let t = titles { m.title = t.text(language) }
        if let d = descriptions { m.description = d.text(language) }
        m.automatedDecisions = automatedDecisions.map { AutomatedDecisions(logic: $0.logic.text(language), consequences: $0.consequences.text(language)) }
        m.transfers = transfers.map { ThirdCountryTransfer(country: $0.country.text(language), safeguards: $0.safeguards.text(language)) }
        m.collectedFrom = collectedFrom?.text(language)
        let byName = Dictionary(fields.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        m.fields = m.fields.map { f in
            var f = f
            if let t = byName[f.name]?.titles { f.title = t.text(language) }
            if let d = byName[f.name]?.descriptions { f.description = d.text(language) }
            return f
        }
        return m
    }
    /// What `dataport erase` does with the dataset (`erasure`); `nil` when nobody decided.
    public var erasure: ErasurePolicy?

    /// The exported fields (secrets left out), in order.
    public var exportedFields: [FieldConfig] { fields.filter { !$0.secret } }

    public func field(named name: String) -> FieldConfig? { fields.first { $0.name == name } }
}

/// One store: a connector type, where it is, and its datasets.
public struct StoreConfig: Sendable {
    public var name: String
    public var type: String
    /// Connector-specific settings (`path`, `url`, `delimiter`, ...), all strings; relative paths
    /// are resolved against the config file's folder.
    public var options: [String: String]
    public var datasets: [DatasetConfig]
    /// The folder of the config file.
    public var baseDirectory: String

    /// An option as a path resolved against the config's folder.
    public func path(_ option: String) -> String? {
        guard let p = options[option] else { return nil }
        return p.hasPrefix("/") ? p : URL(fileURLWithPath: baseDirectory).appendingPathComponent(p).standardizedFileURL.path
    }
}

/// How far identity resolution may go before it fails (`resolution` in the config): it runs to a
/// fixed point, and reaching a limit first is an error naming it (exit 9), never a silent cut.
public struct ResolutionLimits: Sendable, Hashable {
    /// The most identity values one subject may resolve to.
    public var maxIdentities: Int
    /// The most rounds of following `yields` (a chain of N links needs N+1 rounds).
    public var maxRounds: Int
    public static let `default` = ResolutionLimits(maxIdentities: 10_000, maxRounds: 1_000)
    public init(maxIdentities: Int, maxRounds: Int) { self.maxIdentities = maxIdentities; self.maxRounds = maxRounds }
}

/// The stores config: who the controller is, which stores hold what, and how it links to a subject.
/// Documented in `formats/stores-config.md` and `formats/stores-config.schema.json`.
public struct StoresConfig: Sendable {
    public var controller: Controller
    /// The dataset field whose value names the subject (for the index page), if any.
    public var subjectName: (dataset: String, field: String)?
    public var stores: [StoreConfig]
    public var file: String
    /// The normal form of kinds the config declares (`identityKinds.KIND.form`); others use their default.
    public var identityForms: [IdentityKind: IdentityForm] = [:]
    /// The strength of kinds the config declares (`identityKinds.KIND.strength`); others use their default.
    public var identityStrengths: [IdentityKind: IdentityStrength] = [:]
    public func strength(_ kind: IdentityKind) -> IdentityStrength { identityStrengths[kind] ?? kind.defaultStrength }
    public func form(_ kind: IdentityKind) -> IdentityForm { identityForms[kind] ?? kind.defaultForm }
    public var resolution: ResolutionLimits = .default
    /// The pages' language and time zone (`language`, `timeZone`).
    public var presentation: Presentation = .default
    /// Categories the config defines besides the published ones, with title and definition by language.
    public var categories: [(category: Category, title: LocalizedText, definition: LocalizedText)] = []

    /// The defined categories among `used`, in `language` (for the manifest).
    public func categoryDefinitions(used: [Category], language: String) -> [CategoryDefinition] {
        categories.filter { used.contains($0.category) }.map { CategoryDefinition(category: $0.category, title: $0.title.text(language), definition: $0.definition.text(language)) }
    }
    /// What `dataport object` writes, per purpose (`objections`).
    public var objections: [String: [ObjectionRule]] = [:]

    /// The identity kinds some dataset matches on: the kinds a request can use.
    public var matchedKinds: [IdentityKind] {
        Set(datasets.flatMap { $0.matches.compactMap { if case .identity(let k, _) = $0 { k } else { nil } } }).sorted()
    }

    public var datasets: [DatasetConfig] { stores.flatMap(\.datasets) }

    public func dataset(named name: String) -> DatasetConfig? { datasets.first { $0.name == name } }

    /// Loads and checks a config file. Errors are `invalidConfig` and name the culprit.
    public static func load(path: String) throws -> StoresConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataPortError(.invalidConfig, "cannot read the config file", at: path)
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse([UInt8](data), file: path, baseDirectory: base)
    }

    /// Parses and checks config text.
    public static func parse(_ bytes: [UInt8], file: String, baseDirectory: String) throws -> StoresConfig {
        let root = try JSONObjectReader(JSONValue.parse(bytes, name: file, errorKind: .invalidConfig), path: "", file: file, errorKind: .invalidConfig)
        _ = root.value("$schema")
        let version = try root.string("version")
        guard version == "1" else { throw root.error("unsupported config version \(version); this DataPort reads version 1") }
        let controller = try root.controller()
        var subjectName: (String, String)?
        if let s = try root.optionalObject("subjectName") {
            subjectName = (try s.string("dataset"), try s.string("field"))
            try s.finish()
        }
        var forms: [IdentityKind: IdentityForm] = [:]
        var strengths: [IdentityKind: IdentityStrength] = [:]
        if let kinds = try root.optionalObject("identityKinds") {
            for name in kinds.keys {
                guard Dataset.isValidName(name) else { throw kinds.error("identityKinds: kind '\(name)' must match [a-z][a-z0-9_]*") }
                let k = try kinds.object(name)
                if k.value("form") != nil {
                    let form = try k.enumeration("form", IdentityForm.self)
                    // A request's identities are normalised before the config is read: the built-in
                    // kinds keep their forms.
                    guard IdentityKind(name) != .email && IdentityKind(name) != .ip || form == IdentityKind(name).defaultForm else {
                        throw kinds.error("identityKinds.\(name).form: the form of \(name) is fixed (\(IdentityKind(name).defaultForm.rawValue))")
                    }
                    forms[IdentityKind(name)] = form
                }
                if k.value("strength") != nil { strengths[IdentityKind(name)] = try k.enumeration("strength", IdentityStrength.self) }
                try k.finish()
            }
            try kinds.finish()
        }
        var resolution = ResolutionLimits.default
        if let r = try root.optionalObject("resolution") {
            for (key, path) in [("maxIdentities", \ResolutionLimits.maxIdentities), ("maxRounds", \ResolutionLimits.maxRounds)] {
                guard let n = try r.optionalInteger(key) else { continue }
                guard (1...10_000_000).contains(n) else { throw r.error("resolution.\(key) must be between 1 and 10000000") }
                resolution[keyPath: path] = Int(n)
            }
            try r.finish()
        }
        let presentation = try parsePresentation(language: try root.optionalString("language"), timeZone: try root.optionalString("timeZone")) {
            root.error($0)
        }
        var categories: [(Category, LocalizedText, LocalizedText)] = []
        if let cs = try root.optionalObject("categories") {
            for name in cs.keys {
                guard let c = Category(rawValue: name), !c.isBuiltIn else {
                    throw cs.error("categories: '\(name)' must match [a-z][a-z0-9-]* and not be a published category (formats/categories.md)")
                }
                let o = try cs.object(name)
                guard let title = try localized(o, "title", in: "categories.\(name)"), let definition = try localized(o, "definition", in: "categories.\(name)") else {
                    throw o.error("categories.\(name) needs a title and a definition")
                }
                try o.finish()
                categories.append((c, title, definition))
            }
            try cs.finish()
        }
        var stores: [StoreConfig] = []
        for s in try root.objects("stores") {
            stores.append(try parseStore(s, baseDirectory: baseDirectory))
        }
        let objections = try root.optionalObject("objections").map { try ObjectionRule.parse($0, datasets: stores.flatMap(\.datasets)) } ?? [:]
        try root.finish()
        var config = StoresConfig(controller: controller, subjectName: subjectName, stores: stores, file: file)
        config.identityForms = forms
        config.identityStrengths = strengths
        config.resolution = resolution
        config.presentation = presentation
        config.categories = categories
        config.objections = objections
        try config.check()
        return config
    }

    private static func parseStore(_ s: JSONObjectReader, baseDirectory: String) throws -> StoreConfig {
        let name = try s.string("name")
        guard Dataset.isValidName(name) else { throw s.error("\(s.path).name '\(name)' must match [a-z][a-z0-9_]*") }
        let type = try s.string("type")
        var options: [String: String] = [:]
        if let raw = s.value("options"), raw != .null {
            guard case .object(let members) = raw else { throw s.error("\(s.path).options must be an object") }
            for m in members {
                switch m.value {
                case .string(let v): options[m.key] = v
                case .number(let n): options[m.key] = n
                case .bool(let b): options[m.key] = b ? "true" : "false"
                default: throw s.error("\(s.path).options.\(m.key) must be a string")
                }
            }
        }
        var datasets: [DatasetConfig] = []
        for d in try s.objects("datasets") {
            datasets.append(try parseDataset(d, store: name, connector: type))
        }
        try s.finish()
        return StoreConfig(name: name, type: type, options: options, datasets: datasets, baseDirectory: baseDirectory)
    }

    private static func parseDataset(_ d: JSONObjectReader, store: String, connector: String) throws -> DatasetConfig {
        let name = try d.string("name")
        guard Dataset.isValidName(name) else { throw d.error("\(d.path).name '\(name)' must match [a-z][a-z0-9_]*") }
        let where_ = "dataset \(name)"
        let table = try d.optionalString("table"), query = try d.optionalString("query"), file = try d.optionalString("file")
        let source: SourceObject
        switch (table, query, file) {
        case (let t?, nil, nil): source = .table(t)
        case (nil, let q?, nil): source = .query(q)
        case (nil, nil, let f?): source = .file(f)
        default: throw d.error("\(where_): give exactly one of table, query or file")
        }
        var fields: [FieldConfig] = []
        for f in try d.objects("fields") {
            let fname = try f.string("name")
            guard Dataset.isValidName(fname) else { throw f.error("\(where_): field name '\(fname)' must match [a-z][a-z0-9_]*") }
            let secret = try f.bool("secret", default: false)
            let type: FieldType = secret && f.value("type") == nil ? .string : try f.enumeration("type", FieldType.self)
            let titles = try localized(f, "title", in: "\(where_) field \(fname)")
            let descriptions = try localized(f, "description", in: "\(where_) field \(fname)")
            var field = FieldConfig(name: fname, column: try f.optionalString("column") ?? fname, type: type,
                                    description: descriptions?.text("en"), secret: secret,
                                    generated: try f.bool("generated", default: false))
            field.titles = titles
            field.descriptions = descriptions
            fields.append(field)
            try f.finish()
        }
        guard !fields.isEmpty else { throw d.error("\(where_): fields must not be empty") }
        var matches: [Match] = []
        for m in try d.objects("match") {
            let field = try m.string("field")
            if let kind = try m.optionalString("identity") {
                matches.append(.identity(kind: IdentityKind(kind), field: field))
            } else if let ref = try m.optionalString("references") {
                let parts = ref.split(separator: ".").map(String.init)
                guard parts.count == 2 else { throw m.error("\(where_): references must be 'dataset.field'") }
                matches.append(.reference(field: field, dataset: parts[0], key: parts[1]))
            } else {
                throw m.error("\(where_): a match needs identity or references")
            }
            try m.finish()
        }
        var yields: [(IdentityKind, String)] = []
        for y in try d.objects("yields") {
            yields.append((IdentityKind(try y.string("identity")), try y.string("field")))
            try y.finish()
        }
        let key = try d.optionalString("key")
        let skipMalformedLines = try d.bool("skipMalformedLines", default: false)
        if skipMalformedLines && connector != "accesslog" {
            throw d.error("\(where_): skipMalformedLines applies to accesslog datasets only")
        }
        let exported = fields.filter { !$0.secret }
        var automated: (LocalizedText, LocalizedText)?
        if let a = try d.optionalObject("automatedDecisions") {
            guard let logic = try localized(a, "logic", in: "\(where_) automatedDecisions"),
                  let consequences = try localized(a, "consequences", in: "\(where_) automatedDecisions") else {
                throw a.error("\(where_): automatedDecisions needs logic and consequences (Art. 15(1)(h))")
            }
            automated = (logic, consequences)
            try a.finish()
        }
        var transfers: [(LocalizedText, LocalizedText)] = []
        for t in try d.objects("transfers") {
            guard let country = try localized(t, "country", in: "\(where_) transfers"),
                  let safeguards = try localized(t, "safeguards", in: "\(where_) transfers") else {
                throw t.error("\(where_): a transfer needs country and safeguards (Art. 15(2))")
            }
            transfers.append((country, safeguards))
            try t.finish()
        }
        let collectedFrom = try localized(d, "collectedFrom", in: where_)
        let titles = try localized(d, "title", in: where_)
        guard let descriptions = try localized(d, "description", in: where_) else { throw d.error("\(d.path).description is required") }
        let metadata = Dataset(
            name: name, title: titles?.text("en"),
            category: try d.enumeration("category", Category.self),
            description: descriptions.text("en"),
            purposes: try d.strings("purposes"),
            legalBasis: try d.enumeration("legalBasis", LegalBasis.self),
            origin: try d.enumeration("origin", Origin.self),
            recipients: try d.strings("recipients"),
            retention: try d.optionalString("retention"),
            source: Provenance(store: store, connector: connector, object: source.label, matchedBy: matches.map(\.label)),
            fields: exported.map { Field(name: $0.name, type: $0.type, description: $0.description, title: $0.titles?.text("en")) },
            key: key,
            references: matches.compactMap {
                if case .reference(let f, let ds, let k) = $0 { ForeignKey(field: f, dataset: ds, key: k) } else { nil }
            },
            withheld: fields.filter(\.secret).map(\.name))
        let erasure = try d.optionalObject("erasure").map {
            try ErasurePolicy.parse($0, dataset: name, fields: fields, key: key,
                                    matchFields: Set(matches.map(\.field) + yields.map { $0.1 }), source: source, connector: connector)
        }
        try d.finish()
        var config = DatasetConfig(name: name, store: store, source: source, metadata: metadata, key: key,
                                   matches: matches, yields: yields, fields: fields, skipMalformedLines: skipMalformedLines, erasure: erasure)
        config.titles = titles
        config.descriptions = descriptions
        config.automatedDecisions = automated
        config.transfers = transfers
        config.collectedFrom = collectedFrom
        return config
    }

    /// A text given as one string or as an object of texts by language (`{"en": "...", "lt": "..."}`).
    static func localized(_ o: JSONObjectReader, _ key: String, in context: String) throws -> LocalizedText? {
        switch o.value(key) {
        case nil, .null?: return nil
        case .string(let s)?: return LocalizedText(s)
        case .object(let members)?:
            var texts: [String: String] = [:]
            for m in members {
                guard Presentation.languages.contains(m.key) else {
                    throw o.error("\(context): \(key) names language '\(m.key)'; known: \(Presentation.languages.joined(separator: ", "))")
                }
                guard case .string(let s) = m.value else { throw o.error("\(context): \(key).\(m.key) must be a string") }
                texts[m.key] = s
            }
            guard let fallback = texts["en"] ?? members.first.flatMap({ texts[$0.key] }) else { throw o.error("\(context): \(key) must not be empty") }
            return LocalizedText(fallback, byLanguage: texts)
        default: throw o.error("\(context): \(key) must be a string or an object of strings by language")
        }
    }

    /// Checks a language and a time zone (from the config or the command line).
    public static func parsePresentation(language: String?, timeZone: String?, fail: (String) -> DataPortError) throws -> Presentation {
        var p = Presentation.default
        if let l = language {
            guard Presentation.languages.contains(l) else { throw fail("language must be one of \(Presentation.languages.joined(separator: ", "))") }
            p.language = l
        }
        if let z = timeZone {
            guard z == "UTC" || (z.contains("/") && TimeZone(identifier: z) != nil) else {
                throw fail("timeZone must be an IANA time zone name such as Europe/Vilnius, or UTC")
            }
            p.timeZone = z
        }
        return p
    }

    /// Consistency checks that need the whole config (no store access).
    func check() throws {
        func fail(_ m: String) -> DataPortError { DataPortError(.invalidConfig, m, at: file) }
        var storeNames = Set<String>(), datasetNames = Set<String>()
        for s in stores {
            guard storeNames.insert(s.name).inserted else { throw fail("store \(s.name) is declared twice") }
            for d in s.datasets {
                guard datasetNames.insert(d.name).inserted else { throw fail("dataset \(d.name) is declared twice") }
                var fieldNames = Set<String>()
                for f in d.fields where !fieldNames.insert(f.name).inserted { throw fail("dataset \(d.name): field \(f.name) is declared twice") }
                func exportedField(_ n: String, _ role: String) throws {
                    guard let f = d.field(named: n) else { throw fail("dataset \(d.name): \(role) names unknown field \(n)") }
                    guard !f.secret else { throw fail("dataset \(d.name): \(role) field \(n) is secret") }
                }
                if let k = d.key { try exportedField(k, "key") }
                for f in d.fields where f.generated && f.name != d.key {
                    throw fail("dataset \(d.name): only the key field can be generated, not \(f.name)")
                }
                for m in d.matches where d.field(named: m.field) == nil { throw fail("dataset \(d.name): match names unknown field \(m.field)") }
                for y in d.yields { try exportedField(y.field, "yields") }
                if d.matches.isEmpty { throw fail("dataset \(d.name) has no match: it is not linked to the subject") }
                let c = d.metadata.category
                guard c.isBuiltIn || categories.contains(where: { $0.category == c }) else {
                    throw fail("dataset \(d.name): category \(c.rawValue) is neither published (formats/categories.md) nor defined in categories")
                }
            }
        }
        for d in datasets {
            for case .reference(_, let target, let key) in d.matches {
                guard let t = dataset(named: target) else { throw fail("dataset \(d.name) references unknown dataset \(target)") }
                guard t.store == d.store else {
                    throw fail("dataset \(d.name) references \(target) in another store; link stores through an identity (yields) instead")
                }
                guard let kf = t.field(named: key), !kf.secret else { throw fail("dataset \(d.name) references unknown field \(target).\(key)") }
            }
        }
        // Every dataset must be reachable from an identity, through references.
        var reachable = Set(datasets.filter { $0.matches.contains { if case .identity = $0 { true } else { false } } }.map(\.name))
        var changed = true
        while changed {
            changed = false
            for d in datasets where !reachable.contains(d.name) {
                if d.matches.contains(where: { if case .reference(_, let t, _) = $0 { reachable.contains(t) } else { false } }) {
                    reachable.insert(d.name); changed = true
                }
            }
        }
        if let lost = datasets.first(where: { !reachable.contains($0.name) }) {
            throw fail("dataset \(lost.name) is not reachable from any identity")
        }
        if let (ds, f) = subjectName {
            guard let d = dataset(named: ds), let fc = d.field(named: f), !fc.secret else {
                throw fail("subjectName names unknown field \(ds).\(f)")
            }
        }
    }
}
