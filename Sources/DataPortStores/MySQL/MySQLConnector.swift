import DataPortModel
import Foundation

/// A MySQL 8 or MariaDB 10.11+ database, read and (by imports) written through MariaDB
/// Connector/C (see `MariaDB.swift`). Documented in `formats/stores-config.md` (options) and
/// `formats/adding-a-store.md`.
///
/// The session uses utf8mb4 and `ANSI_QUOTES` (identifiers in double quotes, as the shared SQL
/// writes them), and allows zero dates as WordPress does. The export reads everything in one
/// `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` (InnoDB), so all datasets come from one
/// snapshot. An import writes on a connection of its own, in one transaction, serialised with
/// other imports into the same database by `GET_LOCK`.
public final class MySQLConnector: WritableStoreConnector {
    public static let capabilities = StoreCapabilities.sql
    private let config: StoreConfig
    private let endpoint: MySQLEndpoint
    private let dateTimes: MySQLDateTimes
    private let connection: MySQLConnection
    private var builder: SQLQueryBuilder
    /// Stored spellings of the subject's identities already looked up (per dataset, field and values).
    private var spellingCache: [String: [String]] = [:]
    private var inSnapshot = false

    /// The options a mysql store accepts.
    public static let options: [StoreOption] = [
        StoreOption("url", .text, required: true, help: "`mysql://user[:password]@host[:port]/database` (port 3306 by default; user and password percent-encoded). `localhost` means the server's Unix socket, `127.0.0.1` TCP. No query parameters: the settings below are options. `env:VARNAME` reads the URL from the environment (an unset variable is a `.store` error, exit 4). The password is never printed."),
        StoreOption("passwordEnv", .text, help: "The environment variable holding the password, for a URL without one (both is `invalidConfig`)."),
        StoreOption("tls", .oneOf(MySQLEndpoint.TLS.allCases.map(\.rawValue)), default: MySQLEndpoint.TLS.preferred.rawValue,
                    help: "`preferred`: TLS when the server offers it; `disabled`; `required`: refuse an unencrypted connection; `verify-identity`: also check the certificate against `tlsCA` and the host name."),
        StoreOption("tlsCA", .path, help: "A CA certificate file; required by `verify-identity`."),
        StoreOption("timeZone", .text, default: "UTC", help: "The zone of DATETIME values, which carry none: `UTC`, a fixed offset `+02:00`, or an IANA name (`Europe/Madrid`; the server then needs its time zone tables, `mysql_tzinfo_to_sql`). The session's `time_zone` is set to it, so TIMESTAMP columns (stored in UTC) are converted by the server and agree."),
    ]

    /// Opens the store, taking a password variable the URL names from this process's environment.
    public convenience init(config: StoreConfig) throws {
        try self.init(config: config, environment: ProcessInfo.processInfo.environment)
    }

    public init(config: StoreConfig, environment: [String: String]) throws {
        self.config = config
        let location = "store \(config.name)"
        let options = try StoreOptionValues(config, Self.options)
        for d in config.datasets {
            if case .file = d.source {
                throw DataPortError(.invalidConfig, "dataset \(d.name): a mysql dataset names a table or a query, not a file", at: location)
            }
        }
        endpoint = try Self.endpoint(options, environment: environment)
        dateTimes = try MySQLDateTimes(options.text("timeZone"), location: location)
        connection = try Self.connect(endpoint, dateTimes, location: location, readOnly: true)
        builder = SQLQueryBuilder(datasets: config.datasets, dialect: .mysql)
        builder.mysqlCollation = try Self.caselessCollation(connection)
    }

    /// The newest case- and accent-insensitive Unicode collation of the server, for the spelling
    /// lookup (`SQLQueryBuilder.selectSpellings`): UCA 14 on MariaDB 10.10+, UCA 9 on MySQL 8,
    /// else UCA 5.2 (both have it). A newer one knows the case pairs of more scripts.
    static func caselessCollation(_ c: MySQLConnection) throws -> String {
        for name in ["utf8mb4_uca1400_ai_ci", "utf8mb4_0900_ai_ci"] {
            // A name the server does not know fails (error 1273); the connection stays usable.
            if (try? c.execute("SELECT _utf8mb4'a' COLLATE \(name)")) != nil { return name }
        }
        return "utf8mb4_unicode_520_ci"
    }

