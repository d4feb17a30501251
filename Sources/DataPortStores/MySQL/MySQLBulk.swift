import Foundation
import DataPortIO
import DataPortModel

/// Bulk imports into MySQL and MariaDB: rows go through `LOAD DATA LOCAL INFILE`, fed from memory by
/// the session's own handler (`MySQLConnection.loadLocal`, never a client file), into a temporary
/// table of exact text (binary for binary fields) plus the key in the target column's own type, then
/// into the target by a multi-table `UPDATE` and an `INSERT ... SELECT` (the server converts text to
/// each column's type as it converts a bound text parameter). The read-back compares, in the
/// server, each stored value rendered as the staged text would spell it; only rows that differ come
/// back to be typed and hashed. Keyless rows keep the row-by-row path: their multiset needs a
/// null-safe comparison of whole rows that MySQL cannot hash.
extension MySQLSession: BulkWritingSession {
    public func stages(_ target: BulkTarget) -> Bool { target.key != nil }

    public func runUnprepared(_ sql: String) throws { try connection.execute(sql) }

    /// Rows are loaded in statements of about this many bytes (each one `LOAD DATA`).
    static let loadBytes = 8 << 20

    public func stage(_ target: BulkTarget, rows: (_ add: ([Value]) throws -> Void) throws -> Void) throws -> any StagedRows {
        guard let k = target.key else { throw DataPortError(.store, "MySQL: keyless rows are not staged", at: connection.location) }
        let types = try columnTypes(target)
        stagingTables += 1
        let name = "dataport_stage_\(stagingTables)"
        let text = "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        let columns = target.columns.indices.map { "c\($0) \(target.columns[$0].type == .binary ? "LONGBLOB" : text)" }
        let keyType = types[k].column + (types[k].collation.map { " COLLATE \($0)" } ?? "")
        // Not InnoDB: a staging table needs no undo log (it is dropped, never rolled back), and
        // loads into Aria (MariaDB) or MyISAM (MySQL) in about half the time.
        try connection.execute("""
            CREATE TEMPORARY TABLE \(name) (dataport_n BIGINT NOT NULL, \(columns.joined(separator: ", ")), dataport_key \(keyType)) \
            ENGINE=\(connection.isMariaDB ? "Aria" : "MyISAM")
            """)
        let load = """
            LOAD DATA LOCAL INFILE 'dataport-rows' INTO TABLE \(name) CHARACTER SET binary \
            (dataport_n, \(target.columns.indices.map { "c\($0)" }.joined(separator: ", "))) SET dataport_key = c\(k)
            """
        var none: RowDigest?
        let count = try send(load, numbered: true, &none, rows)
        return MySQLStagedRows(connection: connection, target: target, types: types, name: name, count: count)
    }

    /// Into an empty table: `LOAD DATA` into the table itself, then one scan of it for the
    /// `RowDigest` of every stored value rendered as the text that was loaded, against the digest of
    /// that text. (LOCAL makes the server skip a repeated key or convert a value it cannot take with
    /// a warning instead of failing: both change the digest, and the caller stages the rows instead.)
    public func loadEmpty(_ target: BulkTarget, rows: (_ add: ([Value]) throws -> Void) throws -> Void) throws -> (count: Int64, exact: Bool)? {
        guard let k = target.key, try MySQLStagedRows.hasUniqueKey(connection, target, column: target.columns[k].name, innoDB: true) else { return nil }
        let types = try columnTypes(target)
        let stored = target.columns.indices.compactMap { i in
            MySQLStagedRows.rendered("t.\(SQLQueryBuilder.quote(target.columns[i].name))", target.columns[i].type, types[i])
        }
        guard stored.count == target.columns.count else { return nil }
        let load = """
            LOAD DATA LOCAL INFILE 'dataport-rows' INTO TABLE \(target.table) CHARACTER SET binary \
            (\(target.columns.map { SQLQueryBuilder.quote($0.name) }.joined(separator: ", ")))
            """
        var digest: RowDigest? = RowDigest(.md5(signed: false))
        let count = try send(load, numbered: false, &digest, rows)
        let held = try MySQLStagedRows.digest(connection, stored, from: "\(target.table) t")
        return (count, held == digest?.text)
    }

