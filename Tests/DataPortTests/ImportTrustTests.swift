import Foundation
import XCTest

/// Imports off the happy path (issue 13, items 1-5): nothing lost silently, nothing kept that the
/// target changed, no one else's row overwritten, concurrent imports serialised, a killed import
/// leaving a store the next export can read. Through the built CLI, against real SQLite files.
final class ImportTrustTests: XCTestCase {
    let sqlite = "/usr/bin/sqlite3"

    func dump(_ db: String) throws -> String { try TestSupport.run(sqlite, [db, ".dump"]).stdout }

    func json(_ r: TestSupport.Run, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.code, 0, r.stderr, file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout, file: file, line: line)
    }

    func dataset(_ report: [String: Any], _ name: String) -> [String: Any] {
        (report["datasets"] as? [[String: Any]] ?? []).first { $0["name"] as? String == name } ?? [:]
    }

    /// The sample's config pointed at `db`, its datasets passed through `edit` (by name), written to `dir`.
    func sampleConfig(_ dir: URL, db: String, name: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.sampleConfig))) as! [String: Any]
        config.removeValue(forKey: "$schema")
        var stores = config["stores"] as! [[String: Any]]
        stores[0]["options"] = ["path": db]
        var datasets = stores[0]["datasets"] as! [[String: Any]]
        for i in datasets.indices { edit(&datasets[i]) }
        stores[0]["datasets"] = datasets
        config["stores"] = stores
        let path = dir.appendingPathComponent(name).path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A private copy of the sample database (Ana and everyone else) and a config for it.
    func sampleCopy(_ dir: URL, _ name: String, sql: String = "") throws -> (db: String, config: String) {
        _ = try TestSupport.exportSample(dir, name: "warmup-\(name).zip")
        let db = dir.appendingPathComponent("\(name).db").path
        try FileManager.default.copyItem(atPath: TestSupport.samples.appendingPathComponent("sample-app.db").path, toPath: db)
        if !sql.isEmpty { XCTAssertEqual(try TestSupport.run(sqlite, [db, sql]).code, 0) }
        return (db, try sampleConfig(dir, db: db, name: "\(name).json"))
    }

    /// A SQLite store and config: `users` (account, matched by e-mail), `items` (key `id`, matched
    /// by `user_id`, with `code` and `amount`), `hits` (keyless), built by `sql`.
    func itemsStore(_ dir: URL, _ name: String, sql: String) throws -> (db: String, config: String) {
        let db = dir.appendingPathComponent("\(name).db").path
        let r = try TestSupport.run(sqlite, [db, sql])
        XCTAssertEqual(r.code, 0, r.stderr)
        let config = TestSupport.itemsConfig(options: #"{"path": "\#(db)"}"#, last: ("amount", "decimal"))
        let path = dir.appendingPathComponent("\(name).json").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return (db, path)
    }

    static let itemsSchema = """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
        CREATE TABLE items (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, code TEXT, amount TEXT);
        CREATE TABLE hits (user_id INTEGER NOT NULL, path TEXT);
        """

    func export(_ config: String, _ dir: URL, _ name: String) throws -> String {
        let bundle = dir.appendingPathComponent(name).path
        let e = try TestSupport.dataport("export", "--config", config, "--subject", "email=a@example.com", "--output", bundle)
        XCTAssertEqual(e.code, 0, e.stderr)
        return bundle
    }

    // MARK: 1. No field lost silently

    /// A bundle field the target does not map, or holds as a secret (never written), refuses the
    /// import naming each `dataset.field`; `--drop-field` allows it and the report lists it. The
    /// bundle checksum stays the bundle's own (all fields); the target agrees over the imported ones.
    func testUnmappedBundleFieldsAreRefusedUnlessDropped() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, name: "b.zip")
        let full = try TestSupport.emptySampleStore(in: dir)
        let reference = try json(try TestSupport.dataport("import", bundle, "--config", full.config, "--dry-run", "--json"))

        // The target keeps no birth date, and holds the status as a secret (which is never written).
        let db = dir.appendingPathComponent("narrow.db").path
        let schema = try TestSupport.run(sqlite, [full.db, ".schema"]).stdout.replacingOccurrences(of: "status TEXT NOT NULL DEFAULT 'active'", with: "status TEXT")
            .replacingOccurrences(of: "status TEXT NOT NULL", with: "status TEXT") // a sample-app.db built before the default
        XCTAssertEqual(try TestSupport.run(sqlite, [db, schema]).code, 0)
        let config = try sampleConfig(dir, db: db, name: "narrow.json") { d in
            guard d["name"] as? String == "account" else { return }
            var fields = d["fields"] as! [[String: Any]]
            fields.removeAll { $0["name"] as? String == "birth_date" }
            for i in fields.indices where fields[i]["name"] as? String == "status" { fields[i]["secret"] = true }
            d["fields"] = fields
        }
        let before = try dump(db)
        let refused = try TestSupport.dataport("import", bundle, "--config", config)
        XCTAssertEqual(refused.code, 3, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("account.status") && refused.stderr.contains("account.birth_date"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--drop-field"), refused.stderr)
        for value in ["1988-02-29", "active"] { XCTAssertFalse(refused.stderr.contains(value), refused.stderr) }
        XCTAssertEqual(try dump(db), before)
        // One of the two allowed is not enough; a name the bundle does not have is a usage error.
        XCTAssertEqual(try TestSupport.dataport("import", bundle, "--config", config, "--drop-field", "account.status").code, 3)
        XCTAssertEqual(try TestSupport.dataport("import", bundle, "--config", config, "--drop-field", "account.status",
                                                "--drop-field", "account.birth_date", "--drop-field", "account.nope").code, 2)
        XCTAssertEqual(try dump(db), before)

        let args = ["import", bundle, "--config", config, "--drop-field", "account.birth_date", "--drop-field", "account.status"]
        let text = try TestSupport.dataport(args)
        XCTAssertEqual(text.code, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("dropped field account.status") && text.stdout.contains("dropped field account.birth_date"), text.stdout)
        XCTAssertEqual(try TestSupport.run(sqlite, [db, "SELECT count(*), count(birth_date), count(status) FROM users"]).stdout, "1|0|0\n")
        let report = try json(try TestSupport.dataport(args + ["--json"]))
        XCTAssertEqual(report["agrees"] as? Bool, true)
        let account = dataset(report, "account")
        XCTAssertEqual(account["droppedFields"] as? [String], ["status", "birth_date"])
        XCTAssertEqual(account["bundleChecksum"] as? String, dataset(reference, "account")["bundleChecksum"] as? String,
                       "the bundle checksum covers every field of the bundle's records")
        XCTAssertNotEqual(account["bundleChecksum"] as? String, account["mappedChecksum"] as? String)
        XCTAssertEqual(account["mappedChecksum"] as? String, account["importedChecksum"] as? String)
        XCTAssertEqual(dataset(report, "invoices")["droppedFields"] as? [String], [])
        XCTAssertEqual(dataset(report, "invoices")["bundleChecksum"] as? String, dataset(report, "invoices")["mappedChecksum"] as? String)
    }

    /// A bundle none of whose datasets the target maps is refused, not "imported".
    func testABundleTheTargetMapsNothingOfIsRefused() throws {
        let dir = try TestSupport.tempDir(self)
        let source = try itemsStore(dir, "source", sql: Self.itemsSchema + "INSERT INTO users VALUES (1, 'a@example.com'); INSERT INTO hits VALUES (1, '/a');")
        let renamed = try String(contentsOfFile: source.config, encoding: .utf8)
            .replacingOccurrences(of: #""name": "account""#, with: #""name": "members""#)
            .replacingOccurrences(of: #""name": "items""#, with: #""name": "things""#)
            .replacingOccurrences(of: #""name": "hits""#, with: #""name": "clicks""#)
        try renamed.write(toFile: source.config, atomically: true, encoding: .utf8)
        let bundle = try export(source.config, dir, "b.zip")
        let target = try TestSupport.emptySampleStore(in: dir)
        let before = try dump(target.db)
        let r = try TestSupport.dataport("import", bundle, "--config", target.config)
        XCTAssertEqual(r.code, 3, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("maps none of the bundle's datasets"), r.stderr)
        XCTAssertFalse(r.stdout.contains("Imported"), r.stdout)
        XCTAssertEqual(try dump(target.db), before)
    }

    // MARK: 2. Reconciled before COMMIT

    /// A target whose column affinity changes values on the way in ("007" to 7 in INTEGER,
    /// "12500.00" to 12500 in NUMERIC) keeps nothing: exit 10 names dataset, field and record.
    func testATargetThatChangesValuesKeepsNothing() throws {
        let dir = try TestSupport.tempDir(self)
        let source = try itemsStore(dir, "source", sql: Self.itemsSchema + """
            INSERT INTO users VALUES (1, 'a@example.com');
            INSERT INTO items VALUES (1, 1, 'abc', '12500.00'), (2, 1, '007', '5.5');
            """)
        let bundle = try export(source.config, dir, "b.zip")
        for (column, affinity, field, record) in [("code", "INTEGER", "code", 2), ("amount", "NUMERIC", "amount", 1)] {
            let schema = Self.itemsSchema.replacingOccurrences(of: "\(column) TEXT", with: "\(column) \(affinity)")
            let target = try itemsStore(dir, "target-\(column)", sql: schema)
            let before = try dump(target.db)
            let r = try TestSupport.dataport("import", bundle, "--config", target.config)
            XCTAssertEqual(r.code, 10, r.stderr)
            XCTAssertTrue(r.stderr.contains("dataset items, field \(field), record \(record):"), r.stderr)
            XCTAssertTrue(r.stderr.contains("rolled back"), r.stderr)
            for value in ["007", "12500", "abc"] { XCTAssertFalse(r.stderr.contains(value), r.stderr) }
            XCTAssertEqual(try dump(target.db), before, "a disagreeing import committed its rows (\(affinity))")
        }
        // The keyless path too: a value converted on insert is named by field and record.
        let zeros = try itemsStore(dir, "zeros", sql: Self.itemsSchema + "INSERT INTO users VALUES (1, 'a@example.com'); INSERT INTO hits VALUES (1, '/a'), (1, '007');")
        let zerosBundle = try export(zeros.config, dir, "zeros.zip")
        let typed = try itemsStore(dir, "typed", sql: Self.itemsSchema.replacingOccurrences(of: "path TEXT", with: "path INTEGER"))
        let before = try dump(typed.db)
        let r = try TestSupport.dataport("import", zerosBundle, "--config", typed.config, "--json")
        XCTAssertEqual(r.code, 10, r.stderr)
        XCTAssertTrue(r.stderr.contains("dataset hits, field path, record 2:"), r.stderr)
        // The report, then the error (both JSON on stdout): the report is the first document.
        let report = r.stdout.components(separatedBy: "\n}\n")[0] + "\n}"
        let mismatch = try XCTUnwrap(dataset(try JSONSerialization.jsonObject(with: Data(report.utf8)) as! [String: Any], "hits")["mismatch"] as? [String: Any])
        XCTAssertEqual(mismatch["field"] as? String, "path")
        XCTAssertEqual(mismatch["record"] as? Int, 2)
        XCTAssertEqual(try dump(typed.db), before)
    }

    // MARK: 3. No one else's row overwritten

    /// A natural key that the target holds for another person is not overwritten: exit 10, nothing
    /// written. Rows of the subject's own (found by an identity, or through a parent row of the
    /// subject's) are updated as before.
    func testAKeyThatBelongsToSomeoneElseIsNotOverwritten() throws {
        let dir = try TestSupport.tempDir(self)
        let source = try itemsStore(dir, "source", sql: Self.itemsSchema + "INSERT INTO users VALUES (1, 'a@example.com'); INSERT INTO items VALUES (7, 1, 'mine', '1.00');")
        let bundle = try export(source.config, dir, "b.zip")
        // Key 1 is Bob's account in the target.
        let target = try itemsStore(dir, "target", sql: Self.itemsSchema + "INSERT INTO users VALUES (1, 'bob@example.com'); INSERT INTO items VALUES (7, 1, 'bobs', '9.00');")
        let before = try dump(target.db)
        let r = try TestSupport.dataport("import", bundle, "--config", target.config)
        XCTAssertEqual(r.code, 10, r.stderr)
        XCTAssertTrue(r.stderr.contains("dataset account, record 1"), r.stderr)
        for value in ["bob", "a@example.com", "mine"] { XCTAssertFalse(r.stderr.contains(value), r.stderr) }
        XCTAssertEqual(try dump(target.db), before)

        // A target that links its rows by an identity of its own (`member`, yielded by the account):
        // the account row this import wrote vouches for the items row it finds again.
        let own = try itemsStore(dir, "member", sql: Self.itemsSchema)
        let linked = try String(contentsOfFile: own.config, encoding: .utf8)
            .replacingOccurrences(of: #""yields": [{"identity": "user_id""#, with: #""yields": [{"identity": "member""#)
            .replacingOccurrences(of: #"{"field": "user_id", "identity": "user_id"}"#, with: #"{"field": "user_id", "identity": "member"}"#)
        try linked.write(toFile: own.config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TestSupport.dataport("import", bundle, "--config", own.config).code, 0)
        XCTAssertEqual(try TestSupport.run(sqlite, [own.db, "UPDATE items SET code = 'changed'"]).code, 0)
        let again = try json(try TestSupport.dataport("import", bundle, "--config", own.config, "--json"))
        XCTAssertEqual(dataset(again, "items")["updated"] as? Int, 1)

        // The sample: Ana's bundle into a copy of the store she came from updates only her rows
        // (payments are hers through her invoices) ...
        let anaBundle = try TestSupport.exportSample(dir, name: "ana.zip")
        let ownSample = try sampleCopy(dir, "own", sql: "UPDATE payments SET method = 'cash' WHERE id = 1; UPDATE users SET full_name = 'Old Name' WHERE id = 1;")
        let ok = try json(try TestSupport.dataport("import", anaBundle, "--config", ownSample.config, "--json"))
        XCTAssertEqual(dataset(ok, "payments")["updated"] as? Int, 1)
        XCTAssertEqual(dataset(ok, "account")["updated"] as? Int, 1)
        // ... but a payment key the target holds on someone else's invoice is refused.
        let foreign = try sampleCopy(dir, "foreign", sql: "UPDATE payments SET invoice_id = 3, method = 'theirs' WHERE id = 1;")
        let beforeForeign = try dump(foreign.db)
        let refused = try TestSupport.dataport("import", anaBundle, "--config", foreign.config)
        XCTAssertEqual(refused.code, 10, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("dataset payments, record 1"), refused.stderr)
        XCTAssertEqual(try dump(foreign.db), beforeForeign)
    }

    // MARK: 4. Concurrent imports serialised

    /// Two imports of one bundle into one SQLite file at once: the second waits for the first
    /// (longer than SQLite's usual busy timeout), neither fails, keyless rows are not doubled.
    func testConcurrentImportsIntoSQLiteAreSerialised() throws {
        let dir = try TestSupport.tempDir(self)
        let source = try itemsStore(dir, "source", sql: Self.itemsSchema + """
            INSERT INTO users VALUES (1, 'a@example.com');
            INSERT INTO items SELECT value, 1, 'item ' || value, value || '.25' FROM generate_series(1, 300000);
            INSERT INTO hits VALUES (1, '/a'), (1, '/a'), (1, '/b');
            """)
        let bundle = try export(source.config, dir, "b.zip")
        let target = try itemsStore(dir, "target", sql: Self.itemsSchema)
        let start = Date()
        let runs = try concurrently(2) { try TestSupport.dataport("import", bundle, "--config", target.config, "--json") }
        for r in runs { XCTAssertEqual(r.code, 0, r.stderr) }
        // Enough rows that the two imports together take longer than SQLite's usual 2 s busy timeout.
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 2, "the imports were too quick to show the wait")
        XCTAssertEqual(try TestSupport.run(sqlite, [target.db, "SELECT (SELECT count(*) FROM hits), (SELECT count(*) FROM items)"]).stdout, "3|300000\n")
        let inserted = try runs.map { try json($0) }.map { dataset($0, "hits")["inserted"] as? Int ?? -1 }.sorted()
        XCTAssertEqual(inserted, [0, 3])
    }

    /// Runs `body` `n` times at once, each on its own thread.
    func concurrently(_ n: Int, _ body: @escaping @Sendable () throws -> TestSupport.Run) throws -> [TestSupport.Run] {
        nonisolated(unsafe) var results = [Result<TestSupport.Run, any Error>?](repeating: nil, count: n)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let r = Result { try body() }
            lock.lock(); results[i] = r; lock.unlock()
        }
        return try results.map { try $0!.get() }
    }

    // MARK: 5. A killed import leaves a readable store

    /// After `kill -9` in the middle of an import, the next export (the first thing to open the
    /// file again) works and sees the store as it was before the import; it writes no data.
    func testTheFirstExportAfterAKilledImportReadsTheStateBefore() throws {
        let dir = try TestSupport.tempDir(self)
        let grown = try sampleCopy(dir, "grown", sql: "INSERT INTO page_views (visit_id, viewed_at, path) SELECT 1, '2025-01-01T00:00:00Z', '/p/' || value || '/' || hex(randomblob(60)) FROM generate_series(1, 40000);")
        let bundle = dir.appendingPathComponent("grown.zip").path
        XCTAssertEqual(try TestSupport.dataport("export", "--config", grown.config, "--subject", "email=ana.nunez@example.com", "--output", bundle).code, 0)
        let target = try sampleCopy(dir, "target")
        let expected = try TestSupport.exportSample(dir, name: "expected.zip")
        let before = try dump(target.db)

        let p = try TestSupport.importUntilWriting("page_views", bundle: bundle, config: target.config)
        // Until the journal is hot: its header is written (SQLite's magic) once pages spill to the file.
        let journal = target.db + "-journal"
        let magic: [UInt8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning, Date() < deadline,
              (FileManager.default.contents(atPath: journal).map { Array($0.prefix(8)) } ?? []) != magic { usleep(20_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the import finished before it could be killed")
        XCTAssertEqual(FileManager.default.contents(atPath: journal).map { Array($0.prefix(8)) }, magic, "the killed import left no hot journal")

        // Nothing has opened the file since: the export is first.
        let out = dir.appendingPathComponent("after.zip").path
        let e = try TestSupport.dataport("export", "--config", target.config, "--subject", "email=ana.nunez@example.com",
                                         "--format", "json", "--generated-at", "2026-01-31T12:00:00Z", "--output", out)
        XCTAssertEqual(e.code, 0, e.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal), "the hot journal was not rolled back")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: URL(fileURLWithPath: expected)),
                       "the export after the kill does not show the store as it was before the import")
        XCTAssertEqual(try dump(target.db), before)
    }
}
