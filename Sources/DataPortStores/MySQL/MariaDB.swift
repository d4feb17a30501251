import CMariaDB
import DataPortModel
import Foundation

/// A value bound to a MySQL statement parameter (the wire types the connector uses).
enum MySQLParameter {
    case null
    case integer(Int64)
    case text(String)
    case bytes([UInt8])
}

/// How to reach a MySQL or MariaDB server (see `MySQLConnector` for the options behind it).
struct MySQLEndpoint: Sendable {
    enum TLS: String, Sendable, CaseIterable { case disabled, preferred, required, verifyIdentity = "verify-identity" }
    var host: String
    var port: UInt32
    var user: String
    var password: String?
    var database: String
    var tls: TLS
    var tlsCA: String?
}

/// A thin, safe wrapper over a MariaDB Connector/C connection: the only file that touches its C API.
///
/// Every statement is a server-side prepared statement, values always bound as parameters, and
/// results are fetched unbuffered (a row at a time from the socket, never the whole result in
/// memory). Errors keep the server's error number and SQLSTATE; message text is kept only for the
/// errors whose text names objects (tables, columns, users), never for those that quote values
/// (duplicate keys, conversions), and bound values are scrubbed from it in any case.
final class MySQLConnection {
    private var conn: UnsafeMutablePointer<MYSQL>?
    /// Where errors happen, for messages ("store blog").
    let location: String
    let readOnly: Bool
    /// The server is MariaDB (not MySQL).
    private(set) var isMariaDB = false
    /// Statements kept prepared (import sessions): SQL text -> statement.
    private var prepared: [String: UnsafeMutablePointer<MYSQL_STMT>] = [:]
    private let cacheStatements: Bool
    /// How DATETIME and TIMESTAMP text becomes an instant's text (the store's `timeZone`).
    var dateTimes: MySQLDateTimes = .utc
    private static let preparedLimit = 256

    /// The library is initialised once, before any thread makes a connection.
    private static let library: Bool = mysql_server_init(0, nil, nil) == 0

