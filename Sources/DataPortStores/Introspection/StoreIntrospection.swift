import DataPortModel
import Foundation

/// One column of a table or file, as the store describes it.
public struct ColumnInfo: Sendable, Hashable {
    public var name: String
    /// The type the store declares (`TEXT`, `character varying`, `varchar`; `text` for file columns).
    public var type: String
    /// Whether the column can hold text (the only columns `audit` searches).
    public var isText: Bool
    public init(name: String, type: String, isText: Bool) { self.name = name; self.type = type; self.isText = isText }
}

/// A table of a SQL store (named as a config would name it: `users`, or `schema.users` outside the
/// connection's own schema) or a file of a file store (its path in the folder).
public struct StoreObject: Sendable, Hashable {
    public var name: String
    public var columns: [ColumnInfo]
    public init(name: String, columns: [ColumnInfo]) { self.name = name; self.columns = columns }
}

/// Whether an identity or reference match can be served by an index.
public enum IndexCheck: Sendable, Hashable {
    case indexed
    /// Every lookup reads the whole table; `fix` is the index that would serve it.
    case scans(fix: String)
    /// The rows are found through an index, but a step before it reads the whole column (MySQL's
    /// lookup of the stored spellings of a text identity); `why` says so.
    case scansColumn(why: String)
    /// The store cannot tell (a query dataset, a file store).
    case unknown(String)
}

/// Where one of the subject's identity values occurs: so many rows of `column` of `object` hold a
/// value of `kind` whose normal form is one of the subject's. Never the value itself.
public struct Occurrence: Sendable, Hashable {
    public var object: String
    public var column: String
    public var kind: IdentityKind
    public var rows: Int
}

/// What `dataport check` and `dataport audit` ask a store about itself, beside the data the config
/// maps: its tables (or files) and columns, which column sets are unique, whether an index serves a
/// match, and where the subject's identity values occur. One implementation per store type,
/// registered in `IntrospectorRegistry.standard`; no value of the store ever leaves it (only names
/// and counts).
public protocol StoreIntrospector: AnyObject {
    /// The tables (base tables, not views) or files in the store's scope: the database, the
    /// connection's schema plus the schemas the config names, or the folder of a file store. DataPort's
    /// own bookkeeping tables (`dataport_*`) are left out.
    func objects() throws -> [StoreObject]

    /// The column sets of `table` (as a config names it) that are each unique: primary key, unique
    /// constraints and unique indexes without a predicate. `nil` when the store cannot tell.
    func uniqueColumnSets(of table: String) throws -> [[String]]?

    /// Whether the lookup of `match` (a match of `dataset`) is served by an index, given the forms
    /// of the config's kinds.
    func indexCheck(_ match: Match, in dataset: DatasetConfig, forms: [IdentityKind: IdentityForm]) throws -> IndexCheck

    /// How many rows of each text-like column of `object` hold one of the subject's values, by
    /// kind, compared in normal form as the connector compares them. Only non-zero counts.
    func occurrences(in object: StoreObject, of subject: SubjectQuery) throws -> [Occurrence]

    /// A config's table name as `objects()` names it (`public.users` is `users` when `public` is
    /// the connection's schema).
    func canonical(_ table: String) -> String

    func close()
}

extension StoreIntrospector {
    public func canonical(_ table: String) -> String { table }
    public func uniqueColumnSets(of table: String) throws -> [[String]]? { nil }
    public func indexCheck(_ match: Match, in dataset: DatasetConfig, forms: [IdentityKind: IdentityForm]) throws -> IndexCheck {
        .unknown("a file store has no indexes: each request reads the file")
    }
}

/// Makes an introspector for a store config.
public typealias StoreIntrospectorFactory = @Sendable (StoreConfig) throws -> any StoreIntrospector

/// The introspectors a run knows, by store type (a store type without one is reported as not
/// introspectable by `check` and `audit`).
public struct IntrospectorRegistry: Sendable {
    public var factories: [String: StoreIntrospectorFactory]
    public init(factories: [String: StoreIntrospectorFactory]) { self.factories = factories }

    public static let standard = IntrospectorRegistry(factories: [
        "sqlite": { try SQLiteIntrospector(config: $0) },
        "postgresql": { try PostgreSQLIntrospector(config: $0) },
        "mysql": { try MySQLIntrospector(config: $0) },
        "csv": { try FileIntrospector(config: $0) },
        "jsonl": { try FileIntrospector(config: $0) },
        "accesslog": { try FileIntrospector(config: $0) },
    ])

    public func introspector(for store: StoreConfig) throws -> (any StoreIntrospector)? {
        try factories[store.type].map { try $0(store) }
    }
}

/// Which tables or files a store's datasets cover (read, so searched by export): a table or file
/// a dataset names, and, for a `query` dataset, every table whose name occurs in the query as a
/// word (case-insensitive): a query's tables are never reported as uncovered, at the price of
/// treating a table named only in a comment as covered too.
/// Stores of a config that share a place (two file stores over one folder, two SQLite stores of
/// one file) cover it together.
public struct Coverage {
    public let stores: [StoreConfig]
    /// Turns a config's table name into the name `objects()` uses (schema defaults).
    public var canonical: (String) -> String

