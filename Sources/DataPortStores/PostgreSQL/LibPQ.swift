import CPostgres
import DataPortModel
import Foundation

/// A thin, safe wrapper over a libpq connection: the only file that touches libpq's C API.
///
/// Values are always sent as parameters (`PQsendQueryParams`), never spliced into SQL text, and
/// rows are streamed one at a time (single-row mode), so a subject with millions of rows is never
/// held in memory. Errors are described by their shape (`ServerErrors`): SQLSTATE and condition,
/// never server text that can quote a value (identity and row values are personal data).
final class PostgreSQLConnection {
    private var conn: OpaquePointer?
    /// Where errors happen, for messages ("store billing").
    let location: String
    /// Whether the session refuses writes (an export's connection) or takes them (an import's).
    let readOnly: Bool
    /// Statements prepared on this connection (writers only): SQL text -> statement name.
    private var prepared: [String: String] = [:]
    /// Above this many, prepared statements are dropped and prepared afresh (an import's `IN (...)`
    /// lists come in every length up to a chunk).
    private static let preparedLimit = 256

    /// Connects with a libpq connection URI or `key=value` string (TLS settings such as `sslmode`
    /// and `sslrootcert` included); an empty string means libpq's usual `PG*` environment variables.
    /// `readOnly` makes every transaction of the session read-only (exports); an import's
    /// connection passes `false`.
    init(conninfo: String, location: String, readOnly: Bool = true) throws {
        self.location = location
        self.readOnly = readOnly
        // Defaults first, then the caller's string: libpq lets later keywords (the expanded URL)
        // override earlier ones, so a URL's own connect_timeout wins over ours.
        var keywords = ["fallback_application_name"]
        var values = ["dataport"]
        if ProcessInfo.processInfo.environment["PGCONNECT_TIMEOUT"] == nil {
            keywords.append("connect_timeout"); values.append("10")
        }
        if !conninfo.isEmpty { keywords.append("dbname"); values.append(conninfo) }
        conn = Self.withCStrings(keywords) { k in Self.withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            let message = conn.map { Self.trimmed(PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(conn)
            self.conn = nil
            throw DataPortError(.store, "cannot connect to PostgreSQL: \(message)", at: location, code: .storeUnreachable)
        }
        guard PQsetClientEncoding(conn, "UTF8") == 0 else {
            throw DataPortError(.store, "PostgreSQL: cannot use the UTF8 client encoding", at: location)
        }
        // libpq prints server notices (`relation ... already exists, skipping`, a trigger's RAISE
        // NOTICE, which may quote row values) on stderr by default: drop them.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        // Fix the text forms the connector parses, whatever the server's defaults: ISO dates,
        // UTC offsets, hex bytea. Read-only unless asked: an export never writes.
        try execute("""
            SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601';
            SET bytea_output = 'hex'; SET extra_float_digits = 1\(readOnly ? "; SET default_transaction_read_only = on" : "")
            """)
    }

    deinit { PQfinish(conn) }

    /// The server's version as a number (`150020` for 15.20); 0 when closed.
    var serverVersion: Int { conn.map { Int(PQserverVersion($0)) } ?? 0 }

    /// Closes the connection now.
    func close() {
        PQfinish(conn)
        conn = nil
    }

    /// Runs SQL without parameters or results (several statements allowed).
    func execute(_ sql: String) throws {
        let conn = try open()
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw failure(result, phase: .run, parameters: [])
        }
    }

    /// Parses and plans `sql` without running it (an unnamed statement); a missing table or column
    /// fails here.
    func prepare(_ sql: String) throws {
        let conn = try open()
        let result = PQprepare(conn, "", sql, 0, nil)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw failure(result, phase: .prepare, parameters: []) }
    }

