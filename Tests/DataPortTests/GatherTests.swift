import DataPortModel
import DataPortStores
import Foundation
import XCTest

final class GatherTests: XCTestCase {
    /// Exports Ana, extracts the bundle, returns the manifest and the folder.
    func exportAna(_ extra: [String] = []) throws -> (manifest: [String: Any], root: URL) {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, email: "  ANA.nunez@example.COM ", extra: extra)
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(bundle, into: x)
        let top = try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil)[0]
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("manifest.json"))) as! [String: Any]
        return (manifest, top)
    }

    func records(_ root: URL, _ dataset: String) throws -> [[String: Any]] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("data/json/\(dataset).json"))) as! [String: Any]
        return json["records"] as! [[String: Any]]
    }

    func testGatherWalksLinksAndFindsOnlyTheSubjectsRows() throws {
        let (manifest, root) = try exportAna(["--scope", "access"])
        let datasets = manifest["datasets"] as! [[String: Any]]
        let counts = Dictionary(uniqueKeysWithValues: datasets.map { ($0["name"] as! String, $0["recordCount"] as! Int) })
        // Counts taken directly in the store with sqlite3 for user 1.
        let db = TestSupport.samples.appendingPathComponent("sample-app.db").path
        func count(_ sql: String) throws -> Int { Int(try TestSupport.run("/usr/bin/sqlite3", [db, sql]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))! }
        XCTAssertEqual(counts["account"], 1)
        XCTAssertEqual(counts["invoices"], try count("SELECT count(*) FROM invoices WHERE user_id = 1"))
        XCTAssertEqual(counts["payments"], try count("SELECT count(*) FROM payments p JOIN invoices i ON p.invoice_id = i.id WHERE i.user_id = 1"))
        XCTAssertEqual(counts["page_views"], try count("SELECT count(*) FROM page_views v JOIN visits s ON v.visit_id = s.id WHERE s.user_id = 1"))
        XCTAssertEqual(counts["consents"], try count("SELECT count(*) FROM consents WHERE user_id = 1"))
        XCTAssertEqual(counts["customer_segments"], 1)
        // Every row with a user_id belongs to user 1.
        for d in ["contact_details", "quotation_requests", "invoices", "visits", "cookies", "enquiries"] {
            for r in try records(root, d) { XCTAssertEqual(r["user_id"] as? Int, 1, d) }
        }
        // The subject's identities were resolved across datasets, exactly.
        let ids = ((manifest["subject"] as! [String: Any])["identities"] as! [[String: Any]]).map { "\($0["kind"]!)=\($0["value"]!)" }
        XCTAssertEqual(Set(ids), ["email=ana.nunez@example.com", "user_id=1", "ip=203.0.113.7", "cookie_id=c-7f3a9e"])
    }

    func testOtherSubjectsWithSimilarNamesOrEmailsNeverAppear() throws {
        let (_, root) = try exportAna(["--scope", "access"])
        let all = try FileManager.default.subpathsOfDirectory(atPath: root.path)
            .filter { $0.hasSuffix(".json") && $0.hasPrefix("data/") }
            .map { try String(contentsOf: root.appendingPathComponent($0), encoding: .utf8) }.joined()
        for foreign in ["ana@example.org", "ana.nunez@example.net", "Anna", "203.0.113.77", "c-11aa22", "2024-0003", "李小龍"] {
            XCTAssertFalse(all.contains(foreign), "found another subject's data: \(foreign)")
        }
    }

    func testSecretFieldsNeverReachTheBundle() throws {
        let dir = try TestSupport.tempDir(self)
        for scope in ["access", "portability"] {
            let bundle = try TestSupport.exportSample(dir, extra: ["--scope", scope], name: "\(scope).zip")
            let x = dir.appendingPathComponent(scope)
            try TestSupport.unzip(bundle, into: x)
            let grep = try TestSupport.shell("grep -r -l -E 'SECRET|argon2|password_hash_value|tok_|sess_' '\(x.path)'")
            XCTAssertEqual(grep.stdout, "", "secret material found in \(scope) bundle")
            XCTAssertEqual(grep.code, 1)
        }
    }

    func testScopesLeaveOutDerivedAndOtherLegalBasesUnderPortability() throws {
        let (portability, _) = try exportAna()
        let names = (portability["datasets"] as! [[String: Any]]).map { $0["name"] as! String }
        XCTAssertFalse(names.contains("customer_segments"))
        XCTAssertFalse(names.contains("consents"))
        let excluded = (portability["excluded"] as! [[String: Any]]).map { $0["name"] as! String }
        XCTAssertEqual(Set(excluded), ["customer_segments", "consents"])
        let (access, _) = try exportAna(["--scope", "access"])
        XCTAssertTrue((access["datasets"] as! [[String: Any]]).contains { $0["name"] as? String == "customer_segments" })
    }

    func testValuesAreTypedExactly() throws {
        let (_, root) = try exportAna()
        let text = try String(contentsOf: root.appendingPathComponent("data/json/quotation_requests.json"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"budget\":\"12500.00\""))
        XCTAssertTrue(text.contains("\"submitted_at\":\"2024-06-15T12:00:00Z\""), "offset converted to UTC")
        XCTAssertTrue(text.contains("\\\"phase 2\\\""))
        let account = try String(contentsOf: root.appendingPathComponent("data/json/account.json"), encoding: .utf8)
        XCTAssertTrue(account.contains("\"birth_date\":\"1988-02-29\""))
    }

    // MARK: Config errors, named

    func configError(_ mutate: (inout [String: Any]) -> Void) throws -> String {
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.sampleConfig))) as! [String: Any]
        mutate(&config)
        let dir = try TestSupport.tempDir(self)
        // Keep the sample database's path valid from the temporary folder.
        var stores = config["stores"] as! [[String: Any]]
        var options = stores[0]["options"] as! [String: Any]
        options["path"] = TestSupport.samples.appendingPathComponent("sample-app.db").path
        options["initScript"] = TestSupport.samples.appendingPathComponent("sample-app.sql").path
        stores[0]["options"] = options
        config["stores"] = stores
        let path = dir.appendingPathComponent("stores.json")
        try JSONSerialization.data(withJSONObject: config).write(to: path)
        let r = try TestSupport.dataport("export", "--config", path.path, "--subject", "email=ana.nunez@example.com", "--output", dir.appendingPathComponent("o.zip").path)
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("o.zip").path))
        return r.stderr
    }

    func mutateDataset(_ name: String, _ body: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
        return { config in
            var stores = config["stores"] as! [[String: Any]]
            var datasets = stores[0]["datasets"] as! [[String: Any]]
            let i = datasets.firstIndex { $0["name"] as? String == name }!
            body(&datasets[i])
            stores[0]["datasets"] = datasets
            config["stores"] = stores
        }
    }

    func testUnreachableDatasetIsNamed() throws {
        let err = try configError(mutateDataset("page_views") { $0["match"] = [["field": "visit_id", "references": "orphans.id"]] })
        XCTAssertTrue(err.contains("page_views"), err)
    }

    func testUnknownKeyIsNamed() throws {
        let err = try configError(mutateDataset("visits") { $0["legalbasis"] = "consent" })
        XCTAssertTrue(err.contains("legalbasis"), err)
    }

    func testWrongTypeIsNamed() throws {
        let err = try configError(mutateDataset("visits") { $0["purposes"] = 42 })
        XCTAssertTrue(err.contains("purposes"), err)
    }
}