    /// Where the server is, from the options. Errors name options, never their values.
    static func endpoint(_ options: StoreOptionValues, environment: [String: String]) throws -> MySQLEndpoint {
        let location = "store \(options.config.name)"
        let text = try PostgreSQLConnector.connectionString(options.text("url"), location: location, environment: environment)
        guard let u = URLComponents(string: text), u.scheme == "mysql" || u.scheme == "mariadb",
              let host = u.host, !host.isEmpty, let user = u.user, !user.isEmpty else {
            throw DataPortError(.invalidConfig, "options.url must look like mysql://user@host:port/database", at: location)
        }
        let database = String(u.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw DataPortError(.invalidConfig, "options.url must name a database (mysql://user@host:port/database)", at: location)
        }
        guard u.query == nil || u.query == "" else {
            throw DataPortError(.invalidConfig, "options.url takes no query parameters; use the store's options (tls, tlsCA, timeZone)", at: location)
        }
        var password = u.password
        if let name = options.text("passwordEnv") {
            guard password == nil else {
                throw DataPortError(.invalidConfig, "give the password in options.url or options.passwordEnv, not both", at: location)
            }
            guard let value = environment[name], !value.isEmpty else {
                throw DataPortError(.store, "options.passwordEnv reads the environment variable \(name), which is not set", at: location)
            }
            password = value
        }
        // Checked against the declared words already.
        let tls = options.text("tls").flatMap(MySQLEndpoint.TLS.init(rawValue:)) ?? .preferred
        var ca = options.path("tlsCA")
        if let c = ca, !FileManager.default.isReadableFile(atPath: c) {
            throw DataPortError(.invalidConfig, "options.tlsCA: cannot read the file", at: location)
        }
        if tls == .verifyIdentity && ca == nil {
            throw DataPortError(.invalidConfig, "options.tls verify-identity needs options.tlsCA", at: location)
        }
        if tls == .disabled { ca = nil }
        return MySQLEndpoint(host: host, port: UInt32(u.port ?? 3306), user: user, password: password,
                             database: database, tls: tls, tlsCA: ca)
    }

    /// A connection set up for the shared SQL: utf8mb4, double-quoted identifiers, zero dates
    /// allowed (the server's other modes, strict ones included, kept), the session's time zone.
    static func connect(_ endpoint: MySQLEndpoint, _ dateTimes: MySQLDateTimes, location: String, readOnly: Bool) throws -> MySQLConnection {
        let c = try MySQLConnection(endpoint, location: location, readOnly: readOnly)
        c.dateTimes = dateTimes
        try c.execute("SET NAMES utf8mb4")
        let current = try c.scalar("SELECT @@SESSION.sql_mode") ?? ""
        // Modes are names the server gave ([A-Z_]); ANSI and ORACLE-like bundles are expanded by it.
        var modes = current.split(separator: ",").map(String.init)
            .filter { !["NO_ZERO_DATE", "NO_ZERO_IN_DATE", "ANSI", "TRADITIONAL", "ORACLE", "MSSQL", "DB2", "POSTGRESQL", "MAXDB"].contains($0) }
            .filter { $0.allSatisfy { $0.isASCII && ($0.isUppercase || $0 == "_") } }
        if !modes.contains("ANSI_QUOTES") { modes.append("ANSI_QUOTES") }
        try c.execute("SET SESSION sql_mode = '\(modes.joined(separator: ","))'")
        do {
            try c.execute("SET SESSION time_zone = '\(dateTimes.sessionZone)'")
        } catch let e as DataPortError {
            throw DataPortError(.invalidConfig, "options.timeZone: the server does not know the zone (load its time zone tables): \(e.message)", at: location)
        }
        if !readOnly { try c.execute("SET SESSION autocommit = 0") }
        return c
    }

    public func validate() throws {
        try builder.validate(config, prepare: connection.prepare)
    }