    /// Runs a query with bound parameters and hands each row to `body` as it arrives.
    /// Returns the number of rows. If `body` throws, the query is cancelled and the error rethrown.
    @discardableResult
    func query(_ sql: String, _ parameters: [SQLParameter], row body: (PostgreSQLRow) throws -> Void) throws -> Int {
        let texts: [String] = parameters.map {
            switch $0 {
            case .text(let s): s
            case .integer(let i): String(i)
            }
        }
        // 20 = int8; 0 lets the server infer a text parameter's type from the column it meets.
        let types: [UInt32] = parameters.map { if case .integer = $0 { 20 } else { 0 } }
        return try run(sql, texts, types: types, prepare: false, row: body).rows
    }

    /// Runs one statement with typed values bound in text form (NULL as a null pointer, bytea as
    /// `\x` hex, booleans as `true`/`false`), every parameter of type `unknown` so the server
    /// gives it the type of the column it meets. Rows (`RETURNING` included) go to `body`.
    /// Returns the rows the statement changed (INSERT, UPDATE, DELETE), else 0.
    @discardableResult
    func run(_ sql: String, values: [Value], row body: (PostgreSQLRow) throws -> Void = { _ in }) throws -> Int {
        let texts = values.map(Self.text(of:))
        return try run(sql, texts, types: [UInt32](repeating: 0, count: texts.count), prepare: true, row: body).changed
    }

