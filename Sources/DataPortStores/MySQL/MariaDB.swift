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

/// A thin, safe wrapper over a MariaDB Connector/C connection: with `MariaDBRow.swift` (the rows of
/// a result), the only code that touches its C API. Error numbers are read by `MySQLErrors`.
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
        let stmt = try statement(sql)
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
        try bind(parameters, to: stmt, storage: &storage, scrubbed: scrubbed)
        guard mysql_stmt_execute(stmt) == 0 else { throw failure(stmt, parameters: scrubbed) }
        let changed = Int(bitPattern: UInt(truncatingIfNeeded: mysql_stmt_affected_rows(stmt)))
        let insertID = mysql_stmt_insert_id(stmt)
        guard let meta = mysql_stmt_result_metadata(stmt) else { return (0, max(changed, 0), insertID) }
        defer { mysql_free_result(meta) }
        return (try fetch(stmt, meta, scrubbed: scrubbed, body), 0, insertID)
    }

    /// The statement for `sql`: the one kept from an earlier run (import sessions), else prepared now.
    private func statement(_ sql: String) throws -> UnsafeMutablePointer<MYSQL_STMT> {
        if cacheStatements, let s = prepared[sql] { return s }
        let m = try open()
        guard let s = mysql_stmt_init(m) else { throw connectionError("MySQL", parameters: []) }
        guard mysql_stmt_prepare(s, sql, UInt(sql.utf8.count)) == 0 else {
            let e = failure(s, parameters: [])
            mysql_stmt_close(s)
            throw e
        }
        if cacheStatements {
            if prepared.count >= Self.preparedLimit {
                for s in prepared.values { mysql_stmt_close(s) }
                prepared.removeAll()
            }
            prepared[sql] = s
        }
        return s
    }

    /// Binds `parameters` to `stmt`, their bytes copied into buffers added to `storage` (which the
    /// caller frees once the statement has run).
    private func bind(_ parameters: [MySQLParameter], to stmt: UnsafeMutablePointer<MYSQL_STMT>,
                      storage: inout [UnsafeMutableRawPointer], scrubbed: [String]) throws {
        guard !parameters.isEmpty else { return }
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
        guard binds.withUnsafeMutableBufferPointer({ mysql_stmt_bind_param(stmt, $0.baseAddress) }) == 0 else {
            throw failure(stmt, parameters: scrubbed)
        }
    }

    /// Hands each row of the executed statement's result (`meta`) to `body`; returns how many.
    private func fetch(_ stmt: UnsafeMutablePointer<MYSQL_STMT>, _ meta: UnsafeMutablePointer<MYSQL_RES>, scrubbed: [String],
                       _ body: (MySQLRow) throws -> Void) throws -> Int {
        let row = MySQLRow(stmt: stmt, fields: mysql_fetch_fields(meta), count: Int(mysql_num_fields(meta)), dateTimes: dateTimes)
        defer { row.release() }
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
        return count
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

