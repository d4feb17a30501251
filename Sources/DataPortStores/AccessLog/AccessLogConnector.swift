import DataPortIO
import DataPortModel
import Foundation

/// Web server access logs in the nginx/Apache "combined" format, one file per dataset.
///
/// ```
/// 203.0.113.7 - ana [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "https://ref.example/" "Mozilla/5.0" "c-7f3a9e"
/// ip          ident user time                       request (method path protocol) status bytes referrer  user agent  cookie id (optional)
/// ```
///
/// Options: `path`, the folder holding the logs (relative to the config file). Each dataset names
/// its log with `"file": "access.log"` (a path inside that folder) and lists the parsed fields it
/// exports; a field's `column` names the parsed field (default: the field's name):
///
/// | log field    | type                    | notes                                                      |
/// |--------------|-------------------------|------------------------------------------------------------|
/// | `ip`         | string                  | the client address as logged (`%h`, `$remote_addr`)        |
/// | `ident`      | string                  | `%l`; `-` is NULL                                          |
/// | `user`       | string                  | `%u`, `$remote_user`; `-` is NULL                          |
/// | `time`       | timestamp (or string)   | `[10/Oct/2000:13:55:36 -0700]`, converted to UTC           |
/// | `method`     | string                  | from the request line; NULL if it cannot be split          |
/// | `path`       | string                  | from the request line (target as sent, query included)     |
/// | `protocol`   | string                  | from the request line, e.g. `HTTP/1.1`; NULL for HTTP/0.9  |
/// | `request`    | string                  | the whole request line as logged; `-` is NULL              |
/// | `status`     | integer (or string)     | `%>s`, `$status`                                           |
/// | `bytes`      | integer (or string)     | `%b`, `$body_bytes_sent`; `-` is NULL                      |
/// | `referrer`   | string                  | `"%{Referer}i"`; `-` is NULL                               |
/// | `user_agent` | string                  | `"%{User-Agent}i"`; `-` is NULL                            |
/// | `cookie_id`  | string                  | an optional field after the user agent, e.g. nginx `"$cookie_sid"`; `-` or absent is NULL |
///
/// Lines in the Common Log Format (no referrer and user agent) are accepted; their referrer and user
/// agent are NULL. Anything after the cookie field is ignored. Quoted fields may use the servers'
/// escapes (`\"`, `\\`, `\xHH`); a field whose escapes decode to bytes that are not UTF-8 is
/// kept as logged (escapes undecoded). A line that does not parse (raw bytes that are not UTF-8
/// included) stops the read with `malformed log line` and its line number, never its contents (they
/// are personal data); a dataset with `"skipMalformedLines": true` skips such lines instead and
/// reports how many (`skippedLines`), since a line that cannot be parsed cannot be searched.
///
/// Rows match the subject only by identity (typically `ip` and `cookie_id`), by equality of the whole
/// value's normal form (`IdentityForm`: `2001:DB8::4A` is `2001:db8::4a`): `203.0.113.7` never
/// matches `203.0.113.77`. References are not supported (a log has no
/// keys). A log is observed data, so datasets must declare `"origin": "observed"`. Records come in
/// file order. `beginSnapshot` fixes each file's length, so a log that grows during the export is read
/// to the same line every time.
public final class AccessLogConnector: StoreConnector {
    /// The parsed fields of a log line, by the names a config uses.
    public enum LogField: String, CaseIterable, Sendable {
        case ip, ident, user, time, method, path, `protocol`, request, status, bytes, referrer
        case userAgent = "user_agent"
        case cookieID = "cookie_id"

        /// The field types a config may give this log field.
        var allowedTypes: [FieldType] {
            switch self {
            case .time: [.timestamp, .string]
            case .status, .bytes: [.integer, .string, .decimal]
            default: [.string]
            }
        }
    }

    /// The options an accesslog store accepts.
    public static let options: Set<String> = ["path"]
    /// Longer lines are malformed (a guard against a binary file configured as a log).
    static let maxLineLength = 1 << 20

