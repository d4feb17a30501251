// dataport-bench: measures `dataport` against the reference pipeline `sqlite3 -json | gzip -6`
// on a generated SQLite store holding one subject with N web-visit rows (10 columns).
//
//   swift build -c release && swift run -c release dataport-bench [--rows 100000,1000000] [--batch 10000x20]
//       [--batch-scaling 10000,100000] [--repeat 3] [--dir DIR] [--store sqlite|postgresql|mysql]
//
// --store postgresql|mysql runs the --rows measurements against that SQL server instead (see
// SQLStoreBench.swift): export against the server's own tool piped into gzip -6, import against
// its bulk loader.
//
// --batch-scaling exports the same number of small subjects (20 visits each) from users tables of
// each size, with the index formats/stores-config.md documents, and prints per-subject times side
// by side: a lookup's cost must not grow with the number of other people in the store.
//
// The Python references (scripts/python-reference.py, scripts/python-batch-reference.py) run in the
// same run, interleaved with DataPort (References.swift).
//
// Every command runs as a child process; wall time comes from the clock and peak memory from
// wait4()'s rusage of that child alone. Each step runs three times (--repeat) and the median is shown.
#if canImport(Glibc)
import Glibc
#endif
import DataPortStores
import Foundation

struct Measurement {
    var name: String
    var seconds: Double
    var peakRSSMB: Double
    var records: Int
    var bytes: Int64
}

@MainActor func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("dataport-bench: \(message)\n".utf8))
    exit(1)
}

/// Runs a program, waits with wait4 to get its own peak RSS, returns wall seconds and MB.
@MainActor func measure(_ argv: [String], quiet: Bool = true) -> (Double, Double) {
    var pid: pid_t = 0
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    if quiet { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
    let cargs = argv.map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    let start = Date()
    guard posix_spawnp(&pid, argv[0], &actions, nil, cargs, environ) == 0 else { fail("cannot run \(argv[0])") }
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    let elapsed = Date().timeIntervalSince(start)
    lastChildCPU = cpuSeconds(usage)
    posix_spawn_file_actions_destroy(&actions)
    guard status == 0 else { fail("\(argv.joined(separator: " ")) exited with status \(status)") }
    return (elapsed, Double(usage.ru_maxrss) / 1024)
}

@MainActor func shell(_ command: String) -> (Double, Double) { measure(["/bin/sh", "-c", command]) }

/// Runs a program `repeats` times (each after `setup`): the median wall time and the largest peak RSS.
/// The machines here are shared, so one run can be 20% off; the median of three is steady.
@MainActor func median(_ argv: [String], setup: () -> Void = {}) -> (Double, Double) {
    var times: [Double] = [], peak = 0.0
    for _ in 0..<repeats {
        setup()
        let (t, m) = measure(argv)
        times.append(t)
        peak = max(peak, m)
    }
    return (times.sorted()[times.count / 2], peak)
}

@MainActor func fileSize(_ path: String) -> Int64 { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0 }

// MARK: Options

var rowsList = [100_000, 1_000_000]
var batch: (subjects: Int, records: Int)? = nil
var scaling: [Int] = []
var scalingSubjects = 500
var rowsGiven = false
var dir = FileManager.default.currentDirectoryPath + "/.build/bench"
var repeats = 3
var store = BenchStore.sqlite
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--rows": rowsList = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }; rowsGiven = true
    case "--batch":
        let p = (args.popFirst() ?? "").split(separator: "x").compactMap { Int($0) }
        guard p.count == 2, p[0] >= 2, p[1] >= 1 else { fail("--batch takes SUBJECTSxRECORDS with at least 2 subjects and 1 record, e.g. 10000x20") }
        batch = (p[0], p[1])
    case "--batch-scaling":
        scaling = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
        guard !scaling.isEmpty, scaling.allSatisfy({ $0 >= scalingSubjects }) else { fail("--batch-scaling takes user counts of at least \(scalingSubjects), e.g. 10000,100000") }
    case "--dir": dir = args.popFirst() ?? dir
    case "--repeat":
        guard let n = args.popFirst().flatMap({ Int($0) }), n >= 1 else { fail("--repeat takes a count of at least 1") }
        repeats = n
    case "--store":
        guard let s = args.popFirst().flatMap(BenchStore.init(rawValue:)) else { fail("--store takes sqlite, postgresql or mysql") }
        store = s
    case "--help": print("usage: dataport-bench [--rows 100000,1000000,5000000] [--batch 10000x20] [--batch-scaling 10000,100000] [--repeat 3] [--dir DIR] [--store sqlite|postgresql|mysql]"); exit(0)
    default: fail("unknown option \(a)")
    }
}
// --batch-scaling alone measures only that.
if !scaling.isEmpty && !rowsGiven && batch == nil { rowsList = [] }
let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
let dataport = binDir + "/dataport"
guard FileManager.default.isExecutableFile(atPath: dataport) else { fail("build dataport first: swift build -c release") }
try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)

