import DataPortModel
import Foundation

/// `StoreIntrospector` for SQLite: `sqlite_master`, `PRAGMA table_info` / `index_list` /
/// `index_info`, and `EXPLAIN QUERY PLAN` of the very lookup the connector runs (SQLite uses an
/// index whenever one can serve it, so `SCAN table` means every lookup reads the table).
/// Opens the database read-only, with DataPort's `dataport_norm_*` functions registered.
public final class SQLiteIntrospector: StoreIntrospector {
    private let db: SQLiteDatabase
    private let search: SQLSearch
    private let datasets: [DatasetConfig]

    public init(config: StoreConfig) throws {
        guard let path = config.path("path"), FileManager.default.fileExists(atPath: path) else {
            throw DataPortError(.store, "SQLite database file does not exist", at: "store \(config.name)", code: .missingFile)
        }
        let db = try SQLiteDatabase(path: path, readOnly: true)
        self.db = db
        datasets = config.datasets
        search = SQLSearch(dialect: .sqlite, run: { q, row in
            let stmt = try db.prepare(q.text)
            try stmt.bind(q.parameters)
            while try stmt.step() { try row(stmt) }
        })
    }

    private func rows(_ sql: String, _ params: [SQLParameter] = []) throws -> [[StoreCell]] {
        var out: [[StoreCell]] = []
        try search.run(SQLQuery(text: sql, parameters: params)) { r in out.append((0..<r.columnCount).map { r.cell($0) }) }
        return out
    }

    private static func text(_ c: StoreCell) -> String? {
        switch c {
        case .text(let t): t
        case .integer(let i): String(i)
        default: nil
        }
    }

    public func objects() throws -> [StoreObject] {
        let names = try rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name")
            .compactMap { $0.first.flatMap(Self.text) }
            .filter { !$0.hasPrefix("dataport_") }
        return try names.map { name in
            let cols = try rows("SELECT name, type FROM pragma_table_info(?) ORDER BY cid", [.text(name)]).map { r -> ColumnInfo in
                let type = Self.text(r[1]) ?? ""
                return ColumnInfo(name: Self.text(r[0]) ?? "", type: type, isText: Self.isText(type))
            }
            return StoreObject(name: name, columns: cols)
        }
    }

    /// SQLite's affinity rules: TEXT affinity (CHAR, CLOB, TEXT) or none declared (any value).
    static func isText(_ declared: String) -> Bool {
        let t = declared.uppercased()
        return t.isEmpty || t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT")
    }

    public func uniqueColumnSets(of table: String) throws -> [[String]]? {
        var sets: [[String]] = []
        let pk = try rows("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", [.text(table)]).compactMap { $0.first.flatMap(Self.text) }
        if !pk.isEmpty { sets.append(pk) }
        for index in try rows("SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND partial = 0", [.text(table)]) {
            guard let name = index.first.flatMap(Self.text) else { continue }
            let cols = try rows("SELECT name FROM pragma_index_info(?) ORDER BY seqno", [.text(name)]).map { $0.first.flatMap(Self.text) }
            // An expression column has no name: such an index is no unique set of columns.
            if !cols.isEmpty, cols.allSatisfy({ $0 != nil }) { sets.append(cols.compactMap { $0 }) }
        }
        return sets
    }

    public func indexCheck(_ match: Match, in dataset: DatasetConfig, forms: [IdentityKind: IdentityForm]) throws -> IndexCheck {
        guard case .table(let table) = dataset.source else { return .unknown("a query dataset: the index it needs depends on the query") }
        // The dataset with this match alone; the parents of a reference keep their own matches.
        let one = SQLSearch.only(match, of: dataset)
        let builder = SQLQueryBuilder(datasets: datasets.filter { $0.name != one.name } + [one], dialect: .sqlite)
        let q = SQLSearch.lookup(one, builder, SQLSearch.placeholderSubject(for: datasets, forms: forms))
        let plan = try rows("EXPLAIN QUERY PLAN " + q.text, q.parameters).compactMap { $0.count > 3 ? Self.text($0[3]) : nil }
        let bare = table.split(separator: ".").last.map(String.init) ?? table
        let scans = plan.contains { $0 == "SCAN \(bare)" || $0.hasPrefix("SCAN \(bare) ") || $0.hasPrefix("SCAN TABLE \(bare)") }
        guard scans else { return .indexed }
        let field = dataset.field(named: match.field)
        let form: IdentityForm? = if case .identity(let k, _) = match { forms[k] ?? k.defaultForm } else { nil }
        return .scans(fix: SQLSearch.suggestedIndex(.sqlite, table: table, column: field?.column ?? match.field, field: field, form: form))
    }

    public func occurrences(in object: StoreObject, of subject: SubjectQuery) throws -> [Occurrence] {
        try search.occurrences(in: object, of: subject)
    }

    public func close() {}
}
