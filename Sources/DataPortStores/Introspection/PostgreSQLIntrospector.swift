import DataPortIO
import DataPortModel
import Foundation

/// `StoreIntrospector` for PostgreSQL: `information_schema` for tables and columns, `pg_index` for
/// unique sets, and `EXPLAIN` of the connector's own lookup with sequential scans disabled for the
/// statement (a small table is scanned even when an index exists; with `enable_seqscan = off` the
/// planner uses any index that can serve the lookup, so a remaining `Seq Scan` means none can).
/// Reads on a connection of its own, in a read-only transaction.
public final class PostgreSQLIntrospector: StoreIntrospector {
    private let connection: PostgreSQLConnection
    private let search: SQLSearch
    private let datasets: [DatasetConfig]
    /// The connection's schema (`current_schema()`): its tables are named without it.
    private let schema: String
    /// The schemas searched: the connection's and those the config's tables name.
    private let schemas: [String]

    public init(config: StoreConfig) throws {
        let location = "store \(config.name)"
        let connection = try PostgreSQLConnection(conninfo: try PostgreSQLConnector.connectionString(StoreOptionValues(config, PostgreSQLConnector.options).text("url"), location: location),
                                                  location: location)
        self.connection = connection
        datasets = config.datasets
        search = SQLSearch(dialect: .postgresql, run: { q, row in try connection.query(q.text, q.parameters) { try row($0) } })
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        var current = "public"
        try connection.query("SELECT current_schema()", []) { r in if case .text(let t) = r.cell(0) { current = t } }
        schema = current
        var named = [current]
        for d in config.datasets {
            if case .table(let t) = d.source, t.contains(".") {
                let s = String(t.split(separator: ".")[0])
                if !named.contains(s) { named.append(s) }
            }
        }
        schemas = named
    }

    /// A config's table name as `objects()` names it.
    public func canonical(_ table: String) -> String { SQLSearch.canonical(table, in: schema) }

    private func rows(_ sql: String, _ params: [SQLParameter] = []) throws -> [[String?]] { try search.textRows(sql, params) }

    public func objects() throws -> [StoreObject] {
        var out: [StoreObject] = []
        for s in schemas {
            let tables = try rows("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name", [.text(s)])
                .compactMap { $0.first ?? nil }.filter { !$0.hasPrefix("dataport_") }
            for t in tables {
                let cols = try rows("""
                    SELECT column_name, data_type, udt_name FROM information_schema.columns
                    WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position
                    """, [.text(s), .text(t)]).map { r in
                    let type = (r[1] ?? "") == "USER-DEFINED" ? (r[2] ?? "") : (r[1] ?? "")
                    return ColumnInfo(name: r[0] ?? "", type: type, isText: ["text", "character varying", "character", "citext"].contains(type))
                }
                out.append(StoreObject(name: s == schema ? t : "\(s).\(t)", columns: cols))
            }
        }
        return out
    }

    /// The quoted, schema-qualified name for `to_regclass`.
    private func regclass(_ table: String) -> String {
        table.split(separator: ".").map { SQLQueryBuilder.quote(String($0)) }.joined(separator: ".")
    }

    public func uniqueColumnSets(of table: String) throws -> [[String]]? {
        var sets: [String: [String]] = [:]
        var expression = Set<String>()
        for r in try rows("""
            SELECT i.indexrelid::text, a.attname FROM pg_index i
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL
            ORDER BY 1, k.ord
            """, [.text(regclass(table))]) {
            guard let index = r[0] else { continue }
            if let name = r[1] { sets[index, default: []].append(name) } else { expression.insert(index) }
        }
        return sets.filter { !expression.contains($0.key) }.sorted { $0.key < $1.key }.map(\.value)
    }

    public func indexCheck(_ match: Match, in dataset: DatasetConfig, forms: [IdentityKind: IdentityForm]) throws -> IndexCheck {
        guard case .table(let table) = dataset.source else { return .unknown("a query dataset: the index it needs depends on the query") }
        let one = SQLSearch.only(match, of: dataset)
        let builder = SQLQueryBuilder(datasets: datasets.filter { $0.name != one.name } + [one], dialect: .postgresql)
        let q = SQLSearch.lookup(one, builder, SQLSearch.placeholderSubject(for: datasets, forms: forms))
        try connection.execute("SAVEPOINT dataport_check")
        defer { try? connection.execute("ROLLBACK TO SAVEPOINT dataport_check") }
        try connection.execute("SET LOCAL enable_seqscan = off")
        let plan = try rows("EXPLAIN (FORMAT JSON) " + q.text, q.parameters).compactMap { $0.first ?? nil }.joined()
        let bare = table.split(separator: ".").last.map(String.init) ?? table
        let scans = Self.readsWhole(bare, in: try JSONValue.parse(Array(plan.utf8), name: "EXPLAIN", errorKind: .store))
        guard scans else { return .indexed }
        let field = dataset.field(named: match.field)
        let form: IdentityForm? = if case .identity(let k, _) = match { forms[k] ?? k.defaultForm } else { nil }
        return .scans(fix: SQLSearch.suggestedIndex(.postgresql, table: table, column: field?.column ?? match.field, field: field, form: form))
    }

    /// Whether a plan reads `table` without an index condition: a `Seq Scan`, or an index scan
    /// that only filters (with sequential scans off the planner walks a primary key instead).
    static func readsWhole(_ table: String, in plan: JSONValue) -> Bool {
        func member(_ v: JSONValue, _ key: String) -> JSONValue? {
            if case .object(let ms) = v { return ms.first { $0.key == key }?.value }
            return nil
        }
        func text(_ v: JSONValue?) -> String? { if case .string(let s)? = v { s } else { nil } }
        func children(_ v: JSONValue) -> [JSONValue] { if case .array(let a)? = member(v, "Plans") { a } else { [] } }
        func hasIndexCondition(_ v: JSONValue) -> Bool {
            member(v, "Index Cond") != nil || children(v).contains { text(member($0, "Node Type")) == "Bitmap Index Scan" && hasIndexCondition($0) }
                || children(v).contains { text(member($0, "Node Type")) == "BitmapOr" && children($0).allSatisfy(hasIndexCondition) }
        }
        func visit(_ v: JSONValue) -> Bool {
            if text(member(v, "Relation Name")) == table, !hasIndexCondition(v) { return true }
            return children(v).contains(where: visit)
        }
        guard case .array(let top) = plan else { return false }
        return top.contains { member($0, "Plan").map(visit) ?? false }
    }

    public func occurrences(in object: StoreObject, of subject: SubjectQuery) throws -> [Occurrence] {
        try search.occurrences(in: object, of: subject)
    }

    public func close() {
        try? connection.execute("ROLLBACK")
        connection.close()
    }
}