    init(_ endpoint: MySQLEndpoint, location: String, readOnly: Bool) throws {
        self.location = location
        self.readOnly = readOnly
        cacheStatements = !readOnly
        guard Self.library, let m = mysql_init(nil) else {
            throw DataPortError(.store, "MySQL: cannot initialise the client library", at: location)
        }
        conn = m
        var timeout: UInt32 = 10
        mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout)
        mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        // No ~/.my.cnf or /etc/mysql: the config says everything.
        var on: my_bool = 1, off: my_bool = 0
        // `LOAD DATA LOCAL INFILE` only for an import's session, and only from memory: the handler
        // set below never opens a file, whatever name a statement or the server asks for.
        var localInfile: UInt32 = readOnly ? 0 : 1
        mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &localInfile)
        switch endpoint.tls {
        case .disabled:
            mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &off)
        case .preferred:
            _ = mysql_ssl_set(m, nil, nil, endpoint.tlsCA, nil, nil)
        case .required:
            _ = mysql_ssl_set(m, nil, nil, endpoint.tlsCA, nil, nil)
            mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on)
        case .verifyIdentity:
            _ = mysql_ssl_set(m, nil, nil, endpoint.tlsCA, nil, nil)
            mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on)
            mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on)
        }
        guard mysql_real_connect(m, endpoint.host, endpoint.user, endpoint.password, endpoint.database,
                                 endpoint.port, nil, 0) != nil else {
            let e = connectionError("cannot connect to MySQL", parameters: [endpoint.password].compactMap { $0 })
            mysql_close(m)
            conn = nil
            throw e
        }
        if endpoint.tls != .disabled && endpoint.tls != .preferred, mysql_get_ssl_cipher(m) == nil {
            close()
            throw DataPortError(.store, "MySQL: the connection is not encrypted (options.tls is \(endpoint.tls.rawValue))", at: location)
        }
        isMariaDB = String(cString: mysql_get_server_info(m)).contains("MariaDB")
        if !readOnly { installLocalInfileHandler(m) }
        guard mysql_set_character_set(m, "utf8mb4") == 0,
              String(cString: mysql_character_set_name(m)) == "utf8mb4" else {
            close()
            throw DataPortError(.store, "MySQL: the server does not accept the utf8mb4 character set", at: location)
        }
    }

    deinit { close() }

    func close() {
        for s in prepared.values { mysql_stmt_close(s) }
        prepared.removeAll()
        if let conn { mysql_close(conn) }
        conn = nil
    }

    /// Runs SQL without parameters or results (one statement), through the text protocol: for
    /// `SET`, `START TRANSACTION` and the like, which some servers do not prepare.
    func execute(_ sql: String) throws {
        let m = try open()
        guard mysql_real_query(m, sql, UInt(sql.utf8.count)) == 0 else { throw connectionError("MySQL", parameters: []) }
        // Drain any result (a SET has none; a SELECT GET_LOCK has one row).
        repeat {
            if let r = mysql_use_result(m) {
                while mysql_fetch_row(r) != nil {}
                mysql_free_result(r)
            }
        } while mysql_next_result(m) == 0
    }

    /// What `LOAD DATA LOCAL INFILE` reads on this connection: bytes in memory, never a file.
    private final class LocalInfile {
        var bytes: [UInt8] = []
        var offset = 0
    }
    private let infile = LocalInfile()

    private func installLocalInfileHandler(_ m: UnsafeMutablePointer<MYSQL>) {
        mysql_set_local_infile_handler(m, { state, _, userdata in
            state?.pointee = userdata
            return 0
        }, { state, buffer, length in
            guard let state, let buffer else { return -1 }
            let source = Unmanaged<LocalInfile>.fromOpaque(state).takeUnretainedValue()
            let n = min(Int(length), source.bytes.count - source.offset)
            source.bytes.withUnsafeBytes { b in
                if n > 0 { UnsafeMutableRawPointer(buffer).copyMemory(from: b.baseAddress! + source.offset, byteCount: n) }
            }
            source.offset += n
            return Int32(n)
        }, { _ in }, { _, buffer, length in
            if let buffer, length > 0 { buffer[0] = 0 }
            return 0
        }, Unmanaged.passUnretained(infile).toOpaque())
    }

    /// Runs a `LOAD DATA LOCAL INFILE` statement (text protocol, no parameters) that reads `data`;
    /// returns the rows it loaded.
    @discardableResult
    func loadLocal(_ sql: String, _ data: [UInt8]) throws -> Int {
        let m = try open()
        infile.bytes = data
        infile.offset = 0
        defer { infile.bytes = []; infile.offset = 0 }
        guard mysql_real_query(m, sql, UInt(sql.utf8.count)) == 0 else { throw connectionError("MySQL", parameters: []) }
        return Int(bitPattern: UInt(truncatingIfNeeded: mysql_affected_rows(m)))
    }

    /// The first column of the first row of a parameterless query, as text (server settings).
    func scalar(_ sql: String) throws -> String? {
        var out: String?
        try run(sql, []) { row in if out == nil, case .text(let t) = row.cell(0) { out = t } }
        return out
    }

    /// Prepares `sql` without running it: a missing table or column fails here.
    func prepare(_ sql: String) throws {
        let m = try open()
        guard let stmt = mysql_stmt_init(m) else { throw connectionError("MySQL", parameters: []) }
        defer { mysql_stmt_close(stmt) }
        guard mysql_stmt_prepare(stmt, sql, UInt(sql.utf8.count)) == 0 else { throw failure(stmt, parameters: []) }
    }

    /// Runs one statement with bound parameters, handing each row to `body` as it arrives.
    /// Returns the rows it returned, the rows it changed and the auto-increment id it generated.
    @discardableResult
    func run(_ sql: String, _ parameters: [MySQLParameter],
             row body: (MySQLRow) throws -> Void) throws -> (rows: Int, changed: Int, insertID: UInt64) {
        let m = try open()
        let stmt: UnsafeMutablePointer<MYSQL_STMT>
        if cacheStatements, let s = prepared[sql] {
            stmt = s
        } else {
            guard let s = mysql_stmt_init(m) else { throw connectionError("MySQL", parameters: []) }
            guard mysql_stmt_prepare(s, sql, UInt(sql.utf8.count)) == 0 else {
                let e = failure(s, parameters: [])
                mysql_stmt_close(s)
                throw e
            }
            stmt = s
            if cacheStatements {
                if prepared.count >= Self.preparedLimit {
                    for s in prepared.values { mysql_stmt_close(s) }
                    prepared.removeAll()
                }
                prepared[sql] = s
            }
        }
        defer {
            if cacheStatements { mysql_stmt_free_result(stmt); mysql_stmt_reset(stmt) } else { mysql_stmt_close(stmt) }
        }
        let scrubbed = parameters.compactMap { p -> String? in
            switch p {
            case .text(let t): t
            case .integer(let i): String(i)
            case .null, .bytes: nil
            }
        }
        guard Int(mysql_stmt_param_count(stmt)) == parameters.count else {
            throw DataPortError(.store, "MySQL: the statement takes \(mysql_stmt_param_count(stmt)) parameters, \(parameters.count) given", at: location)
        }
        // Parameter buffers live until the statement has run.
        var storage: [UnsafeMutableRawPointer] = []
        defer { storage.forEach { $0.deallocate() } }
        func buffer(_ bytes: [UInt8]) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
            bytes.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: bytes.count) } }
            storage.append(p)
            return p
        }
        var binds = [MYSQL_BIND](repeating: MYSQL_BIND(), count: parameters.count)
        for (i, p) in parameters.enumerated() {
            switch p {
            case .null:
                binds[i].buffer_type = MYSQL_TYPE_NULL
            case .integer(let v):
                binds[i].buffer_type = MYSQL_TYPE_LONGLONG
                binds[i].buffer = buffer(withUnsafeBytes(of: v) { Array($0) })
            case .text(let s):
                let b = Array(s.utf8)
                binds[i].buffer_type = MYSQL_TYPE_STRING
                binds[i].buffer = buffer(b)
                binds[i].buffer_length = UInt(b.count)
                binds[i].length_value = UInt(b.count)
            case .bytes(let b):
                binds[i].buffer_type = MYSQL_TYPE_BLOB
                binds[i].buffer = buffer(b)
                binds[i].buffer_length = UInt(b.count)
                binds[i].length_value = UInt(b.count)
            }
        }
        // `length` left nil: the library then reads `length_value`.
        if !binds.isEmpty {
            guard binds.withUnsafeMutableBufferPointer({ mysql_stmt_bind_param(stmt, $0.baseAddress) }) == 0 else {
                throw failure(stmt, parameters: scrubbed)
            }
        }
        guard mysql_stmt_execute(stmt) == 0 else { throw failure(stmt, parameters: scrubbed) }
        let changed = Int(bitPattern: UInt(truncatingIfNeeded: mysql_stmt_affected_rows(stmt)))
        let insertID = mysql_stmt_insert_id(stmt)
        guard let meta = mysql_stmt_result_metadata(stmt) else { return (0, max(changed, 0), insertID) }
        defer { mysql_free_result(meta) }
        let row = MySQLRow(stmt: stmt, fields: mysql_fetch_fields(meta), count: Int(mysql_num_fields(meta)))
        defer { row.release() }
        row.dateTimes = dateTimes
        guard row.bind() else { throw failure(stmt, parameters: scrubbed) }
        var count = 0
        while true {
            let rc = mysql_stmt_fetch(stmt)
            if rc == MYSQL_NO_DATA { break }
            if rc == 1 { throw failure(stmt, parameters: scrubbed) }
            guard row.complete() else { throw failure(stmt, parameters: scrubbed) }
            // A failing body ends the loop; the deferred reset discards the rows still on the way.
            try body(row)
            count += 1
        }
        return (count, 0, insertID)
    }

    // MARK: - Errors

    private func open() throws -> UnsafeMutablePointer<MYSQL> {
        guard let conn else { throw DataPortError(.store, "MySQL connection is closed", at: location) }
        return conn
    }

    private func connectionError(_ what: String, parameters: [String]) -> DataPortError {
        guard let conn else { return DataPortError(.store, "\(what): connection is closed", at: location) }
        return describe(what, number: mysql_errno(conn), state: String(cString: mysql_sqlstate(conn)),
                        message: String(cString: mysql_error(conn)), parameters: parameters)
    }

    private func failure(_ stmt: UnsafeMutablePointer<MYSQL_STMT>, parameters: [String]) -> DataPortError {
        describe("MySQL", number: mysql_stmt_errno(stmt), state: String(cString: mysql_stmt_sqlstate(stmt)),
                 message: String(cString: mysql_stmt_error(stmt)), parameters: parameters)
    }

    /// The one-line error for a server or client error: number and SQLSTATE always, the message
    /// only where it can name nothing but objects.
    private func describe(_ what: String, number: UInt32, state: String, message: String, parameters: [String]) -> DataPortError {
        let tag = " [error \(number), SQLSTATE \(state)]"
        let text: String
        if let fixed = MySQLErrors.description[number] {
            text = fixed
        } else if MySQLErrors.namesOnly.contains(number) || (2000...2999).contains(number) {
            text = PostgreSQLConnection.scrub(message.split(separator: "\n").first.map(String.init) ?? "", parameters)
        } else {
            text = "the server refused the statement"
        }
        let config = readOnly ? MySQLErrors.configWhenReading.contains(number) : MySQLErrors.configWhenWriting.contains(number)
        return DataPortError(config ? .invalidConfig : .store, "\(what): \(text)\(tag)", at: location, code: [1146: .missingTable, 1054: .missingColumn, 1205: .lockTimeout][number])
    }
}

