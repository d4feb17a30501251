import DataPortModel
import Foundation

/// `StoreIntrospector` for MySQL and MariaDB: `information_schema.TABLES`, `COLUMNS` and
/// `STATISTICS` of the URL's database. A match is served when an index starts with its column
/// (the connector's row lookup is `col IN (...) AND BINARY col IN (...)`); the spelling lookup
/// before it reads the column once whatever the indexes (formats/stores-config.md).
/// Reads on a connection of its own (read-only, the connector's session settings).
public final class MySQLIntrospector: StoreIntrospector {
    private let connection: MySQLConnection
    private let search: SQLSearch
    private let database: String

    public init(config: StoreConfig) throws {
        let location = "store \(config.name)"
        let options = try StoreOptionValues(config, MySQLConnector.options)
        let endpoint = try MySQLConnector.endpoint(options, environment: ProcessInfo.processInfo.environment)
        let connection = try MySQLConnector.connect(endpoint, try MySQLDateTimes(options.text("timeZone"), location: location),
                                                    location: location, readOnly: true)
        self.connection = connection
        database = endpoint.database
        search = SQLSearch(dialect: .mysql, run: { q, row in
            try connection.run(q.text, q.parameters.map(MySQLSession.parameter)) { try row($0) }
        })
    }

    public func canonical(_ table: String) -> String { SQLSearch.canonical(table, in: database) }

    private func rows(_ sql: String, _ params: [SQLParameter] = []) throws -> [[String?]] { try search.textRows(sql, params) }

    static let textTypes: Set<String> = ["char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"]

    public func objects() throws -> [StoreObject] {
        let tables = try rows("""
            SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME
            """, [.text(database)]).compactMap { $0.first ?? nil }.filter { !$0.hasPrefix("dataport_") }
        return try tables.map { t in
            let cols = try rows("""
                SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION
                """, [.text(database), .text(t)]).map { r in
                let type = (r[1] ?? "").lowercased()
                return ColumnInfo(name: r[0] ?? "", type: type, isText: Self.textTypes.contains(type) && type != "enum" && type != "set")
            }
            return StoreObject(name: t, columns: cols)
        }
    }

    private func split(_ table: String) -> (String, String) {
        let parts = table.split(separator: ".").map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : (database, table)
    }

    public func uniqueColumnSets(of table: String) throws -> [[String]]? {
        let (schema, name) = split(table)
        var sets: [String: [String]] = [:]
        for r in try rows("""
            SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX
            """, [.text(schema), .text(name)]) {
            guard let index = r[0], let col = r[1] else { continue }
            sets[index, default: []].append(col)
        }
        return sets.sorted { $0.key < $1.key }.map(\.value)
    }

    public func indexCheck(_ match: Match, in dataset: DatasetConfig, forms: [IdentityKind: IdentityForm]) throws -> IndexCheck {
        guard case .table(let table) = dataset.source else { return .unknown("a query dataset: the index it needs depends on the query") }
        let field = dataset.field(named: match.field)
        let column = field?.column ?? match.field
        let (schema, name) = split(table)
        let first = try rows("""
            SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ? AND SEQ_IN_INDEX = 1
            """, [.text(schema), .text(name), .text(column)])
        if let n = first.first?.first ?? nil, let count = Int(n), count > 0 {
            // A text identity is looked up by its stored spellings first (SQLQueryBuilder's
            // spellingLookups), a comparison under another collation that no index serves.
            if case .identity = match, field?.type != .integer {
                return .scansColumn(why: "MySQL computes no normal form, so the stored spellings of the subject's values are found by reading the column once per lookup; the rows are then found through the index")
            }
            return .indexed
        }
        let type = try rows("SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                            [.text(schema), .text(name), .text(column)]).first?.first ?? nil
        let needsPrefix = ["tinytext", "text", "mediumtext", "longtext", "blob"].contains((type ?? "").lowercased())
        return .scans(fix: SQLSearch.suggestedIndex(.mysql, table: table, column: column, field: field, form: nil, textPrefix: needsPrefix))
    }

    public func occurrences(in object: StoreObject, of subject: SubjectQuery) throws -> [Occurrence] {
        try search.occurrences(in: object, of: subject)
    }

    public func close() { connection.close() }
}