    public init(stores: [StoreConfig], canonical: @escaping (String) -> String = { $0 }) {
        self.stores = stores; self.canonical = canonical
    }

    /// Where a store's data lives, for grouping: the folder of a file store, the file of a SQLite
    /// store, the URL option of a server store.
    public static func place(of s: StoreConfig) -> String {
        switch s.type {
        case "csv", "jsonl", "accesslog": "files:" + (s.path("path") ?? "")
        case "sqlite": "sqlite:" + (s.path("path") ?? "")
        default: s.type + ":" + (s.options["url"] ?? "")
        }
    }

    public func covers(_ object: String) -> Bool {
        for d in stores.flatMap(\.datasets) {
            switch d.source {
            case .table(let t): if canonical(t) == object { return true }
            case .file(let f): if f == object { return true }
            case .query(let q):
                let last = object.split(separator: ".").last.map(String.init) ?? object
                if Self.words(q).contains(last.lowercased()) || Self.words(q).contains(object.lowercased()) { return true }
            }
        }
        return false
    }

    /// The identifier-like words of SQL text, lower-cased (quotes and brackets are separators).
    static func words(_ sql: String) -> Set<String> {
        var out = Set<String>(), word = ""
        for ch in sql.lowercased() {
            if ch.isLetter || ch.isNumber || ch == "_" || ch == "$" || ch == "." { word.append(ch) } else if !word.isEmpty { out.insert(word); word = "" }
        }
        if !word.isEmpty { out.insert(word) }
        // `schema.table` counts as both the qualified and the bare table name.
        for w in out where w.contains(".") { for p in w.split(separator: ".") { out.insert(String(p)) } }
        return out
    }
}

// MARK: - Shared by the SQL introspectors

/// Runs a statement of the builder, handing each row to the closure.
typealias SQLRun = (SQLQuery, (any SQLRow) throws -> Void) throws -> Void

/// What the SQL introspectors share: the subject's values are searched through the connectors' own
/// query builder, so `audit` compares exactly as `export` does (SQLite's `dataport_norm_*`
/// functions; PostgreSQL's candidate keys and MySQL's collation lookups, checked in Swift).
struct SQLSearch {
    let dialect: SQLQueryBuilder.Dialect
    let run: SQLRun

    /// A dataset of one text field over `column` of `table`, matched by `kind`: the query builder
    /// then writes the same condition it writes for a configured match.
    static func probeDataset(table: String, column: String, kind: IdentityKind) -> DatasetConfig {
        let field = FieldConfig(name: "c", column: column, type: .string, description: nil, secret: false, generated: false)
        let meta = Dataset(name: "audit", category: .account, description: "", purposes: [], legalBasis: .contract,
                           origin: .observed, source: Provenance(store: "", connector: "", object: table, matchedBy: []), fields: [])
        return DatasetConfig(name: "audit", store: "", source: .table(table), metadata: meta, key: nil,
                             matches: [.identity(kind: kind, field: "c")], yields: [], fields: [field])
    }

    /// Runs a catalogue query, each cell as text (`nil` for NULL and cells that are not text).
    func textRows(_ sql: String, _ params: [SQLParameter] = []) throws -> [[String?]] {
        var out: [[String?]] = []
        try run(SQLQuery(text: sql, parameters: params)) { r in
            out.append((0..<r.columnCount).map { i in
                switch r.cell(i) {
                case .text(let t): t
                case .integer(let n): String(n)
                case .blob(let b): String(validating: b, as: UTF8.self)
                default: nil
                }
            })
        }
        return out
    }

    /// A config's table name as `objects()` names it: without the connection's own schema or database.
    static func canonical(_ table: String, in own: String) -> String {
        let parts = table.split(separator: ".").map(String.init)
        return parts.count == 2 && parts[0] == own ? parts[1] : table
    }

    func occurrences(in object: StoreObject, of subject: SubjectQuery) throws -> [Occurrence] {
        var out: [Occurrence] = []
        for column in object.columns where column.isText {
            for kind in subject.identities.keys.sorted() where !subject.values(kind).isEmpty {
                let d = Self.probeDataset(table: object.name, column: column.name, kind: kind)
                let builder = SQLQueryBuilder(datasets: [d], dialect: dialect)
                var cache: [String: [String]] = [:]
                var spelled = try builder.withSpellings(subject, for: d, cache: &cache) { q, found in
                    try run(q) { row in try found(row.cell(0)) }
                }
                if dialect == .mysql { try addDecomposedSpellings(&spelled, d, kind: kind, builder: builder) }
                var params: [SQLParameter] = []
                let condition = builder.condition(d, spelled, &params)
                guard condition != "1=0" else { continue }
                var n: Int64 = 0
                try run(SQLQuery(text: "SELECT count(*) FROM \(builder.from(d)) WHERE \(condition)", parameters: params)) { row in
                    if case .integer(let i) = row.cell(0) { n = i } else if case .text(let t) = row.cell(0) { n = Int64(t) ?? 0 }
                }
                if n > 0 { out.append(Occurrence(object: object.name, column: column.name, kind: kind, rows: Int(n))) }
            }
        }
        return out
    }

