import Foundation
import DataPortModel

/// The tables an import keeps for itself beside the target's.
public enum ImportTable: Sendable, CaseIterable {
    /// Bundle key -> target key of the datasets whose keys the target generates; kept across
    /// imports, so that a second import of a bundle finds the rows of the first.
    case idMap
    /// The bundle keys of datasets with generated keys imported so far in this session: two
    /// records with one bundle key would otherwise get two target keys.
    case generatedKeys
    /// How often each keyless record (by its digest) has come so far in this session.
    case occurrences

    public var name: String {
        switch self {
        case .idMap: "dataport_id_map"
        case .generatedKeys: "dataport_generated_keys"
        case .occurrences: "dataport_occurrences"
        }
    }

    /// Whether the table lives only as long as the session.
    public var temporary: Bool { self != .idMap }

    /// The column definitions, `text` being the type of the importer's text keys.
    func definition(text: String) -> String {
        switch self {
        case .idMap:
            "dataset \(text) NOT NULL, bundle_key \(text) NOT NULL, target_key \(text) NOT NULL, PRIMARY KEY (dataset, bundle_key)"
        case .generatedKeys:
            "dataset \(text) NOT NULL, bundle_key \(text) NOT NULL, PRIMARY KEY (dataset, bundle_key)"
        case .occurrences:
            "dataset \(text) NOT NULL, record \(text) NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (dataset, record)"
        }
    }
}

// MARK: - The defaults: the SQL SQLite and PostgreSQL share

extension SQLSession {
    public var temporaryTable: String { "TEMP TABLE" }
    public func nullSafeEquals(_ column: String, _ placeholder: String, as type: FieldType) -> String {
        "\(column) \(nullSafeEquals) \(placeholder)"
    }
    public var keyTextType: String { "TEXT" }

    private func marks(_ count: Int, from first: Int = 1) -> String {
        (first..<(first + count)).map(placeholder).joined(separator: ", ")
    }

    /// The `CREATE ... IF NOT EXISTS` statement of `table`, in this session's dialect.
    func createStatement(_ table: ImportTable) -> String {
        "CREATE \(table.temporary ? temporaryTable : "TABLE") IF NOT EXISTS \(table.name) (\(table.definition(text: keyTextType)))"
    }

    public func createImportTable(_ table: ImportTable) throws {
        try execute(createStatement(table), [])
    }

    public func isEmpty(_ table: String) throws -> Bool {
        var empty = true
        try query("SELECT 1 FROM \(table) LIMIT 1", [], rows: { _ in empty = false })
        return empty
    }

    public func inserter(into table: String, columns: [String], returning: [String]) -> SQLInserter {
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(marks(columns.count)))"
        guard !returning.isEmpty else { return { values, _ in _ = try self.execute(sql, values) } }
        let returningSQL = sql + " RETURNING \(returning.joined(separator: ", "))"
        return { values, row in try self.query(returningSQL, values, rows: row) }
    }

    public func update(_ table: String, setting columns: [String], to values: [Value], keyColumn: String, key: Value) throws {
        let sets = columns.enumerated().map { "\($0.element) = \(placeholder($0.offset + 1))" }.joined(separator: ", ")
        try execute("UPDATE \(table) SET \(sets) WHERE \(keyColumn) = \(placeholder(columns.count + 1))", values + [key])
    }

    public func readRows(of table: String, columns: [String], keyColumn: String, keys: [Value],
                         _ row: (any SQLRow) throws -> Void) throws {
        guard !keys.isEmpty else { return }
        try query("SELECT \(columns.joined(separator: ", ")) FROM \(table) WHERE \(keyColumn) IN (\(marks(keys.count)))", keys, rows: row)
    }

    public func rowCounter(of table: String, columns: [String], types: [FieldType]) -> ([Value]) throws -> Int64 {
        let conditions = zip(columns, types).enumerated().map { nullSafeEquals($0.element.0, placeholder($0.offset + 1), as: $0.element.1) }
        let sql = "SELECT count(*) FROM \(table) WHERE \(conditions.joined(separator: " AND "))"
        return { values in try self.integer(sql, values) }
    }

    /// The integer in the first column of the query's last row (0 when there is none).
    func integer(_ sql: String, _ parameters: [Value]) throws -> Int64 {
        var n: Int64 = 0
        try query(sql, parameters, rows: { row in if case .integer(let i) = row.cell(0) { n = i } })
        return n
    }

    public func hasRepeatedValue(in table: String, column: String) throws -> Bool {
        var twice = false
        try query("SELECT 1 FROM \(table) GROUP BY \(column) HAVING count(*) > 1 LIMIT 1", [], rows: { _ in twice = true })
        return twice
    }

    public func insertSkippingDuplicates(into table: String, columns: [String], _ values: [Value]) throws -> Int {
        let n = columns.count
        let rows = (0..<(values.count / n)).map { "(\(marks(n, from: $0 * n + 1)))" }.joined(separator: ", ")
        return try execute("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES \(rows) ON CONFLICT DO NOTHING", values)
    }

    public func incrementCounter(in table: String, keyColumns: [String], _ key: [Value]) throws -> Int64 {
        let cols = keyColumns.joined(separator: ", ")
        return try integer("INSERT INTO \(table) (\(cols), n) VALUES (\(marks(key.count)), 1) ON CONFLICT (\(cols)) DO UPDATE SET n = \(table).n + 1 RETURNING n", key)
    }

    public func idMapEntries(of dataset: String, keys: [String], reverse: Bool) throws -> [String: String] {
        var out: [String: String] = [:]
        let (from, to) = reverse ? ("target_key", "bundle_key") : ("bundle_key", "target_key")
        for start in stride(from: 0, to: keys.count, by: importKeysPerStatement) {
            let part = keys[start..<min(start + importKeysPerStatement, keys.count)]
            try query("SELECT \(from), \(to) FROM \(ImportTable.idMap.name) WHERE dataset = \(placeholder(1)) AND \(from) IN (\(marks(part.count, from: 2)))",
                      [.string(dataset)] + part.map(Value.string)) { row in
                if case .text(let a) = row[0], case .text(let b) = row[1] { out[a] = b }
            }
        }
        return out
    }

    public func mapKey(of dataset: String, bundleKey: String, to targetKey: String) throws {
        let table = ImportTable.idMap.name
        try execute("DELETE FROM \(table) WHERE dataset = \(placeholder(1)) AND bundle_key = \(placeholder(2))", [.string(dataset), .string(bundleKey)])
        try execute("INSERT INTO \(table) (dataset, bundle_key, target_key) VALUES (\(marks(3)))", [.string(dataset), .string(bundleKey), .string(targetKey)])
    }
}

/// How many keys one id-map lookup binds at most.
private let importKeysPerStatement = 500

// MARK: - The import's bookkeeping, on the dialect's operations

extension SQLSession {
    /// Enters the bundle keys of `dataset` in `ImportTable.generatedKeys`; returns how many were
    /// not there yet.
    package func addGeneratedKeys(of dataset: String, _ keys: [String]) throws -> Int {
        try insertSkippingDuplicates(into: ImportTable.generatedKeys.name, columns: ["dataset", "bundle_key"],
                                     keys.flatMap { [Value.string(dataset), .string($0)] })
    }

    /// Counts one more copy of a keyless record of `dataset` (`record`: its digest) in
    /// `ImportTable.occurrences`; returns how many have come so far, this one included.
    package func countOccurrence(of dataset: String, record: String) throws -> Int64 {
        try incrementCounter(in: ImportTable.occurrences.name, keyColumns: ["dataset", "record"], [.string(dataset), .string(record)])
    }
}
