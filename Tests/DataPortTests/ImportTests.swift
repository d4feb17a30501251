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
        let imp = try TestSupport.dataport("import", bundle, "--config", config, "--json")
        XCTAssertEqual(imp.code, 0, imp.stderr)
        let skipped = (try report(imp)["skippedDatasets"] as! [[String: Any]]).map { $0["name"] as! String }
        XCTAssertTrue(skipped.contains("visits"), "unmapped datasets are listed")
        XCTAssertEqual(try TestSupport.dataport("import", bundle, "--config", config, "--strict").code, 3)
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
        let first = try report(try TestSupport.dataport("import", bundle, "--config", target, "--json"))
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
        let second = try report(try TestSupport.dataport("import", bundle, "--config", target, "--json"))
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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.binary)
        p.arguments = ["import", bundle, "--config", target.config, "--quiet", "--progress", "json"]
        let progress = Pipe()
        p.standardError = progress
        try p.run()
        // Wait until records are being written, then kill without warning.
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("\"phase\":\"import\",\"dataset\":\"page_views\"") {
            let chunk = progress.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
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
