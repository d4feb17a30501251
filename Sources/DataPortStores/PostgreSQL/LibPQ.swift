import CPostgres
import DataPortModel
import Foundation

/// A thin, safe wrapper over a libpq connection: the only file that touches libpq's C API.
///
/// Values are always sent as parameters (`PQsendQueryParams`), never spliced into SQL text, and
/// rows are streamed one at a time (single-row mode), so a subject with millions of rows is never
/// held in memory. Errors carry the server's primary message and SQLSTATE, with any parameter value
/// it might quote removed (identity values are personal data).
final class PostgreSQLConnection {
    private var conn: OpaquePointer?
    /// Where errors happen, for messages ("store billing").
    let location: String

    /// Connects with a libpq connection URI or `key=value` string (TLS settings such as `sslmode`
    /// and `sslrootcert` included); an empty string means libpq's usual `PG*` environment variables.
    init(conninfo: String, location: String) throws {
        self.location = location
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
            throw DataPortError(.store, "cannot connect to PostgreSQL: \(message)", at: location)
        }
        guard PQsetClientEncoding(conn, "UTF8") == 0 else {
            throw DataPortError(.store, "PostgreSQL: cannot use the UTF8 client encoding", at: location)
        }
        // Fix the text forms the connector parses, whatever the server's defaults: ISO dates,
        // UTC offsets, hex bytea. Read-only: an export never writes.
        try execute("""
            SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601';
            SET bytea_output = 'hex'; SET extra_float_digits = 1; SET default_transaction_read_only = on
            """)
    }

    deinit { PQfinish(conn) }

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
            throw failure(result, parameters: [])
        }
    }

    /// Parses and plans `sql` without running it (an unnamed statement); a missing table or column
    /// fails here.
    func prepare(_ sql: String) throws {
        let conn = try open()
        let result = PQprepare(conn, "", sql, 0, nil)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw failure(result, parameters: []) }
    }

    /// Runs a query with bound parameters and hands each row to `body` as it arrives.
    /// Returns the number of rows. If `body` throws, the query is cancelled and the error rethrown.
    @discardableResult
    func query(_ sql: String, _ parameters: [SQLParameter], row body: (PostgreSQLRow) throws -> Void) throws -> Int {
        let conn = try open()
        let texts: [String] = parameters.map {
            switch $0 {
            case .text(let s): s
            case .integer(let i): String(i)
            }
        }
        // 20 = int8; 0 lets the server infer a text parameter's type from the column it meets.
        let types: [UInt32] = parameters.map { if case .integer = $0 { 20 } else { 0 } }
        let sent = Self.withCStrings(texts) { values in
            types.withUnsafeBufferPointer { t in
                PQsendQueryParams(conn, sql, Int32(texts.count), t.baseAddress, values, nil, nil, 0)
            }
        }
        guard sent == 1 else { throw error("PostgreSQL", parameters: texts) }
        guard PQsetSingleRowMode(conn) == 1 else {
            drain()
            throw DataPortError(.store, "PostgreSQL: cannot stream rows (single-row mode refused)", at: location)
        }
        var count = 0
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
                break
            default:
                failure = self.failure(result, parameters: texts)
            }
        }
        if let failure { throw failure }
        return count
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

    /// The error of a failed result: SQLSTATE and the server's primary message (never its DETAIL,
    /// which may quote row values), with parameter values scrubbed.
    private func failure(_ result: OpaquePointer?, parameters: [String]) -> DataPortError {
        guard let result else { return error("PostgreSQL", parameters: parameters) }
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let message = primary ?? Self.trimmed(PQresultErrorMessage(result))
        let text = "PostgreSQL: \(Self.scrub(message, parameters))" + (state.map { " [SQLSTATE \($0)]" } ?? "")
        // Class 42 (syntax error or access rule violation: missing table, column, privilege) is the
        // config's fault, not the store's.
        return DataPortError(state?.hasPrefix("42") == true ? .invalidConfig : .store, text, at: location)
    }

    private func error(_ what: String, parameters: [String]) -> DataPortError {
        DataPortError(.store, "\(what): \(Self.scrub(Self.trimmed(PQerrorMessage(conn)), parameters))", at: location)
    }

    /// Removes every parameter value from a server message (e.g. `invalid input syntax for type
    /// integer: "..."`).
    private static func scrub(_ message: String, _ parameters: [String]) -> String {
        var out = message
        for p in parameters.sorted(by: { $0.count > $1.count }) where !p.isEmpty {
            out = out.replacingOccurrences(of: p, with: "…")
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
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return body(copies.map { UnsafePointer($0) } + [nil])
    }
}

/// One row of a streamed result, valid only inside the `query` callback (its result is freed after).
struct PostgreSQLRow {
    private let result: OpaquePointer

    fileprivate init(result: OpaquePointer) { self.result = result }

    var columnCount: Int { Int(PQnfields(result)) }

    /// The raw text of a column, `nil` for NULL.
    func text(_ column: Int) -> String? {
        let c = Int32(column)
        guard PQgetisnull(result, 0, c) == 0, let p = PQgetvalue(result, 0, c) else { return nil }
        let n = Int(PQgetlength(result, 0, c))
        return p.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
    }

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
                let s = String(decoding: bytes, as: UTF8.self)
                return Int64(s).map(StoreCell.integer) ?? .text(s)
            case 17: // bytea, hex form: \x0a1b...
                return Self.decodeHex(bytes).map(StoreCell.blob) ?? .text(String(decoding: bytes, as: UTF8.self))
            default:
                return .text(String(decoding: bytes, as: UTF8.self))
            }
        }
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