let schema = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);
CREATE TABLE visits (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, started_at TEXT NOT NULL, ip TEXT, user_agent TEXT,
  os TEXT, referrer TEXT, path TEXT, duration_ms INTEGER, amount TEXT);
CREATE INDEX visits_user ON visits(user_id);
"""

@MainActor func config(db: String) -> String {
    """
    {"version": "1", "controller": {"name": "Bench Ltd", "contact": "privacy@bench.example"},
     "stores": [{"name": "app", "type": "sqlite", "options": {"path": "\(db)"}, "datasets": [
       {"name": "account", "table": "users", "category": "account", "description": "Account", "purposes": ["service"],
        "legalBasis": "contract", "origin": "provided", "key": "id",
        "match": [{"field": "email", "identity": "email"}], "yields": [{"identity": "user_id", "field": "id"}],
        "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}, {"name": "name", "type": "string"}]},
       {"name": "visits", "table": "visits", "category": "website-usage", "description": "Visits", "purposes": ["analytics"],
        "legalBasis": "consent", "origin": "observed", "key": "id",
        "match": [{"field": "user_id", "identity": "user_id"}],
        "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "started_at", "type": "timestamp"},
                   {"name": "ip", "type": "string"}, {"name": "user_agent", "type": "string"}, {"name": "os", "type": "string"},
                   {"name": "referrer", "type": "string"}, {"name": "path", "type": "string"}, {"name": "duration_ms", "type": "integer"},
                   {"name": "amount", "type": "decimal"}]}]}]}
    """
}

/// A store with one subject (user 1) holding `rows` visits, and 50 other users with 10 each.
@MainActor func generate(rows: Int) -> String {
    let db = "\(dir)/store-\(rows).db"
    if FileManager.default.fileExists(atPath: db) { return db }
    let sql = schema + """
    INSERT INTO users SELECT value, 'user' || value || '@bench.example', 'User ' || value FROM generate_series(1, 51);
    INSERT INTO visits (user_id, started_at, ip, user_agent, os, referrer, path, duration_ms, amount)
      SELECT 1, strftime('%Y-%m-%dT%H:%M:%SZ', 1700000000 + value * 37, 'unixepoch'), '203.0.113.' || (value % 250),
        'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'Linux',
        CASE value % 3 WHEN 0 THEN NULL ELSE 'https://search.example/?q=term' || (value % 1000) END,
        '/products/' || (value % 5000) || '?page=' || (value % 7), value % 60000, (value % 100000) || '.' || printf('%02d', value % 100)
      FROM generate_series(1, \(rows));
    INSERT INTO visits (user_id, started_at, ip, user_agent, os, referrer, path, duration_ms, amount)
      SELECT 2 + value % 50, '2024-01-01T00:00:00Z', '198.51.100.1', 'Other', 'Other', NULL, '/', 1, '1.00' FROM generate_series(1, 500);
    """
    let tmp = db + ".tmp"
    try? FileManager.default.removeItem(atPath: tmp)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    p.arguments = [tmp]
    let input = Pipe()
    p.standardInput = input
    try! p.run()
    input.fileHandleForWriting.write(Data(sql.utf8))
    try! input.fileHandleForWriting.close()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { fail("sqlite3 could not build the store (needs SQLite 3.38+ for generate_series? see README)") }
    rename(tmp, db)
    return db
}

@MainActor func table(_ rows: [Measurement], reference: Measurement) {
    func pad(_ s: String, _ n: Int, left: Bool = false) -> String { s.count >= n ? s : (left ? String(repeating: " ", count: n - s.count) + s : s + String(repeating: " ", count: n - s.count)) }
    print(pad("step", 30) + pad("records/s", 12, left: true) + pad("MB/s", 9, left: true) + pad("wall s", 9, left: true) + pad("peak MB", 9, left: true) + pad("x ref", 8, left: true))
    for m in [reference] + rows {
        let mbs = m.bytes > 0 ? String(format: "%.0f", Double(m.bytes) / 1_048_576 / m.seconds) : "-"
        print(pad(m.name, 30) + pad(String(format: "%.0f", Double(m.records) / m.seconds), 12, left: true) + pad(mbs, 9, left: true)
              + pad(String(format: "%.2f", m.seconds), 9, left: true) + pad(String(format: "%.0f", m.peakRSSMB), 9, left: true)
              + pad(String(format: "%.2f", m.seconds / reference.seconds), 8, left: true))
    }
}

print("dataport-bench on \(ProcessInfo.processInfo.processorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB; median of \(repeats) runs; \(dir)")
let server = store == .sqlite ? nil : SQLServerBench(store)
for rows in rowsList {
    if let server { server.run(rows: rows); continue }
    let db = generate(rows: rows)
    let cfg = "\(dir)/stores-\(rows).json"
    try! config(db: db).write(toFile: cfg, atomically: true, encoding: .utf8)
    let query = "SELECT id, user_id, started_at, ip, user_agent, os, referrer, path, duration_ms, amount FROM visits WHERE user_id = 1 ORDER BY id"
    let refOut = "\(dir)/reference-\(rows).json.gz"
    let (rt, rm) = median(["/bin/sh", "-c", "sqlite3 -json '\(db)' '\(query)' | gzip -6 > '\(refOut)'"])
    let rawJSON = Int64(shell("sqlite3 -json '\(db)' '\(query)' | wc -c > '\(dir)/refsize'").0 * 0) + (Int64((try? String(contentsOfFile: "\(dir)/refsize", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "0") ?? 0)
    let reference = Measurement(name: "reference sqlite3|gzip -6", seconds: rt, peakRSSMB: rm, records: rows, bytes: rawJSON)
    var results: [Measurement] = []
    let common = ["--config", cfg, "--subject", "email=user1@bench.example", "--generated-at", "2026-01-01T00:00:00Z", "--quiet"]
    let jsonZip = "\(dir)/export-\(rows).zip"
    var (t, m) = median([dataport, "export"] + common + ["--output", jsonZip])
    let jsonBytes = Int64(rawJSONOf(jsonZip))
    results.append(Measurement(name: "export json", seconds: t, peakRSSMB: m, records: rows, bytes: jsonBytes))
    let allZip = "\(dir)/export-all-\(rows).zip"
    (t, m) = median([dataport, "export"] + common + ["--format", "json,csv,xml", "--output", allZip])
    results.append(Measurement(name: "export json,csv,xml", seconds: t, peakRSSMB: m, records: rows * 3, bytes: Int64(rawJSONOf(allZip))))
    (t, m) = median([dataport, "verify", "--quiet", jsonZip])
    results.append(Measurement(name: "verify (json bundle)", seconds: t, peakRSSMB: m, records: rows, bytes: jsonBytes))
    let target = "\(dir)/import-\(rows).db"
    let targetCfg = "\(dir)/import-\(rows).json"
    try! config(db: target).write(toFile: targetCfg, atomically: true, encoding: .utf8)
    (t, m) = median([dataport, "import", "--quiet", jsonZip, "--config", targetCfg]) {
        // An empty target each time.
        try? FileManager.default.removeItem(atPath: target)
        _ = shell("sqlite3 '\(target)' '\(schema.replacingOccurrences(of: "\n", with: " "))'")
    }
    results.append(Measurement(name: "import into empty SQLite", seconds: t, peakRSSMB: m, records: rows, bytes: jsonBytes))
    print("\n\(rows) rows (\(String(format: "%.0f", Double(rawJSON) / 1_048_576)) MB as sqlite3 JSON; MB/s counts uncompressed data)")
    table(results, reference: reference)
    // Issue 8's import target is relative to the export, not to the reference.
    print(String(format: "import / export json: %.2fx", results[3].seconds / results[0].seconds))
    pythonReferenceRows(rows: rows, db: db, cfg: cfg)
}

/// Uncompressed size of a bundle's data files, from its manifest.
@MainActor func rawJSONOf(_ bundle: String) -> Int {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: dataport)
    p.arguments = ["inspect", "--json", bundle]
    let out = Pipe()
    p.standardOutput = out
    try! p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let ds = doc["datasets"] as? [[String: Any]] else { return 0 }
    return ds.flatMap { ($0["files"] as? [[String: Any]]) ?? [] }.reduce(0) { $0 + (($1["size"] as? Int) ?? 0) }
}

/// Creates the index formats/stores-config.md tells a DBA to create for an e-mail match. It calls
/// DataPort's registered function, so it is made through DataPort's SQLite wrapper.
@MainActor func indexEmails(_ db: String) {
    do {
        let sqlite = try SQLiteDatabase(path: db, readOnly: false)
        try sqlite.execute("CREATE INDEX IF NOT EXISTS users_email_norm ON users (dataport_norm_caseless(email))")
    } catch { fail("cannot index \(db): \(error)") }
}

if let (subjects, perSubject) = batch { batchAgainstPython(subjects: subjects, perSubject: perSubject) }
if !scaling.isEmpty { batchScaling(scaling, subjects: scalingSubjects) }
removeSetAside()