    private let config: StoreConfig
    private let folder: String
    /// Per dataset: the log field behind each exported field, and each identity match.
    private var plans: [String: Plan] = [:]
    /// Open files and their length at the snapshot, by dataset file.
    private var snapshot: [String: LogFile]?
    /// Malformed lines skipped by the last full scan, by dataset (`skipMalformedLines`).
    private var skipped: [String: Int] = [:]

    private struct Plan {
        var file: String
        var exported: [(field: FieldConfig, source: LogField)]
        var matches: [(kind: IdentityKind, source: LogField)]
        var byName: [String: LogField]
    }

    public init(config: StoreConfig) throws {
        self.config = config
        let location = "store \(config.name)"
        if let unknown = config.options.keys.sorted().first(where: { !Self.options.contains($0) }) {
            throw DataPortError(.invalidConfig, "unknown option \(unknown) for an accesslog store (known: path)", at: location, code: .unknownOption)
        }
        guard let folder = config.path("path") else {
            throw DataPortError(.invalidConfig, "an accesslog store needs options.path (the folder of the logs)", at: location, code: .missingOption)
        }
        self.folder = folder
        for d in config.datasets {
            plans[d.name] = try Self.plan(d, location: location)
        }
    }

    private static func plan(_ d: DatasetConfig, location: String) throws -> Plan {
        func fail(_ m: String) -> DataPortError { DataPortError(.invalidConfig, "dataset \(d.name): \(m)", at: location) }
        guard case .file(let file) = d.source else { throw fail("an accesslog dataset names a log with \"file\", not a table or query") }
        let parts = file.split(separator: "/", omittingEmptySubsequences: false)
        guard !file.isEmpty, !file.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0.isEmpty }) else {
            throw fail("file '\(file)' must be a relative path inside the store's folder")
        }
        guard d.metadata.origin == .observed else { throw fail("an access log is observed data: set \"origin\": \"observed\"") }
        var byName: [String: LogField] = [:]
        for f in d.fields {
            guard let source = LogField(rawValue: f.column) else {
                throw fail("field \(f.name) names unknown log field '\(f.column)' (known: \(LogField.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard f.secret || source.allowedTypes.contains(f.type) else {
                throw fail("field \(f.name): log field \(source.rawValue) cannot be a \(f.type.rawValue) (use \(source.allowedTypes.map(\.rawValue).joined(separator: " or ")))")
            }
            byName[f.name] = source
        }
        var matches: [(IdentityKind, LogField)] = []
        for m in d.matches {
            guard case .identity(let kind, let field) = m else {
                throw fail("an access log matches only by identity (a log has no keys to reference)")
            }
            guard let source = byName[field] else { throw fail("match names unknown field \(field)") }
            matches.append((kind, source))
        }
        let exported = d.exportedFields.map { ($0, byName[$0.name]!) }
        return Plan(file: file, exported: exported, matches: matches, byName: byName)
    }

    public func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataPortError(.store, "the access log folder does not exist", at: "store \(config.name): \(folder)", code: .missingFile)
        }
        for d in config.datasets { _ = try openLog(d) }
    }

    /// Opens a dataset's log: a regular file inside the folder, never a link, FIFO or device.
    private func openLog(_ d: DatasetConfig) throws -> LogFile {
        let file = plans[d.name]!.file
        let fd = try FileStore.openRegularFile(file, in: folder, dataset: d.name, store: config.name)
        return try LogFile(fd: fd, name: file, location: "store \(config.name)")
    }

    public func beginSnapshot() throws {
        var files: [String: LogFile] = [:]
        for d in config.datasets where files[plans[d.name]!.file] == nil {
            files[plans[d.name]!.file] = try openLog(d)
        }
        snapshot = files
    }

    public func distinctValues(of field: String, in dataset: DatasetConfig, for subject: SubjectQuery, limit: Int) throws -> [String] {
        guard let plan = plans[dataset.name], let source = plan.byName[field] else {
            throw DataPortError(.invalidConfig, "dataset \(dataset.name) has no field \(field)", at: "store \(config.name)")
        }
        var found = Set<String>()
        try scan(dataset, plan, subject) { entry in
            guard found.count < limit else { return false }
            if let text = entry.text(source) { found.insert(text) }
            return true
        }
        return found.sorted()
    }

    @discardableResult
    public func read(_ dataset: DatasetConfig, for subject: SubjectQuery, into body: (Record) throws -> Void) throws -> Int {
        guard let plan = plans[dataset.name] else {
            throw DataPortError(.invalidConfig, "dataset \(dataset.name) is not in this store", at: "store \(config.name)")
        }
        var count = 0
        try scan(dataset, plan, subject) { entry in
            var values: [Value] = []
            values.reserveCapacity(plan.exported.count)
            for (f, source) in plan.exported {
                values.append(try entry.cell(source).value(of: f, in: dataset.name, at: "\(plan.file), line \(entry.line)"))
            }
            try body(Record(values))
            count += 1
            return true
        }
        return count
    }

    public func endSnapshot() {
        snapshot = nil
    }

    public func close() {
        snapshot = nil
    }

    // MARK: - Scanning

    /// Calls `body` with each of the subject's lines, in file order, until it returns false.
    private func scan(_ d: DatasetConfig, _ plan: Plan, _ subject: SubjectQuery, _ body: (LogEntry) throws -> Bool) throws {
        // The dataset's own matches (a caller may narrow them), over the plan's parsed fields.
        let matches = d.matches.compactMap { m -> (kind: IdentityKind, source: LogField)? in
            guard case .identity(let kind, let field) = m, let source = plan.byName[field] else { return nil }
            return (kind, source)
        }
        let wanted = matches.map { (form: subject.form($0.kind), source: $0.source, values: Set(subject.values($0.kind))) }
            .filter { !$0.values.isEmpty }
        guard !wanted.isEmpty else { return }
        let file = try snapshot?[plan.file] ?? openLog(d)
        var lines = LogLines(file)
        var line: [UInt8] = []
        var malformed = 0
        while try lines.next(into: &line) {
            if line.isEmpty { continue }
            guard line.count <= Self.maxLineLength, var entry = LogEntry(line, number: lines.number) else {
                guard d.skipMalformedLines else {
                    throw DataPortError(.store, "malformed log line", at: "\(plan.file), line \(lines.number)", code: .malformedLine)
                }
                malformed += 1
                continue
            }
            entry.range = lines.range
            let isSubject = wanted.contains { w in
                guard let text = entry.text(w.source) else { return false }
                return w.values.contains(w.form.normalize(text))
            }
            if isSubject, try !body(entry) { return }
        }
        // Only a scan to the end counts every malformed line.
        if d.skipMalformedLines { skipped[d.name] = malformed }
    }

    public func skippedLines(in dataset: DatasetConfig) -> Int? {
        dataset.skipMalformedLines ? skipped[dataset.name] : nil
    }
}

