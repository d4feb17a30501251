import Foundation
import DataPortModel

/// Bulk imports into PostgreSQL: rows go through `COPY ... FROM STDIN` (text format) into a
/// temporary table of text columns holding exactly what the bundle says, and from there into the
/// target by set-based statements that cast each column to the target's type, as a bound parameter
/// of type `unknown` would be. The read-back compares, in the server, each stored value rendered as
/// the bundle's canonical text with the staged text; only rows that do not compare equal come back
/// to be typed and hashed (usually none), so a million rows are never read one by one.
extension PostgreSQLSession: BulkWritingSession {
    public func stages(_ target: BulkTarget) -> Bool { true }

    public func runUnprepared(_ sql: String) throws { try connection.execute(sql) }

    public func stage(_ target: BulkTarget, rows: (_ add: ([Value]) throws -> Void) throws -> Void) throws -> any StagedRows {
        let types = try columnTypes(target)
        stagingTables += 1
        let name = "dataport_stage_\(stagingTables)"
        let columns = target.columns.indices.map { "c\($0)" }
        // Hash joins and aggregates over a dataset's rows stay in memory (this transaction only).
        try connection.execute("SET LOCAL work_mem = '128MB'")
        try connection.execute("CREATE TEMP TABLE \(name) (dataport_n bigint NOT NULL, \(columns.map { "\($0) text" }.joined(separator: ", ")))")
        var encoder = CopyTextEncoder()
        let count = try copy("COPY \(name) (dataport_n, \(columns.joined(separator: ", "))) FROM STDIN", &encoder, rows)
        return PostgreSQLStagedRows(connection: connection, target: target, types: types, name: name, count: count,
                                    altered: encoder.altered, digest: try rowDigestKind())
    }

    /// `hashtextextended` where the server has it and computes it as `PostgreSQLHash` does (11 or
    /// later, little-endian), else MD5. Asked once per session (inside the import's transaction),
    /// with a probe that spans a full block of the hash and a tail, under a savepoint of its own:
    /// a server that refuses the function (EXECUTE revoked) gets MD5, and the transaction goes on.
    func rowDigestKind() throws -> RowDigest.Kind {
        if let digestKind { return digestKind }
        var kind = RowDigest.Kind.md5(signed: true)
        if connection.serverVersion >= 110000 {
            let probe = "dataport row digest"
            var held: String?
            try connection.execute("SAVEPOINT dataport_probe")
            do {
                try connection.run("SELECT hashtextextended($1::text COLLATE \"C\", 1)::text", values: [.string(probe)]) { row in
                    if case .text(let t) = row.cell(0) { held = t }
                }
                try connection.execute("RELEASE SAVEPOINT dataport_probe")
            } catch {
                try connection.execute("ROLLBACK TO SAVEPOINT dataport_probe")
                try connection.execute("RELEASE SAVEPOINT dataport_probe")
            }
            let mine = Array(probe.utf8).withUnsafeBufferPointer { PostgreSQLHash.hash($0, seed: 1) }
            if held == String(Int64(bitPattern: mine)) { kind = .postgreSQLHash }
        }
        digestKind = kind
        return kind
    }

    /// Into an empty table: COPY into the table itself, then one scan of it for the `RowDigest` of
    /// every stored value rendered as the bundle's canonical text, against the digest of the text
    /// sent. The rows' values go through the column types' input functions as COPY into the staging
    /// table and its cast do, minus the staging table and the `INSERT ... SELECT`.
    public func loadEmpty(_ target: BulkTarget, rows: (_ add: ([Value]) throws -> Void) throws -> Void) throws -> (count: Int64, exact: Bool)? {
        guard target.key != nil, try PostgreSQLStagedRows.keyIsUnique(connection, target) else { return nil }
        let types = try columnTypes(target)
        let stored = target.columns.indices.compactMap { i in
            PostgreSQLStagedRows.digested("t.\(SQLQueryBuilder.quote(target.columns[i].name))", target.columns[i].type, types[i].name)
        }
        guard stored.count == target.columns.count else { return nil }
        let kind = try rowDigestKind()
        var encoder = CopyTextEncoder(numbered: false, digest: RowDigest(kind))
        let columns = target.columns.map { SQLQueryBuilder.quote($0.name) }.joined(separator: ", ")
        let count = try copy("COPY \(target.table) (\(columns)) FROM STDIN", &encoder, rows)
        guard encoder.altered.isEmpty, let sent = encoder.digest?.text else { return (count, false) }
        var held: String?
        try connection.run(PostgreSQLStagedRows.digest(stored, from: "\(target.table) t", kind), values: []) { row in
            if case .text(let t) = row.cell(0) { held = t }
        }
        return (count, held == sent)
    }