/// What the connector knows about server error numbers (see MySQL's and MariaDB's error references).
enum MySQLErrors {
    /// Errors whose message names only objects (database, table, column, user, host), never values.
    static let namesOnly: Set<UInt32> = [
        1044, 1045, 1046, 1049, 1051, 1054, 1064, 1109, 1142, 1143, 1146, 1149, 1205, 1213, 1227, 1449, 1792, 1048,
    ]
    /// Errors whose message quotes values: a fixed text instead.
    static let description: [UInt32: String] = [
        1062: "a row with the same unique key exists",
        1586: "a row with the same unique key exists",
        1264: "a value is out of range for its column",
        1265: "a value was truncated for its column",
        1292: "a value is not a valid date, time or number for its column",
        1366: "a value is not valid for its column",
        1406: "a value is too long for its column",
        1451: "a row is referenced by another table (foreign key)",
        1452: "a referenced row does not exist (foreign key)",
        3140: "a value is not valid JSON",
        4025: "a value violates a CHECK constraint",
        3819: "a value violates a CHECK constraint",
    ]
    /// Reading: the config names a table, column or privilege the server does not have.
    static let configWhenReading: Set<UInt32> = [1049, 1054, 1064, 1109, 1142, 1143, 1146, 1149]
    /// Writing: only a missing table or column is the config's fault.
    static let configWhenWriting: Set<UInt32> = [1054, 1146]
}