/// An open log file and the length to read it to (its length when opened).
final class LogFile {
    let fd: Int32
    let length: Int64
    let name: String
    let location: String

    /// Takes over `fd` (closed with the file).
    init(fd: Int32, name: String, location: String) throws {
        self.name = name
        self.location = location
        self.fd = fd
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw DataPortError(.store, "cannot read log file: \(message)", at: "\(location): \(name)")
        }
        length = Int64(info.st_size)
    }

    deinit { Glibc.close(fd) }
}

/// Reads a `LogFile` line by line from its start to its snapshot length, with one reused buffer.
struct LogLines {
    private let file: LogFile
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0, end = 0
    private var offset: Int64 = 0
    /// The 1-based number of the line last returned.
    private(set) var number = 0

    init(_ file: LogFile) { self.file = file }

    /// Fills `line` with the next line (without its `\n` or `\r\n`); false at the end.
    /// Where the line last returned lies in the file, line end included.
    private(set) var range: Range<Int64> = 0..<0

    mutating func next(into line: inout [UInt8]) throws -> Bool {
        line.removeAll(keepingCapacity: true)
        let first = offset - Int64(end - start)
        defer { range = first..<(offset - Int64(end - start)) }
        var sawAny = false
        while true {
            if start == end {
                guard try fill() else {
                    guard sawAny else { return false }
                    break
                }
            }
            sawAny = true
            if let nl = buffer[start..<end].firstIndex(of: 10) {
                // Past the length cap the bytes are not kept: the line is reported malformed anyway.
                if line.count <= AccessLogConnector.maxLineLength { line.append(contentsOf: buffer[start..<nl]) }
                start = nl + 1
                break
            }
            if line.count <= AccessLogConnector.maxLineLength { line.append(contentsOf: buffer[start..<end]) }
            start = end
        }
        if line.last == 13 { line.removeLast() }
        number += 1
        return true
    }

