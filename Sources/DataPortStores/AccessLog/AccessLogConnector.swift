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
/// The store is a folder of logs (`FileStore`: the `path` option, files inside it, identity matches
/// only). Each dataset names its log with `"file": "access.log"` and lists the parsed fields it
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
/// Lines are parsed by `LogEntry` (`AccessLogLine.swift`). A line that does not parse (raw bytes that are not UTF-8
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
    /// Fixed log fields, no keys to reference, read-only; the snapshot fixes each log's length.
    public static let capabilities: StoreCapabilities = [.snapshot]
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
    public static let options: [StoreOption] = [StoreOption("path", .path, required: true, help: "The folder of the logs.")]
    /// Longer lines are malformed (a guard against a binary file configured as a log).
    static let maxLineLength = 1 << 20

    private let store: FileStore
    private var config: StoreConfig { store.config }
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
        // The folder is looked for by `validate`, with the logs in it.
        store = try FileStore(config: config, options: Self.options, checkingFolder: false)
        for d in config.datasets {
            plans[d.name] = try Self.plan(d, file: store.label(d), location: "store \(config.name)")
        }
    }

    /// The log field behind each field of `d` (files and identity-only matches are checked by `FileStore`).
    private static func plan(_ d: DatasetConfig, file: String, location: String) throws -> Plan {
        func fail(_ m: String) -> DataPortError { DataPortError(.invalidConfig, "dataset \(d.name): \(m)", at: location) }
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
        for case .identity(let kind, let field) in d.matches {
            guard let source = byName[field] else { throw fail("match names unknown field \(field)") }
            matches.append((kind, source))
        }
        let exported = d.exportedFields.map { ($0, byName[$0.name]!) }
        return Plan(file: file, exported: exported, matches: matches, byName: byName)
    }

    public func validate() throws {
        try store.checkFolder()
        for d in config.datasets { _ = try openLog(d) }
    }

    /// Opens a dataset's log: a regular file inside the folder, never a link, FIFO or device.
    private func openLog(_ d: DatasetConfig) throws -> LogFile {
        let file = plans[d.name]!.file
        let fd = try FileStore.openRegularFile(file, in: store.folder, dataset: d.name, store: config.name)
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

// MARK: - Erasure

extension AccessLogConnector: ErasableConnector {
    /// Deletes the subject's lines, or masks their `ip` and `cookie_id` in place (the rest of the
    /// line kept byte for byte). The log is rewritten beside itself and renamed over it: lines a
    /// server appends meanwhile to the old file are lost, so erase a live log after rotating it.
    public func erase(_ changes: [DatasetChanges], subject: SubjectQuery, store name: String) throws {
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

extension AccessLogConnector: StoreFileWriting {
    /// Combined-format lines with a cookie field, the columns naming log fields. A log field no
    /// column gives is `-` (ip `192.0.2.1`, time `01/Mar/2024:10:15:00 +0000`, request `GET / HTTP/1.1`,
    /// status 200); NULL is `-`.
    package static func fileContents(columns: [String], rows: [[Value]]) throws -> [UInt8] {
        let fields = try columns.map { c in
            guard let f = LogField(rawValue: c) else { throw DataPortError(.invalidConfig, "column \(c) is not a log field") }
            return f
        }
        let clock = DateFormatter()
        clock.locale = Locale(identifier: "en_US_POSIX")
        clock.timeZone = TimeZone(identifier: "UTC")
        clock.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
        var text = ""
        for row in rows {
            var given: [LogField: Value] = [:]
            for (f, v) in zip(fields, row) { given[f] = v }
            func bare(_ f: LogField, _ absent: String) throws -> String {
                guard let v = given[f] else { return absent }
                return try v.fileText(column: f.rawValue) ?? "-"
            }
            func quoted(_ f: LogField, _ absent: String = "-") throws -> String {
                guard let v = given[f], let s = try v.fileText(column: f.rawValue) else { return "\"\(given[f] == nil ? absent : "-")\"" }
                return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
            }
            var time = "01/Mar/2024:10:15:00 +0000"
            if case .timestamp(let t)? = given[.time] { time = clock.string(from: Date(timeIntervalSince1970: TimeInterval(t.seconds))) }
            let request = given[.request] != nil ? try quoted(.request)
                : "\"\(try bare(.method, "GET")) \(try bare(.path, "/")) \(try bare(.protocol, "HTTP/1.1"))\""
            text += [try bare(.ip, "192.0.2.1"), try bare(.ident, "-"), try bare(.user, "-"), "[\(time)]", request,
                     try bare(.status, "200"), try bare(.bytes, "-"), try quoted(.referrer), try quoted(.userAgent),
                     try quoted(.cookieID)].joined(separator: " ") + "\n"
        }
        return Array(text.utf8)
    }
}
