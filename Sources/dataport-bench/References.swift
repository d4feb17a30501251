// The benchmark's Python references (issue 18) and the batch measurements, in the same run as
// DataPort, interleaved: every step runs once per round, `repeats` rounds, so a slow minute on a
// shared machine hits every step alike.
//
// - scripts/python-reference.py: one large subject written the obvious way (sqlite3, json, csv,
//   xml.sax, zipfile), against `export --format json` and `--format json,csv,xml`.
// - scripts/python-batch-reference.py: the loop for many small subjects (one process; per subject
//   the account and visits as JSON in a zip with a SHA-256 manifest), against `export --subjects`.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// User plus system CPU seconds of the last child `measure` waited for.
nonisolated(unsafe) var lastChildCPU = 0.0

@MainActor func cpuSeconds(_ u: rusage) -> Double {
    Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

/// One step of a round: a command, what to do before each run.
struct Step {
    var name: String
    var argv: [String]
    var setup: () -> Void = {}
}

/// A step's medians over the rounds.
struct Timing {
    var name: String
    var wall: Double
    var cpu: Double
    var peakMB: Double
}

/// Runs every step once per round, `repeats` rounds; each step's median wall and CPU time and its largest peak RSS.
@MainActor func interleaved(_ steps: [Step]) -> [Timing] {
    var walls = [[Double]](repeating: [], count: steps.count), cpus = walls, peaks = [Double](repeating: 0, count: steps.count)
    for _ in 0..<repeats {
        for (i, step) in steps.enumerated() {
            step.setup()
            let (t, m) = measure(step.argv)
            walls[i].append(t)
            cpus[i].append(lastChildCPU)
            peaks[i] = max(peaks[i], m)
        }
    }
    func med(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
    return steps.indices.map { Timing(name: steps[$0].name, wall: med(walls[$0]), cpu: med(cpus[$0]), peakMB: peaks[$0]) }
}

/// scripts/ of this checkout.
let scriptsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts").path

@MainActor func printTimings(_ rows: [Timing], unit: Int, unitName: String) {
    print("  " + "step".padding(toLength: 40, withPad: " ", startingAt: 0) + "  wall s   CPU s  \(unitName)/s  peak MB")
    for t in rows {
        print(String(format: "  %@  %6.2f  %6.2f  %9.0f  %7.0f", t.name.padding(toLength: 40, withPad: " ", startingAt: 0) as NSString,
                     t.wall, t.cpu, Double(unit) / t.wall, t.peakMB))
    }
}

/// The plain Python stdlib script against DataPort on the store of one large subject.
@MainActor func pythonReferenceRows(rows: Int, db: String, cfg: String) {
    let script = scriptsDir + "/python-reference.py"
    let common = ["--config", cfg, "--subject", "email=user1@bench.example", "--generated-at", "2026-01-01T00:00:00Z", "--quiet"]
    let t = interleaved([
        Step(name: "python stdlib script, json", argv: ["python3", script, db, "user1@bench.example", "\(dir)/python-\(rows).zip"]),
        Step(name: "export json", argv: [dataport, "export"] + common + ["--output", "\(dir)/export-\(rows).zip"]),
        Step(name: "python stdlib script, json,csv,xml", argv: ["python3", script, db, "user1@bench.example", "\(dir)/python-all-\(rows).zip", "--format", "json,csv,xml"]),
        Step(name: "export json,csv,xml", argv: [dataport, "export"] + common + ["--format", "json,csv,xml", "--output", "\(dir)/export-all-\(rows).zip"]),
    ])
    print("\n\(rows) rows against scripts/python-reference.py (median of \(repeats) interleaved rounds)")
    printTimings(t, unit: rows, unitName: "rows")
    print(String(format: "  python / export: json %.2fx (target >= 5), json,csv,xml %.2fx (target >= 5); CPU json %.2fx, 3 formats %.2fx",
                 t[0].wall / t[1].wall, t[2].wall / t[3].wall, t[0].cpu / t[1].cpu, t[2].cpu / t[3].cpu))
}

/// A users table of `users` rows with `perSubject - 1` visits each (so 20 records a subject with
/// its account), indexed as formats/stores-config.md says, plus a plain index on `email` for the
/// Python loop (which looks the stored e-mail up as given).
@MainActor func smallSubjectsStore(_ db: String, users: Int, perSubject: Int) {
    guard !FileManager.default.fileExists(atPath: db) else { return }
    _ = shell("""
    sqlite3 '\(db).tmp' "\(schema.replacingOccurrences(of: "\n", with: " "))
    CREATE INDEX users_email ON users(email);
    INSERT INTO users SELECT value, 'user' || value || '@bench.example', 'User ' || value FROM generate_series(1, \(users));
    INSERT INTO visits (user_id, started_at, ip, user_agent, os, referrer, path, duration_ms, amount)
      SELECT 1 + value % \(users), '2024-01-01T00:00:00Z', '203.0.113.1', 'UA', 'Linux', NULL, '/', 1, '1.00' FROM generate_series(1, \(users * (perSubject - 1)));"
    """)
    indexEmails(db + ".tmp")
    rename(db + ".tmp", db)
}

/// Output folders of earlier rounds, moved aside by `freshFolder` and removed by `removeSetAside`.
nonisolated(unsafe) var setAside: [String] = []

/// An empty folder at `path` for the next round. The folder of the round before is moved aside, not
/// removed: without a journal, ext4 does not reuse an inode freed in the last minutes and checks
/// each such inode again every time it creates a file, so removing 10,000 bundles just before a
/// run made each file the run created cost up to a millisecond of kernel time, a cost of the
/// benchmark's cleanup, not of the program measured. Removed at the end (`removeSetAside`).
@MainActor func freshFolder(_ path: String) {
    if FileManager.default.fileExists(atPath: path) {
        let aside = "\(path).round-\(setAside.count)"
        try? FileManager.default.removeItem(atPath: aside)
        guard rename(path, aside) == 0 else { fail("cannot move \(path) aside") }
        setAside.append(aside)
    }
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
}

/// Removes the folders `freshFolder` moved aside (after the last measurement that writes many files).
@MainActor func removeSetAside() {
    for p in setAside { try? FileManager.default.removeItem(atPath: p) }
    setAside = []
}

/// `--batch SxR`: S subjects of R records, one full bundle each, DataPort's batch (one job and the
/// default, one per core) against the Python loop; subjects/s and the ratio.
@MainActor func batchAgainstPython(subjects: Int, perSubject: Int) {
    let db = "\(dir)/small-\(subjects)x\(perSubject).db"
    smallSubjectsStore(db, users: subjects, perSubject: perSubject)
    let cfg = "\(dir)/small-\(subjects).json"
    try! config(db: db).write(toFile: cfg, atomically: true, encoding: .utf8)
    let list = "\(dir)/subjects-\(subjects).txt"
    try! (1...subjects).map { "email=user\($0)@bench.example" }.joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
    let (pyOut, oneOut, allOut) = ("\(dir)/batch-python", "\(dir)/batch-jobs1", "\(dir)/batch-jobs")
    let export = [dataport, "export", "--config", cfg, "--subjects", list, "--generated-at", "2026-01-01T00:00:00Z", "--quiet"]
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let t = interleaved([
        Step(name: "python loop (scripts/python-batch-reference.py)", argv: ["python3", scriptsDir + "/python-batch-reference.py", db, list, pyOut],
             setup: { freshFolder(pyOut) }),
        Step(name: "dataport batch --jobs 1", argv: export + ["--output-dir", oneOut, "--jobs", "1"], setup: { freshFolder(oneOut) }),
        Step(name: "dataport batch (--jobs \(cores), one per core)", argv: export + ["--output-dir", allOut], setup: { freshFolder(allOut) }),
    ])
    print("\nmany small subjects: \(subjects) subjects x \(perSubject) records, one full bundle each (median of \(repeats) interleaved rounds)")
    printTimings(t, unit: subjects, unitName: "subj")
    print(String(format: "  python loop / dataport batch: %.2fx with --jobs %d, %.2fx with --jobs 1 (target >= 2); CPU per subject: python %.2f ms, dataport %.2f ms (--jobs 1), %.2f ms (--jobs %d)",
                 t[0].wall / t[2].wall, cores, t[0].wall / t[1].wall, t[0].cpu * 1000 / Double(subjects),
                 t[1].cpu * 1000 / Double(subjects), t[2].cpu * 1000 / Double(subjects), cores))
}

/// `--batch-scaling U1,U2,...`: the same number of small subjects (spread over the whole table)
/// from users tables of each size, interleaved; per-subject time must not grow with the store.
@MainActor func batchScaling(_ sizes: [Int], subjects: Int) {
    var steps: [Step] = []
    for users in sizes {
        let db = "\(dir)/scaling-\(users)x20.db"
        smallSubjectsStore(db, users: users, perSubject: 21)
        let cfg = "\(dir)/scaling-\(users).json"
        try! config(db: db).write(toFile: cfg, atomically: true, encoding: .utf8)
        let list = "\(dir)/scaling-subjects-\(users).txt"
        try! (0..<subjects).map { "email=USER\(1 + $0 * (users / subjects))@bench.example" }.joined(separator: "\n")
            .write(toFile: list, atomically: true, encoding: .utf8)
        let out = "\(dir)/scaling-out-\(users)"
        steps.append(Step(name: "\(users) users", argv: [dataport, "export", "--config", cfg, "--subjects", list, "--output-dir", out, "--quiet"],
                          setup: { freshFolder(out) }))
    }
    let t = interleaved(steps)
    print("\nbatch per-subject time by store size: \(subjects) subjects x 20 visits, index on dataport_norm_caseless(email) (median of \(repeats) interleaved rounds)")
    for (users, m) in zip(sizes, t) {
        print(String(format: "  %9d users: %.2f s = %.2f ms per subject (wall), %.2f ms CPU per subject, peak %.0f MB",
                     users, m.wall, m.wall * 1000 / Double(subjects), m.cpu * 1000 / Double(subjects), m.peakMB))
    }
    if t.count > 1 { print(String(format: "  largest / smallest store: %.2fx per subject (target <= 1.5)", t.last!.wall / t[0].wall)) }
}