    /// MySQL: the NFD spellings of the subject's values too. The connector's candidates are
    /// `col LIKE '%value%'`, and `LIKE` compares character by character, so an address stored
    /// decomposed (`e` + U+0301) is never `LIKE` the composed value under any collation; `LIKE` the
    /// decomposed value finds it (padded or not, in any case). Kept when their normal form is the
    /// subject's, as every candidate.
    private func addDecomposedSpellings(_ s: inout SubjectQuery, _ d: DatasetConfig, kind: IdentityKind, builder: SQLQueryBuilder) throws {
        let key = SubjectQuery.spellingKey(d.name, "c")
        var found = s.spellings[key] ?? []
        let wanted = Set(s.values(kind))
        let col = builder.column(d, "c")
        for v in s.values(kind) where v.decomposedStringWithCanonicalMapping.utf8.count != v.utf8.count {
            var pattern = "%"
            for ch in v.decomposedStringWithCanonicalMapping.unicodeScalars {
                if ch == "!" || ch == "%" || ch == "_" { pattern.append("!") }
                pattern.unicodeScalars.append(ch)
            }
            pattern += "%"
            try run(SQLQuery(text: "SELECT DISTINCT BINARY \(col) FROM \(builder.from(d)) WHERE \(col) LIKE ? ESCAPE '!'", parameters: [.text(pattern)])) { row in
                if let t = try row.cell(0).identityText(field: "c", in: d.name, at: nil), wanted.contains(s.normalize(t, as: kind)) { found.append(t) }
            }
        }
        var seen = Set<[UInt8]>()
        s.spellings[key] = found.filter { seen.insert(Array($0.utf8)).inserted }
    }

    /// A subject with a made-up value for every kind (and every spelling a PostgreSQL or MySQL
    /// condition needs), so that the builder writes each match's real condition for `EXPLAIN`.
    static func placeholderSubject(for datasets: [DatasetConfig], forms: [IdentityKind: IdentityForm]) -> SubjectQuery {
        var ids: [IdentityKind: [String]] = [:]
        var spellings: [String: [String]] = [:]
        for d in datasets {
            for case .identity(let kind, let field) in d.matches {
                ids[kind] = ["1"]
                spellings[SubjectQuery.spellingKey(d.name, field)] = ["1"]
            }
        }
        var q = SubjectQuery(identities: ids, forms: forms)
        q.spellings = spellings
        return q
    }

    /// The lookup of the subject's rows without the ORDER BY of a read (an index that only serves
    /// the order, such as the primary key, must not pass for one that serves the match).
    static func lookup(_ d: DatasetConfig, _ builder: SQLQueryBuilder, _ subject: SubjectQuery) -> SQLQuery {
        var params: [SQLParameter] = []
        let condition = builder.condition(d, subject, &params)
        return SQLQuery(text: "SELECT 1 FROM \(builder.from(d)) WHERE \(condition)", parameters: params)
    }

    /// `dataset` reduced to `match` alone (its parents keep theirs), to explain one lookup.
    static func only(_ match: Match, of dataset: DatasetConfig) -> DatasetConfig {
        var d = dataset
        d.matches = [match]
        return d
    }

    /// The index a DBA would create for a match (formats/stores-config.md, "How each store computes
    /// it"), in the store's own SQL.
    static func suggestedIndex(_ dialect: SQLQueryBuilder.Dialect, table: String, column: String, field: FieldConfig?, form: IdentityForm?,
                               textPrefix: Bool = false) -> String {
        let bare = table.split(separator: ".").last.map(String.init) ?? table
        let safe = (bare + "_" + column).map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let name = String(safe.prefix(50))
        if dialect == .mysql {
            func tick(_ s: String) -> String { "`" + s.replacingOccurrences(of: "`", with: "``") + "`" }
            let t = table.split(separator: ".").map { tick(String($0)) }.joined(separator: ".")
            return "CREATE INDEX \(tick(name)) ON \(t) (\(tick(column))\(textPrefix ? "(191)" : ""));"
        }
        let t = table.split(separator: ".").map { SQLQueryBuilder.quote(String($0)) }.joined(separator: ".")
        let col = SQLQueryBuilder.quote(column)
        guard let form, field?.type != .integer else { return "CREATE INDEX \(name) ON \(t) (\(col));" }
        switch dialect {
        case .sqlite: return "CREATE INDEX \(name)_norm ON \(t) (\(SQLiteDatabase.functionName(form))(\(col)));"
        default: return "CREATE INDEX \(name)_key ON \(t) ((\(SQLQueryBuilder.postgresKey(form, col))));"
        }
    }
}
