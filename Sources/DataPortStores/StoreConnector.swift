import DataPortModel

/// What a connector is asked about the subject: the identity values known so far, normalised, by kind.
public struct SubjectQuery: Sendable {
    public var identities: [IdentityKind: [String]]
    /// The form of kinds whose form is not their default (declared in the config).
    public var forms: [IdentityKind: IdentityForm]
    /// For connectors that cannot compute a normal form in the store (PostgreSQL): the stored
    /// spellings of a text field, by `spellingKey(dataset, field)`, already checked in Swift to
    /// normalise to one of the subject's values.
    public var spellings: [String: [String]] = [:]

    public init(identities: [IdentityKind: [String]], forms: [IdentityKind: IdentityForm] = [:]) {
        self.identities = identities; self.forms = forms
    }
    public func values(_ kind: IdentityKind) -> [String] { identities[kind] ?? [] }
    public func form(_ kind: IdentityKind) -> IdentityForm { forms[kind] ?? kind.defaultForm }
    /// The normal form of a stored value of `kind`.
    public func normalize(_ value: String, as kind: IdentityKind) -> String { form(kind).normalize(value) }
    public static func spellingKey(_ dataset: String, _ field: String) -> String { dataset + "\u{1F}" + field }
}

/// A store of personal data that DataPort can gather from (and, for writable stores, import into).
///
/// To add a store type: write one file with a conforming class and add one line to
/// `StoreRegistry.standard`. See `formats/adding-a-store.md`.
public protocol StoreConnector: AnyObject {
    /// What this store type can do (`StoreCapabilities`); the conformance suite tests the rest is refused.
    static var capabilities: StoreCapabilities { get }

    /// The options a store of this type accepts, declared as data: a config's stores are checked
    /// against them when it loads, and `formats/stores-config.md` and `check --help` list them.
    static var options: [StoreOption] { get }

    /// Opens a store of this type (its options checked against `options`).
    init(config: StoreConfig) throws

    /// Checks that every configured table or file, and every column, exists. Throws `invalidConfig`
    /// naming the missing piece, or `store` if the store cannot be reached.
    func validate() throws

    /// Starts a consistent read (one snapshot for the whole export) where the store supports it.
    func beginSnapshot() throws

    /// Ends the snapshot `beginSnapshot` began, leaving the store open for another one (a batch
    /// keeps its connectors between subjects, see `ConnectorPool`). Forgets whatever was kept for
    /// that snapshot only.
    func endSnapshot()

    /// The distinct non-null values of `field` over the subject's rows of `dataset`, as text
    /// (to resolve identities). At most `limit` values.
    func distinctValues(of field: String, in dataset: DatasetConfig, for subject: SubjectQuery, limit: Int) throws -> [String]

    /// Streams the subject's rows of `dataset` (exported fields only, in a stable order) to `body`.
    /// Returns the number of records.
    @discardableResult
    func read(_ dataset: DatasetConfig, for subject: SubjectQuery, into body: (Record) throws -> Void) throws -> Int

    /// How many lines the last complete `read` of `dataset` skipped because they did not parse
    /// (access logs with `skipMalformedLines`); `nil` when the connector never skips.
    func skippedLines(in dataset: DatasetConfig) -> Int?

    /// Releases the store (ends the snapshot, closes connections).
    func close()
}

extension StoreConnector {
    public func beginSnapshot() throws {}
    public func endSnapshot() {}
    public func skippedLines(in dataset: DatasetConfig) -> Int? { nil }
}

/// Makes a connector for a store config.
public typealias StoreConnectorFactory = @Sendable (StoreConfig) throws -> any StoreConnector

/// The connector types a run knows, by the `type` named in the config.
public struct StoreRegistry: Sendable {
    public var factories: [String: StoreConnectorFactory]
    /// The options each type accepts (its connector's `options` declaration): a config's stores
    /// are checked against them when it loads, and `formats/stores-config.md` lists them.
    public var options: [String: [StoreOption]]

    public init(factories: [String: StoreConnectorFactory], options: [String: [StoreOption]] = [:]) {
        self.factories = factories; self.options = options
    }

    /// A registry of connector types by the `type` name a config uses.
    public init(types: [String: any StoreConnector.Type]) {
        self.init(factories: types.mapValues { type in { try type.init(config: $0) } }, options: types.mapValues { $0.options })
    }

    /// The built-in connectors. Registering a connector is one line.
    public static let standard = StoreRegistry(types: [
        "sqlite": SQLiteConnector.self,
        "postgresql": PostgreSQLConnector.self,
        "mysql": MySQLConnector.self,
        "accesslog": AccessLogConnector.self,
        "csv": CSVFileConnector.self,
        "jsonl": JSONLinesConnector.self,
    ])

    public func connector(for store: StoreConfig) throws -> any StoreConnector {
        guard let make = factories[store.type] else {
            throw DataPortError(.invalidConfig, "unknown store type '\(store.type)'; known types: \(factories.keys.sorted().joined(separator: ", "))", at: "store \(store.name)")
        }
        return try make(store)
    }
}