    public func beginSnapshot() throws {
        try connection.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        inSnapshot = true
    }

    /// `subject` with the stored spellings of its text identities (`SQLQueryBuilder.withSpellings`).
    private func spelled(_ subject: SubjectQuery, for dataset: DatasetConfig) throws -> SubjectQuery {
        try builder.withSpellings(subject, for: dataset, cache: &spellingCache) { q, found in
            try run(q) { row in try found(row.cell(0)) }
        }
    }

    /// Runs a query of the builder on the snapshot connection, handing each row to `row`.
    private func run(_ q: SQLQuery, _ row: (MySQLRow) throws -> Void) throws {
        try connection.run(q.text, q.parameters.map(MySQLSession.parameter), row: row)
    }

    /// Identity text as every SQL store gives it (`StoreCell.identityText`): numbers of any kind,
    /// text, and bytes that are UTF-8 (a VARBINARY id); other bytes fail naming the field.
    public func distinctValues(of field: String, in dataset: DatasetConfig, for subject: SubjectQuery, limit: Int) throws -> [String] {
        try builder.distinctValues(of: field, in: dataset, for: spelled(subject, for: dataset), limit: limit, store: config.name, run: run)
    }

    @discardableResult
    public func read(_ dataset: DatasetConfig, for subject: SubjectQuery, into body: (Record) throws -> Void) throws -> Int {
        try builder.read(dataset, for: spelled(subject, for: dataset), store: config.name, run: run, into: body)
    }

    /// A second connection, read-write, for an import; the snapshot connection stays read-only.
    public func openSession() throws -> any SQLSession {
        let location = "store \(config.name)"
        do {
            let c = try Self.connect(endpoint, dateTimes, location: location, readOnly: false)
            return MySQLSession(c, database: endpoint.database, dateTimes: dateTimes)
        } catch let e as DataPortError {
            throw DataPortError(.store, "cannot open the store for writing: \(e.message)", at: location)
        }
    }

    public func endSnapshot() {
        if inSnapshot { try? connection.execute("ROLLBACK"); inSnapshot = false }
        spellingCache.removeAll()
    }

    public func close() {
        endSnapshot()
        connection.close()
    }
}

/// A read-write MySQL session for imports: `?` placeholders, one InnoDB transaction, and the
/// dialect pieces MySQL needs (no `RETURNING`, no `ON CONFLICT`; comparisons exact, not by the
/// columns' case-insensitive collations).
public final class MySQLSession: SQLSession {
    let connection: MySQLConnection
    let dateTimes: MySQLDateTimes
    /// Staging tables made so far (`MySQLBulk.swift`), for their names.
    var stagingTables = 0
    /// The advisory lock that serialises imports into one database.
    private let lockName: String
    private var locked = false
    /// Tables this transaction created (DDL MySQL committed at once), dropped on rollback.
    private var createdTables: [String] = []

    init(_ connection: MySQLConnection, database: String, dateTimes: MySQLDateTimes) {
        self.connection = connection
        self.dateTimes = dateTimes
        // MySQL refuses lock names longer than 64 characters.
        lockName = String(("dataport_import." + database).prefix(64))
    }

    deinit { connection.close() }


    public var placeholder: @Sendable (Int) -> String { { _ in "?" } }
    /// `<=>` against a binary value: NULL-safe and byte-exact, whatever the column's collation.
    public var nullSafeEquals: String { "<=> BINARY" }
    /// Decimals against an exact DECIMAL: `<=> BINARY` would compare a DECIMAL column with text
    /// as doubles (16 digits), so two amounts differing further would count as the same row.
    public func nullSafeEquals(_ column: String, _ placeholder: String, as type: FieldType) -> String {
        type == .decimal ? "\(column) <=> CAST(\(placeholder) AS DECIMAL(65,30))" : "\(column) \(nullSafeEquals) \(placeholder)"
    }
    public var temporaryTable: String { "TEMPORARY TABLE" }
    /// Keys compared byte by byte, trailing spaces included.
    public var keyTextType: String {
        "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE \(connection.isMariaDB ? "utf8mb4_nopad_bin" : "utf8mb4_0900_bin")"
    }