    /// Runs `COPY ... FROM STDIN` (`sql`), handing `body` a function that sends bytes of COPY data
    /// (already in the statement's format). If `body` throws, the COPY is aborted and the error
    /// rethrown; a row the server refuses fails as any statement does (by its shape, no value).
    func copyIn(_ sql: String, _ body: (_ send: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let conn = try open()
        let start = PQexec(conn, sql)
        let status = PQresultStatus(start)
        guard status == PGRES_COPY_IN else {
            defer { PQclear(start) }
            throw failure(start, phase: .run, parameters: [])
        }
        PQclear(start)
        var failed: (any Error)?
        do {
            try body { bytes in
                guard bytes.count > 0 else { return }
                let sent = bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
                guard sent == 1 else { throw self.error("PostgreSQL: COPY", parameters: []) }
            }
        } catch {
            failed = error
        }
        // Ending with an error message makes the server abort the COPY (nothing is kept).
        let ended = failed == nil ? PQputCopyEnd(conn, nil) : PQputCopyEnd(conn, "aborted by dataport")
        var serverFailure: DataPortError?
        while let result = PQgetResult(conn) {
            defer { PQclear(result) }
            let s = PQresultStatus(result)
            if s != PGRES_COMMAND_OK && serverFailure == nil && failed == nil {
                serverFailure = failure(result, phase: .run, parameters: [])
            }
        }
        if let failed { throw failed }
        if let serverFailure { throw serverFailure }
        guard ended == 1 else { throw error("PostgreSQL: COPY", parameters: []) }
    }

    /// The text form the server parses for a value of each type (bytea as `\x` hex).
    static func parameterText(of value: Value) -> String? { text(of: value) }

    /// The text form the server parses for a value of each type.
    private static func text(of value: Value) -> String? {
        guard case .binary(let bytes) = value else { return value.canonicalText }
        let digits = hexDigits
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        out.reserveCapacity(2 + bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0f)]) }
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The statement name for `sql`, prepared on first use (types inferred once, plans reused).
    private func preparedName(_ sql: String, parameterCount: Int, _ conn: OpaquePointer) throws -> String {
        if let name = prepared[sql] { return name }
        if prepared.count >= Self.preparedLimit {
            try execute("DEALLOCATE ALL")
            prepared.removeAll()
        }
        let name = "dataport_\(prepared.count + 1)"
        let result = PQprepare(conn, name, sql, Int32(parameterCount), nil)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw failure(result, phase: .prepare, parameters: []) }
        prepared[sql] = name
        return name
    }

    /// Sends a statement (prepared and cached, or one-off), streams its rows to `body` in
    /// single-row mode, and returns the row count and the rows changed.
    private func run(_ sql: String, _ texts: [String?], types: [UInt32], prepare: Bool,
                     row body: (PostgreSQLRow) throws -> Void) throws -> (rows: Int, changed: Int) {
        let conn = try open()
        let name = prepare ? try preparedName(sql, parameterCount: texts.count, conn) : nil
        let sent = Self.withOptionalCStrings(texts) { values in
            if let name {
                return PQsendQueryPrepared(conn, name, Int32(texts.count), values, nil, nil, 0)
            }
            return types.withUnsafeBufferPointer { t in
                PQsendQueryParams(conn, sql, Int32(texts.count), t.baseAddress, values, nil, nil, 0)
            }
        }
        // The values to keep out of error messages.
        let sentValues = texts.compactMap { $0 }
        guard sent == 1 else { throw error("PostgreSQL", parameters: sentValues) }
        guard PQsetSingleRowMode(conn) == 1 else {
            drain()
            throw DataPortError(.store, "PostgreSQL: cannot stream rows (single-row mode refused)", at: location)
        }
        var count = 0
        var changed = 0
        var failure: (any Error)?
        while let result = PQgetResult(conn) {
            defer { PQclear(result) }
            guard failure == nil else { continue }
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE:
                do {
                    try body(PostgreSQLRow(result: result))
                    count += 1
                } catch {
                    // Stop the server sending the rest; the loop drains what is already on the way.
                    cancel()
                    failure = error
                }
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                // "" for statements that change nothing (SELECT, DDL).
                changed = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
            default:
                // A one-off query (a read) is parsed again when sent, but it was planned by
                // `prepare` first (the probe), so what fails here fails while running.
                failure = self.failure(result, phase: .run, parameters: sentValues)
            }
        }
        if let failure { throw failure }
        return (count, changed)
    }

    // MARK: - Private

    private func open() throws -> OpaquePointer {
        guard let conn else { throw DataPortError(.store, "PostgreSQL connection is closed", at: location) }
        if PQstatus(conn) != CONNECTION_OK {
            throw DataPortError(.store, "PostgreSQL connection lost: \(Self.trimmed(PQerrorMessage(conn)))", at: location)
        }
        return conn
    }

    private func cancel() {
        guard let handle = PQgetCancel(conn) else { return }
        defer { PQfreeCancel(handle) }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(handle, &buffer, Int32(buffer.count))
    }

    private func drain() {
        while let r = PQgetResult(conn) { PQclear(r) }
    }

    /// The error of a failed result, described by its shape (see `ServerErrors`): SQLSTATE,
    /// condition name and the objects involved; the server's text only where it cannot carry a value.
    private func failure(_ result: OpaquePointer?, phase: ServerErrors.Phase, parameters: [String]) -> DataPortError {
        guard let result else { return error("PostgreSQL", parameters: parameters) }
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        let fields = ServerErrors.Fields(
            sqlstate: field("C"), message: field("M"), sourceFunction: field("R"), hasContext: field("W") != nil,
            schema: field("s"), table: field("t"), column: field("c"), constraint: field("n"), datatype: field("d"))
        let text = ServerErrors.describe(fields, phase: phase, scrubbing: parameters)
        return DataPortError(isConfigError(fields.sqlstate) ? .invalidConfig : .store, text, at: location, code: ["42P01": .missingTable, "42703": .missingColumn, "55P03": .lockTimeout][fields.sqlstate ?? ""])
    }

    /// Whether a SQLSTATE means the config does not match the schema. Reading, all of class 42
    /// (syntax error or access rule violation: missing table, column, privilege) is the config's
    /// fault. Writing, only a missing table (42P01) or column (42703) is: a refused privilege or a
    /// constraint is the store's.
    private func isConfigError(_ state: String?) -> Bool {
        guard let state else { return false }
        return readOnly ? state.hasPrefix("42") : state == "42P01" || state == "42703"
    }

    private func error(_ what: String, parameters: [String]) -> DataPortError {
        DataPortError(.store, "\(what): \(Self.scrub(Self.trimmed(PQerrorMessage(conn)), parameters))", at: location)
    }

    /// Removes every parameter value from a server message (e.g. `invalid input syntax for type
    /// integer: "..."`). A value is removed where it stands as a whole word, so a short one
    /// (`1`, `EUR`) does not mangle the names around it (`t1`, `EURO`).
    static func scrub(_ message: String, _ parameters: [String]) -> String {
        var out = message
        func glued(_ a: Character?, _ b: Character) -> Bool {
            guard let a else { return false }
            return (a.isLetter || a.isNumber || a == "_") && (b.isLetter || b.isNumber || b == "_")
        }
        for p in Set(parameters).sorted(by: { $0.count > $1.count }) where !p.isEmpty {
            var from = out.startIndex
            while let r = out.range(of: p, range: from..<out.endIndex) {
                let before = r.lowerBound == out.startIndex ? nil : out[out.index(before: r.lowerBound)]
                let after = r.upperBound == out.endIndex ? nil : out[r.upperBound]
                if glued(before, p.first!) || glued(after, p.last!) {
                    from = out.index(after: r.lowerBound)
                    continue
                }
                let offset = out.distance(from: out.startIndex, to: r.lowerBound)
                out.replaceSubrange(r, with: "…")
                from = out.index(out.startIndex, offsetBy: offset + 1)
            }
        }
        return out
    }

    private static func trimmed(_ c: UnsafePointer<CChar>?) -> String {
        guard let c else { return "unknown error" }
        return String(cString: c).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    /// Calls `body` with a C array of C strings that live for the call.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        withOptionalCStrings(strings, body)
    }

    /// The same, with `nil` (SQL NULL) passed as a null pointer.
    private static func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let copies = strings.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        return body(copies.map { UnsafePointer($0) } + [nil])
    }
}

