/// One field of a dataset's schema.
public struct Field: Sendable, Hashable {
    public var name: String
    public var type: FieldType
    public var description: String?
    /// A short name for people (column headers), in the bundle's language.
    public var title: String?

    public init(name: String, type: FieldType, description: String? = nil, title: String? = nil) {
        self.name = name; self.type = type; self.description = description; self.title = title
    }
}

/// A link from a field of this dataset to the key of another dataset (a foreign key).
public struct ForeignKey: Sendable, Hashable {
    public var field: String
    public var dataset: String
    public var key: String

    public init(field: String, dataset: String, key: String) {
        self.field = field; self.dataset = dataset; self.key = key
    }
}

/// Where a dataset's records were read from.
public struct Provenance: Sendable, Hashable {
    /// The store's name in the config.
    public var store: String
    /// The connector type (`sqlite`, `postgresql`, `csv`, ...).
    public var connector: String
    /// The table, query name or file the records came from.
    public var object: String
    /// How rows were matched: identity kinds (`email`) or links (`invoices.id`).
    public var matchedBy: [String]

    public init(store: String, connector: String, object: String, matchedBy: [String]) {
        self.store = store; self.connector = connector; self.object = object; self.matchedBy = matchedBy
    }
}

/// Automated decision-making that uses a dataset: the logic involved and what it means for the person.
public struct AutomatedDecisions: Sendable, Hashable {
    public var logic: String
    public var consequences: String
    public init(logic: String, consequences: String) { self.logic = logic; self.consequences = consequences }
}

/// A transfer to a third country or an international organisation, and its safeguards (Art. 46).
public struct ThirdCountryTransfer: Sendable, Hashable {
    public var country: String
    public var safeguards: String
    public init(country: String, safeguards: String) { self.country = country; self.safeguards = safeguards }
}

/// A named collection of records about the subject, with everything a person needs to know about it.
public struct Dataset: Sendable, Hashable {
    /// Unique name within a bundle: `[a-z][a-z0-9_]*`.
    public var name: String
    public var title: String
    public var category: Category
    public var description: String
    public var purposes: [String]
    public var legalBasis: LegalBasis
    public var origin: Origin
    /// Who receives this data besides the controller (Art. 15(1)(c)).
    public var recipients: [String]
    /// How long it is kept (Art. 15(1)(d)).
    public var retention: String?
    public var source: Provenance
    public var fields: [Field]
    /// The field that identifies a record, if any.
    public var key: String?
    public var references: [ForeignKey]
    /// Names of fields held but deliberately never exported (secrets such as password hashes).
    public var withheld: [String]
    /// Automated decision-making, including profiling, that uses this data (Art. 15(1)(h)).
    public var automatedDecisions: AutomatedDecisions?
    /// Transfers to third countries or international organisations, with their safeguards (Art. 15(2)).
    public var transfers: [ThirdCountryTransfer] = []
    /// Where the data came from when not from the person (Art. 15(1)(g)), in words.
    public var collectedFrom: String?

    public init(name: String, title: String? = nil, category: Category, description: String, purposes: [String],
                legalBasis: LegalBasis, origin: Origin, recipients: [String] = [], retention: String? = nil,
                source: Provenance, fields: [Field], key: String? = nil, references: [ForeignKey] = [],
                withheld: [String] = []) {
        self.name = name; self.title = title ?? name; self.category = category; self.description = description
        self.purposes = purposes; self.legalBasis = legalBasis; self.origin = origin; self.recipients = recipients
        self.retention = retention; self.source = source; self.fields = fields; self.key = key
        self.references = references; self.withheld = withheld
    }

    /// The position of a field by name.
    public func index(of field: String) -> Int? { fields.firstIndex { $0.name == field } }

    /// Whether `name` is a valid dataset or field name (safe as a file name, XML name and SQL identifier).
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 64, (97...122).contains(first) else { return false }
        return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
    }
}
