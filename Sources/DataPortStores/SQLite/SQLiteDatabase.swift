import CSQLite
import DataPortModel
import Foundation

/// A thin, safe wrapper over a sqlite3 connection: the only file that touches the SQLite C API.
package final class SQLiteDatabase {
    private var handle: OpaquePointer?
    package let path: String

    /// SQLite without memory statistics, set once before the first connection: they cost a
    /// global mutex on every allocation (4.6% of a 1M-row import's CPU). Refused, harmlessly, if
    /// SQLite was already initialised by someone else in the process.
    private static let configured: Void = { _ = dataport_sqlite_disable_memstatus() }()

    /// Opens a database. `create` makes it if missing; otherwise a missing file is an error.
    package init(path: String, readOnly: Bool, create: Bool = false) throws {
        _ = Self.configured
        self.path = path
        // A process killed while writing leaves a hot journal, which a read-only connection cannot
        // roll back ("attempt to write a readonly database"): recover it first, reading only.
        if readOnly { Self.rollBackHotJournal(path) }
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0))
        let rc = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(handle)
            handle = nil
            throw DataPortError(.store, "cannot open SQLite database: \(message)", at: path)
        }
        sqlite3_busy_timeout(handle, 2000)
        dataport_sqlite_disable_dqs(handle)
        sqlite3_extended_result_codes(handle, 1)
        try registerIdentityFunctions()
    }

    /// The SQL name of the function that computes an identity form's normal form.
    package static func functionName(_ form: IdentityForm) -> String { "dataport_norm_\(form.rawValue)" }

    /// Registers `dataport_norm_caseless(x)`, `dataport_norm_ip(x)` and `dataport_norm_exact(x)`
    /// (deterministic, so an expression index may use them) on this connection: the subject's rows
    /// are those whose normal form equals one of the subject's values, computed by the same Swift
    /// code as for every other store. NULL stays NULL; numbers are compared as their text.
    private func registerIdentityFunctions() throws {
        for (i, form) in IdentityForm.allCases.enumerated() {
            let rc = sqlite3_create_function_v2(handle, Self.functionName(form), 1,
                                                SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                                UnsafeMutableRawPointer(bitPattern: i + 1), { context, count, arguments in
                guard let context, count == 1, let value = arguments?[0] else { return }
                let form = IdentityForm.allCases[Int(bitPattern: sqlite3_user_data(context)) - 1]
                guard sqlite3_value_type(value) != SQLITE_NULL else { sqlite3_result_null(context); return }
                let n = Int(sqlite3_value_bytes(value))
                if let p = sqlite3_value_text(value), let ascii = form.normalizeASCII(UnsafeBufferPointer(start: p, count: n)) {
                    ascii.withUnsafeBufferPointer { b in
                        b.withMemoryRebound(to: CChar.self) { c in
                            guard let base = c.baseAddress, !c.isEmpty else { sqlite3_result_text(context, "", 0, dataport_sqlite_transient()); return }
                            sqlite3_result_text(context, base, Int32(c.count), dataport_sqlite_transient())
                        }
                    }
                    return
                }
                let text = sqlite3_value_text(value).map { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) } ?? ""
                var normal = form.normalize(text)
                normal.withUTF8 { u in
                    u.withMemoryRebound(to: CChar.self) { c in
                        guard let base = c.baseAddress, !c.isEmpty else { sqlite3_result_text(context, "", 0, dataport_sqlite_transient()); return }
                        sqlite3_result_text(context, base, Int32(c.count), dataport_sqlite_transient())
                    }
                }
            }, nil, nil, nil)
            guard rc == SQLITE_OK else { throw error("SQLite: cannot register \(Self.functionName(form))") }
        }
    }

    deinit { sqlite3_close_v2(handle) }

    /// Opens the database read-write with `query_only` and reads its schema, so SQLite rolls back a
    /// hot journal left by a killed writer (restoring the state before that transaction); no
    /// statement can write. Nothing happens without a journal file, or when the file cannot be
    /// opened for writing (the read-only connection then reports the error).
    static func rollBackHotJournal(_ path: String) {
        _ = configured
        guard FileManager.default.fileExists(atPath: path + "-journal") else { return }
        var h: OpaquePointer?
        defer { sqlite3_close_v2(h) }
        guard sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else { return }
        sqlite3_busy_timeout(h, 2000)
        _ = sqlite3_exec(h, "PRAGMA query_only = ON; SELECT count(*) FROM sqlite_master;", nil, nil, nil)
    }

    /// How long a statement waits for another connection's lock before failing as busy.
    package func waitForLocks(milliseconds: Int32) { sqlite3_busy_timeout(handle, milliseconds) }

    func error(_ what: String) -> DataPortError {
        DataPortError(.store, "\(what): \(Self.shown(String(cString: sqlite3_errmsg(handle)), code: sqlite3_extended_errcode(handle)))", at: path, code: sqlite3_errcode(handle) == SQLITE_BUSY ? .lockTimeout : nil)
    }

    /// SQLite's message, unless its shape lets it carry a row's value: a trigger's `RAISE` message
    /// (an expression over `NEW` in newer SQLite) is replaced by what happened. Other messages name
    /// only SQL text, tables, columns and constraints (`UNIQUE constraint failed: users.email`).
    static func shown(_ message: String, code: Int32) -> String {
        code == dataport_sqlite_constraint_trigger() ? "a trigger refused the change (RAISE) [SQLITE_CONSTRAINT_TRIGGER]" : message
    }

    /// Runs SQL without results (several statements allowed).
    package func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &message) == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? "failed"
            sqlite3_free(message)
            throw DataPortError(.store, "SQLite: \(Self.shown(text, code: sqlite3_extended_errcode(handle)))", at: path)
        }
    }

    /// Runs a config's build script on a connection that can reach no other file: `ATTACH` (and so
    /// `VACUUM INTO`) and extension loading are refused. A script that SQLite rejects (syntax, a
    /// refused statement, a constraint) is the config's fault; anything else (disk full, I/O) the store's.
    package func executeConfined(_ sql: String) throws {
        guard dataport_sqlite_confine(handle) == SQLITE_OK else { throw error("SQLite: cannot restrict the connection") }
        do { try execute(sql) } catch var e as DataPortError {
            switch sqlite3_errcode(handle) & 0xFF {
            case SQLITE_ERROR, SQLITE_AUTH, SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_RANGE, SQLITE_TOOBIG: e.kind = .invalidConfig
            default: break
            }
            throw e
        }
    }

    package func prepare(_ sql: String) throws -> SQLiteStatement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            // A plain SQL error (no such table or column) is the config's fault; anything else
            // (not a database, locked, I/O) is the store's.
            var e = error("SQLite")
            if sqlite3_errcode(handle) & 0xFF == SQLITE_ERROR { e = DataPortError(.invalidConfig, e.message, at: e.location, code: e.message.contains(": no such table") ? .missingTable : e.message.contains(": no such column") ? .missingColumn : nil) }
            throw e
        }
        return SQLiteStatement(stmt, database: self)
    }

    /// Rows changed by the last statement.
    package var changes: Int { Int(sqlite3_changes(handle)) }
    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}