    private mutating func fill() throws -> Bool {
        let remaining = file.length - offset
        guard remaining > 0 else { return false }
        let want = Int(min(Int64(buffer.count), remaining))
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, want, off_t(offset)) }
            if n > 0 {
                start = 0; end = n; offset += Int64(n)
                return true
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            throw DataPortError(.store, "cannot read log file: \(String(cString: strerror(errno)))", at: "\(file.location): \(file.name)")
        }
    }
}

/// One parsed log line.
struct LogEntry {
    let line: Int
    /// Where the line lies in the file, line end included (for erasure).
    var range: Range<Int64> = 0..<0
    var ip = "", ident: String?, user: String?, time = "", request: String?
    var method: String?, path: String?, `protocol`: String?
    var status: Int64 = 0, bytes: Int64?
    var referrer: String?, userAgent: String?, cookieID: String?

    /// Parses a combined-format line; `nil` if it is malformed.
    init?(_ bytes: [UInt8], number: Int) {
        line = number
        var p = LineParser(bytes: bytes)
        guard let ip = p.token(), !ip.isEmpty, p.skipSpace(),
              let ident = p.token(), !ident.isEmpty, p.skipSpace(),
              let user = p.until(" ["), !user.isEmpty, p.skipSpace(),
              let time = p.time(), p.skipSpace(),
              let request = p.quoted(), p.skipSpace(),
              let status = p.token().flatMap(Self.integer), p.skipSpace(),
              let size = p.token(), size == "-" || Self.integer(size) != nil else { return nil }
        self.ip = ip
        self.ident = Self.dashIsNull(ident)
        self.user = Self.dashIsNull(user)
        self.time = time
        self.status = status
        self.bytes = Self.integer(size)
        self.request = Self.dashIsNull(request)
        if let request = self.request { (method, path, `protocol`) = Self.split(request: request) }
        guard !p.atEnd else { return }
        // Combined: referrer and user agent, then the optional cookie field.
        guard p.skipSpace(), let referrer = p.quoted(), p.skipSpace(), let agent = p.quoted() else { return nil }
        self.referrer = Self.dashIsNull(referrer)
        self.userAgent = Self.dashIsNull(agent)
        guard !p.atEnd else { return }
        guard p.skipSpace() else { return nil }
        let cookie = p.peekIsQuote ? p.quoted() : p.token()
        guard let cookie, p.restIsUTF8 else { return nil }
        cookieID = Self.dashIsNull(cookie)
    }

    static func dashIsNull(_ s: String) -> String? { s == "-" ? nil : s }

    static func integer(_ s: String) -> Int64? {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(s)
    }

    /// `GET /a?b HTTP/1.1` → method, target, protocol. A line that is not of that shape (a TLS
    /// handshake sent to the HTTP port, say) keeps only `request`.
    static func split(request: String) -> (String?, String?, String?) {
        let parts = request.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-" || $0 == "_") }) else { return (nil, nil, nil) }
        if parts.count == 2 { return (String(parts[0]), String(parts[1]), nil) }
        guard parts.last!.hasPrefix("HTTP/") else { return (nil, nil, nil) }
        return (String(parts[0]), parts[1..<(parts.count - 1)].joined(separator: " "), String(parts.last!))
    }

    func text(_ field: AccessLogConnector.LogField) -> String? {
        switch field {
        case .ip: ip
        case .ident: ident
        case .user: user
        case .time: time
        case .method: method
        case .path: path
        case .protocol: `protocol`
        case .request: request
        case .status: String(status)
        case .bytes: bytes.map { String($0) }
        case .referrer: referrer
        case .userAgent: userAgent
        case .cookieID: cookieID
        }
    }