    static func parameter(_ p: SQLParameter) -> MySQLParameter {
        switch p {
        case .text(let t): .text(t)
        case .integer(let i): .integer(i)
        }
    }

    /// A value as the server parses it for a column of its type: booleans as 0/1, timestamps as
    /// wall-clock text in the store's zone, binary as bytes, the rest as canonical text.
    func parameter(_ v: Value) -> MySQLParameter {
        switch v {
        case .null: .null
        case .integer(let i): .integer(i)
        case .boolean(let b): .integer(b ? 1 : 0)
        case .binary(let b): .bytes(b)
        case .timestamp(let t): .text(dateTimes.wallClock(t))
        default: .text(v.canonicalText ?? "")
        }
    }

    public func execute(_ sql: String, _ parameters: [Value]) throws -> Int {
        try connection.run(sql, parameters.map(parameter), row: { _ in }).changed
    }

    /// MySQL commits DDL at once, so the session notes a table it created (the id map, when it did
    /// not exist yet) and `rollback` drops it again: a dry run or a failed import leaves nothing
    /// behind, as on PostgreSQL and SQLite. Temporary tables go with the session anyway.
    public func createImportTable(_ table: ImportTable) throws {
        var exists = table.temporary
        if !exists {
            try connection.run("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", [.text(table.name)]) { _ in exists = true }
        }
        _ = try execute(createStatement(table), [])
        if !exists { createdTables.append(table.name) }
    }

    public func query(_ sql: String, _ parameters: [Value], rows row: (any SQLRow) throws -> Void) throws {
        try connection.run(sql, parameters.map(parameter)) { r in try row(r) }
    }

    public func inserter(into table: String, columns: [String], returning: [String]) -> SQLInserter {
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
        let connection = connection
        return { values, row in
            let result = try connection.run(sql, values.map(self.parameter), row: { _ in })
            guard !returning.isEmpty else { return }
            if returning.allSatisfy(columns.contains) {
                // No RETURNING in MySQL: read back a row that holds exactly these values.
                let cond = zip(columns, values).map { c, v in
                    if case .decimal = v { self.nullSafeEquals(c, "?", as: .decimal) } else { "\(c) \(self.nullSafeEquals) ?" }
                }.joined(separator: " AND ")
                try connection.run("SELECT \(returning.joined(separator: ", ")) FROM \(table) WHERE \(cond) LIMIT 1", values.map(self.parameter)) { r in try row(r) }
            } else if result.insertID != 0 {
                // The generated key: LAST_INSERT_ID() of this statement.
                try row(FixedRow(cells: [result.insertID <= UInt64(Int64.max) ? .integer(Int64(result.insertID)) : .text(String(result.insertID))]))
            }
        }
    }

    public func insertSkippingDuplicates(into table: String, columns: [String], _ values: [Value]) throws -> Int {
        let one = "(\(columns.map { _ in "?" }.joined(separator: ", ")))"
        let rows = Array(repeating: one, count: values.count / columns.count).joined(separator: ", ")
        return try execute("INSERT IGNORE INTO \(table) (\(columns.joined(separator: ", "))) VALUES \(rows)", values)
    }

    public func incrementCounter(in table: String, keyColumns: [String], _ key: [Value]) throws -> Int64 {
        let cols = keyColumns.joined(separator: ", ")
        try execute("INSERT INTO \(table) (\(cols), n) VALUES (\(key.map { _ in "?" }.joined(separator: ", ")), 1) ON DUPLICATE KEY UPDATE n = n + 1", key)
        var n: Int64 = 0
        try query("SELECT n FROM \(table) WHERE \(keyColumns.map { "\($0) = ?" }.joined(separator: " AND "))", key) { row in
            if case .integer(let i) = row.cell(0) { n = i }
        }
        return n
    }