    /// Streams the rows `rows` adds through `encoder` into `COPY ... FROM STDIN` (`sql`); returns how many.
    private func copy(_ sql: String, _ encoder: inout CopyTextEncoder, _ rows: (_ add: ([Value]) throws -> Void) throws -> Void) throws -> Int64 {
        var count: Int64 = 0
        try connection.copyIn(sql) { send in
            try withoutActuallyEscaping(send) { send in
                try rows { values in
                    count += 1
                    encoder.row(count, values)
                    if encoder.byteCount >= 1 << 20 { try encoder.flush(send) }
                }
            }
            try encoder.flush(send)
        }
        return count
    }

    /// Each target column's type as SQL (`numeric(12,2)`) and its base name (`numeric`).
    private func columnTypes(_ target: BulkTarget) throws -> [(sql: String, name: String)] {
        var found: [String: (String, String)] = [:]
        try connection.run("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
            WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
            """, values: [.string(target.table)]) { row in
            if case .text(let column) = row.cell(0), case .text(let sql) = row.cell(1), case .text(let name) = row.cell(2) {
                found[column] = (sql, name)
            }
        }
        return try target.columns.map { c in
            guard let t = found[c.name] else {
                throw DataPortError(.invalidConfig, "table \(target.table) has no column \(c.name)", at: connection.location, code: .missingColumn)
            }
            return t
        }
    }
}

/// PostgreSQL's COPY text rows: record number (if `numbered`), then each value in the text the
/// server parses for its column (bytea as `\x` hex), added to `digest` as well if there is one.
/// Text cannot hold NUL: a value is cut there (as libpq cuts a bound parameter) and noted, so the
/// import reports it and keeps nothing.
struct CopyTextEncoder {
    var text = TabSeparatedText(nul: .cut)
    var numbered = true
    private(set) var digest: RowDigest?
    var byteCount: Int { text.bytes.count }
    var altered: [(record: Int64, column: Int)] { text.altered }

    init(numbered: Bool = true, digest: RowDigest? = nil) { self.numbered = numbered; self.digest = digest }

    mutating func row(_ number: Int64, _ values: [Value]) {
        if numbered { text.integer(number) }
        values.withUnsafeBufferPointer { values in
            for column in values.indices {
                if numbered || column > 0 { text.separate() }
                value(values[column], record: number, column: column)
            }
        }
        text.endRow()
        digest?.endRow()
    }

    private mutating func value(_ v: Value, record: Int64, column: Int) {
        switch v {
        case .null: text.null(); digest?.null()
        case .integer(let i):
            let start = text.bytes.count
            text.integer(i)
            // The digits just written are the value's text.
            if digest != nil { text.bytes.withUnsafeBufferPointer { digest!.bytes(UnsafeBufferPointer(rebasing: $0[start...])) } }
        case .string(let s): text.field(s, record: record, column: column); digest?.text(s)
        case .decimal(let d): text.field(d.text, record: record, column: column); digest?.text(d.text)
        case .timestamp(let t): text.field(t.text, record: record, column: column); digest?.postgreSQLTimestamp(t.text)
        default:
            let t = PostgreSQLConnection.parameterText(of: v) ?? ""
            text.field(t, record: record, column: column)
            digest?.text(t)
        }
    }

    mutating func flush(_ send: (UnsafeRawBufferPointer) throws -> Void) throws { try text.flush(send) }
}

/// A staging table on a PostgreSQL session, and the set-based statements between it and the target.
final class PostgreSQLStagedRows: StagedRows {
    private let connection: PostgreSQLConnection
    private let target: BulkTarget
    private let types: [(sql: String, name: String)]
    private let name: String
    let count: Int64
    let altered: [(record: Int64, column: Int)]
    private let digestKind: RowDigest.Kind

    init(connection: PostgreSQLConnection, target: BulkTarget, types: [(sql: String, name: String)], name: String,
         count: Int64, altered: [(record: Int64, column: Int)], digest: RowDigest.Kind) {
        self.connection = connection; self.target = target; self.types = types; self.name = name
        self.count = count; self.altered = altered; digestKind = digest
    }

    private var quoted: [String] { target.columns.map { SQLQueryBuilder.quote($0.name) } }

    /// A staged column as the target column's type.
    private func cast(_ i: Int, from table: String = "s") -> String { "\(table).c\(i)::\(types[i].sql)" }

    /// The key join of staged rows `s` with target rows `t`.
    private var keyJoin: String {
        let k = target.key!
        return "t.\(quoted[k]) = \(cast(k))"
    }

    /// A stored value as the bundle's canonical text would spell it, where the text the connector
    /// reads for that column type converts to exactly that value of the field's type; `nil` where
    /// no such rendering is known (the row is then always typed and compared in Swift).
    private func canonical(_ e: String, _ i: Int) -> String? { Self.canonical(e, target.columns[i].type, types[i].name) }

    /// `canonical` for a field of type `field` stored in a column of base type `type`.
    static func canonical(_ e: String, _ field: FieldType, _ type: String) -> String? {
        switch (field, type) {
        case (.string, "text"), (.string, "varchar"), (.string, "json"), (.string, "jsonb"), (.string, "uuid"),
             (.integer, "int2"), (.integer, "int4"), (.integer, "int8"),
             (.decimal, "numeric"), (.decimal, "int2"), (.decimal, "int4"), (.decimal, "int8"),
             (.date, "date"):
            return "\(e)::text"
        case (.boolean, "bool"):
            return "CASE \(e) WHEN true THEN 'true' WHEN false THEN 'false' END"
        case (.timestamp, "timestamptz"):
            let utc = "(\(e) AT TIME ZONE 'UTC')"
            return "to_char(\(utc), 'YYYY-MM-DD\"T\"HH24:MI:SS') || coalesce('.' || nullif(rtrim(to_char(\(utc), 'US'), '0'), ''), '') || 'Z'"
        case (.binary, "bytea"):
            return "'\\x' || encode(\(e), 'hex')"
        default:
            return nil
        }
    }

    /// A stored value as a row digest spells it: as `canonical`, but a timestamptz as its own text
    /// in UTC (`2024-05-01 10:00:00.5+00`), which costs the server a fraction of `to_char`; the
    /// client (`RowDigest.postgreSQLTimestamp`) and the staged side (`digestedStaged`) spell the
    /// canonical text so.
    static func digested(_ e: String, _ field: FieldType, _ type: String) -> String? {
        field == .timestamp && type == "timestamptz" ? "\(e)::text" : canonical(e, field, type)
    }

    /// Staged text `e` as `digested` spells the value it stands for: the text itself, never its
    /// cast (a value the column rounds, nanoseconds, must differ), a canonical timestamp respelt.
    static func digestedStaged(_ e: String, _ field: FieldType, _ type: String) -> String {
        field == .timestamp && type == "timestamptz" ? "(replace(left(\(e), -1), 'T', ' ') || '+00')" : e
    }

    /// Whether the stored value `e` of column `i` is exactly the staged text.
    private func holdsStaged(_ e: String, _ i: Int) -> String {
        canonical(e, i).map { "(\($0) IS NOT DISTINCT FROM s.c\(i))" } ?? "FALSE"
    }

    /// The first column whose stored value `value(i)` is not the staged text (columns with a known
    /// rendering first), or NULL.
    private func firstDifference(_ value: (Int) -> String) -> String {
        let order = target.columns.indices.filter { canonical("x", $0) != nil } + target.columns.indices.filter { canonical("x", $0) == nil }
        return "CASE " + order.map { "WHEN NOT \(holdsStaged(value($0), $0)) THEN \($0)" }.joined(separator: " ") + " END"
    }

    /// Whether a unique index (not partial) on the key column alone refuses a repeated key.
    static func keyIsUnique(_ connection: PostgreSQLConnection, _ target: BulkTarget) throws -> Bool {
        guard let k = target.key else { return false }
        var unique = false
        try connection.run("""
            SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
            WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AND a.attname = $2
            """, values: [.string(target.table), .string(target.columns[k].name)]) { _ in unique = true }
        return unique
    }

    /// Into an empty table with a unique key, the insert itself finds a repeated key (then
    /// `upsert` throws `RepeatedKey`): no pass over the staged keys first.
    private var checkedByInsert = false

    func firstRepeatedKey(targetEmpty: Bool) throws -> Int64? {
        guard let k = target.key else { return nil }
        if targetEmpty, try Self.keyIsUnique(connection, target) {
            checkedByInsert = true
            return nil
        }
        var first: Int64?
        try connection.run("SELECT min(dataport_n) FROM \(name) GROUP BY c\(k) HAVING count(*) > 1 ORDER BY 1 LIMIT 1", values: []) { row in
            if case .integer(let n) = row.cell(0) { first = n }
        }
        return first
    }

    func existingRows(distinct columns: [String], _ body: (any SQLRow, Int64) throws -> Void) throws {
        guard target.key != nil else { return }
        try connection.run(StagingSQL.existingRows(distinct: columns, target: target.table, staging: name, keyJoin: keyJoin), values: []) { row in
            if case .integer(let n) = row.cell(columns.count) { try body(row, n) }
        }
    }

    func upsert(targetEmpty: Bool) throws -> (inserted: Int64, updated: Int64) {
        guard let k = target.key else { return (0, 0) }
        var updated = 0
        let others = target.columns.indices.filter { $0 != k }
        if !targetEmpty && !others.isEmpty {
            let sets = others.map { "\(quoted[$0]) = \(cast($0))" }.joined(separator: ", ")
            let same = others.map { "t.\(quoted[$0])::text IS NOT DISTINCT FROM (\(cast($0)))::text" }.joined(separator: " AND ")
            updated = try connection.run("UPDATE \(target.table) AS t SET \(sets) FROM \(name) s WHERE \(keyJoin) AND NOT (\(same))", values: [])
        }
        let missing = targetEmpty ? "" : " WHERE NOT EXISTS (SELECT 1 FROM \(target.table) t WHERE \(keyJoin))"
        let insert = """
            INSERT INTO \(target.table) (\(quoted.joined(separator: ", "))) SELECT \(target.columns.indices.map { cast($0) }.joined(separator: ", ")) \
            FROM \(name) s\(missing)
            """
        guard checkedByInsert else { return (Int64(try connection.run(insert, values: [])), Int64(updated)) }
        try connection.execute("SAVEPOINT dataport_insert")
        do {
            let inserted = try connection.run(insert, values: [])
            try connection.execute("RELEASE SAVEPOINT dataport_insert")
            return (Int64(inserted), Int64(updated))
        } catch {
            // A unique violation may be a repeated key of the bundle: that is the error to report.
            try connection.execute("ROLLBACK TO SAVEPOINT dataport_insert")
            checkedByInsert = false
            if try firstRepeatedKey(targetEmpty: false) != nil { throw RepeatedKey() }
            throw error
        }
    }

    /// Staged rows cast to the target's types (`v0`, ...), numbered per distinct row (`copy`), beside
    /// how many identical rows the target holds (`held`): identical as the server prints the row.
    private var keylessCopies: String {
        let casts = target.columns.indices.map { cast($0) }
        return """
            WITH staged AS (SELECT s.dataport_n, \(target.columns.indices.map { "s.c\($0), \(casts[$0]) AS v\($0)" }.joined(separator: ", ")), \
            ROW(\(casts.joined(separator: ", ")))::text AS r FROM \(name) s), \
            numbered AS (SELECT staged.*, row_number() OVER (PARTITION BY r ORDER BY dataport_n) AS copy FROM staged), \
            held AS (SELECT ROW(\(quoted.map { "t.\($0)" }.joined(separator: ", ")))::text AS r, count(*) AS n FROM \(target.table) t GROUP BY 1), \
            counted AS (SELECT numbered.*, coalesce(held.n, 0) AS held FROM numbered LEFT JOIN held ON held.r = numbered.r)
            """
    }

    func insertMissingCopies() throws -> Int64 {
        guard target.key == nil else { return 0 }
        let n = try connection.run("""
            \(keylessCopies) INSERT INTO \(target.table) (\(quoted.joined(separator: ", "))) \
            SELECT \(target.columns.indices.map { "v\($0)" }.joined(separator: ", ")) FROM counted WHERE copy > held ORDER BY dataport_n
            """, values: [])
        return Int64(n)
    }

    /// Into a table that was empty, every row of it is one of the staged ones: when the target and
    /// the staging table hold the same multiset of rows (`RowDigest`, the stored values rendered
    /// as the staged text), no row differs, found with two scans
    /// instead of a join. Only column types with a rendering qualify.
    private func sameMultiset() throws -> Bool {
        guard target.key != nil, target.columns.indices.allSatisfy({ canonical("x", $0) != nil }) else { return false }
        let stored = target.columns.indices.map { Self.digested("t.\(quoted[$0])", target.columns[$0].type, types[$0].name)! }
        let staged = target.columns.indices.map { Self.digestedStaged("s.c\($0)", target.columns[$0].type, types[$0].name) }
        var sums: [String] = []
        let (a, b) = (Self.digest(stored, from: "\(target.table) t", digestKind), Self.digest(staged, from: "\(name) s", digestKind))
        try connection.run("SELECT (\(a)), (\(b))", values: []) { row in
            for i in 0..<2 { if case .text(let t) = row.cell(i) { sums.append(t) } }
        }
        return sums.count == 2 && sums[0] == sums[1]
    }

    func targetHoldsOnlyStaged() throws -> Bool {
        var held: Int64 = -1
        try connection.run("SELECT count(*) FROM \(target.table)", values: []) { row in
            if case .integer(let n) = row.cell(0) { held = n }
        }
        guard held == count, altered.isEmpty, try Self.keyIsUnique(connection, target) else { return false }
        return try sameMultiset()
    }

    /// The `RowDigest` of `kind` of `values` (text expressions, one per column) over `table`, as
    /// `count/sum`. (Each value is rendered once, in a subquery the planner may not flatten: `OFFSET 0`.)
    static func digest(_ values: [String], from table: String, _ kind: RowDigest.Kind) -> String {
        let hash: String
        if kind == .postgreSQLHash {
            // Under "C" whatever the column's collation: a nondeterministic one would hash a sort key.
            hash = values.indices.reduce("0::bigint") { seed, i in
                "hashtextextended(coalesce(x\(i) COLLATE \"C\", ''), \(seed) # (x\(i) IS NULL)::int)"
            }
        } else {
            let row = values.indices.map { "coalesce('v' || octet_length(x\($0)) || ':' || x\($0), 'n')" }.joined(separator: " || ")
            hash = "('x' || left(md5(\(row)), 16))::bit(64)::bigint"
        }
        let rendered = values.enumerated().map { "\($1) AS x\($0)" }.joined(separator: ", ")
        return """
            SELECT count(*)::text || '/' || coalesce(sum(\(hash)), 0)::text \
            FROM (SELECT \(rendered) FROM \(table) OFFSET 0) r
            """
    }

    func differences(targetEmpty: Bool, _ body: (_ record: Int64, _ row: (any SQLRow)?, _ column: Int?) throws -> Void) throws {
        if targetEmpty, try sameMultiset() { return }
        let n = target.columns.count
        func isTrue(_ c: StoreCell) -> Bool { if case .text("t") = c { true } else { false } }
        func report(_ row: PostgreSQLRow, missing: Bool) throws {
            guard case .integer(let record) = row.cell(0) else { return }
            var column: Int?
            if case .integer(let c) = row.cell(1) { column = Int(c) }
            try body(record, missing ? nil : OffsetRow(base: row, offset: 2, columnCount: n), column)
        }
        if let k = target.key {
            let all = target.columns.indices.map { holdsStaged("t.\(quoted[$0])", $0) }.joined(separator: " AND ")
            try connection.run("""
                SELECT s.dataport_n, \(firstDifference { "t.\(quoted[$0])" }), \(quoted.map { "t.\($0)" }.joined(separator: ", ")), \
                t.\(quoted[k]) IS NULL FROM \(name) s LEFT JOIN \(target.table) t ON \(keyJoin) \
                WHERE t.\(quoted[k]) IS NULL OR NOT (\(all)) ORDER BY s.dataport_n
                """, values: []) { row in
                try report(row, missing: isTrue(row.cell(n + 2)))
            }
        } else {
            // Keyless: a copy beyond the identical rows now stored was changed after it was
            // written; a value the cast changes is stored as another value than the bundle's.
            let all = target.columns.indices.map { holdsStaged("v\($0)", $0) }.joined(separator: " AND ")
            try connection.run("""
                \(keylessCopies) SELECT dataport_n, \(firstDifference { "v\($0)" }), \(target.columns.indices.map { "v\($0)" }.joined(separator: ", ")), \
                (copy > held AND (\(all))) FROM counted s WHERE copy > held OR NOT (\(all)) ORDER BY dataport_n
                """, values: []) { row in
                try report(row, missing: isTrue(row.cell(n + 2)))
            }
        }
    }

    func drop() throws { try connection.execute("DROP TABLE \(name)") }
}

/// The cells of a row from `offset` on.
struct OffsetRow: SQLRow {
    let base: any SQLRow
    let offset: Int
    let columnCount: Int
    func cell(_ column: Int) -> StoreCell { base.cell(column + offset) }
}