    /// Sends the rows `rows` adds as `LOAD DATA` text (`sql`), record number first if `numbered`,
    /// in statements of about `loadBytes`, each value added to `digest` too; returns how many.
    /// Each statement is run by a second thread while this one encodes the next (one at most
    /// waits): the server loads one while the rows of the next are read and spelt, instead of
    /// each side waiting for the other. The connection is the loader's until it is joined.
    private func send(_ sql: String, numbered: Bool, _ digest: inout RowDigest?, _ rows: (_ add: ([Value]) throws -> Void) throws -> Void) throws -> Int64 {
        var encoder = TabSeparatedText(nul: .escape, capacity: Self.loadBytes)
        var count: Int64 = 0
        let loads = HandOff<[UInt8]>(capacity: 1)
        let connection = self.connection
        let loader = WorkerThread<Void>("dataport.mysql.load", lending: {
            do {
                while let bytes = try loads.receive() { _ = try connection.loadLocal(sql, bytes) }
            } catch {
                // The encoding side's next hand-off throws this error.
                loads.cancel(throwing: error)
                throw error
            }
        })
        do {
            try rows { values in
                count += 1
                encode(values, record: count, numbered: numbered, &encoder, &digest)
                if encoder.bytes.count >= Self.loadBytes {
                    try loads.send(encoder.bytes)
                    try encoder.flush { _ in }
                }
            }
            if !encoder.bytes.isEmpty { try loads.send(encoder.bytes) }
            loads.finish()
        } catch {
            loads.cancel(throwing: error)
            // The statement under way ends before the connection is used again (rolled back by
            // the caller). A failed load's error is the one `send` threw.
            _ = try? loader.join()
            throw error
        }
        try loader.join()
        return count
    }

    /// One row of `LOAD DATA` text, and into `digest`.
    private func encode(_ values: [Value], record: Int64, numbered: Bool, _ encoder: inout TabSeparatedText, _ digest: inout RowDigest?) {
        if numbered { encoder.integer(record) }
        for (column, v) in values.enumerated() {
            if numbered || column > 0 { encoder.separate() }
            switch parameter(v) {
            case .null: encoder.null(); digest?.null()
            case .integer(let i): encoder.integer(i); digest?.integer(i)
            case .text(let s): encoder.field(s, record: record, column: column); digest?.text(s)
            case .bytes(let b):
                b.withUnsafeBufferPointer { encoder.field(bytes: $0, record: record, column: column); digest?.bytes($0) }
            }
        }
        encoder.endRow()
        digest?.endRow()
    }