/// One row of a streamed result, valid only inside the `query` callback (its result is freed after).
struct PostgreSQLRow: SQLRow {
    private let result: OpaquePointer

    fileprivate init(result: OpaquePointer) { self.result = result }

    var columnCount: Int { Int(PQnfields(result)) }

    /// A column as a raw cell: integers as integers, bytea decoded from its hex text, everything
    /// else (numeric, boolean `t`/`f`, dates and times in ISO form with a UTC offset) as text for the
    /// shared coercion.
    func cell(_ column: Int) -> StoreCell {
        let c = Int32(column)
        guard PQgetisnull(result, 0, c) == 0, let p = PQgetvalue(result, 0, c) else { return .null }
        let n = Int(PQgetlength(result, 0, c))
        return p.withMemoryRebound(to: UInt8.self, capacity: n) { raw -> StoreCell in
            let bytes = UnsafeBufferPointer(start: raw, count: n)
            switch PQftype(result, c) {
            case 20, 21, 23, 26: // int8, int2, int4, oid
                if let i = Self.decimalInteger(bytes) { return .integer(i) }
                let s = String(decoding: bytes, as: UTF8.self)
                return Int64(s).map(StoreCell.integer) ?? .text(s)
            case 17: // bytea, hex form: \x0a1b...
                return Self.decodeHex(bytes).map(StoreCell.blob) ?? StoreCell(text: bytes)
            default:
                // With a UTF8 server encoding the server guarantees valid UTF-8; a SQL_ASCII
                // database stores any bytes, which a string field then refuses.
                return StoreCell(text: bytes)
            }
        }
    }

    /// `[-]digits` of at most 18 digits (always within Int64) without making a string; `nil` for
    /// anything else, which takes the general path.
    static func decimalInteger(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        let negative = text.first == UInt8(ascii: "-")
        let digits = text.count - (negative ? 1 : 0)
        guard digits >= 1, digits <= 18 else { return nil }
        var n: Int64 = 0
        for b in text[(negative ? 1 : 0)...] {
            guard b >= 48, b <= 57 else { return nil }
            n = n * 10 + Int64(b - 48)
        }
        return negative ? -n : n
    }

    /// Decodes PostgreSQL's hex bytea form `\x...`; `nil` if it is not that form.
    static func decodeHex(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else { return nil }
        func nibble(_ b: UInt8) -> UInt8? {
            switch b {
            case 48...57: b - 48
            case 97...102: b - 87
            case 65...70: b - 55
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity((text.count - 2) / 2)
        var i = 2
        while i < text.count {
            guard let hi = nibble(text[i]), let lo = nibble(text[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