/// One row of an unbuffered result, valid only inside the `run` callback.
///
/// Integers and floating-point columns are fetched as numbers, everything else (DECIMAL, dates
/// and times, strings, ENUM/SET, JSON, BLOB) in the text or bytes the server sends: columns of the
/// `binary` character set (BLOB, BINARY, VARBINARY, BIT, geometry) become bytes.
final class MySQLRow: SQLRow {
    /// `dateTime`: DATETIME and TIMESTAMP fetched as their parts (`MYSQL_TIME`) and written as the
    /// library would write them as text, without its `sprintf` per value; `dateTimeText`: other
    /// date-time types, fetched as the library's text.
    private enum Kind { case integer, unsigned, float, double, text, bytes, dateTime, dateTimeText }
    private let stmt: UnsafeMutablePointer<MYSQL_STMT>
    private var binds: [MYSQL_BIND]
    private var kinds: [Kind] = []
    private var lengths: UnsafeMutablePointer<UInt>
    private var nulls: UnsafeMutablePointer<my_bool>
    private var buffers: [UnsafeMutableRawPointer]
    private var capacities: [Int]
    /// Each column's fraction digits (DATETIME(3): 3).
    private var decimals: [UInt32] = []
    /// How DATETIME and TIMESTAMP text is turned into an instant (set by the connector).
    var dateTimes: MySQLDateTimes = .utc
    let columnCount: Int