/// A prepared statement. Parameters are bound by position (1-based), values read by column (0-based).
package final class SQLiteStatement: SQLRow {
    private let stmt: OpaquePointer
    private let database: SQLiteDatabase

    init(_ stmt: OpaquePointer, database: SQLiteDatabase) { self.stmt = stmt; self.database = database }
    deinit { sqlite3_finalize(stmt) }

    package func bind(_ parameters: [SQLParameter]) throws {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, p) in parameters.enumerated() {
            let rc: Int32
            switch p {
            case .integer(let v): rc = sqlite3_bind_int64(stmt, Int32(i + 1), v)
            case .text(let s): rc = sqlite3_bind_text(stmt, Int32(i + 1), s, -1, dataport_sqlite_transient())
            }
            guard rc == SQLITE_OK else { throw database.error("SQLite bind") }
        }
    }

    /// Binds typed values (for inserts): text from the string's own UTF-8 storage, no C-string copy.
    package func bind(values: [Value]) throws {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, v) in values.enumerated() {
            let n = Int32(i + 1)
            let rc: Int32
            switch v {
            case .null: rc = sqlite3_bind_null(stmt, n)
            case .integer(let x): rc = sqlite3_bind_int64(stmt, n, x)
            case .boolean(let b): rc = sqlite3_bind_int64(stmt, n, b ? 1 : 0)
            case .binary(let bytes): rc = bytes.withUnsafeBytes { sqlite3_bind_blob(stmt, n, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), dataport_sqlite_transient()) }
            case .string(let s): rc = bindText(s, n)
            case .decimal(let d): rc = bindText(d.text, n)
            case .timestamp(let t): rc = bindText(t.text, n)
            case .date(let d): rc = bindText(d.text, n)
            }
            guard rc == SQLITE_OK else { throw database.error("SQLite bind") }
        }
    }

    private func bindText(_ s: String, _ n: Int32) -> Int32 {
        return s.withUTF8Bytes { u in
            u.withMemoryRebound(to: CChar.self) { text in
                // An empty string still needs a non-NULL pointer: NULL would bind SQL NULL.
                guard let base = text.baseAddress, !text.isEmpty else { return sqlite3_bind_text(stmt, n, "", 0, dataport_sqlite_transient()) }
                return sqlite3_bind_text(stmt, n, base, Int32(text.count), dataport_sqlite_transient())
            }
        }
    }

    /// Whether a column holds `value` exactly as `bind(values:)` stores it: the same integer, or the
    /// same UTF-8 bytes as the value's canonical text.
    package func holds(_ value: Value, at column: Int) -> Bool {
        let c = Int32(column)
        let type = sqlite3_column_type(stmt, c)
        func sameText(_ s: String) -> Bool {
            guard type == SQLITE_TEXT else { return false }
            let n = Int(sqlite3_column_bytes(stmt, c))
            return s.withUTF8Bytes { u in
                guard u.count == n else { return false }
                guard n > 0 else { return true }
                guard let p = sqlite3_column_text(stmt, c) else { return false }
                return memcmp(p, u.baseAddress!, n) == 0
            }
        }
        switch value {
        case .null: return type == SQLITE_NULL
        case .integer(let x): return type == SQLITE_INTEGER && sqlite3_column_int64(stmt, c) == x
        case .boolean(let b): return type == SQLITE_INTEGER && sqlite3_column_int64(stmt, c) == (b ? 1 : 0)
        case .string(let s): return sameText(s)
        case .decimal(let d): return sameText(d.text)
        case .timestamp(let t): return sameText(t.text)
        case .date(let d): return sameText(d.text)
        case .binary: return false
        }
    }

    /// Advances to the next row; `false` when done.
    /// Ends a run of the statement (releasing what it holds) so it can run again.
    package func reset() { sqlite3_reset(stmt) }

    package func step() throws -> Bool {
        switch sqlite3_step(stmt) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error("SQLite")
        }
    }

    package var columnCount: Int { Int(sqlite3_column_count(stmt)) }

    package func cell(_ i: Int) -> StoreCell {
        let c = Int32(i)
        switch sqlite3_column_type(stmt, c) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(stmt, c))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(stmt, c))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(stmt, c))
            guard n > 0, let p = sqlite3_column_blob(stmt, c) else { return .blob([]) }
            return .blob([UInt8](UnsafeRawBufferPointer(start: p, count: n)))
        default:
            let n = Int(sqlite3_column_bytes(stmt, c))
            guard let p = sqlite3_column_text(stmt, c) else { return .text("") }
            return StoreCell(text: UnsafeBufferPointer(start: p, count: n))
        }
    }
}

