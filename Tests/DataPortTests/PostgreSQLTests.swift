import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// The PostgreSQL connector against a real server holding Samples/billing-postgres.sql.
///
/// The server: `DATAPORT_PG_URL` when set (CI sets it, so an unreachable server there FAILS the
/// tests); otherwise the tests run `.ci/start-postgres.sh` themselves; only if that fails too are
/// they skipped.
final class PostgreSQLTests: XCTestCase {
    enum Server: Sendable {
        case url(String)
        case unavailable(String)
        case broken(String)
    }

    static let server: Server = {
        let env = ProcessInfo.processInfo.environment["DATAPORT_PG_URL"] ?? ""
        guard TestSupport.has("psql") else {
            let why = "psql is not installed (apt-get install postgresql-client)"
            return env.isEmpty ? .unavailable(why) : .broken("DATAPORT_PG_URL is set but \(why)")
        }
        if !env.isEmpty {
            let r = try? psqlRun(env, "SELECT 1")
            guard let r, r.code == 0 else {
                return .broken("DATAPORT_PG_URL is set but the server does not answer: \(r?.stderr ?? "psql did not run")")
            }
            return .url(env)
        }
        let script = TestSupport.root.appendingPathComponent(".ci/start-postgres.sh").path
        guard let r = try? TestSupport.run("/bin/bash", [script]), r.code == 0 else {
            return .unavailable("DATAPORT_PG_URL is not set and .ci/start-postgres.sh could not start a server")
        }
        guard let line = r.stdout.split(separator: "\n").last(where: { $0.hasPrefix("export DATAPORT_PG_URL=") }) else {
            return .unavailable(".ci/start-postgres.sh printed no DATAPORT_PG_URL: \(r.stdout)")
        }
        let url = String(line.dropFirst("export DATAPORT_PG_URL=".count))
        guard (try? psqlRun(url, "SELECT 1"))?.code == 0 else { return .unavailable("the server started by .ci/start-postgres.sh does not answer") }
        return .url(url)
    }()

    /// The server's URL, or a skip (no server could be had) or a failure (CI's server is down).
    func serverURL() throws -> String {
        switch Self.server {
        case .url(let u): return u
        case .unavailable(let why): throw XCTSkip("PostgreSQL tests skipped: \(why). Set DATAPORT_PG_URL or install postgresql.")
        case .broken(let why): throw ServerDown(reason: why)
        }
    }

    /// Thrown (a failure, never a skip) when CI's server cannot be used.
    struct ServerDown: Error, CustomStringConvertible {
        var reason: String
        var description: String { "PostgreSQL server unusable: \(reason)" }
    }

    static func psqlRun(_ url: String, _ sql: String) throws -> TestSupport.Run {
        try TestSupport.run("/usr/bin/env", ["psql", url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
    }

    /// One value from psql, trimmed.
    func psql(_ url: String, _ sql: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try Self.psqlRun(url, sql)
        XCTAssertEqual(r.code, 0, "psql failed: \(r.stderr)", file: file, line: line)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func count(_ url: String, _ sql: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int64 {
        let text = try psql(url, sql, file: file, line: line)
        return try XCTUnwrap(Int64(text), "not a count: \(text)", file: file, line: line)
    }

    // MARK: - Configs

    /// Samples/stores-all.json with absolute paths, only the stores whose connector is registered,
    /// and `edit` applied to the billing store; written into `dir`.
    func writeAllStoresConfig(_ dir: URL, edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: TestSupport.samples.appendingPathComponent("stores-all.json"))) as! [String: Any]
        var stores: [[String: Any]] = []
        for var s in config["stores"] as! [[String: Any]] where StoreRegistry.standard.factories[s["type"] as! String] != nil {
            if var options = s["options"] as? [String: Any] {
                for key in ["path", "initScript"] {
                    if let p = options[key] as? String, !p.hasPrefix("/") {
                        options[key] = TestSupport.samples.appendingPathComponent(p).standardizedFileURL.path
                    }
                }
                s["options"] = options
            }
            if s["type"] as? String == "postgresql" { edit(&s) }
            stores.append(s)
        }
        config["stores"] = stores
        config.removeValue(forKey: "$schema")
        let path = dir.appendingPathComponent("stores-all.json").path
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs `dataport export` on the all-stores config with DATAPORT_PG_URL set to `url` (or unset for nil).
    func export(_ config: String, url: String?, subject: [String], into dir: URL, name: String = "bundle") throws -> (TestSupport.Run, String) {
        let out = dir.appendingPathComponent("\(name).zip").path
        var args = [TestSupport.binary, "export", "--config", config, "--scope", "access", "--generated-at", "2026-01-31T12:00:00Z", "--output", out]
        args += subject.flatMap { ["--subject", $0] }
        let r: TestSupport.Run
        if let url {
            r = try TestSupport.run("/usr/bin/env", ["DATAPORT_PG_URL=\(url)"] + args)
        } else {
            r = try TestSupport.run("/usr/bin/env", ["-u", "DATAPORT_PG_URL"] + args)
        }
        return (r, out)
    }

    /// Extracts a bundle; returns its files by name (last path component) and its manifest's record counts.
    func open(_ bundle: String, into dir: URL) throws -> (files: [String: URL], counts: [String: Int64]) {
        try TestSupport.unzip(bundle, into: dir)
        var files: [String: URL] = [:]
        for case let url as URL in FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)! { files[url.lastPathComponent] = url }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: try XCTUnwrap(files["manifest.json"]))) as! [String: Any]
        var counts: [String: Int64] = [:]
        for d in manifest["datasets"] as! [[String: Any]] { counts[d["name"] as! String] = (d["recordCount"] as! NSNumber).int64Value }
        return (files, counts)
    }