    fileprivate init(stmt: UnsafeMutablePointer<MYSQL_STMT>, fields: UnsafeMutablePointer<MYSQL_FIELD>?, count: Int) {
        self.stmt = stmt
        columnCount = count
        binds = [MYSQL_BIND](repeating: MYSQL_BIND(), count: count)
        lengths = .allocate(capacity: max(count, 1)); lengths.initialize(repeating: 0, count: max(count, 1))
        nulls = .allocate(capacity: max(count, 1)); nulls.initialize(repeating: 0, count: max(count, 1))
        buffers = []
        capacities = []
        for i in 0..<count {
            let f = fields![i]
            let unsigned = f.flags & UInt32(UNSIGNED_FLAG) != 0
            let kind: Kind
            switch f.type {
            case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_INT24, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_YEAR:
                kind = unsigned ? .unsigned : .integer
            case MYSQL_TYPE_FLOAT: kind = .float
            case MYSQL_TYPE_DOUBLE: kind = .double
            case MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP: kind = .dateTime
            case MYSQL_TYPE_DATETIME2, MYSQL_TYPE_TIMESTAMP2: kind = .dateTimeText
            case MYSQL_TYPE_BIT, MYSQL_TYPE_GEOMETRY: kind = .bytes
            case MYSQL_TYPE_STRING, MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_VARCHAR, MYSQL_TYPE_BLOB,
                 MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB:
                kind = f.charsetnr == 63 ? .bytes : .text
            default: kind = .text
            }
            kinds.append(kind)
            decimals.append(f.decimals)
            let size: Int
            switch kind {
            case .integer, .unsigned, .double: size = 8; binds[i].buffer_type = kind == .double ? MYSQL_TYPE_DOUBLE : MYSQL_TYPE_LONGLONG
            case .float: size = 4; binds[i].buffer_type = MYSQL_TYPE_FLOAT
            case .dateTime: size = MemoryLayout<MYSQL_TIME>.size; binds[i].buffer_type = MYSQL_TYPE_DATETIME
            case .text, .dateTimeText: size = 64; binds[i].buffer_type = MYSQL_TYPE_STRING
            case .bytes: size = 64; binds[i].buffer_type = MYSQL_TYPE_BLOB
            }
            let b = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            buffers.append(b)
            capacities.append(size)
            binds[i].buffer = b
            binds[i].buffer_length = UInt(size)
            binds[i].is_unsigned = kind == .unsigned ? 1 : 0
            binds[i].length = lengths + i
            binds[i].is_null = nulls + i
        }
    }

    fileprivate func bind() -> Bool {
        columnCount == 0 || binds.withUnsafeMutableBufferPointer { mysql_stmt_bind_result(stmt, $0.baseAddress) } == 0
    }

    /// Fetches the columns that did not fit their buffers (long strings), growing the buffers.
    fileprivate func complete() -> Bool {
        var grown = false
        for i in 0..<columnCount where nulls[i] == 0 && (kinds[i] == .text || kinds[i] == .bytes || kinds[i] == .dateTimeText) {
            let n = Int(lengths[i])
            guard n > capacities[i] else { continue }
            buffers[i].deallocate()
            let size = max(n, capacities[i] * 2)
            buffers[i] = .allocate(byteCount: size, alignment: 8)
            capacities[i] = size
            binds[i].buffer = buffers[i]
            binds[i].buffer_length = UInt(size)
            let ok = withUnsafeMutablePointer(to: &binds[i]) { mysql_stmt_fetch_column(stmt, $0, UInt32(i), 0) } == 0
            guard ok else { return false }
            grown = true
        }
        // The grown buffers serve the next rows too.
        return !grown || bind()
    }

