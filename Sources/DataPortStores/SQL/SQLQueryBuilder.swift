import DataPortModel

/// A parameter of a SQL statement. Values are always bound, never spliced into SQL text.
public enum SQLParameter: Sendable, Hashable {
    case text(String)
    case integer(Int64)
}

/// A statement and its parameters.
public struct SQLQuery: Sendable {
    public var text: String
    public var parameters: [SQLParameter]
}

/// Builds the subject-scoped SELECTs shared by the SQL connectors (SQLite, PostgreSQL).
///
/// A dataset linked by identity becomes `col IN (?, ...)`; one linked by reference becomes
/// `col IN (SELECT key FROM parent WHERE ...)`, so a walk from e-mail to user to invoice to payment
/// is one streaming query, without holding keys in memory.
public struct SQLQueryBuilder: Sendable {
    /// The placeholder for the n-th parameter (1-based): `?` for SQLite, `$n` for PostgreSQL.
    public var placeholder: @Sendable (Int) -> String
    /// All datasets of the store, to follow references.
    public var datasets: [String: DatasetConfig]
    /// Wraps the column side of a text identity match so that it compares exactly (MySQL's
    /// case- and accent-insensitive collations would match another person's address otherwise).
    public var exact: @Sendable (String) -> String

    public init(datasets: [DatasetConfig], placeholder: @escaping @Sendable (Int) -> String,
                exact: @escaping @Sendable (String) -> String = { $0 }) {
        self.placeholder = placeholder
        self.exact = exact
        self.datasets = Dictionary(uniqueKeysWithValues: datasets.map { ($0.name, $0) })
    }

    public static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    func from(_ d: DatasetConfig) -> String {
        switch d.source {
        case .table(let t): return t.split(separator: ".").map { Self.quote(String($0)) }.joined(separator: ".")
        case .query(let q): return "(\(q)) AS dataport_source"
        case .file(let f): return Self.quote(f)
        }
    }

    func column(_ d: DatasetConfig, _ field: String) -> String {
        Self.quote(d.field(named: field)?.column ?? field)
    }

    /// The condition selecting the subject's rows of `d`; appends its parameters.
    func condition(_ d: DatasetConfig, _ subject: SubjectQuery, _ params: inout [SQLParameter], depth: Int = 0) -> String {
        var parts: [String] = []
        for m in d.matches {
            switch m {
            case .identity(let kind, let field):
                let isInteger = d.field(named: field)?.type == .integer
                var values: [SQLParameter] = []
                for v in subject.values(kind) {
                    if isInteger { if let i = Int64(v) { values.append(.integer(i)) } } else { values.append(.text(v)) }
                }
                guard !values.isEmpty else { continue }
                let col = column(d, field)
                let lhs = kind == .email ? "lower(trim(\(col)))" : col
                let exactLHS = isInteger ? lhs : exact(lhs)
                var marks: [String] = []
                for v in values { params.append(v); marks.append(placeholder(params.count)) }
                parts.append("\(exactLHS) IN (\(marks.joined(separator: ", ")))")
            case .reference(let field, let target, let key):
                guard depth < 16, let parent = datasets[target] else { continue }
                let inner = condition(parent, subject, &params, depth: depth + 1)
                guard inner != "1=0" else { continue }
                parts.append("\(column(d, field)) IN (SELECT \(column(parent, key)) FROM \(from(parent)) WHERE \(inner))")
            }
        }
        return parts.isEmpty ? "1=0" : parts.map { "(\($0))" }.joined(separator: " OR ")
    }

    /// SELECT of the exported fields of the subject's rows, in a stable order (the key, else every field).
    public func selectRows(_ d: DatasetConfig, for subject: SubjectQuery) -> SQLQuery {
        var params: [SQLParameter] = []
        let cond = condition(d, subject, &params)
        let cols = d.exportedFields.map { Self.quote($0.column) }
        let order = d.key.map { [column(d, $0)] } ?? cols
        return SQLQuery(text: "SELECT \(cols.joined(separator: ", ")) FROM \(from(d)) WHERE \(cond) ORDER BY \(order.joined(separator: ", "))", parameters: params)
    }

    /// SELECT DISTINCT of one field over the subject's rows.
    public func selectDistinct(_ field: String, in d: DatasetConfig, for subject: SubjectQuery, limit: Int) -> SQLQuery {
        var params: [SQLParameter] = []
        let cond = condition(d, subject, &params)
        let col = column(d, field)
        return SQLQuery(text: "SELECT DISTINCT \(col) FROM \(from(d)) WHERE \(cond) AND \(col) IS NOT NULL ORDER BY \(col) LIMIT \(limit)", parameters: params)
    }

    /// A query that fails to prepare when the table or any configured column (secrets included) is missing.
    public func probe(_ d: DatasetConfig) -> String {
        "SELECT \(d.fields.map { Self.quote($0.column) }.joined(separator: ", ")) FROM \(from(d)) WHERE 1=0"
    }
}
