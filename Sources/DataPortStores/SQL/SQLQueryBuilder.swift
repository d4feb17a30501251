import DataPortModel

/// A parameter of a SQL statement. Values are always bound, never spliced into SQL text.
package enum SQLParameter: Sendable, Hashable {
    case text(String)
    case integer(Int64)
}

/// A statement and its parameters.
package struct SQLQuery: Sendable {
    package var text: String
    package var parameters: [SQLParameter]
}

/// Builds the subject-scoped SELECTs shared by the SQL connectors (SQLite, PostgreSQL).
///
/// A dataset linked by identity becomes `col IN (?, ...)`; one linked by reference becomes
/// `col IN (SELECT key FROM parent WHERE ...)`, so a walk from e-mail to user to invoice to payment
/// is one streaming query, without holding keys in memory.
package struct SQLQueryBuilder: Sendable {
    /// The SQL flavour: placeholders and how an identity match is written.
    package enum Dialect: Sendable { case sqlite, postgresql, mysql }

    package var dialect: Dialect
    /// All datasets of the store, to follow references.
    package var datasets: [String: DatasetConfig]
    /// MySQL: the case- and accent-insensitive Unicode collation the spelling lookup compares under
    /// (the newest the server has: `MySQLConnector.caselessCollation`).
    package var mysqlCollation = "utf8mb4_unicode_520_ci"

    package init(datasets: [DatasetConfig], dialect: Dialect) {
        self.dialect = dialect
        self.datasets = Dictionary(uniqueKeysWithValues: datasets.map { ($0.name, $0) })
    }

    /// The placeholder for the n-th parameter (1-based): `?` for SQLite and MySQL, `$n` for PostgreSQL.
    func placeholder(_ n: Int) -> String { dialect == .postgresql ? "$\(n)" : "?" }

    package static func quote(_ identifier: String) -> String {
        // Foundation's replacing is slow, and a batch builds every query again for each subject.
        guard identifier.utf8.contains(UInt8(ascii: "\"")) else { return "\"" + identifier + "\"" }
        return "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
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
                if let term = identityTerm(d, kind: kind, field: field, subject, &params) { parts.append(term) }
            case .reference(let field, let target, let key):
                guard depth < 16, let parent = datasets[target] else { continue }
                let inner = condition(parent, subject, &params, depth: depth + 1)
                guard inner != "1=0" else { continue }
                parts.append("\(column(d, field)) IN (SELECT \(column(parent, key)) FROM \(from(parent)) WHERE \(inner))")
            }
        }
        return parts.isEmpty ? "1=0" : parts.map { "(\($0))" }.joined(separator: " OR ")
    }

    /// The condition on one identity match, or nil when the subject has no value that can match it.
    ///
    /// Integer fields compare integers. Text fields compare normal forms (`IdentityForm`):
    /// SQLite through the registered `dataport_norm_FORM(col)` (exact, and an expression index on it
    /// serves the lookup); PostgreSQL through built-in expressions: `exact` kinds as
    /// `normalize(btrim(col, WS), NFC)`, which is the normal form itself; `caseless` and `ip` kinds,
    /// which PostgreSQL cannot compute exactly (no full case folding, no address parsing), as an
    /// indexable *candidate key* that every spelling of the value shares, together with the stored
    /// spellings that the connector has checked in Swift to be the subject's (`SubjectQuery.spellings`).
    func identityTerm(_ d: DatasetConfig, kind: IdentityKind, field: String, _ subject: SubjectQuery, _ params: inout [SQLParameter]) -> String? {
        let col = column(d, field)
        func list(_ values: [SQLParameter]) -> String {
            var marks: [String] = []
            for v in values { params.append(v); marks.append(placeholder(params.count)) }
            return marks.joined(separator: ", ")
        }
        if d.field(named: field)?.type == .integer {
            let values = subject.values(kind).compactMap { Int64($0) }.map(SQLParameter.integer)
            return values.isEmpty ? nil : "\(col) IN (\(list(values)))"
        }
        let values = subject.values(kind)
        guard !values.isEmpty else { return nil }
        let form = subject.form(kind)
        switch (dialect, form) {
        case (.sqlite, _):
            return "\(SQLiteDatabase.functionName(form))(\(col)) IN (\(list(values.map(SQLParameter.text))))"
        case (.postgresql, .exact):
            return "\(Self.postgresKey(.exact, col)) IN (\(list(values.map(SQLParameter.text))))"
        case (.mysql, _):
            // MySQL computes no normal form: the stored spellings were found by `selectSpellings`
            // and checked in Swift. `col IN` is served by an index on the column; the comparison of
            // the bytes makes it exact (the column's collation alone would also match another
            // person's accented or differently cased address, or one with trailing spaces).
            let spellings = subject.spellings[SubjectQuery.spellingKey(d.name, field)] ?? []
            guard !spellings.isEmpty else { return nil }
            let marks = list(spellings.map(SQLParameter.text))
            return "\(col) IN (\(marks)) AND \(Self.mysqlBytes(col)) IN (\(list(spellings.map(SQLParameter.text))))"
        case (.postgresql, _):
            let spellings = subject.spellings[SubjectQuery.spellingKey(d.name, field)] ?? []
            guard !spellings.isEmpty else { return nil }
            let keys = Self.candidateKeys(form, values)
            return "\(Self.postgresKey(form, col)) IN (\(list(keys.map(SQLParameter.text)))) AND \(col) IN (\(list(spellings.map(SQLParameter.text))))"
        }
    }

    /// The identity matches on text fields, in `d` and the datasets it references, whose stored
    /// spellings a PostgreSQL connector must look up before it can query `d` (caseless and ip forms).
    package func spellingLookups(_ d: DatasetConfig, _ subject: SubjectQuery, depth: Int = 0) -> [(dataset: DatasetConfig, field: String, kind: IdentityKind)] {
        guard dialect != .sqlite else { return [] }
        var out: [(DatasetConfig, String, IdentityKind)] = []
        for m in d.matches {
            switch m {
            case .identity(let kind, let field):
                let needed = dialect == .mysql || subject.form(kind) != .exact
                if d.field(named: field)?.type != .integer, needed, !subject.values(kind).isEmpty { out.append((d, field, kind)) }
            case .reference(_, let target, _):
                if depth < 16, let parent = datasets[target] { out += spellingLookups(parent, subject, depth: depth + 1) }
            }
        }
        return out
    }

    /// SELECT DISTINCT of the stored values of `field` that share a candidate key with the subject's
    /// values of `kind` (PostgreSQL): a superset of the subject's spellings, found through the index.
    package func selectSpellings(_ field: String, in d: DatasetConfig, kind: IdentityKind, for subject: SubjectQuery) -> SQLQuery {
        var params: [SQLParameter] = []
        let col = column(d, field)
        let form = subject.form(kind)
        var marks: [String] = []
        if dialect == .mysql {
            // Candidates, a superset of the subject's spellings checked in Swift: the column's text
            // trimmed of every White_Space character (a parameter, so no sql_mode changes its
            // escapes), compared under a case- and accent-insensitive Unicode collation, whatever
            // the column's own: NFD and NFC, `ß` and `ss`, `İ` and `i̇`, upper and lower case all
            // compare equal there. `ip` kinds compare PostgreSQL's candidate key (lower case
            // without `0` and `:`). The expression reads the whole column; the row query that
            // follows uses the index.
            params.append(.text(Self.mysqlTrimPattern))
            let trimmed = "REGEXP_REPLACE(CONVERT(\(col) USING utf8mb4), \(placeholder(params.count)), '')"
            let key = form == .ip ? "REPLACE(REPLACE(LOWER(\(trimmed)), '0', ''), ':', '')" : trimmed
            let values = form == .ip ? Self.candidateKeys(.ip, subject.values(kind))
                : form == .caseless ? subject.values(kind).flatMap(Self.mysqlCandidates) : subject.values(kind)
            for v in values { params.append(.text(v)); marks.append(placeholder(params.count)) }
            return SQLQuery(text: "SELECT DISTINCT \(Self.mysqlBytes(col)) FROM \(from(d)) WHERE \(key) COLLATE \(mysqlCollation) IN (\(marks.joined(separator: ", ")))",
                            parameters: params)
        }
        for k in Self.candidateKeys(form, subject.values(kind)) { params.append(.text(k)); marks.append(placeholder(params.count)) }
        return SQLQuery(text: "SELECT DISTINCT \(col) FROM \(from(d)) WHERE \(Self.postgresKey(form, col)) IN (\(marks.joined(separator: ", ")))", parameters: params)
    }

    /// `subject` with the stored spellings that querying `dataset` needs (`spellingLookups`): the
    /// candidates `run` returns for each `selectSpellings` query are kept when their normal form
    /// (computed in Swift, as for every store) is one of the subject's values, so the rows then
    /// selected are exactly the subject's. `cache` keeps them for the connector's later queries.
    package func withSpellings(_ subject: SubjectQuery, for dataset: DatasetConfig, cache: inout [String: [String]],
                              run: (SQLQuery, (StoreCell) throws -> Void) throws -> Void) throws -> SubjectQuery {
        var s = subject
        for (d, field, kind) in spellingLookups(dataset, subject) {
            let key = SubjectQuery.spellingKey(d.name, field)
            guard s.spellings[key] == nil else { continue }
            let wanted = Set(subject.values(kind))
            let cacheKey = key + "\u{1E}" + kind.rawValue + "\u{1E}" + wanted.sorted().joined(separator: "\u{1F}")
            if let cached = cache[cacheKey] { s.spellings[key] = cached; continue }
            var found: [String] = []
            try run(selectSpellings(field, in: d, kind: kind, for: subject)) { cell in
                if let text = try cell.identityText(field: field, in: d.name, at: nil), wanted.contains(subject.normalize(text, as: kind)) {
                    found.append(text)
                }
            }
            // By bytes: Swift's String equality is canonical equivalence, and an NFC and an NFD
            // spelling are two stored values that both must be selected.
            var seen = Set<[UInt8]>()
            found = found.filter { seen.insert(Array($0.utf8)).inserted }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            cache[cacheKey] = found
            s.spellings[key] = found
        }
        return s
    }

    // MARK: - MySQL

    /// A column's text as utf8mb4 bytes: compared byte by byte (no collation, no padding).
    package static func mysqlBytes(_ col: String) -> String { "CAST(CONVERT(\(col) USING utf8mb4) AS BINARY)" }

    /// The regular expression (PCRE on MariaDB, ICU on MySQL) of leading and trailing White_Space.
    package static let mysqlTrimPattern: String = {
        let set = String(String.UnicodeScalarView(IdentityForm.whitespace))
        return "^[\(set)]+|[\(set)]+$"
    }()

    /// The values a caseless normal form is compared with in MySQL's spelling lookup: itself and,
    /// for each subset of its `ι` (U+03B9), itself without them. Case folding turns the Greek iota
    /// subscript (`ᾳ`, U+0345) into a letter `ι`, which the collation ignores in the stored `ᾳ`.
    /// Up to 6 such letters (64 values); beyond, only none or all are left out.
    package static func mysqlCandidates(_ value: String) -> [String] {
        let scalars = Array(value.unicodeScalars)
        let iotas = scalars.indices.filter { scalars[$0] == "\u{3B9}" }
        guard !iotas.isEmpty else { return [value] }
        let masks: [Int] = iotas.count <= 6 ? Array(0..<(1 << iotas.count)) : [0, (1 << 62)]
        return masks.map { mask in
            var out = String.UnicodeScalarView()
            var n = 0
            for (i, u) in scalars.enumerated() {
                if n < iotas.count, iotas[n] == i {
                    defer { n += 1 }
                    if iotas.count <= 6 ? mask & (1 << n) != 0 : mask != 0 { continue }
                }
                out.append(u)
            }
            return String(out)
        }
    }

    // MARK: - PostgreSQL candidate keys

    /// The White_Space characters as a PostgreSQL literal (for `btrim`).
    static let postgresWhitespace: String = "U&'" + IdentityForm.whitespace.map { String(format: "\\%04X", $0.value) }.joined() + "'"
    private static let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", lower = "abcdefghijklmnopqrstuvwxyz"

    /// The indexable expression over `col` for a form, as `formats/stores-config.md` tells a DBA to
    /// index it. For `exact` it is the normal form. For `caseless` it is the compatibility-decomposed
    /// (NFKD) text with ASCII letters lower-cased and everything else but ASCII dropped, `s` included
    /// (`ß` folds to `ss`): every spelling of an address has the same key. For `ip` it is the text
    /// lower-cased without `0` and `:`: every spelling of an address (leading zeros, `::`, case)
    /// has the same key.
    package static func postgresKey(_ form: IdentityForm, _ col: String) -> String {
        switch form {
        case .exact:
            return "normalize(btrim(\(col), \(postgresWhitespace)), NFC)"
        case .caseless:
            let from = upper.replacingOccurrences(of: "S", with: "") + "Ss"
            let to = lower.replacingOccurrences(of: "s", with: "")
            return "regexp_replace(translate(normalize(btrim(\(col), \(postgresWhitespace)), NFKD), '\(from)', '\(to)'), '[^\\x01-\\x7f]', '', 'g')"
        case .ip:
            return "translate(normalize(btrim(\(col), \(postgresWhitespace)), NFC), '\(upper)0:', '\(lower)')"
        }
    }

    /// The candidate keys (`postgresKey`) of normalised values, computed in Swift.
    package static func candidateKeys(_ form: IdentityForm, _ values: [String]) -> [String] {
        var out: [String] = []
        var seen = Set<String>()
        for v in values {
            for k in keys(form, v) where seen.insert(k).inserted { out.append(k) }
        }
        return out
    }

    private static func keys(_ form: IdentityForm, _ value: String) -> [String] {
        switch form {
        case .exact: return [value]
        case .caseless:
            let bytes = value.decomposedStringWithCompatibilityMapping.utf8.compactMap { b -> UInt8? in
                guard b < 0x80, b != 0, b != UInt8(ascii: "s"), b != UInt8(ascii: "S") else { return nil }
                return b >= 0x41 && b <= 0x5A ? b + 0x20 : b
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .ip:
            func key(_ t: String) -> String { String(t.lowercased().filter { $0 != "0" && $0 != ":" }) }
            // The spellings of one address: its canonical text; an IPv4 address also as a mapped IPv6
            // address (dotted or hex); an IPv6 address also with its last 32 bits dotted.
            let parts = value.split(separator: ".")
            if parts.count == 4, let octets = Optional(parts.compactMap { UInt8($0) }), octets.count == 4, !value.contains(":") {
                let hex = String(format: "%x:%x", Int(octets[0]) << 8 | Int(octets[1]), Int(octets[2]) << 8 | Int(octets[3]))
                return [key(value), key("::ffff:" + value), key("::ffff:" + hex)]
            }
            guard value.contains(":"), let b = IdentityForm.ipv6Bytes(value) else { return [key(value)] }
            let head = stride(from: 0, to: 12, by: 2).map { String(format: "%x", Int(b[$0]) << 8 | Int(b[$0 + 1])) }.joined(separator: ":")
            return [key(value), key(head + ":" + b[12..<16].map { String($0) }.joined(separator: "."))]
        }
    }

    /// SELECT of the exported fields of the subject's rows, in a stable order (the key, else every field).
    package func selectRows(_ d: DatasetConfig, for subject: SubjectQuery) -> SQLQuery {
        var params: [SQLParameter] = []
        let cond = condition(d, subject, &params)
        let cols = d.exportedFields.map { Self.quote($0.column) }
        let order = d.key.map { [column(d, $0)] } ?? cols
        return SQLQuery(text: "SELECT \(cols.joined(separator: ", ")) FROM \(from(d)) WHERE \(cond) ORDER BY \(order.joined(separator: ", "))", parameters: params)
    }

    /// SELECT DISTINCT of one field over the subject's rows.
    package func selectDistinct(_ field: String, in d: DatasetConfig, for subject: SubjectQuery, limit: Int) -> SQLQuery {
        var params: [SQLParameter] = []
        let cond = condition(d, subject, &params)
        let col = column(d, field)
        if dialect == .mysql {
            // MySQL's DISTINCT follows the column's collation, which would fold `Ana@x` and `ana@x`
            // (or a cookie id's two cases) into one value: group by the stored bytes instead (each
            // group's values are the same bytes, so MIN is that value, in the column's own type).
            let bytes = "CAST(\(col) AS BINARY)"
            return SQLQuery(text: "SELECT MIN(\(col)) FROM \(from(d)) WHERE \(cond) AND \(col) IS NOT NULL GROUP BY \(bytes) ORDER BY \(bytes) LIMIT \(limit)", parameters: params)
        }
        return SQLQuery(text: "SELECT DISTINCT \(col) FROM \(from(d)) WHERE \(cond) AND \(col) IS NOT NULL ORDER BY \(col) LIMIT \(limit)", parameters: params)
    }

    /// A query that fails to prepare when the table or any configured column (secrets included) is missing.
    package func probe(_ d: DatasetConfig) -> String {
        "SELECT \(d.fields.map { Self.quote($0.column) }.joined(separator: ", ")) FROM \(from(d)) WHERE 1=0"
    }
}