    /// Each target column's `DATA_TYPE` (`datetime`), full type (`datetime(6)`) and collation.
    private func columnTypes(_ target: BulkTarget) throws -> [(data: String, column: String, collation: String?)] {
        var found: [String: (String, String, String?)] = [:]
        let schema = target.path.count > 1 ? target.path[target.path.count - 2] : nil
        try connection.run("""
            SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLLATION_NAME FROM information_schema.COLUMNS \
            WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
            """, [schema.map(MySQLParameter.text) ?? .null, .text(target.path.last ?? "")]) { row in
            if case .text(let c) = row.cell(0), case .text(let d) = row.cell(1), case .text(let t) = row.cell(2) {
                var collation: String?
                if case .text(let x) = row.cell(3) { collation = x }
                found[c] = (d.lowercased(), t, collation)
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

/// A staging table on a MySQL session, and the set-based statements between it and the target.
/// (MySQL cannot open a temporary table twice in one statement: each statement reads it once.)
final class MySQLStagedRows: StagedRows {
    private let connection: MySQLConnection
    private let target: BulkTarget
    private let types: [(data: String, column: String, collation: String?)]
    private let name: String
    let count: Int64
    let altered: [(record: Int64, column: Int)] = []

    init(connection: MySQLConnection, target: BulkTarget, types: [(data: String, column: String, collation: String?)], name: String, count: Int64) {
        self.connection = connection; self.target = target; self.types = types; self.name = name; self.count = count
    }

    private var quoted: [String] { target.columns.map { SQLQueryBuilder.quote($0.name) } }
    private var keyJoin: String { "t.\(quoted[target.key!]) = s.dataport_key" }

    private static let strings: Set<String> = ["char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"]
    private static let integers: Set<String> = ["tinyint", "smallint", "mediumint", "int", "bigint"]
    private static let blobs: Set<String> = ["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"]

    /// A stored value as the session's text for the bundle value would spell it, where the
    /// connector reads that text back as exactly that value; `nil` where no such rendering is known.
    private func rendered(_ e: String, _ i: Int) -> String? { Self.rendered(e, target.columns[i].type, types[i]) }

    /// `rendered` for a field of type `field` stored in a column whose `DATA_TYPE` is `data` and
    /// full type `column` (`datetime(6)`).
    static func rendered(_ e: String, _ field: FieldType, _ type: (data: String, column: String, collation: String?)) -> String? {
        let data = type.data
        switch field {
        case .string where Self.strings.contains(data), .integer where Self.integers.contains(data),
             .decimal where data == "decimal" || Self.integers.contains(data), .boolean where data == "tinyint",
             .date where data == "date":
            return "CAST(\(e) AS BINARY)"
        case .timestamp where (data == "datetime" || data == "timestamp") && !type.column.contains("("):
            // No fractional digits: the server's own text is the session's (`2026-01-31 12:00:00`),
            // cheaper in the digest scan than spelling it with DATE_FORMAT.
            return "CAST(\(e) AS BINARY)"
        case .timestamp where data == "datetime" || data == "timestamp":
            return "CAST(CONCAT(DATE_FORMAT(\(e), '%Y-%m-%d %H:%i:%s'), IF(MICROSECOND(\(e)) = 0, '', CONCAT('.', TRIM(TRAILING '0' FROM DATE_FORMAT(\(e), '%f'))))) AS BINARY)"
        case .binary where Self.blobs.contains(data):
            return e
        default:
            return nil
        }
    }

    /// Whether `target` has a unique index on `column` alone (a repeated key cannot slip in: the
    /// server skips it and the digest differs), and if `innoDB`, is InnoDB (a savepoint takes
    /// back what was loaded).
    static func hasUniqueKey(_ connection: MySQLConnection, _ target: BulkTarget, column: String, innoDB: Bool) throws -> Bool {
        let schema = target.path.count > 1 ? target.path[target.path.count - 2] : nil
        var found = false
        try connection.run("""
            SELECT 1 FROM information_schema.TABLES t JOIN information_schema.STATISTICS s ON s.TABLE_SCHEMA = t.TABLE_SCHEMA AND s.TABLE_NAME = t.TABLE_NAME \
            WHERE t.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND t.TABLE_NAME = ? \(innoDB ? "AND t.ENGINE = 'InnoDB' " : "")AND s.NON_UNIQUE = 0 AND s.COLUMN_NAME = ? \
            AND NOT EXISTS (SELECT 1 FROM information_schema.STATISTICS o WHERE o.TABLE_SCHEMA = s.TABLE_SCHEMA AND o.TABLE_NAME = s.TABLE_NAME \
            AND o.INDEX_NAME = s.INDEX_NAME AND o.SEQ_IN_INDEX > 1)
            """, [schema.map(MySQLParameter.text) ?? .null, .text(target.path.last ?? ""), .text(column)]) { _ in found = true }
        return found
    }

    private func isUnique(_ target: BulkTarget, column: String) throws -> Bool {
        try Self.hasUniqueKey(connection, target, column: column, innoDB: false)
    }

    private func holdsStaged(_ e: String, _ i: Int) -> String {
        rendered(e, i).map { "(\($0) <=> CAST(s.c\(i) AS BINARY))" } ?? "FALSE"
    }

    func firstRepeatedKey(targetEmpty: Bool) throws -> Int64? {
        var first: Int64?
        try connection.run("SELECT MIN(dataport_n) AS n FROM \(name) GROUP BY dataport_key HAVING COUNT(*) > 1 ORDER BY n LIMIT 1", []) { row in
            if case .integer(let n) = row.cell(0) { first = n }
        }
        return first
    }

    func existingRows(distinct columns: [String], _ body: (any SQLRow, Int64) throws -> Void) throws {
        try connection.run(StagingSQL.existingRows(distinct: columns, target: target.table, staging: name, keyJoin: keyJoin), []) { row in
            if case .integer(let n) = row.cell(columns.count) { try body(row, n) }
        }
    }

    func upsert(targetEmpty: Bool) throws -> (inserted: Int64, updated: Int64) {
        guard let k = target.key else { return (0, 0) }
        var updated = 0
        let others = target.columns.indices.filter { $0 != k }
        if !targetEmpty && !others.isEmpty {
            // The server counts only rows whose values change: an unchanged row is not "updated".
            let sets = others.map { "t.\(quoted[$0]) = s.c\($0)" }.joined(separator: ", ")
            updated = try connection.run("UPDATE \(target.table) t JOIN \(name) s ON \(keyJoin) SET \(sets)", [], row: { _ in }).changed
        }
        let missing = targetEmpty ? "" : " WHERE NOT EXISTS (SELECT 1 FROM \(target.table) t WHERE \(keyJoin))"
        let inserted = try connection.run("""
            INSERT INTO \(target.table) (\(quoted.joined(separator: ", "))) SELECT \(target.columns.indices.map { "s.c\($0)" }.joined(separator: ", ")) \
            FROM \(name) s\(missing)
            """, [], row: { _ in }).changed
        return (Int64(inserted), Int64(updated))
    }

    func insertMissingCopies() throws -> Int64 { 0 }

    func targetHoldsOnlyStaged() throws -> Bool {
        let stored = target.columns.indices.compactMap { rendered("t.\(quoted[$0])", $0) }
        guard stored.count == target.columns.count else { return false }
        var held: Int64 = -1
        try connection.run("SELECT COUNT(*) FROM \(target.table)", []) { row in
            if case .integer(let n) = row.cell(0) { held = n }
        }
        guard held == count, let k = target.key, try isUnique(target, column: target.columns[k].name) else { return false }
        let staged = target.columns.indices.map { "CAST(s.c\($0) AS BINARY)" }
        let a = try Self.digest(connection, stored, from: "\(target.table) t"), b = try Self.digest(connection, staged, from: "\(name) s")
        return a != nil && a == b
    }

    /// The `RowDigest` (unsigned) of `values` (binary string expressions, one per column) over `table`, as `count/sum`.
    static func digest(_ connection: MySQLConnection, _ values: [String], from table: String) throws -> String? {
        let row = values.map { "COALESCE(CONCAT('v', LENGTH(\($0)), ':', \($0)), 'n')" }.joined(separator: ", ")
        var held: String?
        try connection.run("""
            SELECT CONCAT(COUNT(*), '/', COALESCE(SUM(CAST(CONV(LEFT(MD5(CONCAT(\(row))), 16), 16, 10) AS UNSIGNED)), 0)) FROM \(table)
            """, []) { row in
            switch row.cell(0) {
            case .text(let t): held = t
            case .blob(let b): held = String(decoding: b, as: UTF8.self)
            default: break
            }
        }
        return held
    }

    func differences(targetEmpty: Bool, _ body: (_ record: Int64, _ row: (any SQLRow)?, _ column: Int?) throws -> Void) throws {
        guard let k = target.key else { return }
        let n = target.columns.count
        let order = target.columns.indices.filter { rendered("x", $0) != nil } + target.columns.indices.filter { rendered("x", $0) == nil }
        let first = "CASE " + order.map { "WHEN NOT \(holdsStaged("t.\(quoted[$0])", $0)) THEN \($0)" }.joined(separator: " ") + " END"
        let all = target.columns.indices.map { holdsStaged("t.\(quoted[$0])", $0) }.joined(separator: " AND ")
        try connection.run("""
            SELECT s.dataport_n, \(first), \(quoted.map { "t.\($0)" }.joined(separator: ", ")), t.\(quoted[k]) IS NULL \
            FROM \(name) s LEFT JOIN \(target.table) t ON \(keyJoin) WHERE t.\(quoted[k]) IS NULL OR NOT (\(all)) ORDER BY s.dataport_n
            """, []) { row in
            guard case .integer(let record) = row.cell(0) else { return }
            var column: Int?
            if case .integer(let c) = row.cell(1) { column = Int(c) }
            var missing = false
            if case .integer(1) = row.cell(n + 2) { missing = true }
            try body(record, missing ? nil : OffsetRow(base: row, offset: 2, columnCount: n), column)
        }
    }

    func drop() throws { try connection.execute("DROP TEMPORARY TABLE \(name)") }
}