    /// Waits (up to a minute) for the database's import lock, then starts the transaction. DDL
    /// commits implicitly in MySQL; the session runs with `autocommit = 0`, so the statements after
    /// the importer's `createImportTable` (which comes before any write) are still one
    /// transaction, ended by `commit()` or `rollback()`; `rollback()` drops a table that it created.
    public func begin() throws {
        var got: String?
        try connection.run("SELECT GET_LOCK(?, 60)", [.text(lockName)]) { row in
            if case .integer(let i) = row.cell(0) { got = String(i) }
        }
        guard got == "1" else {
            throw DataPortError(.store, "another import into this database holds its lock (waited 60 s)", at: connection.location, code: .lockTimeout)
        }
        locked = true
        try connection.execute("START TRANSACTION")
    }

    public func commit() throws {
        try connection.execute("COMMIT")
        createdTables = []
        unlock()
    }

    public func rollback() {
        try? connection.execute("ROLLBACK")
        for t in createdTables { try? connection.execute("DROP TABLE IF EXISTS \(t)") }
        createdTables = []
        unlock()
    }

    private func unlock() {
        guard locked else { return }
        try? connection.run("SELECT RELEASE_LOCK(?)", [.text(lockName)], row: { _ in })
        locked = false
    }
}

/// A row made of cells known already (a generated key).
private struct FixedRow: SQLRow {
    var cells: [StoreCell]
    var columnCount: Int { cells.count }
    func cell(_ column: Int) -> StoreCell { cells[column] }
}

/// DATETIME and TIMESTAMP values as wall-clock text in the store's zone (`timeZone`, UTC by default).
struct MySQLDateTimes: Sendable {
    let zone: TimeZone?

    static let utc = MySQLDateTimes(zone: nil)

    /// The fixed offset `±HH:MM` the option gives, if it is one (the server needs no tables for it).
    private let offsetText: String?

    init(_ option: String?, location: String) throws {
        guard let option, option != "UTC", option != "Etc/UTC", option != "+00:00" else { self.init(zone: nil); return }
        let u = Array(option.utf8)
        if u.count == 6, u[0] == UInt8(ascii: "+") || u[0] == UInt8(ascii: "-"), u[3] == UInt8(ascii: ":"),
           let h = Int(String(option.dropFirst().prefix(2))), let m = Int(String(option.suffix(2))), h <= 14, m < 60,
           let z = TimeZone(secondsFromGMT: (h * 3600 + m * 60) * (u[0] == UInt8(ascii: "-") ? -1 : 1)) {
            self.init(zone: z, offset: option)
            return
        }
        guard let z = TimeZone(identifier: option) else {
            throw DataPortError(.invalidConfig, "options.timeZone must be UTC, an offset such as +02:00, or an IANA zone name such as Europe/Berlin", at: location)
        }
        self.init(zone: z)
    }

    private init(zone: TimeZone?, offset: String? = nil) { self.zone = zone; offsetText = offset }

    /// What `SET time_zone` is given. A zone name needs the server's time zone tables.
    var sessionZone: String { offsetText ?? zone?.identifier ?? "+00:00" }

    /// The server's `YYYY-MM-DD HH:MM:SS[.ffffff]` as an instant's text: as is in UTC (read as
    /// UTC), else with the zone's offset at that time. Zero dates stay as they are (no instant:
    /// a `timestamp` field refuses them, a `string` field keeps them).
    func instantText(_ raw: String) -> String {
        guard let zone, let local = Timestamp(raw) else { return raw }
        let guess = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(local.seconds)))
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(local.seconds - Int64(guess))))
        let sign = offset < 0 ? "-" : "+"
        let a = abs(offset)
        return raw + sign + String(format: "%02d:%02d", a / 3600, a / 60 % 60)
    }

    /// An instant as the server's wall-clock text in the zone.
    func wallClock(_ t: Timestamp) -> String {
        var seconds = t.seconds
        if let zone { seconds += Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t.seconds)))) }
        let text = zone == nil ? t.text : Timestamp(seconds: seconds, fraction: t.fraction)?.text ?? t.text
        // 2024-05-01T10:00:00.5Z -> 2024-05-01 10:00:00.5 (a bulk import does this a million times)
        var bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: "Z") { bytes.removeLast() }
        for i in bytes.indices where bytes[i] == UInt8(ascii: "T") { bytes[i] = UInt8(ascii: " ") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
