import DataPortIO
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `export --subjects`: a batch keeps its stores open, copies constant entries it compressed
/// before, and runs `--jobs` subjects at a time; none of that may change a byte of any bundle or
/// of the report.
final class BatchExportTests: XCTestCase {
    static let generatedAt = "2026-01-31T12:00:00Z"
    /// Ana, someone no store holds (exit 7), Li by user id, Omar, Anna, Ana's second account: by the
    /// last lines every constant entry (schemas, bagit.txt) comes from the batch's cache.
    static let lines = "email=ana.nunez@example.com\n{\"email\": \"ghost@example.com\"}\nuser_id=4\nemail=omar@example.ae\n# a comment\nemail=ana@example.org\nuser_id=3\n"
    static let okLines: [(line: Int, subject: String)] = [(1, "email=ana.nunez@example.com"), (3, "user_id=4"), (4, "email=omar@example.ae"),
                                                          (6, "email=ana@example.org"), (7, "user_id=3")]

    private func batch(_ config: String, list: URL, out: URL, _ extra: [String]) throws -> TestSupport.Run {
        try TestSupport.dataport(["export", "--config", config, "--subjects", list.path, "--output-dir", out.path,
                                  "--generated-at", Self.generatedAt] + extra)
    }

    private func files(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            out[name] = try Data(contentsOf: dir.appendingPathComponent(name))
        }
        return out
    }

    /// A SQLite store in `dir` with tables users(id, email) and visits(id, user_id, duration_ms)
    /// filled by `rows` (SQL), and its config: the account by e-mail, its visits by user id.
    private func visitsStore(_ dir: URL, rows: String) throws -> URL {
        let db = dir.appendingPathComponent("app.db").path
        let schema = """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
        CREATE TABLE visits (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, duration_ms INTEGER);

        """
        XCTAssertEqual(try TestSupport.run("/usr/bin/sqlite3", [db, schema + rows]).code, 0)
        let config = dir.appendingPathComponent("stores.json")
        try """
        {"version": "1", "controller": {"name": "Test Ltd", "contact": "privacy@test.example"},
         "stores": [{"name": "app", "type": "sqlite", "options": {"path": "\(db)"}, "datasets": [
           {"name": "account", "table": "users", "category": "account", "description": "Account", "purposes": ["service"],
            "legalBasis": "contract", "origin": "provided", "key": "id",
            "match": [{"field": "email", "identity": "email"}], "yields": [{"identity": "user_id", "field": "id"}],
            "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]},
           {"name": "visits", "table": "visits", "category": "website-usage", "description": "Visits", "purposes": ["analytics"],
            "legalBasis": "consent", "origin": "observed", "key": "id",
            "match": [{"field": "user_id", "identity": "user_id"}],
            "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "duration_ms", "type": "integer"}]}]}]}
        """.write(to: config, atomically: true, encoding: .utf8)
        return config
    }

    /// Each bundle of a batch is byte for byte what `export --subject` writes for that subject alone:
    /// zip with one format and three (parallel spools), and tar.gz.
    func testBatchBundlesAreTheBytesOfSingleExports() throws {
        let dir = try TestSupport.tempDir(self)
        let list = dir.appendingPathComponent("subjects.txt")
        try Self.lines.write(to: list, atomically: true, encoding: .utf8)
        for (formats, archive) in [("json", "zip"), ("json,csv,xml", "zip"), ("json", "tar.gz")] {
            let out = dir.appendingPathComponent("out-\(formats)-\(archive)")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            let opts = ["--format", formats, "--archive", archive]
            let r = try batch(TestSupport.sampleConfig, list: list, out: out, opts + ["--jobs", "2", "--quiet"])
            XCTAssertEqual(r.code, 11, r.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(),
                           Self.okLines.map { "subject-\($0.line).\(archive)" }.sorted())
            for (line, subject) in Self.okLines {
                let single = dir.appendingPathComponent("single-\(line).\(archive)")
                let s = try TestSupport.dataport(["export", "--config", TestSupport.sampleConfig, "--subject", subject,
                                                  "--generated-at", Self.generatedAt, "--output", single.path, "--quiet"] + opts)
                XCTAssertEqual(s.code, 0, s.stderr)
                let batched = try Data(contentsOf: out.appendingPathComponent("subject-\(line).\(archive)"))
                XCTAssertEqual(batched, try Data(contentsOf: single), "\(formats) \(archive): line \(line) differs from its single export")
            }
        }
        // And the batch's zips are bundles outside tools accept.
        let zip = dir.appendingPathComponent("out-json-zip/subject-7.zip").path
        XCTAssertEqual(try TestSupport.shell("unzip -tq '\(zip)'").code, 0)
        XCTAssertEqual(try TestSupport.dataport("verify", zip).code, 0)
    }

    /// `--jobs 3` writes the same files and prints the same report (JSON or lines, stdout and
    /// stderr, in line order) as `--jobs 1`, the failing line included.
    func testJobsGiveTheSameBundlesAndReportAsOneJob() throws {
        let dir = try TestSupport.tempDir(self)
        let list = dir.appendingPathComponent("subjects.txt")
        try Self.lines.write(to: list, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for extra in [["--json"], []] {
            let one = try batch(TestSupport.sampleConfig, list: list, out: out, extra + ["--jobs", "1"])
            let oneFiles = try files(out)
            let three = try batch(TestSupport.sampleConfig, list: list, out: out, extra + ["--jobs", "3"])
            XCTAssertEqual(one.code, 11, one.stderr)
            XCTAssertEqual(three.code, 11, three.stderr)
            XCTAssertEqual(three.stdout, one.stdout)
            XCTAssertEqual(three.stderr, one.stderr)
            XCTAssertEqual(try files(out), oneFiles)
            XCTAssertEqual(oneFiles.count, Self.okLines.count)
        }
        let report = try JSONSerialization.jsonObject(with: Data(try batch(TestSupport.sampleConfig, list: list, out: out, ["--json"]).stdout.utf8)) as! [String: Any]
        XCTAssertEqual((report["subjects"] as! [[String: Any]]).map { $0["line"] as! Int }, [1, 2, 3, 4, 6, 7])
        XCTAssertEqual(try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "user_id=4", "--jobs", "2",
                                                "--output", dir.appendingPathComponent("x.zip").path).code, 2, "--jobs is for a batch")
        XCTAssertEqual(try batch(TestSupport.sampleConfig, list: list, out: out, ["--jobs", "0"]).code, 2)
    }

    /// A subject whose read fails in the store (a cell that does not fit its field) fails alone, as
    /// it did when every subject opened the store afresh: the subjects after it, on the kept
    /// connection, are exported, with one job or two.
    func testAStoreFailureOfOneSubjectLeavesTheOthersAsBefore() throws {
        let dir = try TestSupport.tempDir(self)
        let sql = """
        INSERT INTO users VALUES (1, 'a@example.com'), (2, 'b@example.com'), (3, 'c@example.com');
        INSERT INTO visits VALUES (1, 1, 10), (2, 2, 'not a number'), (3, 2, 30), (4, 3, 40), (5, 1, 50);
        """
        let config = try visitsStore(dir, rows: sql)
        let list = dir.appendingPathComponent("subjects.txt")
        try "email=a@example.com\nemail=b@example.com\nemail=c@example.com\nemail=a@example.com\n".write(to: list, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var reports: [String] = []
        for jobs in ["1", "2"] {
            let r = try batch(config.path, list: list, out: out, ["--json", "--jobs", jobs])
            XCTAssertEqual(r.code, 11, r.stderr)
            reports.append(r.stdout)
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            let subjects = doc["subjects"] as! [[String: Any]]
            XCTAssertEqual(subjects.map { $0["status"] as! String }, ["ok", "failed", "ok", "ok"])
            XCTAssertEqual((subjects[1]["error"] as! [String: Any])["kind"] as? String, "store")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), ["subject-1.zip", "subject-3.zip", "subject-4.zip"])
            let single = dir.appendingPathComponent("c.zip")
            XCTAssertEqual(try TestSupport.dataport("export", "--config", config.path, "--subject", "email=c@example.com", "--generated-at",
                                                    Self.generatedAt, "--output", single.path).code, 0)
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("subject-3.zip")), try Data(contentsOf: single))
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("subject-4.zip")), try Data(contentsOf: out.appendingPathComponent("subject-1.zip")))
        }
        XCTAssertEqual(reports[0], reports[1])
    }

    /// A batch syncs its bundles a group at a time, and reports a line only once its bundle is synced
    /// and in place: read while the batch runs, every "ok" line names a file that is already there,
    /// whole, and never a hidden partial one.
    func testALineIsReportedOnlyOnceItsBundleIsInPlace() throws {
        let dir = try TestSupport.tempDir(self)
        let sql = """
        WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 400) INSERT INTO users SELECT i, 'u' || i || '@example.com' FROM c;
        INSERT INTO visits SELECT id, id, id * 10 FROM users;
        """
        let config = try visitsStore(dir, rows: sql)
        let list = dir.appendingPathComponent("subjects.txt")
        try (1...400).map { "email=u\($0)@example.com" }.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.binary)
        p.arguments = ["export", "--config", config.path, "--subjects", list.path, "--output-dir", out.path, "--generated-at", Self.generatedAt]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        var buffered = Data(), checked = 0
        let handle = pipe.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffered.append(chunk)
            while let nl = buffered.firstIndex(of: 0x0A) {
                let line = String(decoding: buffered[buffered.startIndex..<nl], as: UTF8.self)
                buffered.removeSubrange(buffered.startIndex...nl)
                guard line.contains(": ok, ") else { continue }
                let path = String(line.split(separator: " ")[3])
                var st = stat()
                XCTAssertEqual(lstat(path, &st), 0, "\(line): reported before its bundle is in place")
                checked += 1
            }
        }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(checked, 400)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.contains("partial") }, [])
        XCTAssertEqual(try TestSupport.dataport("verify", out.appendingPathComponent("subject-400.zip").path).code, 0)
    }

    /// `SyncGroup` moves each bundle into place after one sync, and a bundle that cannot be moved
    /// (its name is now a folder) fails alone: its hidden file is removed, the others are in place.
    func testASyncGroupCommitsEachFileOrSaysWhyNot() throws {
        let dir = try TestSupport.tempDir(self)
        var pending: [PendingFile] = []
        for name in ["a.zip", "b.zip", "c.zip"] {
            let f = try PartialFile(destination: dir.appendingPathComponent(name).path, syncLater: true)
            try Array("bytes of \(name)".utf8).withUnsafeBytes { try f.write($0) }
            try f.commit()
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), "in place before the group's sync")
            pending.append(try XCTUnwrap(f.unsynced))
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("b.zip/inside"), withIntermediateDirectories: true)
        let results = SyncGroup.commit(pending)
        XCTAssertNil(results[0])
        XCTAssertEqual(results[1]?.kind, .output)
        XCTAssertNil(results[2])
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("c.zip"), encoding: .utf8), "bytes of c.zip")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["a.zip", "b.zip", "c.zip"])
        XCTAssertTrue(PartialFiles.current.isDisjoint(with: Set(pending.map(\.destination))))
    }
}
