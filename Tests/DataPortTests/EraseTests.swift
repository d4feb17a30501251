@testable import DataPort
import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// `dataport erase` against real stores (SQLite, PostgreSQL, CSV, access log) through the built CLI:
/// policies checked at load, every other person's rows byte for byte unchanged, dry runs that
/// change nothing, a failing store rolled back, a SIGKILL leaving each store before or after, the
/// proof catching a row left behind, and the receipt checked by bagit.py, jsonschema and Chromium.
final class EraseTests: XCTestCase {
    static let ana = "email=ana.nunez@example.com"
    static let at = "2026-12-01T00:00:00Z"

    // MARK: - Fixtures

    /// Samples/stores-all.json in `dir`: the app database built there (from sample-app.sql, plus
    /// `sql`), the newsletter CSV and the access log copied there, the billing store at `pgURL`
    /// (left out without one); `edit` changes the config's stores.
    func makeConfig(_ dir: URL, sample: String = "stores-all.json", pgURL: String? = nil, sql: String = "", edit: (inout [[String: Any]]) -> Void = { _ in }) throws -> String {
        let db = dir.appendingPathComponent("app.db").path
        let script = dir.appendingPathComponent("app.sql")
        try Data((try String(contentsOf: TestSupport.samples.appendingPathComponent("sample-app.sql"), encoding: .utf8) + "\n" + sql).utf8).write(to: script)
        let built = try TestSupport.shell("sqlite3 '\(db)' < '\(script.path)'")
        XCTAssertEqual(built.code, 0, built.stderr)
        for f in ["newsletter.csv", "access.log"] {
            try FileManager.default.copyItem(at: TestSupport.samples.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: TestSupport.samples.appendingPathComponent(sample))) as! [String: Any]
        config.removeValue(forKey: "$schema")
        var stores: [[String: Any]] = []
        for var s in config["stores"] as! [[String: Any]] {
            switch s["type"] as! String {
            case "sqlite": s["options"] = ["path": db]
            case "postgresql":
                guard let pgURL else { continue }
                s["options"] = ["url": pgURL]
            default:
                var o = s["options"] as! [String: Any]
                o["path"] = dir.path
                s["options"] = o
            }
            stores.append(s)
        }
        edit(&stores)
        config["stores"] = stores
        // Objections name only datasets still there.
        let names = Set(stores.flatMap { ($0["datasets"] as! [[String: Any]]).map { $0["name"] as! String } })
        if let objections = config["objections"] as? [String: [[String: Any]]] {
            config["objections"] = objections.mapValues { $0.filter { names.contains($0["dataset"] as! String) } }
        }
        let path = dir.appendingPathComponent("stores.json").path
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    @discardableResult
    func erase(_ config: String, _ extra: [String] = [], subject: [String] = [ana], env: [String: String]? = nil) throws -> (TestSupport.Run, [String: Any]) {
        try request("erase", config, extra, subject: subject, env: env)
    }

    /// Runs `command` (erase, object, rectify) with `--json`; the result document parsed.
    func request(_ command: String, _ config: String, _ extra: [String] = [], subject: [String] = [ana], env: [String: String]? = nil) throws -> (TestSupport.Run, [String: Any]) {
        let args = [command, "--config", config, "--requested-at", Self.at, "--json"] + subject.flatMap { ["--subject", $0] } + extra
        let r = try TestSupport.run(TestSupport.binary, args, environment: env)
        // The result comes first; an error's document may follow it.
        let first = r.stdout.range(of: "\n}\n").map { String(r.stdout[..<$0.lowerBound]) + "\n}" } ?? r.stdout
        let doc = (try? JSONSerialization.jsonObject(with: Data(first.utf8))) as? [String: Any] ?? [:]
        return (r, doc)
    }

    func datasets(_ doc: [String: Any]) -> [String: [String: Any]] {
        Dictionary(uniqueKeysWithValues: (doc["datasets"] as? [[String: Any]] ?? []).map { ($0["name"] as! String, $0) })
    }

    func total(_ doc: [String: Any], _ member: String, store: String) -> Int {
        datasets(doc).values.filter { $0["store"] as? String == store }.reduce(0) { $0 + ($1[member] as! Int) }
    }

    /// The key values of the subject's records per dataset, from an access export made before.
    func subjectKeys(_ config: String, in dir: URL, env: [String: String]? = nil) throws -> [String: Set<String>] {
        let out = dir.appendingPathComponent("before-\(UUID().uuidString).zip").path
        let r = try TestSupport.run(TestSupport.binary, ["export", "--config", config, "--subject", Self.ana, "--scope", "access", "--output", out], environment: env)
        XCTAssertEqual(r.code, 0, r.stderr)
        let x = dir.appendingPathComponent("x-\(UUID().uuidString)")
        try TestSupport.unzip(out, into: x)
        var keys: [String: Set<String>] = [:]
        for case let url as URL in FileManager.default.enumerator(at: x, includingPropertiesForKeys: nil)! where url.path.contains("/data/json/") {
            let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            let name = doc["dataset"] as! String
            keys[name] = Set((doc["records"] as! [[String: Any]]).compactMap { ($0["id"] as? NSNumber)?.stringValue })
        }
        return keys
    }

    /// Rewrites the config at `path` through `edit`.
    func editConfig(_ path: String, _ edit: (inout [String: Any]) -> Void) throws {
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    /// A marketing-preferences dataset on `table` (id, user_id, email_ok, opted_out_at) made from
    /// `template`, a dataset of the same store: the subject's rows found by `match`.
    func marketingDataset(from template: [String: Any], table: String, match: [String: String], okType: String) -> [String: Any] {
        var d = template
        for k in ["yields", "columns", "query"] { d.removeValue(forKey: k) }
        d["name"] = "marketing_prefs"
        d["table"] = table
        d["key"] = "id"
        d["category"] = "consents"
        d["match"] = [match]
        d["fields"] = [["name": "id", "type": "integer"], ["name": "user_id", "type": "integer"], ["name": "email_ok", "type": okType], ["name": "opted_out_at", "type": "timestamp"]]
        d["erasure"] = ["action": "delete"]
        return d
    }

    /// Asserts that `after` differs from `before` exactly by `removed` and `added` (each line
    /// given by the prefix that names its table and key, and text it must hold).
    func assertChanged(_ before: [String], _ after: [String], removed: [String], added: [(String, [String])], file: StaticString = #filePath, line: UInt = #line) {
        let gone = minus(before, after), new = minus(after, before)
        XCTAssertEqual(gone.count, removed.count, "rows removed: \(gone)", file: file, line: line)
        XCTAssertEqual(new.count, added.count, "rows added: \(new)", file: file, line: line)
        for prefix in removed { XCTAssertTrue(gone.contains { $0.hasPrefix(prefix) }, "\(prefix) not changed: \(gone)", file: file, line: line) }
        for (prefix, holds) in added {
            let row = new.first { $0.hasPrefix(prefix) }
            XCTAssertNotNil(row, "\(prefix) not written: \(new)", file: file, line: line)
            for h in holds { XCTAssertTrue(row?.contains(h) ?? false, "\(prefix) lacks \(h): \(row ?? "")", file: file, line: line) }
        }
    }

    func sqliteDump(_ db: String) throws -> [String] {
        let r = try TestSupport.shell("sqlite3 '\(db)' .dump")
        XCTAssertEqual(r.code, 0, r.stderr)
        return r.stdout.components(separatedBy: "\n")
    }

    /// `a` minus `b`, as multisets.
    func minus(_ a: [String], _ b: [String]) -> [String] {
        var counts: [String: Int] = [:]
        for x in b { counts[x, default: 0] += 1 }
        return a.filter { x in
            if let n = counts[x], n > 0 { counts[x] = n - 1; return false }
            return true
        }
    }

    func sha256(_ path: String) throws -> String {
        try TestSupport.shell("sha256sum '\(path)'").stdout
    }

    // MARK: - Config

    func testPoliciesAreCheckedWhenTheConfigLoads() throws {
        func load(_ erasure: String, fields: String = #"{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "note", "type": "string"}, {"name": "on", "type": "date"}"#) throws {
            let json = """
            {"version": "1", "controller": {"name": "T", "contact": "t@example.com"}, "stores": [{"name": "s", "type": "sqlite", "options": {"path": "x.db"},
             "datasets": [{"name": "d", "table": "t", "category": "account", "description": "d", "purposes": [], "legalBasis": "contract", "origin": "provided",
               "key": "id", "match": [{"field": "user_id", "identity": "user_id"}], "fields": [\(fields)], "erasure": \(erasure)}]}]}
            """
            _ = try StoresConfig.parse(Array(json.utf8), file: "t.json", baseDirectory: "/tmp")
        }
        XCTAssertNoThrow(try load(#"{"action": "delete"}"#))
        XCTAssertNoThrow(try load(#"{"action": "anonymize", "fields": {"user_id": "null", "note": {"set": "gone"}, "on": {"set": "2000-01-01"}}}"#))
        XCTAssertNoThrow(try load(#"{"action": "retain", "ground": "legal-obligation", "reason": "tax", "until": {"field": "on", "plus": "P10Y"}}"#))
        for (bad, says) in [
            (#"{"action": "shred"}"#, "action"),
            (#"{"action": "anonymize", "fields": {"user_id": {"set": "seven"}}}"#, "user_id.set is not a valid integer"),
            (#"{"action": "anonymize", "fields": {"user_id": "null", "on": {"set": "yesterday"}}}"#, "on.set is not a valid date"),
            (#"{"action": "anonymize", "fields": {"note": {"set": "x"}}}"#, "user_id is not overwritten"),
            (#"{"action": "anonymize", "fields": {"id": "null", "user_id": "null"}}"#, "key id"),
            (#"{"action": "anonymize", "fields": {"user_id": "nothing"}}"#, "must be \"null\""),
            (#"{"action": "retain", "ground": "we-like-it", "reason": "r"}"#, "ground"),
            (#"{"action": "retain", "ground": "legal-claims"}"#, "reason is required"),
            (#"{"action": "retain", "ground": "legal-claims", "reason": "r", "until": {"field": "note", "plus": "P1Y"}}"#, "date or timestamp"),
            (#"{"action": "retain", "ground": "legal-claims", "reason": "r", "until": {"field": "on", "plus": "ten years"}}"#, "ISO 8601 duration"),
            (#"{"action": "delete", "extra": 1}"#, "extra"),
        ] {
            XCTAssertThrowsError(try load(bad), bad) { e in
                let e = e as! DataPortError
                XCTAssertEqual(e.kind, .invalidConfig, bad)
                XCTAssertTrue(e.message.contains(says), "\(bad): \(e.message)")
                XCTAssertFalse(e.message.contains("seven") || e.message.contains("yesterday") || e.message.contains("ten years"), "a value in the error: \(e.message)")
            }
        }
        XCTAssertEqual(ISODuration("P1Y6M")?.end(after: .date(CalendarDate("2020-08-31")!)), Int64(Timestamp("2022-02-28T00:00:00Z")!.seconds))
        XCTAssertNil(ISODuration("P"))
        XCTAssertNil(ISODuration("PT"))
        XCTAssertNil(ISODuration("P1H"))
    }

    func testDatasetsWithoutAPolicyRefuseToStart() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try makeConfig(dir) { stores in
            var ds = stores[0]["datasets"] as! [[String: Any]]
            for i in ds.indices where ["sessions", "cookies"].contains(ds[i]["name"] as! String) { ds[i].removeValue(forKey: "erasure") }
            stores[0]["datasets"] = ds
        }
        let before = try sqliteDump(dir.appendingPathComponent("app.db").path)
        let (r, _) = try erase(config)
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("none is given for: sessions, cookies"), r.stderr)
        XCTAssertEqual(try sqliteDump(dir.appendingPathComponent("app.db").path), before)
    }

    // MARK: - Erasing

    /// SQLite, the CSV file and the access log: the subject's rows go (or are masked, or kept), and
    /// every other line of every store is byte for byte what it was.
    func testEraseChangesOnlyTheSubjectsRowsOnSQLiteCSVAndAccessLog() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try makeConfig(dir)
        let db = dir.appendingPathComponent("app.db").path, csv = dir.appendingPathComponent("newsletter.csv").path
        let log = dir.appendingPathComponent("access.log").path
        XCTAssertEqual(chmod(csv, 0o640), 0)
        let keys = try subjectKeys(config, in: dir)
        let dumpBefore = try sqliteDump(db)
        let csvBefore = try String(contentsOfFile: csv, encoding: .utf8).components(separatedBy: "\n")
        let logBefore = try String(contentsOfFile: log, encoding: .utf8).components(separatedBy: "\n")

        let (r, doc) = try erase(config, ["--receipt", dir.appendingPathComponent("receipt.zip").path])
        XCTAssertEqual(r.code, 0, r.stderr)
        let ds = datasets(doc)
        XCTAssertEqual(ds["account"]?["erased"] as? Int, 1)
        XCTAssertEqual(ds["visits"]?["anonymized"] as? Int, 2)
        XCTAssertEqual(ds["visits"]?["remaining"] as? Int, 0)
        XCTAssertEqual(ds["page_views"]?["erased"] as? Int, 4, "children of an anonymised visit are deleted as their policy says")

        // SQLite: the lines that went are the subject's rows (by table and key), no other.
        let tables = ["account": "users", "contact_details": "contact_details", "quotation_requests": "quotation_requests",
                      "newsletter_subscriptions": "newsletter_subscriptions", "consents": "consents", "enquiries": "enquiries",
                      "sessions": "sessions", "cookies": "cookies", "visits": "visits", "page_views": "page_views",
                      "customer_segments": "customer_segments"]
        var ownKeys: [String: Set<String>] = [:]
        for (d, t) in tables { ownKeys[t] = keys[d] ?? [] }
        let dumpAfter = try sqliteDump(db)
        let removed = minus(dumpBefore, dumpAfter), added = minus(dumpAfter, dumpBefore)
        XCTAssertEqual(removed.count, total(doc, "erased", store: "app") + total(doc, "anonymized", store: "app"))
        XCTAssertEqual(added.count, total(doc, "anonymized", store: "app"))
        let row = try NSRegularExpression(pattern: #"^INSERT INTO "?([a-z_]+)"? VALUES\((-?[0-9]+),"#)
        for line in removed + added {
            let m = try XCTUnwrap(row.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), "not a row: \(line)")
            let table = String(line[Range(m.range(at: 1), in: line)!]), key = String(line[Range(m.range(at: 2), in: line)!])
            XCTAssertTrue(ownKeys[table]?.contains(key) ?? false, "another person's row changed: \(table) \(key)")
        }
        for line in added { XCTAssertTrue(line.contains("'0.0.0.0'") && line.contains("NULL"), line) }

        // CSV: exactly the subject's lines went, the rest in order, the mode kept.
        let csvAfter = try String(contentsOfFile: csv, encoding: .utf8).components(separatedBy: "\n")
        let isAna = { (l: String) in l.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() == "ana.nunez@example.com" } ?? false }
        XCTAssertEqual(csvAfter, csvBefore.filter { !isAna($0) })
        XCTAssertLessThan(csvAfter.count, csvBefore.count)
        var info = stat()
        XCTAssertEqual(stat(csv, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o640)

        // Access log: the subject's lines masked in place, every other line as it was.
        let logAfter = try String(contentsOfFile: log, encoding: .utf8).components(separatedBy: "\n")
        XCTAssertEqual(logAfter.count, logBefore.count)
        let changed = zip(logBefore, logAfter).filter { $0 != $1 }
        XCTAssertEqual(changed.count, datasets(doc)["web_server_log"]?["anonymized"] as? Int)
        XCTAssertGreaterThan(changed.count, 0)
        for (old, new) in changed {
            XCTAssertTrue(new.hasPrefix("0.0.0.0 "), new)
            XCTAssertFalse(new.contains("c-7f3a9e"), new)
            // Only the address and the cookie field differ.
            XCTAssertEqual(String(new.drop { $0 != " " }), String(old.drop { $0 != " " }).replacingOccurrences(of: "\"c-7f3a9e\"", with: "\"-\""))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".partial-") }, [])
    }

    /// The sample config in `dir` with the billing store on the PostgreSQL server, in a schema of
    /// its own (dropped afterwards) holding billing-postgres.sql and `sql`; `dump` lists every row of
    /// every table of that schema, ordered.
    func postgresStore(_ dir: URL, sql extra: String = "", edit: @escaping (inout [[String: Any]]) -> Void = { _ in }) throws -> (config: String, dump: () throws -> [String]) {
        let base: String
        switch PostgreSQLTests.server {
        case .url(let u): base = u
        case .unavailable(let why): throw XCTSkip("PostgreSQL test skipped: \(why)")
        case .broken(let why): throw PostgreSQLTests.ServerDown(reason: why)
        }
        // A schema of this test's own, reached through the URL's search_path.
        let schema = "dataport_erase_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        let url = base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)"
        func psql(_ u: String, _ sql: String) throws -> String {
            let r = try PostgreSQLTests.psqlRun(u, sql)
            XCTAssertEqual(r.code, 0, r.stderr)
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try psql(base, "CREATE SCHEMA \(schema)")
        addTeardownBlock { _ = try? PostgreSQLTests.psqlRun(base, "DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        let load = try TestSupport.run("/usr/bin/env", ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", TestSupport.samples.appendingPathComponent("billing-postgres.sql").path])
        XCTAssertEqual(load.code, 0, load.stderr)
        if !extra.isEmpty { _ = try psql(url, extra) }
        let config = try makeConfig(dir, pgURL: url) { stores in
            for i in stores.indices where stores[i]["type"] as? String == "postgresql" {
                var ds = stores[i]["datasets"] as! [[String: Any]]
                for j in ds.indices { if let t = ds[j]["table"] as? String { ds[j]["table"] = t.replacingOccurrences(of: "public.", with: "") } }
                stores[i]["datasets"] = ds
            }
            edit(&stores)
        }
        let tables = try psql(base, "SELECT tablename FROM pg_tables WHERE schemaname = '\(schema)' ORDER BY 1").split(separator: "\n").map(String.init)
        let dump = {
            try tables.flatMap { t in
                try psql(url, "SET TimeZone = 'UTC'; SELECT '\(t) ' || r::text FROM \"\(t)\" r ORDER BY 1").split(separator: "\n").map(String.init)
            }
        }
        return (config, dump)
    }

    func testEraseOnPostgreSQLChangesOnlyTheSubjectsRows() throws {
        let dir = try TestSupport.tempDir(self)
        let (config, dump) = try postgresStore(dir)
        let keys = try subjectKeys(config, in: dir)
        let before = try dump()
        let (dry, _) = try erase(config, ["--dry-run"])
        XCTAssertEqual(dry.code, 0, dry.stderr)
        XCTAssertEqual(try dump(), before, "--dry-run changed the PostgreSQL store")
        let (r, doc) = try erase(config)
        XCTAssertEqual(r.code, 0, r.stderr)
        let after = try dump()
        let removed = minus(before, after), added = minus(after, before)
        XCTAssertEqual(removed.count, total(doc, "erased", store: "billing") + total(doc, "anonymized", store: "billing"))
        XCTAssertGreaterThan(removed.count, 0)
        XCTAssertEqual(added.count, total(doc, "anonymized", store: "billing"))
        let own = ["billing_accounts": keys["billing_accounts"] ?? [], "invoices": keys["invoices"] ?? [], "payments": keys["payments"] ?? []]
        for line in removed + added {
            let parts = line.split(separator: " ", maxSplits: 1)
            let key = parts[1].dropFirst().prefix { $0 != "," && $0 != ")" }
            XCTAssertTrue(own[String(parts[0])]?.contains(String(key)) ?? false, "another person's row changed: \(parts[0]) \(key)")
        }
        XCTAssertGreaterThan(datasets(doc)["invoices"]?["retained"] as? Int ?? 0, 0, "invoices are retained for tax law")
    }

    /// The WordPress sample's blog store (without wp_profile) in a database of its own on the MySQL
    /// server (dropped afterwards) holding its schema, its data and `sql`, with erasure policies;
    /// `datasets` are added to the store; `dump` lists every row of every table, ordered.
    func mysqlStore(_ dir: URL, sql extra: String = "", datasets more: [[String: Any]] = [], tables extraTables: [String] = [],
                    objections: [String: Any]? = nil) throws -> (config: String, env: [String: String], dump: () throws -> [String]) {
        var server: URLComponents
        switch MySQLTests.server {
        case .url(let u): server = URLComponents(string: u)!
        case .unavailable(let why): throw XCTSkip("MySQL test skipped: \(why)")
        case .broken(let why): throw MySQLTests.ServerDown(reason: why)
        }
        let name = "dataport_e_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let base = server.string!
        XCTAssertEqual(try MySQLTests.clientRun(base, database: nil, "CREATE DATABASE \(name) CHARACTER SET utf8mb4").code, 0)
        addTeardownBlock { _ = try? MySQLTests.clientRun(base, database: nil, "DROP DATABASE IF EXISTS \(name)") }
        server.path = "/" + name
        let url = server.string!
        func sql(_ text: String) throws -> String {
            let r = try MySQLTests.clientRun(url, database: String(name), text)
            XCTAssertEqual(r.code, 0, r.stderr)
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for f in ["schema.sql", "sample-data.sql"] { _ = try sql("SOURCE \(MySQLTests.wordpress.appendingPathComponent(f).path)") }
        if !extra.isEmpty { _ = try sql(extra) }
        var wp = try JSONSerialization.jsonObject(with: Data(contentsOf: MySQLTests.wordpress.appendingPathComponent("stores.json"))) as! [String: Any]
        wp.removeValue(forKey: "$schema")
        var stores = [(wp["stores"] as! [[String: Any]])[0]]
        var ds = (stores[0]["datasets"] as! [[String: Any]]).filter { $0["name"] as? String != "wp_profile" }
        let policies: [String: Any] = [
            "wp_account": ["action": "delete"],
            "wp_posts": ["action": "anonymize", "fields": ["author": ["set": 0]]],
            "wp_comments": ["action": "anonymize", "fields": ["author": ["set": "Anonymous"], "author_email": ["set": ""], "author_url": ["set": ""],
                                                               "author_ip": ["set": ""], "user_id": ["set": 0]]],
        ]
        for i in ds.indices { ds[i]["erasure"] = policies[ds[i]["name"] as! String] }
        stores[0]["datasets"] = ds + more
        wp["stores"] = stores
        wp["objections"] = objections
        let config = dir.appendingPathComponent("wp.json").path
        try JSONSerialization.data(withJSONObject: wp, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: config))
        let env = ["DATAPORT_WORDPRESS_URL": url]
        let dump = {
            try (["wp_users", "wp_posts", "wp_comments", "wp_usermeta"] + extraTables).flatMap { t in
                try sql("SELECT * FROM \(t) ORDER BY 1").split(separator: "\n").map { "\(t)\t\($0)" }
            }
        }
        return (config, env, dump)
    }

    /// MySQL/MariaDB through the same session path: the WordPress sample's blog store, its user
    /// deleted, their posts and comments anonymised, nobody else's row touched.
    func testEraseOnMySQLChangesOnlyTheSubjectsRows() throws {
        let dir = try TestSupport.tempDir(self)
        let (config, env, dump) = try mysqlStore(dir)
        let keys = try subjectKeys(config, in: dir, env: env)
        let before = try dump()
        let (r, doc) = try erase(config, env: env)
        XCTAssertEqual(r.code, 0, r.stderr)
        let after = try dump()
        let removed = minus(before, after), added = minus(after, before)
        let changed = total(doc, "erased", store: "blog") + total(doc, "anonymized", store: "blog")
        XCTAssertGreaterThan(changed, 0)
        XCTAssertEqual(removed.count, changed)
        XCTAssertEqual(added.count, total(doc, "anonymized", store: "blog"))
        let own = ["wp_users": keys["wp_account"] ?? [], "wp_posts": keys["wp_posts"] ?? [], "wp_comments": keys["wp_comments"] ?? []]
        for line in removed + added {
            let parts = line.split(separator: "\t")
            XCTAssertTrue(own[String(parts[0])]?.contains(String(parts[1])) ?? false, "another person's row changed: \(parts[0]) \(parts[1])")
        }
        XCTAssertEqual(datasets(doc)["wp_comments"]?["remaining"] as? Int, 0)
    }

    /// A JSON Lines store: the subject's lines deleted or rewritten with the masks, all others byte for byte.
    func testEraseOnJSONLines() throws {
        let dir = try TestSupport.tempDir(self)
        let lines = [
            #"{"email": "ana.nunez@example.com", "event": "open", "ip": "203.0.113.7", "n": 1}"#,
            #"{"email":"bo@example.org","event":"click","ip":"198.51.100.1","n":2}"#,
            #"{"email": "Ana.Nunez@Example.com", "event": "click", "ip": "203.0.113.7", "n": 3}"#,
            #"{"event":"open","email":"  zoë@example.ie ","ip":null,"n":4.50}"#,
        ]
        try Data((lines.joined(separator: "\n") + "\r\n").utf8).write(to: dir.appendingPathComponent("events.jsonl"))
        func config(_ erasure: String) throws -> String {
            let json = """
            {"version": "1", "controller": {"name": "T", "contact": "t@example.com"}, "stores": [{"name": "mail", "type": "jsonl", "options": {"path": "\(dir.path)"},
             "datasets": [{"name": "events", "file": "events.jsonl", "category": "communications", "description": "d", "purposes": [], "legalBasis": "consent", "origin": "observed",
               "match": [{"field": "email", "identity": "email"}], "fields": [{"name": "email", "type": "string"}, {"name": "event", "type": "string"}, {"name": "ip", "type": "string"}, {"name": "n", "type": "decimal"}],
               "erasure": \(erasure)}]}]}
            """
            let path = dir.appendingPathComponent("c-\(UUID().uuidString).json").path
            try Data(json.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let file = dir.appendingPathComponent("events.jsonl").path
        let (a, docA) = try erase(try config(#"{"action": "anonymize", "fields": {"email": {"set": "erased@invalid"}, "ip": "null"}}"#))
        XCTAssertEqual(a.code, 0, a.stderr)
        XCTAssertEqual(datasets(docA)["events"]?["anonymized"] as? Int, 2)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), [
            #"{"email":"erased@invalid","event":"open","ip":null,"n":1}"#, lines[1],
            #"{"email":"erased@invalid","event":"click","ip":null,"n":3}"#, lines[3],
        ].joined(separator: "\n") + "\r\n")
        let (d, _) = try erase(try config(#"{"action": "delete"}"#), subject: ["email=bo@example.org"])
        XCTAssertEqual(d.code, 0, d.stderr)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), [
            #"{"email":"erased@invalid","event":"open","ip":null,"n":1}"#,
            #"{"email":"erased@invalid","event":"click","ip":null,"n":3}"#, lines[3],
        ].joined(separator: "\n") + "\r\n")
    }

    /// A CSV file anonymised: the subject's records rewritten with the masks (quoting kept for the
    /// other fields, the line ends kept), every other record byte for byte.
    func testAnonymizingCSVKeepsEveryOtherByte() throws {
        let dir = try TestSupport.tempDir(self)
        let text = "email,name,note,n\r\n" +
            "ana.nunez@example.com,\"Núñez, Ana\",\"said \"\"hi\"\"\",1\r\n" +
            "bo@example.org,Bo,,2\r\n" +
            "\" Ana.Nunez@Example.com\",Ana,\"multi\nline\",3\r\n" +
            "cy@example.org,\"Cy\",x,4"
        try Data(text.utf8).write(to: dir.appendingPathComponent("list.csv"))
        let json = """
        {"version": "1", "controller": {"name": "T", "contact": "t@example.com"}, "stores": [{"name": "mail", "type": "csv", "options": {"path": "\(dir.path)"},
         "datasets": [{"name": "list", "file": "list.csv", "category": "subscriptions", "description": "d", "purposes": [], "legalBasis": "consent", "origin": "provided",
           "match": [{"field": "email", "identity": "email"}], "fields": [{"name": "email", "type": "string"}, {"name": "name", "type": "string"}, {"name": "note", "type": "string"}, {"name": "n", "type": "integer"}],
           "erasure": {"action": "anonymize", "fields": {"email": {"set": ""}, "name": {"set": "Anonymous, really"}, "note": "null"}}}]}]}
        """
        let config = dir.appendingPathComponent("c.json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: config))
        let (r, doc) = try erase(config)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(datasets(doc)["list"]?["anonymized"] as? Int, 2)
        XCTAssertEqual(datasets(doc)["list"]?["remaining"] as? Int, 0)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("list.csv"), encoding: .utf8),
                       "email,name,note,n\r\n" +
                       "\"\",\"Anonymous, really\",,1\r\n" +
                       "bo@example.org,Bo,,2\r\n" +
                       "\"\",\"Anonymous, really\",,3\r\n" +
                       "cy@example.org,\"Cy\",x,4")
    }

    /// `erase --json` matches its schema in cli-output.schema.json.
    func testJSONOutputMatchesTheCLIOutputSchema() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try makeConfig(dir)
        let (r, _) = try erase(config, ["--dry-run"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let schema = TestSupport.root.appendingPathComponent("formats/cli-output.schema.json").path
        let out = dir.appendingPathComponent("out.json")
        try Data(r.stdout.utf8).write(to: out)
        let script = "import json,sys,jsonschema; s=json.load(open(sys.argv[1])); w={'$schema': s['$schema'], '$defs': s['$defs'], '$ref': '#/$defs/erase'}; jsonschema.validate(json.load(open(sys.argv[2])), w, cls=jsonschema.Draft202012Validator)"
        let check = try TestSupport.run("/usr/bin/env", ["python3", "-c", script, schema, out.path])
        XCTAssertEqual(check.code, 0, check.stderr)
    }

    /// A row matched only through a weak identifier another person shares (an IP that another
    /// user's visit holds too) is never changed, and the receipt counts it.
    func testRowsMatchedOnlyThroughASharedIdentifierAreLeftAlone() throws {
        let dir = try TestSupport.tempDir(self)
        // Another user's visit from Ana's address makes the address shared.
        let config = try makeConfig(dir, sql: "INSERT INTO visits (user_id, cookie_id, ip, started_at) VALUES (2, NULL, '203.0.113.7', '2024-07-09 10:00:00');")
        let log = dir.appendingPathComponent("access.log")
        let shared = #"203.0.113.7 - - [09/Jul/2024:10:00:00 +0000] "GET /shared HTTP/1.1" 200 1 "-" "Other browser" "-""#
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        handle.write(Data((shared + "\n").utf8))
        try handle.close()
        let (r, doc) = try erase(config)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(datasets(doc)["web_server_log"]?["sharedLeft"] as? Int, 1)
        let lines = try String(contentsOf: log, encoding: .utf8).components(separatedBy: "\n")
        XCTAssertTrue(lines.contains(shared), "a line matched only through the shared address was changed")
        XCTAssertEqual(try TestSupport.shell("sqlite3 '\(dir.appendingPathComponent("app.db").path)' \"SELECT count(*) FROM visits WHERE user_id = 2 AND ip = '203.0.113.7'\"").stdout, "1\n")
    }

    func testDryRunChangesNothing() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try makeConfig(dir)
        let files = ["app.db", "newsletter.csv", "access.log"].map { dir.appendingPathComponent($0).path }
        let hashes = try files.map(sha256)
        let dump = try sqliteDump(files[0])
        let (r, doc) = try erase(config, ["--dry-run", "--receipt", dir.appendingPathComponent("plan.zip").path])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(doc["dryRun"] as? Bool, true)
        XCTAssertEqual(datasets(doc)["account"]?["erased"] as? Int, 1, "the plan is computed")
        XCTAssertTrue(datasets(doc)["account"]?["remaining"] is NSNull)
        XCTAssertEqual(try files.map(sha256), hashes)
        XCTAssertEqual(try sqliteDump(files[0]), dump)
        XCTAssertEqual(try TestSupport.dataport("verify", dir.appendingPathComponent("plan.zip").path).code, 0)
        // The same plan, then, is what a real run does.
        let (real, done) = try erase(config)
        XCTAssertEqual(real.code, 0, real.stderr)
        for (name, d) in datasets(doc) {
            for k in ["before", "erased", "anonymized", "retained"] { XCTAssertEqual(d[k] as? Int, datasets(done)[name]?[k] as? Int, "\(name).\(k)") }
        }
    }

    /// A store whose change fails is rolled back whole; the other stores' erasures stand, and the
    /// receipt says which failed.
    func testAFailingStoreRollsBackAndTheOthersStand() throws {
        let dir = try TestSupport.tempDir(self)
        // visits.ip is NOT NULL: masking it with NULL fails in the middle of the app store's transaction.
        let config = try makeConfig(dir) { stores in
            var ds = stores[0]["datasets"] as! [[String: Any]]
            for i in ds.indices where ds[i]["name"] as? String == "visits" {
                ds[i]["erasure"] = ["action": "anonymize", "fields": ["user_id": "null", "cookie_id": "null", "ip": "null"]]
            }
            stores[0]["datasets"] = ds
        }
        let db = dir.appendingPathComponent("app.db").path, csv = dir.appendingPathComponent("newsletter.csv").path
        let dump = try sqliteDump(db), csvHash = try sha256(csv)
        let receipt = dir.appendingPathComponent("r.zip").path
        let (r, doc) = try erase(config, ["--receipt", receipt])
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("store app failed and was rolled back; the other stores' erasures stand"), r.stderr)
        XCTAssertEqual(try sqliteDump(db), dump, "the failed store was not rolled back")
        XCTAssertNotEqual(try sha256(csv), csvHash, "the CSV store's erasure should stand")
        let stores = Dictionary(uniqueKeysWithValues: (doc["stores"] as? [[String: Any]] ?? []).map { ($0["name"] as! String, $0["status"] as! String) })
        XCTAssertEqual(stores["app"], "failed")
        XCTAssertEqual(stores["newsletter"], "erased")
        XCTAssertTrue(datasets(doc)["account"]?["remaining"] is NSNull, "a failed store's datasets are not claimed")
        XCTAssertEqual(try TestSupport.dataport("verify", receipt).code, 0)
        let inspect = try TestSupport.dataport("inspect", receipt)
        XCTAssertTrue(inspect.stdout.contains("store app: failed, rolled back"), inspect.stdout)
    }

    /// A row that comes back (a trigger here; another writer in life) fails the proof: exit 10, naming the dataset.
    func testTheProofCatchesARowLeftBehind() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try makeConfig(dir, sql: "CREATE TRIGGER comes_back AFTER DELETE ON sessions BEGIN INSERT INTO sessions (user_id, token, created_at) VALUES (OLD.user_id, NULL, OLD.created_at); END;")
        let (r, doc) = try erase(config)
        XCTAssertEqual(r.code, 10, r.stderr)
        XCTAssertTrue(r.stderr.contains("the erasure proof found rows of the subject left in: sessions"), r.stderr)
        XCTAssertEqual(datasets(doc)["sessions"]?["remaining"] as? Int, 1)
        XCTAssertEqual((doc["proof"] as? [String: Any])?["failedDatasets"] as? [String], ["sessions"])
    }

    /// SIGKILL at several moments of an erasure of a big store: afterwards the database is
    /// exactly as before or exactly as after a complete run, never in between.
    func testSIGKILLLeavesTheStoreBeforeOrAfter() throws {
        let dir = try TestSupport.tempDir(self)
        let many = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) INSERT INTO page_views (visit_id, viewed_at, path) SELECT 1, '2024-07-07 07:00:00', '/p' || i FROM n;"
        let config = try makeConfig(dir, sql: many) { stores in stores = [stores[0]] }
        let db = dir.appendingPathComponent("app.db").path
        let pristine = dir.appendingPathComponent("pristine.db").path
        try FileManager.default.copyItem(atPath: db, toPath: pristine)
        let before = try sqliteDump(db).joined(separator: "\n")
        let (full, _) = try erase(config)
        XCTAssertEqual(full.code, 0, full.stderr)
        let after = try sqliteDump(db).joined(separator: "\n")
        XCTAssertNotEqual(before, after)
        // Each run is killed once its write transaction has begun (SQLite's journal exists), after
        // a few more milliseconds of writing.
        var midway = 0, seen = Set<String>()
        for extra in [0.0, 0.002, 0.005, 0.01, 0.02, 0.05] {
            try? FileManager.default.removeItem(atPath: db)
            try FileManager.default.copyItem(atPath: pristine, toPath: db)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestSupport.binary)
            p.arguments = ["erase", "--config", config, "--subject", Self.ana, "--requested-at", Self.at, "--quiet"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let deadline = Date().addingTimeInterval(60)
            while p.isRunning, !FileManager.default.fileExists(atPath: db + "-journal"), Date() < deadline { usleep(200) }
            if extra > 0 { Thread.sleep(forTimeInterval: extra) }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if p.terminationReason == .uncaughtSignal && FileManager.default.fileExists(atPath: db + "-journal") { midway += 1 }
            let state = try sqliteDump(db).joined(separator: "\n")
            XCTAssertTrue(state == before || state == after, "killed \(extra) s into writing: the store is neither before nor after")
            seen.insert(state == before ? "before" : "after")
        }
        XCTAssertGreaterThan(midway, 0, "no run was killed inside its write transaction: the test proved nothing")
        print("SIGKILL runs: \(midway) landed inside the write transaction; states seen: \(seen.sorted())")
    }

    /// The same for a file store: a big CSV killed while its new version is being written (the
    /// hidden partial file exists) is exactly the old file or exactly the new one.
    func testSIGKILLLeavesAFileStoreBeforeOrAfter() throws {
        let dir = try TestSupport.tempDir(self)
        var text = "email,list,subscribed_at,status\n"
        for i in 0..<60_000 { text += (i % 3 == 0 ? "ana.nunez@example.com" : "customer\(i)@example.com") + ",news,2024-01-01T00:00:00Z,subscribed\n" }
        let csv = dir.appendingPathComponent("newsletter.csv").path
        let json = """
        {"version": "1", "controller": {"name": "T", "contact": "t@example.com"}, "stores": [{"name": "mail", "type": "csv", "options": {"path": "\(dir.path)"},
         "datasets": [{"name": "list", "file": "newsletter.csv", "category": "subscriptions", "description": "d", "purposes": [], "legalBasis": "consent", "origin": "provided",
           "match": [{"field": "email", "identity": "email"}], "fields": [{"name": "email", "type": "string"}, {"name": "list", "type": "string"}, {"name": "subscribed_at", "type": "timestamp"}, {"name": "status", "type": "string"}],
           "erasure": {"action": "delete"}}]}]}
        """
        let config = dir.appendingPathComponent("c.json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: config))
        try Data(text.utf8).write(to: URL(fileURLWithPath: csv))
        let before = try sha256(csv)
        let (full, _) = try erase(config)
        XCTAssertEqual(full.code, 0, full.stderr)
        let after = try sha256(csv)
        XCTAssertNotEqual(before, after)
        var midway = 0
        for extra in [0.0, 0.002] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: csv))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestSupport.binary)
            p.arguments = ["erase", "--config", config, "--subject", Self.ana, "--requested-at", Self.at, "--quiet"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let deadline = Date().addingTimeInterval(60)
            func partial() -> Bool { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).contains { $0.contains(".partial-") } }
            while p.isRunning, !partial(), Date() < deadline { usleep(200) }
            if extra > 0 { Thread.sleep(forTimeInterval: extra) }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if p.terminationReason == .uncaughtSignal && partial() { midway += 1 }
            let state = try sha256(csv)
            XCTAssertTrue(state == before || state == after, "killed \(extra) s into rewriting: the file is neither before nor after")
            // What SIGKILL leaves is the hidden partial file, never the store's file half-written.
            for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) where f.contains(".partial-") {
                try FileManager.default.removeItem(atPath: dir.appendingPathComponent(f).path)
            }
        }
        XCTAssertGreaterThan(midway, 0, "no run was killed while the file was being rewritten: the test proved nothing")
    }

    // MARK: - The receipt

    func testTheReceiptIsAValidBagWithASchemaAndARenderedPage() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try makeConfig(dir, sample: "stores.json")
        let receipt = dir.appendingPathComponent("receipt.zip").path
        let (r, doc) = try erase(config, ["--receipt", receipt])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(doc["receipt"] as? String, receipt)
        XCTAssertEqual(try TestSupport.dataport("verify", receipt).code, 0)
        let inspect = try TestSupport.dataport("inspect", receipt)
        XCTAssertTrue(inspect.stdout.contains("erasure receipt") && inspect.stdout.contains("invoices"), inspect.stdout)
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(receipt, into: x)
        let top = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil).first)
        if TestSupport.has("bagit.py") {
            let bag = try TestSupport.shell("bagit.py --validate '\(top.path)' 2>&1")
            XCTAssertEqual(bag.code, 0, bag.stdout)
        }
        let schema = TestSupport.root.appendingPathComponent("formats/receipt.schema.json").path
        let check = try TestSupport.shell("python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), cls=jsonschema.Draft202012Validator)' '\(top.path)/data/receipt.json' '\(schema)' 2>&1")
        XCTAssertEqual(check.code, 0, check.stdout)
        // The embedded schema is the published one.
        XCTAssertEqual(try String(contentsOf: top.appendingPathComponent("schemas/receipt.schema.json"), encoding: .utf8),
                       try String(contentsOfFile: schema, encoding: .utf8))
        // No erased personal data: no identity value, no name, no address, no email of the subject anywhere.
        let all = try TestSupport.shell("cat '\(top.path)'/*.* '\(top.path)'/data/* '\(top.path)'/*.txt").stdout.lowercased()
        for value in ["ana.nunez@example.com", "núñez", "nunez", "203.0.113.7", "c-7f3a9e", "argon2"] {
            XCTAssertFalse(all.contains(value), "the receipt holds \(value)")
        }
        XCTAssertTrue(all.contains(SHA256Text.of("ana.nunez@example.com")), "the identity's SHA-256 is there")
        let receiptDoc = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("data/receipt.json"))) as! [String: Any]
        let invoices = try XCTUnwrap(datasets(receiptDoc)["invoices"])
        let retention = try XCTUnwrap(invoices["retention"] as? [String: Any])
        XCTAssertEqual(retention["ground"] as? String, "legal-obligation")
        XCTAssertNotNil((retention["until"] as? [String: Any])?["last"])
        // The page renders in a real browser.
        guard let browser = ["chromium", "chromium-browser"].first(where: TestSupport.has) else {
            throw XCTSkip("chromium is not installed")
        }
        let flags = "--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync"
        let dom = try TestSupport.shell("timeout 60 \(browser) \(flags) --user-data-dir='\(dir.path)/profile' --dump-dom 'file://\(top.path)/index.html' 2>/dev/null")
        XCTAssertEqual(dom.code, 0)
        XCTAssertTrue(dom.stdout.contains("Receipt of your erasure request"), dom.stdout)
        XCTAssertTrue(dom.stdout.contains("for compliance with a legal obligation (Art. 17(3)(b) GDPR)"), dom.stdout)
        XCTAssertTrue(dom.stdout.contains("Invoices are kept for 10 years (tax law)"), dom.stdout)
    }

    /// The receipt speaks the person's language: the config's `language` (Lithuanian here), its
    /// dates in that language and time zone, the GDPR's own Lithuanian terms; `--language` overrides
    /// it and a refused value is not echoed; the manifest records the language; the page renders.
    func testTheReceiptIsInThePersonsLanguage() throws {
        let dir = try TestSupport.tempDir(self)
        let path = try makeConfig(dir, sample: "stores.json")
        try editConfig(path) { config in
            config["language"] = "lt"
            config["timeZone"] = "Europe/Vilnius"
            // A retention reason given by language.
            var stores = config["stores"] as! [[String: Any]]
            var ds = stores[0]["datasets"] as! [[String: Any]]
            for i in ds.indices where ds[i]["name"] as? String == "invoices" {
                var e = ds[i]["erasure"] as! [String: Any]
                e["reason"] = ["en": "Invoices are kept for 10 years (tax law)", "lt": "Sąskaitos faktūros saugomos 10 metų (mokesčių įstatymas)"]
                ds[i]["erasure"] = e
            }
            stores[0]["datasets"] = ds
            config["stores"] = stores
        }
        let db = dir.appendingPathComponent("app.db").path
        let dump = try sqliteDump(db)
        let refused = try TestSupport.dataport("erase", "--config", path, "--subject", Self.ana, "--language", "klingon", "--receipt", dir.appendingPathComponent("no.zip").path)
        XCTAssertEqual(refused.code, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--language must be one of en, lt, de, fr, es"), refused.stderr)
        XCTAssertFalse(refused.stderr.contains("klingon"), refused.stderr)
        XCTAssertEqual(try sqliteDump(db), dump)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("no.zip").path))

        // --language overrides the config's: an objection plan in German.
        let plan = dir.appendingPathComponent("plan.zip").path
        let o = try TestSupport.dataport("object", "--config", path, "--subject", Self.ana, "--purpose", "marketing", "--dry-run",
                                         "--language", "de", "--requested-at", Self.at, "--receipt", plan)
        XCTAssertEqual(o.code, 0, o.stderr)
        do {
            let y = dir.appendingPathComponent("y")
            try TestSupport.unzip(plan, into: y)
            let page = try String(contentsOf: try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: y, includingPropertiesForKeys: nil).first).appendingPathComponent("index.html"), encoding: .utf8)
            XCTAssertTrue(page.contains("<html lang=\"de\">") && page.contains("Plan für den Widerspruch (nichts wurde geändert)") && page.contains("Widerspruchsrecht, Art. 21 DSGVO"), page)
        }
        XCTAssertEqual(try sqliteDump(db), dump, "a dry run changed the store")

        let receipt = dir.appendingPathComponent("kvitas.zip").path
        let (r, _) = try erase(path, ["--receipt", receipt])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try TestSupport.dataport("verify", receipt).code, 0)
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(receipt, into: x)
        let top = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil).first)
        if TestSupport.has("bagit.py") {
            let bag = try TestSupport.shell("bagit.py --validate '\(top.path)' 2>&1")
            XCTAssertEqual(bag.code, 0, bag.stdout)
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("manifest.json"))) as! [String: Any]
        XCTAssertEqual(manifest["presentation"] as? [String: String], ["language": "lt", "timeZone": "Europe/Vilnius"])
        let html = try String(contentsOf: top.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<html lang=\"lt\">"), html)
        XCTAssertTrue(html.contains("<h1>Jūsų prašymo ištrinti duomenis kvitas</h1>"), html)
        XCTAssertTrue(html.contains("teisė reikalauti ištrinti duomenis, BDAR 17 straipsnis"), html)
        XCTAssertTrue(html.contains("siekiant laikytis teisinės prievolės (BDAR 17 straipsnio 3 dalies b punktas)"), html)
        // 2026-12-01T00:00:00Z is 02:00 in Vilnius, written the Lithuanian way.
        XCTAssertTrue(html.contains("2026 m. gruodžio 1 d. 02:00:00 (Europe/Vilnius laiku)"), html)
        XCTAssertTrue(html.contains("Sąskaitos faktūros saugomos 10 metų (mokesčių įstatymas)."), html)
        XCTAssertTrue(html.contains("<th>Duomenys</th>") && html.contains("<td>ištrinti</td>") && html.contains("<td>palikti</td>"), html)
        for english in ["Receipt of", "What we did", "records kept", "They will be erased", "Invoices are kept", "receipt.", "{1}", "{n}"] {
            XCTAssertFalse(html.contains(english), "left in English or unfilled: \(english)")
        }
        // The hold's end date in Lithuanian too.
        XCTAssertNotNil(html.range(of: #"Jie bus ištrinti (nuo )?[0-9]{4} m\. [a-ząčęėįšųūž]+ [0-9]{1,2} d\."#, options: .regularExpression), html)
        guard let browser = ["chromium", "chromium-browser"].first(where: TestSupport.has) else { throw XCTSkip("chromium is not installed") }
        let flags = "--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync"
        let dom = try TestSupport.shell("timeout 60 \(browser) \(flags) --user-data-dir='\(dir.path)/profile' --dump-dom 'file://\(top.path)/index.html' 2>/dev/null")
        XCTAssertEqual(dom.code, 0)
        XCTAssertTrue(dom.stdout.contains("Jūsų prašymo ištrinti duomenis kvitas"), dom.stdout)

    }

    // MARK: - Objection and rectification

    /// An objection to marketing: the subject's newsletter rows get `unsubscribed_at` (SQLite) and
    /// `status` (CSV) set, nobody else's line changes, the proof finds the new values, the receipt verifies.
    func testObjectionToMarketingStopsItAndChangesNothingElse() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try makeConfig(dir)
        let db = dir.appendingPathComponent("app.db").path, csv = dir.appendingPathComponent("newsletter.csv").path
        let dump = try sqliteDump(db)
        let csvBefore = try String(contentsOfFile: csv, encoding: .utf8).components(separatedBy: "\n")
        let receipt = dir.appendingPathComponent("objection.zip").path
        let r = try TestSupport.run(TestSupport.binary, ["object", "--config", config, "--subject", Self.ana, "--purpose", "marketing",
                                                          "--requested-at", Self.at, "--receipt", receipt, "--json"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(doc["request"] as? String, "objection")
        XCTAssertEqual(datasets(doc)["newsletter_subscriptions"]?["anonymized"] as? Int, 2)
        XCTAssertEqual(datasets(doc)["newsletter_subscriptions"]?["fields"] as? [String], ["unsubscribed_at"])
        let removed = minus(dump, try sqliteDump(db)), added = minus(try sqliteDump(db), dump)
        XCTAssertEqual(removed.count, 2)
        XCTAssertEqual(added.count, 2)
        for line in added { XCTAssertTrue(line.hasPrefix("INSERT INTO newsletter_subscriptions VALUES(") && line.contains("2026-12-01"), line) }
        let csvAfter = try String(contentsOfFile: csv, encoding: .utf8).components(separatedBy: "\n")
        for (old, new) in zip(csvBefore, csvAfter) where old != new {
            XCTAssertTrue(old.lowercased().hasPrefix("ana.nunez@example.com,"), old)
            XCTAssertTrue(new.hasSuffix(",unsubscribed"), new)
        }
        XCTAssertEqual(zip(csvBefore, csvAfter).filter { $0 != $1 }.count, 1, "one of the two rows was unsubscribed already")
        XCTAssertEqual(try TestSupport.dataport("verify", receipt).code, 0)
        // Twice is a no-op: the rows hold the values already.
        let again = try TestSupport.run(TestSupport.binary, ["object", "--config", config, "--subject", Self.ana, "--purpose", "marketing", "--requested-at", Self.at, "--json"])
        XCTAssertEqual(again.code, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("\"unchanged\""), again.stdout)
        let unknown = try TestSupport.dataport("object", "--config", config, "--subject", Self.ana, "--purpose", "profiling")
        XCTAssertEqual(unknown.code, 2, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("declares: marketing"), unknown.stderr)
    }

    /// A rectification: only the named row of the subject changes; values typed; another
    /// person's key is refused before anything is written; old and new values only on stdout.
    func testRectifyChangesOnlyTheNamedRowOfTheSubject() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try makeConfig(dir, sample: "stores.json")
        let db = dir.appendingPathComponent("app.db").path
        let dump = try sqliteDump(db)
        // Row 2 of contact_details is another person's.
        let other = try TestSupport.dataport("rectify", "--config", config, "--subject", Self.ana, "--set", "contact_details.city=Lisboa", "--where", "contact_details.id=2")
        XCTAssertEqual(other.code, 2, other.stderr)
        XCTAssertTrue(other.stderr.contains("holds no row of the subject with that key; nothing was changed"), other.stderr)
        XCTAssertFalse(other.stderr.contains("Lisboa"))
        XCTAssertEqual(try sqliteDump(db), dump)
        let badType = try TestSupport.dataport("rectify", "--config", config, "--subject", Self.ana, "--set", "newsletter_subscriptions.confirmed=maybe", "--where", "newsletter_subscriptions.id=1")
        XCTAssertEqual(badType.code, 2, badType.stderr)
        XCTAssertFalse(badType.stderr.contains("maybe"))
        let linked = try TestSupport.dataport("rectify", "--config", config, "--subject", Self.ana, "--set", "contact_details.user_id=2", "--where", "contact_details.id=1")
        XCTAssertEqual(linked.code, 2, linked.stderr)
        let r = try TestSupport.run(TestSupport.binary, ["rectify", "--config", config, "--subject", Self.ana, "--set", "contact_details.city=Lisboa",
                                                          "--where", "contact_details.id=1", "--requested-at", Self.at, "--receipt", dir.appendingPathComponent("r.zip").path, "--json"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("Lisboa") || r.stderr.contains("Madrid"))
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let changes = try XCTUnwrap(doc["changes"] as? [[String: Any]])
        XCTAssertEqual(changes.count, 1)
        XCTAssertEqual(changes[0]["old"] as? String, "Madrid")
        XCTAssertEqual(changes[0]["new"] as? String, "Lisboa")
        let removed = minus(dump, try sqliteDump(db)), added = minus(try sqliteDump(db), dump)
        XCTAssertEqual(removed, ["INSERT INTO contact_details VALUES(1,1,'+34 600 000 001','Calle de Alcalá, 42, 3º izq.','Madrid','28014','ES');"])
        XCTAssertEqual(added, ["INSERT INTO contact_details VALUES(1,1,'+34 600 000 001','Calle de Alcalá, 42, 3º izq.','Lisboa','28014','ES');"])
        // The receipt names the field, never the values.
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(dir.appendingPathComponent("r.zip").path, into: x)
        let all = try TestSupport.shell("cat '\(x.path)'/*/data/receipt.json '\(x.path)'/*/index.html").stdout
        XCTAssertTrue(all.contains("city"))
        XCTAssertFalse(all.contains("Lisboa") || all.contains("Madrid"))
        // The same through --changes, typed JSON values.
        let file = dir.appendingPathComponent("changes.json")
        try Data(#"[{"dataset": "newsletter_subscriptions", "key": 1, "field": "confirmed", "value": false}]"#.utf8).write(to: file)
        let c = try TestSupport.dataport("rectify", "--config", config, "--subject", Self.ana, "--changes", file.path, "--json")
        XCTAssertEqual(c.code, 0, c.stderr)
        XCTAssertEqual(try TestSupport.shell("sqlite3 '\(db)' 'SELECT confirmed FROM newsletter_subscriptions WHERE id = 1'").stdout, "0\n")
    }

    /// Rectification and objection on PostgreSQL: only the named rows of the subject change, typed
    /// (timestamp, boolean); a dry run and another person's key change nothing.
    func testRectifyAndObjectOnPostgreSQLChangeOnlyTheSubjectsRows() throws {
        let dir = try TestSupport.tempDir(self)
        let (config, dump) = try postgresStore(dir, sql: """
            CREATE TABLE marketing_prefs (id integer PRIMARY KEY, user_id integer NOT NULL, email_ok boolean NOT NULL, opted_out_at timestamptz);
            INSERT INTO marketing_prefs VALUES (1, 1, true, NULL), (2, 2, true, NULL), (3, 1, true, '2024-01-01 00:00:00+00'), (4, 4, true, NULL);
            """) { stores in
            for i in stores.indices where stores[i]["type"] as? String == "postgresql" {
                let ds = stores[i]["datasets"] as! [[String: Any]]
                stores[i]["datasets"] = ds + [self.marketingDataset(from: ds[0], table: "marketing_prefs", match: ["field": "user_id", "identity": "user_id"], okType: "boolean")]
            }
        }
        try editConfig(config) { $0["objections"] = ["marketing": [["dataset": "marketing_prefs", "set": ["email_ok": false, "opted_out_at": "$now"]]]] }
        let before = try dump()
        let sets = ["--set", "billing_accounts.vat_id=ESX7654321X", "--where", "billing_accounts.id=1",
                    "--set", "billing_accounts.created_at=2021-03-04T09:00:00Z", "--where", "billing_accounts.id=1",
                    "--set", "invoices.paid=true", "--where", "invoices.id=5"]
        let (dry, _) = try request("rectify", config, sets + ["--dry-run"])
        XCTAssertEqual(dry.code, 0, dry.stderr)
        XCTAssertEqual(try dump(), before, "a rectify --dry-run changed the PostgreSQL store")
        let other = try request("rectify", config, ["--set", "billing_accounts.vat_id=X", "--where", "billing_accounts.id=2"]).0
        XCTAssertEqual(other.code, 2, other.stderr)
        XCTAssertEqual(try dump(), before, "another person's key changed the store")
        let (r, doc) = try request("rectify", config, sets)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual((doc["proof"] as? [String: Any])?["failedDatasets"] as? [String], [])
        let rectified = try dump()
        assertChanged(before, rectified, removed: ["billing_accounts (1,", "invoices (5,"],
                      added: [("billing_accounts (1,", [",ESX7654321X,\"2021-03-04 09:00:00+00\",SECRET-IBAN-HASH-ANA)"]), ("invoices (5,", ["+00\",99.99,EUR,t,"])])

        let (dryObject, _) = try request("object", config, ["--purpose", "marketing", "--dry-run"])
        XCTAssertEqual(dryObject.code, 0, dryObject.stderr)
        XCTAssertEqual(try dump(), rectified, "an object --dry-run changed the PostgreSQL store")
        let (o, objected) = try request("object", config, ["--purpose", "marketing"])
        XCTAssertEqual(o.code, 0, o.stderr)
        XCTAssertEqual(datasets(objected)["marketing_prefs"]?["anonymized"] as? Int, 2)
        assertChanged(rectified, try dump(), removed: ["marketing_prefs (1,", "marketing_prefs (3,"],
                      added: [("marketing_prefs (1,", [",1,f,\"2026-12-01 00:00:00+00\")"]), ("marketing_prefs (3,", [",1,f,\"2026-12-01 00:00:00+00\")"])])
    }

    /// The same on MariaDB/MySQL (the WordPress sample): integer and string fields, a DATETIME set to `$now`.
    func testRectifyAndObjectOnMySQLChangeOnlyTheSubjectsRows() throws {
        let dir = try TestSupport.tempDir(self)
        let wp = try JSONSerialization.jsonObject(with: Data(contentsOf: MySQLTests.wordpress.appendingPathComponent("stores.json"))) as! [String: Any]
        let template = ((wp["stores"] as! [[String: Any]])[0]["datasets"] as! [[String: Any]])[0]
        let prefs = marketingDataset(from: template, table: "wp_marketing", match: ["field": "user_id", "references": "wp_account.id"], okType: "integer")
        let (config, env, dump) = try mysqlStore(dir, sql: """
            CREATE TABLE wp_marketing (id INT PRIMARY KEY, user_id BIGINT NOT NULL, email_ok INT NOT NULL, opted_out_at DATETIME NULL);
            INSERT INTO wp_marketing VALUES (1, 2, 1, NULL), (2, 1, 1, NULL), (3, 2, 1, '2024-01-01 00:00:00'), (4, 3, 1, NULL);
            """, datasets: [prefs], tables: ["wp_marketing"],
            objections: ["marketing": [["dataset": "marketing_prefs", "set": ["email_ok": 0, "opted_out_at": "$now"]]]])
        let before = try dump()
        let sets = ["--set", "wp_comments.author_url=https://ana.example/blog", "--where", "wp_comments.id=2",
                    "--set", "wp_comments.karma=5", "--where", "wp_comments.id=1"]
        let (dry, _) = try request("rectify", config, sets + ["--dry-run"], env: env)
        XCTAssertEqual(dry.code, 0, dry.stderr)
        XCTAssertEqual(try dump(), before, "a rectify --dry-run changed the MySQL store")
        let other = try request("rectify", config, ["--set", "wp_comments.karma=9", "--where", "wp_comments.id=3"], env: env).0
        XCTAssertEqual(other.code, 2, other.stderr)
        XCTAssertEqual(try dump(), before, "another person's key changed the store")
        let (r, doc) = try request("rectify", config, sets, env: env)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual((doc["proof"] as? [String: Any])?["failedDatasets"] as? [String], [])
        let rectified = try dump()
        assertChanged(before, rectified, removed: ["wp_comments\t1\t", "wp_comments\t2\t"],
                      added: [("wp_comments\t1\t", ["\tCongratulations on the new blog!\t5\t1\t"]), ("wp_comments\t2\t", ["\thttps://ana.example/blog\t198.51.100.23\t"])])

        let (dryObject, _) = try request("object", config, ["--purpose", "marketing", "--dry-run"], env: env)
        XCTAssertEqual(dryObject.code, 0, dryObject.stderr)
        XCTAssertEqual(try dump(), rectified, "an object --dry-run changed the MySQL store")
        let (o, objected) = try request("object", config, ["--purpose", "marketing"], env: env)
        XCTAssertEqual(o.code, 0, o.stderr)
        XCTAssertEqual(datasets(objected)["marketing_prefs"]?["anonymized"] as? Int, 2)
        assertChanged(rectified, try dump(), removed: ["wp_marketing\t1\t", "wp_marketing\t3\t"],
                      added: [("wp_marketing\t1\t", ["\t2\t0\t2026-12-01 00:00:00"]), ("wp_marketing\t3\t", ["\t2\t0\t2026-12-01 00:00:00"])])
    }

    /// The same on a JSON Lines store: only the subject's named line is rewritten (typed values),
    /// an objection rewrites only the subject's lines, every other line byte for byte.
    func testRectifyAndObjectOnJSONLines() throws {
        let dir = try TestSupport.tempDir(self)
        let lines = [
            #"{"id": 1, "email": "ana.nunez@example.com", "event": "open", "ok": true, "n": 1}"#,
            #"{"id":2,"email":"bo@example.org","event":"click","ok":true,"n":2}"#,
            #"{"id": 3, "email": "Ana.Nunez@Example.com", "event": "click", "ok": true, "n": 3}"#,
            #"{"n":4.50,"email":"  zoë@example.ie ","id":4,"event":"open","ok":true}"#,
        ]
        let file = dir.appendingPathComponent("events.jsonl").path
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let json = """
        {"version": "1", "controller": {"name": "T", "contact": "t@example.com"}, "stores": [{"name": "mail", "type": "jsonl", "options": {"path": "\(dir.path)"},
         "datasets": [{"name": "events", "file": "events.jsonl", "category": "subscriptions", "description": "d", "purposes": [], "legalBasis": "consent", "origin": "provided",
           "key": "id", "match": [{"field": "email", "identity": "email"}],
           "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}, {"name": "event", "type": "string"}, {"name": "ok", "type": "boolean"}, {"name": "n", "type": "decimal"}],
           "erasure": {"action": "delete"}}]}],
         "objections": {"marketing": [{"dataset": "events", "set": {"ok": false}}]}}
        """
        let config = dir.appendingPathComponent("c.json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: config))
        let hash = try sha256(file)
        let sets = ["--set", "events.n=3.25", "--where", "events.id=3", "--set", "events.event=subscribe", "--where", "events.id=3"]
        let (dry, _) = try request("rectify", config, sets + ["--dry-run"])
        XCTAssertEqual(dry.code, 0, dry.stderr)
        XCTAssertEqual(try sha256(file), hash, "a rectify --dry-run changed the file")
        let other = try request("rectify", config, ["--set", "events.event=x", "--where", "events.id=2"]).0
        XCTAssertEqual(other.code, 2, other.stderr)
        XCTAssertEqual(try sha256(file), hash)
        let (r, _) = try request("rectify", config, sets)
        XCTAssertEqual(r.code, 0, r.stderr)
        let rectified = [lines[0], lines[1], #"{"id":3,"email":"Ana.Nunez@Example.com","event":"subscribe","ok":true,"n":3.25}"#, lines[3]]
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), rectified.joined(separator: "\n") + "\n")
        let afterRectify = try sha256(file)
        let (dryObject, _) = try request("object", config, ["--purpose", "marketing", "--dry-run"])
        XCTAssertEqual(dryObject.code, 0, dryObject.stderr)
        XCTAssertEqual(try sha256(file), afterRectify, "an object --dry-run changed the file")
        let (o, doc) = try request("object", config, ["--purpose", "marketing"])
        XCTAssertEqual(o.code, 0, o.stderr)
        XCTAssertEqual(datasets(doc)["events"]?["anonymized"] as? Int, 2)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), [
            #"{"id":1,"email":"ana.nunez@example.com","event":"open","ok":false,"n":1}"#, lines[1],
            #"{"id":3,"email":"Ana.Nunez@Example.com","event":"subscribe","ok":false,"n":3.25}"#, lines[3],
        ].joined(separator: "\n") + "\n")
    }

    func testEmbeddedReceiptSchemaIsThePublishedOne() throws {
        XCTAssertEqual(ReceiptSchema.text + "\n", try String(contentsOf: TestSupport.root.appendingPathComponent("formats/receipt.schema.json"), encoding: .utf8))
    }
}

/// SHA-256 of text, as lower-case hex (for checks of what a receipt holds).
enum SHA256Text {
    static func of(_ s: String) -> String {
        String(try! TestSupport.shell("printf %s '\(s)' | sha256sum").stdout.prefix(64))
    }
}