    func cell(_ field: AccessLogConnector.LogField) -> StoreCell {
        switch field {
        case .status: .integer(status)
        case .bytes: bytes.map(StoreCell.integer) ?? .null
        default: text(field).map(StoreCell.text) ?? .null
        }
    }
}

/// A cursor over one line's bytes.
private struct LineParser {
    let bytes: [UInt8]
    var i = 0

    var atEnd: Bool { i >= bytes.count }
    /// Whether the ignored rest of the line is valid UTF-8 (a line is never half valid).
    var restIsUTF8: Bool { String(exactly: bytes[min(i, bytes.count)...]) != nil }
    var peekIsQuote: Bool { !atEnd && bytes[i] == UInt8(ascii: "\"") }

    mutating func skipSpace() -> Bool {
        guard !atEnd, bytes[i] == 32 else { return false }
        i += 1
        return true
    }

    /// Bytes up to the next space or the end.
    mutating func token() -> String? {
        let s = i
        while i < bytes.count, bytes[i] != 32 { i += 1 }
        return String(exactly: bytes[s..<i])
    }

    /// Bytes up to (not including) the first occurrence of `marker`, which must exist.
    mutating func until(_ marker: String) -> String? {
        let m = Array(marker.utf8)
        var j = i
        while j + m.count <= bytes.count {
            if bytes[j..<(j + m.count)].elementsEqual(m) {
                guard let s = String(exactly: bytes[i..<j]) else { return nil }
                i = j
                return s
            }
            j += 1
        }
        return nil
    }

    /// A double-quoted field with Apache/nginx escapes. The closing quote is the first unescaped
    /// quote followed by a space or the end of the line (old servers did not escape quotes).
    ///
    /// Escapes that decode to bytes that are not UTF-8 (nginx logs a TLS handshake sent to the HTTP
    /// port as `\x16\x03...\xfc...`) leave the field as logged, escapes and all: the logged text is
    /// the server's own faithful form, and no byte is ever replaced. Raw bytes that are not UTF-8 make
    /// the line malformed.
    mutating func quoted() -> String? {
        guard peekIsQuote else { return nil }
        i += 1
        let start = i
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") && (i + 1 == bytes.count || bytes[i + 1] == 32) {
                defer { i += 1 }
                return String(exactly: out[...]) ?? String(exactly: bytes[start..<i])
            }
            if b == UInt8(ascii: "\\"), i + 1 < bytes.count {
                let e = bytes[i + 1]
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e); i += 2; continue
                case UInt8(ascii: "n"): out.append(10); i += 2; continue
                case UInt8(ascii: "r"): out.append(13); i += 2; continue
                case UInt8(ascii: "t"): out.append(9); i += 2; continue
                case UInt8(ascii: "b"): out.append(8); i += 2; continue
                case UInt8(ascii: "v"): out.append(11); i += 2; continue
                case UInt8(ascii: "x"):
                    if i + 3 < bytes.count, let h = Self.hex(bytes[i + 2]), let l = Self.hex(bytes[i + 3]) {
                        out.append(h << 4 | l); i += 4; continue
                    }
                default: break
                }
            }
            out.append(b)
            i += 1
        }
        return nil
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 97...102: b - 87
        case 65...70: b - 55
        default: nil
        }
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `[10/Oct/2000:13:55:36 -0700]` as UTC ISO 8601 text (`2000-10-10T20:55:36Z`).
    mutating func time() -> String? {
        // [dd/Mon/yyyy:HH:MM:SS +hhmm] is exactly 28 bytes.
        guard i + 28 <= bytes.count, bytes[i] == UInt8(ascii: "["), bytes[i + 27] == UInt8(ascii: "]") else { return nil }
        let t = bytes[(i + 1)..<(i + 27)].map { Character(UnicodeScalar($0)) }
        func digits(_ r: Range<Int>) -> String? {
            let s = String(t[r])
            return s.allSatisfy({ $0.isASCII && $0.isNumber }) ? s : nil
        }
        guard let day = digits(0..<2), t[2] == "/", let month = Self.months.firstIndex(of: String(t[3..<6])), t[6] == "/",
              let year = digits(7..<11), t[11] == ":", let hh = digits(12..<14), t[14] == ":", let mm = digits(15..<17), t[17] == ":",
              let ss = digits(18..<20), t[20] == " ", t[21] == "+" || t[21] == "-", let zh = digits(22..<24), let zm = digits(24..<26),
              let stamp = Timestamp("\(year)-\(pad(month + 1))-\(day)T\(hh):\(mm):\(ss)\(t[21])\(zh):\(zm)") else { return nil }
        i += 28
        return stamp.text
    }

    private func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

