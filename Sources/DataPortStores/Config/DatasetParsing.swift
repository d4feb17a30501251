import DataPortIO
import DataPortModel
import Foundation

/// Reading one dataset of a store: where its rows are, its fields, how they link to the subject,
/// and what the person is told about it.
extension StoresConfig {
    static func parseDataset(_ d: JSONObjectReader, store: String, connector: String, problems: ProblemList) throws -> DatasetConfig {
        let name = try d.string("name")
        guard Dataset.isValidName(name) || d.isAbsent("name") else { throw d.error("\(d.path).name '\(name)' must match [a-z][a-z0-9_]*") }
        let context = "dataset \(name)"
        let source = try parseSource(d, context)
        let fields = try parseFields(d, context)
        let matches = try parseMatches(d, context)
        var yields: [(IdentityKind, String)] = []
        for y in try d.objects("yields") {
            yields.append((IdentityKind(try y.string("identity")), try y.string("field")))
            try y.finish()
        }
        let key = try d.optionalString("key")
        let skipMalformedLines = try d.bool("skipMalformedLines", default: false)
        if skipMalformedLines && connector != "accesslog" {
            problems.add("\(context): skipMalformedLines applies to accesslog datasets only")
        }
        let told = try parseArticle15(d, context)
        let titles = try localized(d, "title", in: context)
        let descriptions = try localized(d, "description", in: context)
        if descriptions == nil { problems.add("\(d.path).description is required") }
        let provenance = Provenance(store: store, connector: connector, object: source.label, matchedBy: matches.map(\.label))
        let metadata = try parseMetadata(d, name: name, title: titles?.text("en"), description: descriptions?.text("en") ?? "",
                                         source: provenance, fields: fields, key: key, matches: matches)
        let erasure = try d.optionalObject("erasure").map {
            try ErasurePolicy.parse($0, dataset: name, fields: fields, key: key,
                                    matchFields: Set(matches.map(\.field) + yields.map { $0.1 }), source: source, connector: connector)
        }
        try d.finish()
        var config = DatasetConfig(name: name, store: store, source: source, metadata: metadata, key: key,
                                   matches: matches, yields: yields, fields: fields, skipMalformedLines: skipMalformedLines, erasure: erasure)
        config.titles = titles
        config.descriptions = descriptions
        (config.automatedDecisions, config.transfers, config.collectedFrom) = told
        return config
    }

    /// Exactly one of `table`, `query` and `file`.
    private static func parseSource(_ d: JSONObjectReader, _ context: String) throws -> SourceObject {
        switch (try d.optionalString("table"), try d.optionalString("query"), try d.optionalString("file")) {
        case (let t?, nil, nil): .table(t)
        case (nil, let q?, nil): .query(q)
        case (nil, nil, let f?): .file(f)
        default: throw d.error("\(context): give exactly one of table, query or file")
        }
    }

    private static func parseFields(_ d: JSONObjectReader, _ context: String) throws -> [FieldConfig] {
        var fields: [FieldConfig] = []
        for f in try d.objects("fields") {
            let name = try f.string("name")
            guard Dataset.isValidName(name) || f.isAbsent("name") else { throw f.error("\(context): field name '\(name)' must match [a-z][a-z0-9_]*") }
            let secret = try f.bool("secret", default: false)
            let type: FieldType = secret && f.value("type") == nil ? .string : try f.enumeration("type", FieldType.self)
            let titles = try localized(f, "title", in: "\(context) field \(name)")
            let descriptions = try localized(f, "description", in: "\(context) field \(name)")
            var field = FieldConfig(name: name, column: try f.optionalString("column") ?? name, type: type,
                                    description: descriptions?.text("en"), secret: secret,
                                    generated: try f.bool("generated", default: false))
            field.titles = titles
            field.descriptions = descriptions
            fields.append(field)
            try f.finish()
        }
        guard !fields.isEmpty else { throw d.error("\(context): fields must not be empty") }
        return fields
    }

    private static func parseMatches(_ d: JSONObjectReader, _ context: String) throws -> [Match] {
        var matches: [Match] = []
        for m in try d.objects("match") {
            let field = try m.string("field")
            if let kind = try m.optionalString("identity") {
                matches.append(.identity(kind: IdentityKind(kind), field: field))
            } else if let ref = try m.optionalString("references") {
                let parts = ref.split(separator: ".").map(String.init)
                guard parts.count == 2 else { throw m.error("\(context): references must be 'dataset.field'") }
                matches.append(.reference(field: field, dataset: parts[0], key: parts[1]))
            } else {
                throw m.error("\(context): a match needs identity or references")
            }
            try m.finish()
        }
        return matches
    }

    /// What Art. 15 says the person must be told besides the metadata: automated decisions,
    /// transfers to third countries, where the data came from.
    private static func parseArticle15(_ d: JSONObjectReader, _ context: String) throws
        -> ((logic: LocalizedText, consequences: LocalizedText)?, [(country: LocalizedText, safeguards: LocalizedText)], LocalizedText?) {
        var automated: (LocalizedText, LocalizedText)?
        if let a = try d.optionalObject("automatedDecisions") {
            guard let logic = try localized(a, "logic", in: "\(context) automatedDecisions"),
                  let consequences = try localized(a, "consequences", in: "\(context) automatedDecisions") else {
                throw a.error("\(context): automatedDecisions needs logic and consequences (Art. 15(1)(h))")
            }
            automated = (logic, consequences)
            try a.finish()
        }
        var transfers: [(LocalizedText, LocalizedText)] = []
        for t in try d.objects("transfers") {
            guard let country = try localized(t, "country", in: "\(context) transfers"),
                  let safeguards = try localized(t, "safeguards", in: "\(context) transfers") else {
                throw t.error("\(context): a transfer needs country and safeguards (Art. 15(2))")
            }
            transfers.append((country, safeguards))
            try t.finish()
        }
        return (automated, transfers, try localized(d, "collectedFrom", in: context))
    }

    /// The dataset as the manifest describes it (in English; `DatasetConfig.metadata(language:)` translates).
    private static func parseMetadata(_ d: JSONObjectReader, name: String, title: String?, description: String, source: Provenance,
                                      fields: [FieldConfig], key: String?, matches: [Match]) throws -> Dataset {
        Dataset(
            name: name, title: title,
            category: try d.enumeration("category", Category.self),
            description: description,
            purposes: try d.strings("purposes"),
            legalBasis: try d.enumeration("legalBasis", LegalBasis.self),
            origin: try d.enumeration("origin", Origin.self),
            recipients: try d.strings("recipients"),
            retention: try d.optionalString("retention"),
            source: source,
            fields: fields.filter { !$0.secret }.map { Field(name: $0.name, type: $0.type, description: $0.description, title: $0.titles?.text("en")) },
            key: key,
            references: matches.compactMap {
                if case .reference(let f, let ds, let k) = $0 { ForeignKey(field: f, dataset: ds, key: k) } else { nil }
            },
            withheld: fields.filter(\.secret).map(\.name))
    }
}
