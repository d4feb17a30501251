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