/// A read-write SQLite session for imports.
package final class SQLiteSession: SQLSession {
    let db: SQLiteDatabase
    private var statements: [String: SQLiteStatement] = [:]

    /// How long an import waits for another import (or an export's read) to finish with the database.
    package static let lockWaitMilliseconds: Int32 = 300_000

    package init(path: String) throws {
        db = try SQLiteDatabase(path: path, readOnly: false)
        db.waitForLocks(milliseconds: Self.lockWaitMilliseconds)
    }

    package var placeholder: @Sendable (Int) -> String { { _ in "?" } }
    package var nullSafeEquals: String { "IS" }

    private func statement(_ sql: String) throws -> SQLiteStatement {
        if let s = statements[sql] { return s }
        let s = try db.prepare(sql)
        statements[sql] = s
        return s
    }

    package func execute(_ sql: String, _ parameters: [Value]) throws -> Int {
        let s = try statement(sql)
        try s.bind(values: parameters)
        while try s.step() {}
        return db.changes
    }

    package func query(_ sql: String, _ parameters: [Value], rows row: (any SQLRow) throws -> Void) throws {
        let s = try statement(sql)
        try s.bind(values: parameters)
        while try s.step() { try row(s) }
    }

    package func begin() throws { try db.execute("BEGIN IMMEDIATE") }
    package func commit() throws { try db.execute("COMMIT") }
    package func rollback() { try? db.execute("ROLLBACK") }
}