// MARK: - Erasure

extension AccessLogConnector: ErasableConnector {
    /// Deletes the subject's lines, or masks their `ip` and `cookie_id` in place (the rest of the
    /// line kept byte for byte). The log is rewritten beside itself and renamed over it: lines a
    /// server appends meanwhile to the old file are lost, so erase a live log after rotating it.
    public func erase(_ changes: [DatasetChanges], subject: SubjectQuery, store name: String) throws {
        let store = try FileStore(config: config, options: Self.options)
        try store.rewrite(changes) { c in
            guard let plan = plans[c.dataset.name] else { return [] }
            func masks(_ row: PlannedRow) throws -> [(LogField, String)] {
                var masks: [(LogField, String)] = []
                for m in row.masks {
                    guard let source = plan.byName[m.field], source == .ip || source == .cookieID else {
                        throw DataPortError(.store, "dataset \(c.dataset.name): an access log can mask only ip and cookie_id, not \(m.field)", at: "store \(name)")
                    }
                    let text = m.value.canonicalText ?? "-"
                    guard !text.isEmpty, !text.unicodeScalars.contains(where: { $0 == " " || $0 == "\"" || $0 == "\\" || $0.value < 0x20 }) else {
                        throw DataPortError(.store, "dataset \(c.dataset.name): the mask of \(m.field) must be a non-empty token without spaces or quotes", at: "store \(name)")
                    }
                    masks.append((source, text))
                }
                return masks
            }
            let planned = Dictionary(uniqueKeysWithValues: c.rows.map { ($0.ordinal, $0) })
            var edits: [FileEdit] = []
            var ordinal = 0
            try scan(c.dataset, plan, subject) { entry in
                defer { ordinal += 1 }
                guard let p = planned[ordinal] else { return true }
                let values = try plan.exported.map { try entry.cell($0.source).value(of: $0.field, in: c.dataset.name, at: "\(plan.file), line \(entry.line)") }
                guard values == p.record.values else {
                    throw DataPortError(.store, "dataset \(c.dataset.name) changed since it was read", at: "store \(name)")
                }
                let m = try masks(p)
                edits.append(FileEdit(range: entry.range, transform: p.change == .delete ? { _ in [] } : { Self.mask($0, m) }))
                return true
            }
            guard edits.count == c.rows.count else {
                throw DataPortError(.store, "dataset \(c.dataset.name) changed since it was read", at: "store \(name)")
            }
            return edits
        }
    }

    /// A line with its first token (the address) and its fourth quoted field (the cookie id, if
    /// the line has one) replaced.
    static func mask(_ bytes: [UInt8], _ masks: [(LogField, String)]) -> [UInt8] {
        var line = bytes
        // The quoted fields (request, referrer, user agent, cookie), escapes skipped.
        var quoted: [Range<Int>] = []
        var i = 0, open: Int?
        while i < line.count {
            if line[i] == 0x5C, open != nil { i += 2; continue }
            if line[i] == 0x22 {
                if let o = open { quoted.append((o + 1)..<i); open = nil } else { open = i }
            }
            i += 1
        }
        for (field, text) in masks.sorted(by: { $0.0 == .cookieID && $1.0 == .ip }) {
            switch field {
            case .cookieID where quoted.count >= 4: line.replaceSubrange(quoted[3], with: Array(text.utf8))
            case .ip:
                let end = line.firstIndex(of: 0x20) ?? line.count
                line.replaceSubrange(0..<end, with: Array(text.utf8))
            default: break
            }
        }
        return line
    }
}