    /// A single-store config for the billing database, from the given datasets JSON.
    func billingStore(url: String, datasets: String, options: String? = nil) throws -> StoreConfig {
        let json = """
        {"version": "1", "controller": {"name": "Test", "contact": "t@example.com"},
         "stores": [{"name": "billing", "type": "postgresql", "options": \(options ?? #"{"url": "\#(url)"}"#), "datasets": \(datasets)}]}
        """
        return try StoresConfig.parse(Array(json.utf8), file: "test.json", baseDirectory: "/tmp").stores[0]
    }

    static let invoicesDataset = """
        [{"name": "invoices", "table": "invoices", "category": "billing", "description": "d", "purposes": ["Billing"],
          "legalBasis": "contract", "origin": "provided", "key": "id", "match": [{"field": "user_id", "identity": "user_id"}],
          "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "number", "type": "string"},
                     {"name": "issued_on", "type": "date"}, {"name": "issued_at", "type": "timestamp"}, {"name": "total", "type": "decimal"},
                     {"name": "currency", "type": "string"}, {"name": "paid", "type": "boolean"}, {"name": "pdf", "type": "binary"},
                     {"name": "internal_note", "secret": true}]},
         {"name": "billing_accounts", "table": "public.billing_accounts", "category": "billing", "description": "d", "purposes": ["Billing"],
          "legalBasis": "contract", "origin": "provided", "key": "id", "match": [{"field": "email", "identity": "email"}],
          "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}, {"name": "legal_name", "type": "string"},
                     {"name": "created_at", "type": "timestamp"}]}]
        """

    func read(_ store: StoreConfig, _ dataset: String, _ identities: [IdentityKind: [String]]) throws -> [[String: Value]] {
        let c = try PostgreSQLConnector(config: store)
        defer { c.close() }
        try c.validate()
        try c.beginSnapshot()
        let d = try XCTUnwrap(store.datasets.first { $0.name == dataset })
        return try TestSupport.rows(of: d, from: c, identities: identities)
    }

    // MARK: - Gather through the CLI

    func testGatherCountsMatchTheDatabase() throws {
        let url = try serverURL()
        let dir = try TestSupport.tempDir(self)
        let config = try writeAllStoresConfig(dir)
        for (email, userID) in [("ana.nunez@example.com", 1), ("customer12@example.com", 12), ("customer13@example.com", 13)] {
            let (r, bundle) = try export(config, url: url, subject: ["email=\(email)"], into: dir, name: "u\(userID)")
            XCTAssertEqual(r.code, 0, r.stderr)
            let (_, counts) = try open(bundle, into: dir.appendingPathComponent("x\(userID)"))
            XCTAssertEqual(counts["invoices"], try count(url, "SELECT count(*) FROM invoices WHERE user_id = \(userID)"), email)
            XCTAssertEqual(counts["payments"], try count(url, "SELECT count(*) FROM payments WHERE invoice_id IN (SELECT id FROM invoices WHERE user_id = \(userID))"), email)
            XCTAssertEqual(counts["billing_accounts"], try count(url, "SELECT count(*) FROM billing_accounts WHERE lower(trim(email)) = '\(email)' OR user_id = \(userID)"), email)
        }
        // Pin the sample too, so the comparison cannot pass with both sides empty.
        XCTAssertEqual(try count(url, "SELECT count(*) FROM invoices WHERE user_id = 1"), 3)
        XCTAssertEqual(try count(url, "SELECT count(*) FROM payments WHERE invoice_id IN (SELECT id FROM invoices WHERE user_id = 1)"), 3)
    }