    /// Ends the result (discarding rows still on the way) before the buffers bound to it go.
    fileprivate func release() {
        mysql_stmt_free_result(stmt)
        buffers.forEach { $0.deallocate() }
        buffers.removeAll()
        lengths.deallocate()
        nulls.deallocate()
    }

    private func bytes(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffers[i], count: Int(lengths[i]))
    }

    /// A column as a raw cell. Text that is not UTF-8 comes as bytes (a `string` field refuses it).
    func cell(_ i: Int) -> StoreCell {
        guard nulls[i] == 0 else { return .null }
        switch kinds[i] {
        case .integer: return .integer(buffers[i].load(as: Int64.self))
        case .unsigned:
            let u = buffers[i].load(as: UInt64.self)
            // Beyond Int64 (BIGINT UNSIGNED): exact text, which a `decimal` or `string` field takes.
            return u <= UInt64(Int64.max) ? .integer(Int64(u)) : .text(String(u))
        case .double: return .real(buffers[i].load(as: Double.self))
        case .float:
            // The float's shortest text, not the longer expansion of its double.
            let f = buffers[i].load(as: Float.self)
            return .real(Double(String(f)) ?? Double(f))
        case .bytes: return .blob(Array(bytes(i)))
        case .text:
            return StoreCell(text: UnsafeBufferPointer(start: buffers[i].assumingMemoryBound(to: UInt8.self), count: Int(lengths[i])))
        case .dateTime:
            return .text(dateTimes.instantText(Self.text(of: buffers[i].load(as: MYSQL_TIME.self), decimals: decimals[i])))
        case .dateTimeText:
            return .text(dateTimes.instantText(String(decoding: bytes(i), as: UTF8.self)))
        }
    }

    /// The text Connector/C writes for a DATETIME or TIMESTAMP fetched as a string:
    /// `YYYY-MM-DD HH:MM:SS`, then `.` and the fraction cut to the column's 1 to 6 decimals.
    static func text(of t: MYSQL_TIME, decimals: UInt32) -> String {
        let fraction = decimals >= 1 && decimals <= 6
        guard t.year <= 9999, t.month <= 99, t.day <= 99, t.hour <= 99, t.minute <= 99, t.second <= 99, t.second_part < 1_000_000 else {
            // Out of the fixed widths (never from a server): the library's own format.
            let text = String(format: "%04u-%02u-%02u %02u:%02u:%02u", t.year, t.month, t.day, t.hour, t.minute, t.second)
            return fraction ? text + String(String(format: ".%06lu", t.second_part).prefix(Int(decimals) + 1)) : text
        }
        let count = 19 + (fraction ? 1 + Int(decimals) : 0)
        return String(unsafeUninitializedCapacity: count) { out in
            func digits(_ v: UInt, _ width: Int, at i: Int) {
                var v = v
                for k in stride(from: width - 1, through: 0, by: -1) { out[i + k] = UInt8(48 + v % 10); v /= 10 }
            }
            digits(UInt(t.year), 4, at: 0); out[4] = UInt8(ascii: "-"); digits(UInt(t.month), 2, at: 5); out[7] = UInt8(ascii: "-")
            digits(UInt(t.day), 2, at: 8); out[10] = UInt8(ascii: " "); digits(UInt(t.hour), 2, at: 11); out[13] = UInt8(ascii: ":")
            digits(UInt(t.minute), 2, at: 14); out[16] = UInt8(ascii: ":"); digits(UInt(t.second), 2, at: 17)
            if fraction {
                out[19] = UInt8(ascii: ".")
                // The first `decimals` of the six digits of the microseconds.
                var unit: UInt = 100_000
                for k in 0..<Int(decimals) { out[20 + k] = UInt8(48 + UInt(t.second_part) / unit % 10); unit /= 10 }
            }
            return count
        }
    }
}
