import Foundation
import XCTest

final class ImportTests: XCTestCase {
    let sqlite = "/usr/bin/sqlite3"

    /// An empty store with the sample's schema (tables, no rows) and a config for it.
    func emptySampleStore(_ dir: URL, extraSQL: String = "") throws -> (db: String, config: String) {
        try TestSupport.emptySampleStore(in: dir, extraSQL: extraSQL)
    }

    /// A copy of the sample store grown by `grow` (SQL), and Ana's bundle exported from it.
    func bigBundle(_ dir: URL, grow: String) throws -> String {
        _ = try TestSupport.exportSample(dir, name: "warmup.zip")
        let db = dir.appendingPathComponent("big.db").path
        try FileManager.default.copyItem(atPath: TestSupport.samples.appendingPathComponent("sample-app.db").path, toPath: db)
        XCTAssertEqual(try TestSupport.run(sqlite, [db, grow]).code, 0)
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.sampleConfig))) as! [String: Any]
        var stores = config["stores"] as! [[String: Any]]
        stores[0]["options"] = ["path": db]
        config["stores"] = stores
        let source = dir.appendingPathComponent("big.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: source))
        let bundle = dir.appendingPathComponent("big.zip").path
        XCTAssertEqual(try TestSupport.dataport("export", "--config", source, "--subject", "email=ana.nunez@example.com", "--output", bundle).code, 0)
        return bundle
    }

    func dump(_ db: String) throws -> String {
        try TestSupport.run(sqlite, [db, ".dump"]).stdout
    }

    func report(_ r: TestSupport.Run) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    }

    func testRoundTripIntoAnEmptyStoreGivesTheSameBundleAndSecondImportChangesNothing() throws {
        let dir = try TestSupport.tempDir(self)
        let original = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "original.zip")
        let target = try emptySampleStore(dir)
        let first = try TestSupport.dataport("import", original, "--config", target.config, "--json")
        XCTAssertEqual(first.code, 0, first.stderr)
        let r1 = try report(first)
        XCTAssertEqual(r1["agrees"] as? Bool, true)
        let inserted = (r1["datasets"] as! [[String: Any]]).reduce(0) { $0 + ($1["inserted"] as! Int) }
        XCTAssertEqual(inserted, 25)
        // Export again from the target: byte-identical bundle (same --generated-at).
        let again = dir.appendingPathComponent("again.zip").path
        let e = try TestSupport.dataport("export", "--config", target.config, "--subject", "email=ana.nunez@example.com", "--scope", "access",
                                         "--generated-at", "2026-01-31T12:00:00Z", "--output", again)
        XCTAssertEqual(e.code, 0, e.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: again)), try Data(contentsOf: URL(fileURLWithPath: original)))
        // Idempotent: the second import inserts and updates nothing, and the store is unchanged.
        let before = try dump(target.db)
        let second = try report(try TestSupport.dataport("import", original, "--config", target.config, "--json"))
        for d in second["datasets"] as! [[String: Any]] {
            XCTAssertEqual(d["inserted"] as? Int, 0, "\(d["name"]!)")
            XCTAssertEqual(d["updated"] as? Int, 0, "\(d["name"]!)")
            XCTAssertEqual(d["unchanged"] as? Int, d["inBundle"] as? Int)
        }
        XCTAssertEqual(try dump(target.db), before)
    }

    func testATamperedBundleIsRefusedBeforeAnyWrite() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, name: "b.zip")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bundle)))
        bytes[200] ^= 0x40
        let bad = dir.appendingPathComponent("bad.zip")
        try Data(bytes).write(to: bad)
        let target = try emptySampleStore(dir)
        let before = try dump(target.db)
        let r = try TestSupport.dataport("import", bad.path, "--config", target.config)
        XCTAssertTrue([5, 6].contains(r.code), "exit \(r.code): \(r.stderr)")
        XCTAssertEqual(try dump(target.db), before)
    }

    func testAFailureHalfwayRollsEverythingBack() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, name: "b.zip")
        // The target refuses one payment: everything imported before it must be rolled back.
        let target = try emptySampleStore(dir, extraSQL: "\nCREATE TRIGGER refuse BEFORE INSERT ON payments WHEN NEW.amount = '234.50' BEGIN SELECT RAISE(ABORT, 'refused'); END;")
        let before = try dump(target.db)
        let r = try TestSupport.dataport("import", bundle, "--config", target.config)
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertEqual(try dump(target.db), before)
    }

    func testDryRunReportsWithoutWriting() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, name: "b.zip")
        let target = try emptySampleStore(dir)
        let before = try dump(target.db)
        let r = try TestSupport.dataport("import", bundle, "--config", target.config, "--dry-run", "--json")
        XCTAssertEqual(r.code, 0, r.stderr)
        let doc = try report(r)
        XCTAssertEqual(doc["dryRun"] as? Bool, true)
        XCTAssertGreaterThan((doc["datasets"] as! [[String: Any]]).reduce(0) { $0 + ($1["inserted"] as! Int) }, 0)
        XCTAssertEqual(try dump(target.db), before)
    }

    func testCrossSchemaMigrationKeepsEveryMappedField() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "b.zip")
        // A private copy of the CRM sample, built from its schema script.
        let crm = dir.appendingPathComponent("crm")
        try FileManager.default.createDirectory(at: crm, withIntermediateDirectories: true)
        for f in ["crm-stores.json", "crm-schema.sql"] {
            try FileManager.default.copyItem(at: TestSupport.samples.appendingPathComponent("migration/\(f)"), to: crm.appendingPathComponent(f))
        }
        let config = crm.appendingPathComponent("crm-stores.json").path
        let imp = try TestSupport.dataport(["import", bundle, "--config", config, "--json"] + TestSupport.crmDroppedFields)
        XCTAssertEqual(imp.code, 0, imp.stderr)
        let skipped = (try report(imp)["skippedDatasets"] as! [[String: Any]]).map { $0["name"] as! String }
        XCTAssertTrue(skipped.contains("visits"), "unmapped datasets are listed")
        XCTAssertEqual(try TestSupport.dataport(["import", bundle, "--config", config, "--strict"] + TestSupport.crmDroppedFields).code, 3)
        // Export the subject from the CRM and compare every mapped field except the CRM's own keys.
        let out = dir.appendingPathComponent("from-crm.zip").path
        let e = try TestSupport.dataport("export", "--config", config, "--subject", "email=ana.nunez@example.com", "--scope", "access", "--output", out)
        XCTAssertEqual(e.code, 0, e.stderr)
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        try TestSupport.unzip(bundle, into: a)
        try TestSupport.unzip(out, into: b)
        func records(_ root: URL, _ name: String) throws -> [[String: Any]] {
            let top = try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)[0]
            let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("data/json/\(name).json"))) as! [String: Any]
            return doc["records"] as! [[String: Any]]
        }
        let keys: Set<String> = ["id", "user_id", "invoice_id"]
        for (dataset, fields) in [("account", ["email", "full_name", "registered_at"]), ("invoices", ["number", "issued_on", "total", "currency"]),
                                  ("payments", ["paid_at", "amount", "method"]), ("newsletter_subscriptions", ["list", "subscribed_at", "confirmed"])] {
            let original = try records(a, dataset), migrated = try records(b, dataset)
            XCTAssertEqual(original.count, migrated.count, dataset)
            func project(_ rs: [[String: Any]]) -> [String] {
                rs.map { r in fields.filter { !keys.contains($0) }.map { "\(r[$0] ?? "nil")" }.joined(separator: "|") }.sorted()
            }
            XCTAssertEqual(project(original), project(migrated), dataset)
        }
        // The CRM's own customer is untouched and the subject got a new key.
        let people = try TestSupport.run(sqlite, [crm.appendingPathComponent("crm.db").path, "SELECT person_no, display_name FROM crm_people ORDER BY person_no"]).stdout
        XCTAssertEqual(people, "1|Existing Customer\n2|Ana María Núñez\n")
    }

    /// A store whose dataset `hits` has no key, holding `rows` (SQL value lists) for user 1, and its config.
    func keylessStore(_ dir: URL, _ name: String, rows: [String]) throws -> (db: String, config: String) {
        let db = dir.appendingPathComponent("\(name).db").path
        let inserts = rows.map { "INSERT INTO hits VALUES (1, \($0));" }.joined(separator: "\n")
        let sql = """
            CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
            CREATE TABLE hits (user_id INTEGER NOT NULL, path TEXT, at TEXT);
            INSERT INTO users VALUES (1, 'a@example.com');
            \(inserts)
            """
        XCTAssertEqual(try TestSupport.run(sqlite, [db, sql]).code, 0)
        let path = dir.appendingPathComponent("\(name).json").path
        try oneTableConfig(db: db, table: "hits", key: nil, fields: [("user_id", "integer"), ("path", "string"), ("at", "timestamp")])
            .write(toFile: path, atomically: true, encoding: .utf8)
        return (db, path)
    }

    /// A config for a SQLite store with `users` (the account, found by e-mail) and one dataset named
    /// after `table`, linked by `user_id`, with `key` (or none) and `fields` (name, type).
    func oneTableConfig(db: String, table: String, key: String?, fields: [(String, String)]) -> String {
        let fieldList = fields.map { #"{"name": "\#($0.0)", "type": "\#($0.1)"}"# }.joined(separator: ", ")
        return TestSupport.accountConfig(options: #"{"path": "\#(db)"}"#, datasets: """
               {"name": "\(table)", "table": "\(table)", "category": "website-usage", "description": "\(table)", "purposes": ["analytics"],
                "legalBasis": "consent", "origin": "observed", \(key.map { #""key": "\#($0)","# } ?? "")
                "match": [{"field": "user_id", "identity": "user_id"}], "fields": [\(fieldList)]}
            """)
    }

    /// Identical records without a key are all kept: a log holding the same line twice imports twice,
    /// and importing again adds nothing (the target ends with as many copies as the bundle, or more).
    func testIdenticalKeylessRecordsAreAllImportedOnce() throws {
        let dir = try TestSupport.tempDir(self)
        let same = "'/a', '2025-01-01T00:00:00Z'"
        let source = try keylessStore(dir, "source", rows: [same, same, "'/b', '2025-01-01T00:00:00Z'", "NULL, NULL", "NULL, NULL", same])
        let bundle = dir.appendingPathComponent("b.zip").path
        let e = try TestSupport.dataport("export", "--config", source.config, "--subject", "email=a@example.com", "--output", bundle)
        XCTAssertEqual(e.code, 0, e.stderr)
        // The target already holds one copy of the repeated line (for another reason): two more are needed.
        let target = try keylessStore(dir, "target", rows: [same])
        _ = try TestSupport.run(sqlite, [target.db, "DELETE FROM users"])
        func count(_ db: String) throws -> String {
            try TestSupport.run(sqlite, [db, "SELECT count(*), sum(path = '/a'), sum(path IS NULL) FROM hits"]).stdout
        }
        XCTAssertEqual(try count(source.db), "6|3|2\n")
        let first = try report(try TestSupport.dataport("import", bundle, "--config", target.config, "--json"))
        XCTAssertEqual(first["agrees"] as? Bool, true)
        let hits = (first["datasets"] as! [[String: Any]]).first { $0["name"] as? String == "hits" }!
        XCTAssertEqual(hits["inserted"] as? Int, 5)
        XCTAssertEqual(hits["unchanged"] as? Int, 1)
        XCTAssertEqual(try count(target.db), "6|3|2\n")
        let before = try dump(target.db)
        let second = try report(try TestSupport.dataport("import", bundle, "--config", target.config, "--json"))
        let again = (second["datasets"] as! [[String: Any]]).first { $0["name"] as? String == "hits" }!
        XCTAssertEqual(again["inserted"] as? Int, 0)
        XCTAssertEqual(again["unchanged"] as? Int, 6)
        XCTAssertEqual(try dump(target.db), before)
    }

    /// A store changing keyless rows on their way in is caught: there is no key to read them back
    /// by, so each inserted row is counted again.
    func testAStoreChangingKeylessRowsDisagrees() throws {
        let dir = try TestSupport.tempDir(self)
        let source = try keylessStore(dir, "source", rows: ["'/a', '2025-01-01T00:00:00Z'", "'/b', NULL"])
        let bundle = dir.appendingPathComponent("b.zip").path
        XCTAssertEqual(try TestSupport.dataport("export", "--config", source.config, "--subject", "email=a@example.com", "--output", bundle).code, 0)
        let target = try keylessStore(dir, "target", rows: [])
        _ = try TestSupport.run(sqlite, [target.db, "DELETE FROM users; CREATE TRIGGER mangle AFTER INSERT ON hits BEGIN UPDATE hits SET path = '/MANGLED' WHERE rowid = NEW.rowid; END;"])
        let r = try TestSupport.dataport("import", bundle, "--config", target.config)
        XCTAssertEqual(r.code, 10, r.stderr)
        XCTAssertTrue(r.stdout.contains("hits") && r.stdout.contains("MISMATCH"), r.stdout)
        // A column whose type changes the value as it is stored ("007" in an INTEGER column is 7):
        // counting with the store's own comparison would agree; the row as returned does not.
        let zeros = try keylessStore(dir, "zeros", rows: ["'007', NULL"])
        let zerosBundle = dir.appendingPathComponent("zeros.zip").path
        XCTAssertEqual(try TestSupport.dataport("export", "--config", zeros.config, "--subject", "email=a@example.com", "--output", zerosBundle).code, 0)
        let typed = try keylessStore(dir, "typed", rows: [])
        _ = try TestSupport.run(sqlite, [typed.db, "DELETE FROM users; DROP TABLE hits; CREATE TABLE hits (user_id INTEGER NOT NULL, path INTEGER, at TEXT);"])
        let t = try TestSupport.dataport("import", zerosBundle, "--config", typed.config)
        XCTAssertEqual(t.code, 10, t.stderr)
    }

    /// Two records with the same key are refused wherever they fall, also in different chunks of 500,
    /// and nothing is written: here ids 1..600 with 500 twice, so its copies are records 500 and 501.
    func testTheSameKeyTwiceAcrossChunksIsRefused() throws {
        let dir = try TestSupport.tempDir(self)
        let rows = (1...600).map { "(\($0), 1, 'item \($0)')" } + ["(500, 1, 'item 500 again')"]
        let db = dir.appendingPathComponent("items.db").path
        XCTAssertEqual(try TestSupport.run(sqlite, [db, """
            CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
            CREATE TABLE items (id INTEGER NOT NULL, user_id INTEGER NOT NULL, label TEXT);
            INSERT INTO users VALUES (1, 'a@example.com');
            INSERT INTO items VALUES \(rows.joined(separator: ", "));
            """]).code, 0)
        func config(_ path: String) -> String {
            oneTableConfig(db: path, table: "items", key: "id", fields: [("id", "integer"), ("user_id", "integer"), ("label", "string")])
        }
        let sourceConfig = dir.appendingPathComponent("items.json").path
        try config(db).write(toFile: sourceConfig, atomically: true, encoding: .utf8)
        let bundle = dir.appendingPathComponent("b.zip").path
        let e = try TestSupport.dataport("export", "--config", sourceConfig, "--subject", "email=a@example.com", "--output", bundle)
        XCTAssertEqual(e.code, 0, e.stderr)
        // A target without a primary key: the store itself would take both rows.
        let target = dir.appendingPathComponent("target.db").path
        XCTAssertEqual(try TestSupport.run(sqlite, [target, "CREATE TABLE users (id INTEGER, email TEXT); CREATE TABLE items (id INTEGER, user_id INTEGER, label TEXT);"]).code, 0)
        let targetConfig = dir.appendingPathComponent("target.json").path
        try config(target).write(toFile: targetConfig, atomically: true, encoding: .utf8)
        let before = try dump(target)
        let r = try TestSupport.dataport("import", bundle, "--config", targetConfig)
        XCTAssertEqual(r.code, 5, r.stderr)
        XCTAssertTrue(r.stderr.contains("holds two records with the same key"), r.stderr)
        XCTAssertEqual(try dump(target), before)
    }

    /// Generated keys in a table emptied since an earlier import: the id map's old entries point at
    /// keys the store hands out again, and must not make a later chunk's records collide with (or
    /// overwrite) rows this import has just written.
    func testGeneratedKeysAfterTheTargetWasEmptied() throws {
        let dir = try TestSupport.tempDir(self)
        let db = dir.appendingPathComponent("items.db").path
        func addItems(_ range: ClosedRange<Int>) throws {
            let r = try TestSupport.run(sqlite, [db, "INSERT INTO items SELECT value, 1, 'item ' || value FROM generate_series(\(range.lowerBound), \(range.upperBound));"])
            XCTAssertEqual(r.code, 0, r.stderr)
        }
        XCTAssertEqual(try TestSupport.run(sqlite, [db, """
            CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
            CREATE TABLE items (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, label TEXT);
            INSERT INTO users VALUES (1, 'a@example.com');
            """]).code, 0)
        let sourceConfig = dir.appendingPathComponent("items.json").path
        try oneTableConfig(db: db, table: "items", key: "id", fields: [("id", "integer"), ("user_id", "integer"), ("label", "string")])
            .write(toFile: sourceConfig, atomically: true, encoding: .utf8)
        let target = dir.appendingPathComponent("target.db").path
        XCTAssertEqual(try TestSupport.run(sqlite, [target, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); CREATE TABLE items (tid INTEGER PRIMARY KEY, user_id INTEGER, label TEXT);"]).code, 0)
        let targetConfig = dir.appendingPathComponent("target.json").path
        try oneTableConfig(db: target, table: "items", key: "id", fields: [("id", "integer"), ("user_id", "integer"), ("label", "string")])
            .replacingOccurrences(of: #"{"name": "id", "type": "integer"}, {"name": "user_id""#,
                                  with: #"{"name": "id", "type": "integer", "column": "tid", "generated": true}, {"name": "user_id""#)
            .write(toFile: targetConfig, atomically: true, encoding: .utf8)
        func importBundle() throws -> [String: Any] {
            let bundle = dir.appendingPathComponent("b-\(UUID().uuidString).zip").path
            let e = try TestSupport.dataport("export", "--config", sourceConfig, "--subject", "email=a@example.com", "--output", bundle)
            XCTAssertEqual(e.code, 0, e.stderr)
            let r = try TestSupport.dataport("import", bundle, "--config", targetConfig, "--json")
            XCTAssertEqual(r.code, 0, r.stderr)
            return try report(r)
        }
        try addItems(901...1000)
        _ = try importBundle()  // bundle keys 901..1000 -> target keys 1..100
        XCTAssertEqual(try TestSupport.run(sqlite, [target, "DELETE FROM items"]).code, 0)
        try addItems(1...600)   // now 1..600 come first: the first chunk gets target keys 1..500
        let second = try importBundle()
        XCTAssertEqual(second["agrees"] as? Bool, true)
        let items = (second["datasets"] as! [[String: Any]]).first { $0["name"] as? String == "items" }!
        XCTAssertEqual(items["inserted"] as? Int, 700)
        XCTAssertEqual(try TestSupport.run(sqlite, [target, "SELECT count(*), count(DISTINCT label) FROM items"]).stdout, "700|700\n")
    }

    /// More records than one import chunk, with generated keys and foreign keys rewritten across chunks.
    func testLargeDatasetsAcrossChunksWithGeneratedKeys() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try bigBundle(dir, grow: """
            INSERT INTO invoices (user_id, number, issued_on, total, currency) SELECT 1, 'B-' || value, '2025-01-01', value || '.50', 'EUR' FROM generate_series(1, 1200);
            INSERT INTO payments (invoice_id, paid_at, amount, method) SELECT id, '2025-02-01T00:00:00Z', total, 'card' FROM invoices WHERE number LIKE 'B-%';
            """)
        let crm = dir.appendingPathComponent("crm")
        try FileManager.default.createDirectory(at: crm, withIntermediateDirectories: true)
        for f in ["crm-stores.json", "crm-schema.sql"] {
            try FileManager.default.copyItem(at: TestSupport.samples.appendingPathComponent("migration/\(f)"), to: crm.appendingPathComponent(f))
        }
        let target = crm.appendingPathComponent("crm-stores.json").path
        let first = try report(try TestSupport.dataport(["import", bundle, "--config", target, "--json"] + TestSupport.crmDroppedFields))
        XCTAssertEqual(first["agrees"] as? Bool, true)
        let payments = (first["datasets"] as! [[String: Any]]).first { $0["name"] as? String == "payments" }!
        XCTAssertEqual(payments["inserted"] as? Int, 1203)
        // Every payment points at the CRM's own key of its bill, and the amounts match.
        let crmDB = crm.appendingPathComponent("crm.db").path
        let mismatched = try TestSupport.run(sqlite, [crmDB, "SELECT count(*) FROM crm_bill_payments p JOIN crm_bills b ON p.bill_no = b.bill_no WHERE b.reference LIKE 'B-%' AND p.amount <> b.amount_due"]).stdout
        XCTAssertEqual(mismatched, "0\n")
        let joined = try TestSupport.run(sqlite, [crmDB, "SELECT count(*) FROM crm_bill_payments p JOIN crm_bills b ON p.bill_no = b.bill_no JOIN crm_people c ON c.person_no = b.person_no WHERE c.display_name = 'Ana María Núñez'"]).stdout
        XCTAssertEqual(joined, "1203\n")
        let before = try dump(crmDB)
        let second = try report(try TestSupport.dataport(["import", bundle, "--config", target, "--json"] + TestSupport.crmDroppedFields))
        XCTAssertEqual(second["agrees"] as? Bool, true)
        XCTAssertTrue((second["datasets"] as! [[String: Any]]).allSatisfy { ($0["inserted"] as? Int) == 0 && ($0["updated"] as? Int) == 0 })
        XCTAssertEqual(try dump(crmDB), before)
    }

    /// Killed with SIGKILL in the middle of an import, the store is exactly as before; the next import completes.
    func testAnImportKilledHalfwayLeavesTheStoreAsBefore() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try bigBundle(dir, grow: "INSERT INTO page_views (visit_id, viewed_at, path) SELECT 1, '2025-01-01T00:00:00Z', '/p/' || value FROM generate_series(1, 300000);")

        let target = try emptySampleStore(dir)
        let before = try dump(target.db)
        // Wait until records are being written, then kill without warning.
        let p = try TestSupport.importUntilWriting("page_views", bundle: bundle, config: target.config)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the import finished before it could be killed")
        XCTAssertEqual(try TestSupport.run(sqlite, [target.db, "PRAGMA integrity_check"]).stdout, "ok\n")
        XCTAssertEqual(try dump(target.db), before, "a killed import left part of its writes")
        // And the next import completes, agreeing with the bundle.
        let r = try TestSupport.dataport("import", bundle, "--config", target.config, "--json")
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try report(r)["agrees"] as? Bool, true)
    }
}
