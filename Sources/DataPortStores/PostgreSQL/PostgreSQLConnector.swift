import DataPortModel
import Foundation

/// A PostgreSQL database, read and (by imports) written through libpq (see `LibPQ.swift`).
///
/// Datasets name a `table` (optionally `schema.table`) or a `query`. The export reads everything in
/// one `REPEATABLE READ READ ONLY` transaction, so all datasets come from one snapshot. An import
/// writes on a connection of its own (`openSession()`), in one `READ WRITE` transaction that first
/// takes an advisory lock, so imports into one database run one after the other.
public final class PostgreSQLConnector: WritableStoreConnector {
    public static let capabilities = StoreCapabilities.sql
    private let config: StoreConfig
    private let conninfo: String
    private let connection: PostgreSQLConnection
    private let builder: SQLQueryBuilder
    private var inSnapshot = false
    /// Spellings looked up in this snapshot, by dataset, field, kind and values.
    private var spellingCache: [String: [String]] = [:]

    /// The options a postgresql store accepts.
    public static let options: [StoreOption] = [
        StoreOption("url", .text, help: "A libpq connection URI or `key=value` string: `postgresql://user@host:5432/db?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem`. TLS, timeouts and every other libpq setting go in it. `env:VARNAME` reads that string from the environment variable `VARNAME`, so a config can be committed without credentials; an unset or empty variable is a `.store` error (exit 4). Absent or empty: libpq's own `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGSSLMODE`, ... variables and `~/.pgpass`."),
    ]

    public init(config: StoreConfig) throws {
        self.config = config
        let location = "store \(config.name)"
        let options = try StoreOptionValues(config, Self.options)
        for d in config.datasets {
            if case .file = d.source {
                throw DataPortError(.invalidConfig, "dataset \(d.name): a postgresql dataset names a table or a query, not a file", at: location)
            }
        }
        conninfo = try Self.connectionString(options.text("url"), location: location)
        connection = try PostgreSQLConnection(conninfo: conninfo, location: location)
        builder = SQLQueryBuilder(datasets: config.datasets, dialect: .postgresql)
    }

    /// The libpq connection string for the `url` option: the option itself, or the value of the
    /// environment variable it names as `env:VARNAME`, or "" (libpq's `PG*` variables).
    static func connectionString(_ option: String?, location: String,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        guard let option else { return "" }
        guard option.hasPrefix("env:") else { return option }
        let name = String(option.dropFirst(4))
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && CharacterSet.letters.contains(first)),
              name.unicodeScalars.allSatisfy({ $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }) else {
            throw DataPortError(.invalidConfig, "options.url 'env:\(name)' must name an environment variable ([A-Za-z_][A-Za-z0-9_]*)", at: location)
        }
        // An unset variable is an unreachable store (exit code 4, or a failed store with
        // --allow-partial), not a broken config: the same config runs where it is set.
        guard let value = environment[name], !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DataPortError(.store, "options.url reads the environment variable \(name), which is not set", at: location)
        }
        return value
    }

    public func validate() throws {
        try builder.validate(config, prepare: connection.prepare)
    }

    public func beginSnapshot() throws {
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        inSnapshot = true
    }

    /// `subject` with the stored spellings of the caseless and ip matches that querying `dataset`
    /// needs: candidates found through the indexable key, kept when their normal form (computed in
    /// Swift, as for every store) is one of the subject's values. So the rows are exactly the subject's.
    private func spelled(_ subject: SubjectQuery, for dataset: DatasetConfig) throws -> SubjectQuery {
        try builder.withSpellings(subject, for: dataset, cache: &spellingCache) { q, found in
            try run(q) { row in try found(row.cell(0)) }
        }
    }

    /// Runs a query of the builder on the snapshot connection, handing each row to `row`.
    private func run(_ q: SQLQuery, _ row: (PostgreSQLRow) throws -> Void) throws {
        try connection.query(q.text, q.parameters, row: row)
    }

    public func distinctValues(of field: String, in dataset: DatasetConfig, for subject: SubjectQuery, limit: Int) throws -> [String] {
        try builder.distinctValues(of: field, in: dataset, for: spelled(subject, for: dataset), limit: limit, store: config.name, run: run)
    }

    @discardableResult
    public func read(_ dataset: DatasetConfig, for subject: SubjectQuery, into body: (Record) throws -> Void) throws -> Int {
        try builder.read(dataset, for: spelled(subject, for: dataset), store: config.name, run: run, into: body)
    }

    /// A second connection, read-write, for an import; the snapshot connection stays read-only.
    public func openSession() throws -> any SQLSession {
        do {
            return PostgreSQLSession(try PostgreSQLConnection(conninfo: conninfo, location: "store \(config.name)", readOnly: false))
        } catch let e as DataPortError {
            throw DataPortError(.store, "cannot open the store for writing: \(e.message)", at: "store \(config.name)")
        }
    }

    public func endSnapshot() {
        // Read only: ending the transaction either way changes nothing.
        if inSnapshot { try? connection.execute("ROLLBACK"); inSnapshot = false }
        spellingCache.removeAll()
    }

    public func close() {
        endSnapshot()
        connection.close()
    }
}

/// A read-write PostgreSQL session for imports: `$n` placeholders, values bound as parameters of
/// type `unknown` (the server types each from its column), statements prepared once per connection.
public final class PostgreSQLSession: SQLSession {
    let connection: PostgreSQLConnection
    /// Staging tables made so far (`PostgreSQLBulk.swift`), for their names.
    var stagingTables = 0
    /// How this server's row digests are computed (`rowDigestKind()`), once known.
    var digestKind: RowDigest.Kind?

    init(_ connection: PostgreSQLConnection) { self.connection = connection }

    deinit { connection.close() }

    public var placeholder: @Sendable (Int) -> String { { "$\($0)" } }
    public var nullSafeEquals: String { "IS NOT DISTINCT FROM" }

    public func execute(_ sql: String, _ parameters: [Value]) throws -> Int {
        try connection.run(sql, values: parameters)
    }

    /// Rows as raw cells: integers as integers, bytea as bytes, NULL as `.null`, the rest as text.
    public func query(_ sql: String, _ parameters: [Value], rows row: (any SQLRow) throws -> Void) throws {
        try connection.run(sql, values: parameters) { r in try row(r) }
    }

    /// The advisory lock every import into a database takes: "dataport" in ASCII.
    static let importLock: Int64 = 0x6461_7461_706F_7274

    /// Begins the import's transaction and, before anything else, waits for any other import into
    /// this database to end: the lock is held until COMMIT or ROLLBACK, so two imports of one bundle
    /// cannot both insert its keyless rows or race on creating `dataport_id_map`.
    public func begin() throws {
        try connection.execute("BEGIN READ WRITE")
        try connection.execute("SELECT pg_advisory_xact_lock(\(Self.importLock))")
    }
    public func commit() throws { try connection.execute("COMMIT") }
    public func rollback() { try? connection.execute("ROLLBACK") }
}