    func testOtherSubjectsRowsAndSecretsAreAbsent() throws {
        let url = try serverURL()
        let dir = try TestSupport.tempDir(self)
        let config = try writeAllStoresConfig(dir)
        let (r, bundle) = try export(config, url: url, subject: ["email=ana.nunez@example.com"], into: dir)
        XCTAssertEqual(r.code, 0, r.stderr)
        let (files, counts) = try open(bundle, into: dir.appendingPathComponent("x"))
        XCTAssertEqual(counts["invoices"], 3)

        let invoices = try String(contentsOf: try XCTUnwrap(files["invoices.json"]), encoding: .utf8)
        for n in ["2024-0001", "2024-0002", "2024-0005"] { XCTAssertTrue(invoices.contains(n), n) }
        for n in ["2024-0003", "2025-0001", "2023-0012"] { XCTAssertFalse(invoices.contains(n), "another subject's invoice \(n)") }
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: files["invoices.json"]!)) as! [String: Any]
        for rec in doc["records"] as! [[String: Any]] { XCTAssertEqual(rec["user_id"] as? Int, 1) }
        let payments = try String(contentsOf: try XCTUnwrap(files["payments.json"]), encoding: .utf8)
        XCTAssertFalse(payments.contains("250.00"), "user 2's payment")

        // Types as the bundle holds them: exact decimals, UTC times, bytea as bytes (base64), booleans.
        XCTAssertTrue(invoices.contains(#""total":"1234.50""#), invoices)
        XCTAssertTrue(invoices.contains(#""issued_at":"2024-06-30T07:30:00.25Z""#), invoices)
        XCTAssertTrue(invoices.contains(#""pdf":"JVBERi0xLjQK""#), invoices)
        XCTAssertTrue(invoices.contains(#""paid":false"#), invoices)

        // No secret column's value anywhere in the bundle (every extracted file's bytes).
        let secrets = try psql(url, "SELECT string_agg(v, '|') FROM (SELECT internal_note AS v FROM invoices UNION ALL SELECT card_token FROM payments UNION ALL SELECT iban_hash FROM billing_accounts) s WHERE v IS NOT NULL")
            .split(separator: "|").map(String.init)
        XCTAssertGreaterThan(secrets.count, 5)
        for (name, file) in files where !file.hasDirectoryPath {
            let bytes = try Data(contentsOf: file)
            for secret in secrets + ["SECRET"] {
                XCTAssertNil(bytes.range(of: Data(secret.utf8)), "\(name) contains a secret value")
            }
        }
        let manifest = try String(contentsOf: files["manifest.json"]!, encoding: .utf8)
        XCTAssertTrue(manifest.contains("internal_note") && manifest.contains("card_token"), "withheld fields are named in the manifest")
    }

    func testMissingColumnOrTableIsInvalidConfig() throws {
        let url = try serverURL()
        let dir = try TestSupport.tempDir(self)
        let badColumn = try writeAllStoresConfig(dir) { store in
            var datasets = store["datasets"] as! [[String: Any]]
            let i = datasets.firstIndex { $0["name"] as? String == "invoices" }!
            var fields = datasets[i]["fields"] as! [[String: Any]]
            fields[fields.firstIndex { $0["name"] as? String == "currency" }!]["column"] = "currency_code"
            datasets[i]["fields"] = fields
            store["datasets"] = datasets
        }
        var (r, out) = try export(badColumn, url: url, subject: ["email=ana.nunez@example.com"], into: dir)
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("invoices") && r.stderr.contains("currency_code"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let badTable = try writeAllStoresConfig(dir) { store in
            var datasets = store["datasets"] as! [[String: Any]]
            let i = datasets.firstIndex { $0["name"] as? String == "payments" }!
            datasets[i]["table"] = "payment"
            store["datasets"] = datasets
        }
        (r, out) = try export(badTable, url: url, subject: ["email=ana.nunez@example.com"], into: dir)
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("payments") && r.stderr.contains("payment"), r.stderr)
        // The connector's own errors (unknown option, missing table or column): StoreConformanceTests.
    }

    func testUnreachableServerExitsWith4() throws {
        // Needs no server: nothing listens on port 1.
        let dir = try TestSupport.tempDir(self)
        let config = try writeAllStoresConfig(dir)
        var (r, out) = try export(config, url: "postgresql://dataport@127.0.0.1:1/dataport_billing?connect_timeout=5",
                                  subject: ["email=ana.nunez@example.com"], into: dir)
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot connect to PostgreSQL") && r.stderr.contains("billing"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        (r, out) = try export(config, url: nil, subject: ["email=ana.nunez@example.com"], into: dir)
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("DATAPORT_PG_URL"), r.stderr)

        let store = try billingStore(url: "", datasets: Self.invoicesDataset, options: #"{"url": "env:DATAPORT_TEST_NO_SUCH_VARIABLE"}"#)
        assertThrows(.store, { _ = try PostgreSQLConnector(config: store) })
        let bad = try billingStore(url: "", datasets: Self.invoicesDataset, options: #"{"url": "env:1-bad"}"#)
        assertThrows(.invalidConfig, { _ = try PostgreSQLConnector(config: bad) })
    }

    // MARK: - The connector

    func testValuesAreTyped() throws {
        let url = try serverURL()
        let store = try billingStore(url: url, datasets: Self.invoicesDataset)
        let rows = try read(store, "invoices", [.userID: ["1"]])
        XCTAssertEqual(rows.map { $0["id"] }, [.integer(1), .integer(2), .integer(5)], "ordered by key")
        let first = try XCTUnwrap(rows.first)
        XCTAssertEqual(first["total"], .decimal(ExactDecimal("12500.00")!))
        XCTAssertEqual(first["issued_on"], .date(CalendarDate("2024-05-31")!))
        XCTAssertEqual(first["issued_at"], .timestamp(Timestamp("2024-05-31T16:00:00Z")!), "timestamptz +02 in UTC")
        XCTAssertEqual(first["paid"], .boolean(true))
        XCTAssertEqual(first["pdf"], .binary([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x34, 0x0a, 0x25, 0xe2, 0xe3, 0xcf, 0xd3, 0x0a]))
        XCTAssertEqual(first["currency"], .string("EUR"))
        XCTAssertNil(first["internal_note"], "secrets are not read")
        XCTAssertEqual(rows[1]["issued_at"], .timestamp(Timestamp("2024-06-30T07:30:00.25Z")!))
        XCTAssertEqual(rows[2]["paid"], .boolean(false))
        XCTAssertEqual(rows[2]["pdf"], .null)
        XCTAssertEqual(rows[2]["issued_at"], .timestamp(Timestamp("2024-10-01T03:30:00Z")!), "-04 crosses midnight")
        XCTAssertEqual(try read(store, "invoices", [.userID: ["2"]]).map { $0["id"] }, [.integer(3)])
        XCTAssertEqual(try read(store, "invoices", [.userID: ["not-a-number"]]).count, 0)
    }

    func testQuotesAndUnicodeAreParametersNotSQL() throws {
        let url = try serverURL()
        let store = try billingStore(url: url, datasets: Self.invoicesDataset)
        // Matched through lower(trim(email)) = $1 with the identity's normal form.
        let zoe = try read(store, "billing_accounts", [.email: [IdentityKind.email.normalize(#"  Zoë.O'Brien+"VIP"@Example.ie "#)]])
        XCTAssertEqual(zoe.map { $0["legal_name"] }, [.string("Zoë O'Brien")])
        XCTAssertEqual(zoe.first?["created_at"], .timestamp(Timestamp("2024-02-29T17:30:00Z")!), "-05:30 in UTC")
        XCTAssertEqual(try read(store, "billing_accounts", [.email: ["李小龍"]]).count, 0)
        XCTAssertEqual(try read(store, "billing_accounts", [.email: ["li@example.cn"]]).map { $0["legal_name"] }, [.string("李小龍")])
        for attack in ["x' OR '1'='1", "' OR 1=1 --", "'; DROP TABLE invoices; --", #"\'; SELECT 1; --"#, "$1", "zoë.o'brien"] {
            XCTAssertEqual(try read(store, "billing_accounts", [.email: [attack]]).count, 0, attack)
        }
        XCTAssertEqual(try count(url, "SELECT count(*) FROM invoices"), 35, "the table is still there")

        // The same through the CLI and the identity graph.
        let dir = try TestSupport.tempDir(self)
        let config = try writeAllStoresConfig(dir)
        let (r, bundle) = try export(config, url: url, subject: [#"email=Zoë.O'Brien+"VIP"@example.ie"#], into: dir)
        XCTAssertEqual(r.code, 0, r.stderr)
        let (files, counts) = try open(bundle, into: dir.appendingPathComponent("x"))
        XCTAssertEqual(counts["billing_accounts"], 1)
        XCTAssertEqual(counts["invoices"], 0)
        XCTAssertTrue(try String(contentsOf: files["billing_accounts.json"]!, encoding: .utf8).contains("Zoë O'Brien"))
    }

    func testErrorsNeverQuoteParameterValues() throws {
        let url = try serverURL()
        // A string-typed identity field over an integer column: the server rejects the statement
        // (the identity's normal form is computed over text, which an integer column is not: a config
        // error) and must not quote the value in the message.
        let datasets = Self.invoicesDataset.replacingOccurrences(of: #"{"name": "user_id", "type": "integer"}"#, with: #"{"name": "user_id", "type": "string"}"#)
        let store = try billingStore(url: url, datasets: datasets)
        assertThrows(.invalidConfig, { _ = try self.read(store, "invoices", [.userID: ["secret-value-ana@example.com"]]) }) {
            XCTAssertFalse($0.description.contains("secret-value-ana"), $0.description)
            XCTAssertTrue($0.description.contains("SQLSTATE"), $0.description)
        }
    }

    func testStreamingStopsCleanlyWhenTheReaderThrows() throws {
        let url = try serverURL()
        let datasets = """
            [{"name": "many", "query": "SELECT g AS id, 1 AS user_id, repeat('x', 200) AS pad FROM generate_series(1, 300000) AS g",
              "category": "billing", "description": "d", "purposes": ["p"], "legalBasis": "contract", "origin": "provided", "key": "id",
              "match": [{"field": "user_id", "identity": "user_id"}],
              "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "pad", "type": "string"}]}]
            """
        let store = try billingStore(url: url, datasets: datasets)
        let c = try PostgreSQLConnector(config: store)
        defer { c.close() }
        try c.validate()
        try c.beginSnapshot()
        let q = SubjectQuery(identities: [.userID: ["1"]])
        struct Stop: Error {}
        var seen = 0
        XCTAssertThrowsError(try c.read(store.datasets[0], for: q) { _ in
            seen += 1
            if seen == 10 { throw Stop() }
        }) { XCTAssertTrue($0 is Stop, "\($0)") }
        XCTAssertEqual(seen, 10, "rows arrive one by one, and stop at the error")
        // The connection is still usable (cancelled query drained; the snapshot aborted is rolled back
        // by close) — a fresh connector reads everything.
        let c2 = try PostgreSQLConnector(config: store)
        defer { c2.close() }
        XCTAssertEqual(try c2.read(store.datasets[0], for: q) { _ in }, 300_000)
    }

    func testSnapshotIsRepeatableAndReadOnly() throws {
        let url = try serverURL()
        let table = "dataport_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        _ = try psql(url, "CREATE TABLE \(table) (id int PRIMARY KEY, user_id int); INSERT INTO \(table) VALUES (1, 7), (2, 7)")
        addTeardownBlock { _ = try? Self.psqlRun(url, "DROP TABLE IF EXISTS \(table)") }
        let store = try billingStore(url: url, datasets: """
            [{"name": "snap", "table": "\(table)", "category": "billing", "description": "d", "purposes": ["p"], "legalBasis": "contract",
              "origin": "provided", "key": "id", "match": [{"field": "user_id", "identity": "user_id"}],
              "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}]}]
            """)
        let c = try PostgreSQLConnector(config: store)
        try c.validate()
        try c.beginSnapshot()
        let q = SubjectQuery(identities: [.userID: ["7"]])
        XCTAssertEqual(try c.read(store.datasets[0], for: q) { _ in }, 2)
        _ = try psql(url, "INSERT INTO \(table) VALUES (3, 7)")
        XCTAssertEqual(try c.read(store.datasets[0], for: q) { _ in }, 2, "the snapshot holds")
        c.close()
        XCTAssertEqual(try read(store, "snap", [.userID: ["7"]]).count, 3)

        // A dataset query cannot write: the session is read-only.
        let writer = try billingStore(url: url, datasets: """
            [{"name": "w", "query": "WITH d AS (DELETE FROM \(table) RETURNING id, user_id) SELECT * FROM d", "category": "billing",
              "description": "d", "purposes": ["p"], "legalBasis": "contract", "origin": "provided", "key": "id",
              "match": [{"field": "user_id", "identity": "user_id"}],
              "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}]}]
            """)
        let w = try PostgreSQLConnector(config: writer)
        defer { w.close() }
        XCTAssertThrowsError(try w.read(writer.datasets[0], for: q) { _ in })
        XCTAssertEqual(try count(url, "SELECT count(*) FROM \(table)"), 3)
    }
}
