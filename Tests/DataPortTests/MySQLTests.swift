import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// The mysql store against a real MariaDB (or MySQL) server, and the WordPress sample on it.
///
/// The server: `DATAPORT_MYSQL_URL` when set (CI sets it, so an unreachable server there FAILS the
/// tests); otherwise the tests run `.ci/start-mariadb.sh` themselves; only if that fails too are
/// they skipped. Every test works in a database of its own (`dataport_t_<uuid>`), dropped after.
final class MySQLTests: XCTestCase {
    enum Server: Sendable {
        case url(String)
        case unavailable(String)
        case broken(String)
    }

    static let server: Server = {
        let env = ProcessInfo.processInfo.environment["DATAPORT_MYSQL_URL"] ?? ""
        guard TestSupport.has("mariadb") || TestSupport.has("mysql") else {
            let why = "the mariadb client is not installed (apt-get install mariadb-client)"
            return env.isEmpty ? .unavailable(why) : .broken("DATAPORT_MYSQL_URL is set but \(why)")
        }
        if !env.isEmpty {
            let r = try? clientRun(env, database: nil, "SELECT 1")
            guard let r, r.code == 0 else {
                return .broken("DATAPORT_MYSQL_URL is set but the server does not answer: \(r?.stderr ?? "the client did not run")")
            }
            return .url(env)
        }
        let script = TestSupport.root.appendingPathComponent(".ci/start-mariadb.sh").path
        guard let r = try? TestSupport.run("/bin/bash", [script]), r.code == 0 else {
            return .unavailable("DATAPORT_MYSQL_URL is not set and .ci/start-mariadb.sh could not start a server")
        }
        guard let line = r.stdout.split(separator: "\n").last(where: { $0.hasPrefix("export DATAPORT_MYSQL_URL=") }) else {
            return .unavailable(".ci/start-mariadb.sh printed no DATAPORT_MYSQL_URL")
        }
        let url = String(line.dropFirst("export DATAPORT_MYSQL_URL=".count))
        guard (try? clientRun(url, database: nil, "SELECT 1"))?.code == 0 else { return .unavailable("the server started by .ci/start-mariadb.sh does not answer") }
        return .url(url)
    }()

    struct ServerDown: Error, CustomStringConvertible {
        var reason: String
        var description: String { "MySQL server unusable: \(reason)" }
    }

    func serverURL() throws -> URLComponents {
        switch Self.server {
        case .url(let u): return URLComponents(string: u)!
        case .unavailable(let why): throw XCTSkip("MySQL tests skipped: \(why). Set DATAPORT_MYSQL_URL or install mariadb-server.")
        case .broken(let why): throw ServerDown(reason: why)
        }
    }

    /// Runs SQL through the mariadb command-line client (a client no one here wrote).
    static func clientRun(_ url: String, database: String?, _ sql: String) throws -> TestSupport.Run {
        let u = URLComponents(string: url)!
        let client = TestSupport.has("mariadb") ? "mariadb" : "mysql"
        var args = [client, "--no-defaults", "--protocol=tcp", "-h", u.host ?? "127.0.0.1", "-P", String(u.port ?? 3306),
                    "-u", u.user ?? "root", "--default-character-set=utf8mb4", "-N", "-B", "-e", sql]
        if let p = u.password { args.append("--password=\(p)") }
        if let database { args.append(database) }
        return try TestSupport.run("/usr/bin/env", args)
    }

    /// A fresh database for this test (dropped after) and the URL of it.
    func freshDatabase() throws -> (name: String, url: String) { try Self.freshDatabase(for: self) }

    /// A fresh database for `test` (dropped after it): skips or fails as `serverURL` does.
    static func freshDatabase(for test: XCTestCase) throws -> (name: String, url: String) {
        var u: URLComponents
        switch server {
        case .url(let url): u = URLComponents(string: url)!
        case .unavailable(let why): throw XCTSkip("MySQL tests skipped: \(why). Set DATAPORT_MYSQL_URL or install mariadb-server.")
        case .broken(let why): throw ServerDown(reason: why)
        }
        let name = "dataport_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let r = try clientRun(u.string!, database: nil, "CREATE DATABASE \(name) CHARACTER SET utf8mb4")
        XCTAssertEqual(r.code, 0, r.stderr)
        let server = u.string!
        test.addTeardownBlock { _ = try? clientRun(server, database: nil, "DROP DATABASE IF EXISTS \(name)") }
        u.path = "/" + name
        return (name, u.string!)
    }

    func sql(_ url: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let db = String(URLComponents(string: url)!.path.dropFirst())
        let r = try Self.clientRun(url, database: db, text)
        XCTAssertEqual(r.code, 0, "mariadb failed: \(r.stderr)", file: file, line: line)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func load(_ url: String, _ sample: String) throws {
        let path = TestSupport.samples.appendingPathComponent("wordpress/\(sample)").path
        _ = try sql(url, "SOURCE \(path)")
    }

    static let wordpress = TestSupport.samples.appendingPathComponent("wordpress")

    /// Samples/wordpress/stores.json with the blog store pointed at `url` (an env variable) and
    /// the file stores' folders absolute; `edit` may change the parsed JSON.
    func wordpressConfig(_ dir: URL, name: String = "stores.json", edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.wordpress.appendingPathComponent("stores.json"))) as! [String: Any]
        var stores = config["stores"] as! [[String: Any]]
        for i in stores.indices where stores[i]["type"] as? String != "mysql" {
            var o = stores[i]["options"] as! [String: Any]
            o["path"] = Self.wordpress.path
            stores[i]["options"] = o
        }
        config["stores"] = stores
        config.removeValue(forKey: "$schema")
        edit(&config)
        let path = dir.appendingPathComponent(name).path
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    func export(_ config: String, url: String, to out: String, email: String = "ana.nunez@example.com") throws -> TestSupport.Run {
        try TestSupport.run(TestSupport.binary, ["export", "--config", config, "--subject", "email=\(email)", "--scope", "access",
                                                 "--generated-at", "2026-01-31T12:00:00Z", "--output", out],
                            environment: ["DATAPORT_WORDPRESS_URL": url])
    }

    func records(_ dir: URL, _ dataset: String) throws -> [[String: Any]] {
        let folder = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasPrefix("dataport-") }!
        let data = try Data(contentsOf: dir.appendingPathComponent("\(folder)/data/json/\(dataset).json"))
        let obj = try JSONSerialization.jsonObject(with: data)
        if let d = obj as? [String: Any], let r = d["records"] as? [[String: Any]] { return r }
        return obj as! [[String: Any]]
    }

    // MARK: - The WordPress sample

    /// A site owner's export of one WordPress user through the built CLI: the password hash and
    /// session tokens never leave; comments are found by the commenter's e-mail whatever its case;
    /// another person whose address the tables' collation calls equal stays out.
    func testWordPressExportThroughTheCLI() throws {
        let db = try freshDatabase()
        try load(db.url, "schema.sql")
        try load(db.url, "sample-data.sql")
        let dir = try TestSupport.tempDir(self)
        let config = try wordpressConfig(dir)
        let out = dir.appendingPathComponent("ana.zip").path
        let r = try export(config, url: db.url, to: out)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try TestSupport.dataport("verify", out).code, 0)
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(out, into: x)

        let account = try records(x, "wp_account")
        XCTAssertEqual(account.map { $0["id"] as? Int }, [2])
        XCTAssertEqual(account.first?["display_name"] as? String, "Ana Núñez")
        XCTAssertEqual(account.first?["registered_at"] as? String, "2021-03-04T09:15:27Z")
        XCTAssertNil(account.first?["password_hash"])
        // Comment 2 was typed as " Ana.Nunez@Example.COM "; comment 4 is Anton's (ána.nunez@...).
        XCTAssertEqual(try records(x, "wp_comments").map { $0["id"] as? Int }, [1, 2])
        let posts = try records(x, "wp_posts")
        XCTAssertEqual(posts.map { $0["id"] as? Int }, [2, 3])
        XCTAssertEqual(posts.last?["post_date_gmt"] as? String, "0000-00-00 00:00:00", "a draft's zero date, as stored")
        let profile = try records(x, "wp_profile")
        XCTAssertEqual(profile.count, 7)
        XCTAssertFalse(profile.contains { $0["meta_key"] as? String == "session_tokens" })
        XCTAssertEqual(profile.first { $0["meta_key"] as? String == "description" }?["meta_value"] as? String,
                       "Gardener in Valencia. Writes about tomatoes 🍅.", "utf8mb4 end to end")
        XCTAssertEqual(try records(x, "mailchimp_audience").map { $0["euid"] as? String }, ["f3b8a1c9d2"])
        // The comment's IP finds Ana's lines of the nginx log, not Anton's or Pat's.
        XCTAssertEqual(try records(x, "nginx_log").count, 3)

        // No secret and nothing of Anton's anywhere in the bundle (any file, any form).
        let everything = try FileManager.default.subpathsOfDirectory(atPath: x.path).compactMap {
            try? String(contentsOf: x.appendingPathComponent($0), encoding: .utf8)
        }.joined()
        for secret in ["$wp$2y$10$", "session_tokens", "9f2c4e0a7b1d", "secretactivationkey", "ána.nunez", "Anton", "192.0.2.99"] {
            XCTAssertFalse(everything.contains(secret), "\(secret) left the store")
        }
    }

    /// Export -> import into an empty WordPress schema -> export: the blog's data files are
    /// byte-identical (zero dates, utf8mb4 and all), and a second import changes nothing.
    func testWordPressRoundTripThroughAnEmptySchema() throws {
        let source = try freshDatabase()
        try load(source.url, "schema.sql")
        try load(source.url, "sample-data.sql")
        let dir = try TestSupport.tempDir(self)
        let config = try wordpressConfig(dir)
        let first = dir.appendingPathComponent("first.zip").path
        XCTAssertEqual(try export(config, url: source.url, to: first).code, 0)

        let target = try freshDatabase()
        try load(target.url, "schema.sql")
        // The import target: the blog store, with the profile's table (the export reads it through a query).
        let importConfig = try wordpressConfig(dir, name: "import.json") { c in
            var stores = (c["stores"] as! [[String: Any]]).filter { $0["type"] as? String == "mysql" }
            var datasets = stores[0]["datasets"] as! [[String: Any]]
            for i in datasets.indices where datasets[i]["query"] != nil {
                datasets[i].removeValue(forKey: "query")
                datasets[i]["table"] = "wp_usermeta"
            }
            stores[0]["datasets"] = datasets
            c["stores"] = stores
        }
        for pass in 1...2 {
            let r = try TestSupport.run(TestSupport.binary, ["import", first, "--config", importConfig, "--json"],
                                        environment: ["DATAPORT_WORDPRESS_URL": target.url])
            XCTAssertEqual(r.code, 0, r.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            let datasets = report["datasets"] as! [[String: Any]]
            XCTAssertEqual(datasets.count, 4)
            for d in datasets {
                XCTAssertEqual(d[pass == 1 ? "inserted" : "unchanged"] as? Int, d["inBundle"] as? Int ?? d["bundle"] as? Int, "pass \(pass): \(d)")
            }
        }
        XCTAssertEqual(try sql(target.url, "SELECT post_date_gmt FROM wp_posts WHERE ID = 3"), "0000-00-00 00:00:00")
        XCTAssertEqual(try sql(target.url, "SELECT count(*) FROM wp_usermeta WHERE meta_key = 'session_tokens'"), "0")

        let second = dir.appendingPathComponent("second.zip").path
        XCTAssertEqual(try export(config, url: target.url, to: second).code, 0)
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        try TestSupport.unzip(first, into: a)
        try TestSupport.unzip(second, into: b)
        let folder = try FileManager.default.contentsOfDirectory(atPath: a.path).first { $0.hasPrefix("dataport-") }!
        for d in ["wp_account", "wp_profile", "wp_posts", "wp_comments"] {
            let x = try Data(contentsOf: a.appendingPathComponent("\(folder)/data/json/\(d).json"))
            let y = try Data(contentsOf: b.appendingPathComponent("\(folder)/data/json/\(d).json"))
            XCTAssertEqual(x, y, "\(d) changed in the round trip")
            XCTAssertGreaterThan(x.count, 20)
        }
    }

    /// The fields the sample app has no column for: README's migration command drops them by name.
    static let migrationDrops = ["wp_account.login", "wp_account.nicename", "wp_account.url", "wp_account.status", "nginx_log.user", "nginx_log.method",
                                 "nginx_log.path", "nginx_log.protocol", "nginx_log.status", "nginx_log.bytes"]

    /// README, "Migrating a WordPress user into the sample app": export a WordPress user from
    /// MariaDB, import the bundle with `Samples/wordpress/sample-app.json` into a new sample app
    /// database (built from Samples/sample-app.sql, its own customers included), twice (the second
    /// changes nothing), then export her from there with the sample app's own config. Her account
    /// and visits arrive; no password hash, activation key or session token goes anywhere.
    func testWordPressUserMigratesIntoTheSampleApp() throws {
        let db = try freshDatabase()
        try load(db.url, "schema.sql")
        try load(db.url, "sample-data.sql")
        let dir = try TestSupport.tempDir(self)
        let bundle = dir.appendingPathComponent("ana.zip").path
        let exported = try export(try wordpressConfig(dir), url: db.url, to: bundle)
        XCTAssertEqual(exported.code, 0, exported.stderr)

        let app = dir.appendingPathComponent("sample-app.db").path
        let script = TestSupport.samples.appendingPathComponent("sample-app.sql").path
        func pointed(_ file: URL, _ name: String) throws -> String {
            var c = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
            var stores = c["stores"] as! [[String: Any]]
            XCTAssertEqual(stores.count, 1)
            stores[0]["options"] = ["path": app, "initScript": script]
            c["stores"] = stores
            c.removeValue(forKey: "$schema")
            let path = dir.appendingPathComponent(name).path
            try JSONSerialization.data(withJSONObject: c, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
            return path
        }
        let target = try pointed(Self.wordpress.appendingPathComponent("sample-app.json"), "target.json")
        for pass in 1...2 {
            let r = try TestSupport.dataport(["import", bundle, "--config", target, "--json"] + Self.migrationDrops.flatMap { ["--drop-field", $0] })
            XCTAssertEqual(r.code, 0, r.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            XCTAssertEqual(report["agrees"] as? Bool, true)
            let datasets = Dictionary(uniqueKeysWithValues: (report["datasets"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
            XCTAssertEqual(datasets["wp_account"]?[pass == 1 ? "inserted" : "unchanged"] as? Int, 1, "pass \(pass)")
            XCTAssertEqual(datasets["nginx_log"]?[pass == 1 ? "inserted" : "unchanged"] as? Int, 3, "pass \(pass)")
            XCTAssertEqual(Set((report["skippedDatasets"] as! [[String: Any]]).map { $0["name"] as! String }),
                           ["wp_profile", "wp_posts", "wp_comments", "mailchimp_audience"])
        }
        let sqlite = try TestSupport.run("/usr/bin/env", ["sqlite3", app, """
            SELECT id, email, full_name, registered_at, status, password_hash IS NULL FROM users WHERE full_name = 'Ana Núñez';
            SELECT count(*) FROM visits WHERE user_id IS NULL AND ip IN ('203.0.113.7', '198.51.100.23');
            """])
        XCTAssertEqual(sqlite.code, 0, sqlite.stderr)
        XCTAssertEqual(sqlite.stdout, "40|ana.nunez@example.com|Ana Núñez|2021-03-04T09:15:27Z|active|1\n3\n", "a new account, numbered by the app")

        // README: export her from there with the same config, by her e-mail and her IP addresses.
        let moved = dir.appendingPathComponent("moved.zip").path
        let m = try TestSupport.dataport("export", "--config", target, "--subject", "email=ana.nunez@example.com", "--subject", "ip=203.0.113.7",
                                         "--subject", "ip=198.51.100.23", "--scope", "access", "--output", moved)
        XCTAssertEqual(m.code, 0, m.stderr)
        let y = dir.appendingPathComponent("y")
        try TestSupport.unzip(moved, into: y)
        XCTAssertEqual(try records(y, "wp_account").map { $0["display_name"] as? String }, ["Ana María Núñez", "Ana Núñez"], "the app's own Ana and the one from the blog")
        // Her three log lines, as visits beside the two the app held.
        XCTAssertEqual(try records(y, "nginx_log").filter { ($0["user_agent"] as? String)?.hasPrefix("Mozilla/5.0 (X11") == true }.count, 3)

        // The sample app's own config finds her there: her app account and the one from the blog.
        let out = dir.appendingPathComponent("from-app.zip").path
        let r = try TestSupport.dataport("export", "--config", try pointed(TestSupport.samples.appendingPathComponent("stores.json"), "app.json"),
                                         "--subject", "email=ana.nunez@example.com", "--scope", "access", "--output", out)
        XCTAssertEqual(r.code, 0, r.stderr)
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(out, into: x)
        let accounts = try records(x, "account")
        XCTAssertEqual(accounts.map { $0["id"] as? Int }, [1, 40])
        XCTAssertEqual(accounts.last?["full_name"] as? String, "Ana Núñez")
        XCTAssertEqual(accounts.last?["registered_at"] as? String, "2021-03-04T09:15:27Z")
        let everything = try [x, y].flatMap { d in
            try FileManager.default.subpathsOfDirectory(atPath: d.path).compactMap { try? String(contentsOf: d.appendingPathComponent($0), encoding: .utf8) }
        }.joined() + String(decoding: try Data(contentsOf: URL(fileURLWithPath: app)), as: UTF8.self)
        for secret in ["$wp$2y$10$", "secretactivationkey", "session_tokens", "9f2c4e0a7b1d", "ána.nunez", "Anton"] {
            XCTAssertFalse(everything.contains(secret), "\(secret) reached the sample app")
        }
    }

    /// The importer's other paths on MySQL: a generated key (AUTO_INCREMENT, read through
    /// LAST_INSERT_ID) with its children's foreign keys rewritten through the id map, and keyless
    /// rows kept as a multiset (a repeated row twice, a second import adds none), in a table whose
    /// case-insensitive collation would call 'Home' and 'home' the same row.
    func testImportWithGeneratedKeysAndKeylessRows() throws {
        let source = try freshDatabase(), target = try freshDatabase()
        let ddl = """
            CREATE TABLE people (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) NOT NULL) ENGINE=InnoDB;
            CREATE TABLE visits (person_id BIGINT UNSIGNED NOT NULL, page VARCHAR(100) COLLATE utf8mb4_general_ci, at DATETIME(3)) ENGINE=InnoDB;
            """
        _ = try sql(source.url, ddl + """
            INSERT INTO people VALUES (7, 'kim@example.com');
            INSERT INTO visits VALUES (7, 'home', '2024-01-01 10:00:00.250'), (7, 'home', '2024-01-01 10:00:00.250'),
                                      (7, 'Home', '2024-01-01 10:00:00.250'), (7, 'home ', NULL);
            """)
        _ = try sql(target.url, ddl + "INSERT INTO people (email) VALUES ('someone.else@example.com');")
        let dir = try TestSupport.tempDir(self)
        let path = try peopleAndVisitsConfig(dir)
        let bundle = dir.appendingPathComponent("kim.zip").path
        let e = try export(path, url: source.url, to: bundle, email: "kim@example.com")
        XCTAssertEqual(e.code, 0, e.stderr)
        // A dry run leaves nothing behind, not even the id map that MySQL's DDL committed at once
        // (in a target of its own: InnoDB does not give back the AUTO_INCREMENT values it used).
        let dryTarget = try freshDatabase()
        _ = try sql(dryTarget.url, ddl)
        let dry = try TestSupport.run(TestSupport.binary, ["import", bundle, "--config", path, "--dry-run"],
                                      environment: ["DATAPORT_WORDPRESS_URL": dryTarget.url])
        XCTAssertEqual(dry.code, 0, dry.stderr)
        XCTAssertEqual(try sql(dryTarget.url, Self.idMapExists), "0")
        XCTAssertEqual(try sql(dryTarget.url, "SELECT count(*) FROM people"), "0")
        for pass in 1...2 {
            let r = try TestSupport.run(TestSupport.binary, ["import", bundle, "--config", path, "--json"],
                                        environment: ["DATAPORT_WORDPRESS_URL": target.url])
            XCTAssertEqual(r.code, 0, "pass \(pass): \(r.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            let visits = (report["datasets"] as! [[String: Any]]).first { $0["name"] as? String == "visits" }!
            XCTAssertEqual(visits[pass == 1 ? "inserted" : "unchanged"] as? Int, 4, "pass \(pass): \(visits)")
        }
        // Kim got the target's next key; her visits follow it; the repeated row is there twice.
        XCTAssertEqual(try sql(target.url, "SELECT id FROM people WHERE email = 'kim@example.com'"), "2")
        XCTAssertEqual(try sql(target.url, "SELECT count(*) FROM visits WHERE person_id = 2"), "4")
        XCTAssertEqual(try sql(target.url, "SELECT count(*) FROM visits WHERE BINARY page = 'home'"), "2")
        XCTAssertEqual(try sql(target.url, "SELECT count(*) FROM visits WHERE BINARY page = 'home '"), "1")
        XCTAssertEqual(try sql(target.url, "SELECT count(*) FROM dataport_id_map"), "1")
    }

    /// Keyless rows whose DECIMAL values differ beyond a double's 16 digits are two rows, not one
    /// row twice: the multiset count compares them exactly, so both are imported, and again nothing
    /// on a second import.
    func testKeylessDecimalsAreComparedExactly() throws {
        let source = try freshDatabase(), target = try freshDatabase()
        let ddl = "CREATE TABLE ledger (email VARCHAR(50) NOT NULL, amount DECIMAL(30,4), big BIGINT) ENGINE=InnoDB;"
        _ = try sql(source.url, ddl + """
            INSERT INTO ledger VALUES ('kim@example.com', 12345678901234567890.1234, 9007199254740993),
                                      ('kim@example.com', 12345678901234567890.1233, 9007199254740992);
            """)
        _ = try sql(target.url, ddl)
        let dir = try TestSupport.tempDir(self)
        let config: [String: Any] = [
            "version": "1", "controller": ["name": "T", "contact": "t@example.com"],
            "stores": [["name": "db", "type": "mysql", "options": ["url": "env:DATAPORT_WORDPRESS_URL"], "datasets": [
                ["name": "ledger", "table": "ledger", "category": "billing", "description": "d", "purposes": ["p"],
                 "legalBasis": "contract", "origin": "provided", "match": [["field": "email", "identity": "email"]],
                 "fields": [["name": "email", "type": "string"], ["name": "amount", "type": "decimal"], ["name": "big", "type": "integer"]]],
            ]]],
        ]
        let path = dir.appendingPathComponent("ledger.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        let bundle = dir.appendingPathComponent("kim.zip").path
        XCTAssertEqual(try export(path, url: source.url, to: bundle, email: "kim@example.com").code, 0)
        for pass in 1...2 {
            let r = try TestSupport.run(TestSupport.binary, ["import", bundle, "--config", path, "--json"], environment: ["DATAPORT_WORDPRESS_URL": target.url])
            XCTAssertEqual(r.code, 0, r.stderr)
            let report = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let d = (report?["datasets"] as? [[String: Any]])?.first
            XCTAssertEqual(d?[pass == 1 ? "inserted" : "unchanged"] as? Int, 2, "pass \(pass): \(r.stdout)")
        }
        XCTAssertEqual(try sql(target.url, "SELECT amount, big FROM ledger ORDER BY amount"),
                       "12345678901234567890.1233\t9007199254740992\n12345678901234567890.1234\t9007199254740993")
    }

    static let idMapExists = "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'dataport_id_map'"

    /// A config of people (generated keys) and their keyless visits, read from DATAPORT_WORDPRESS_URL.
    func peopleAndVisitsConfig(_ dir: URL) throws -> String {
        let config: [String: Any] = [
            "version": "1", "controller": ["name": "T", "contact": "t@example.com"],
            "stores": [["name": "db", "type": "mysql", "options": ["url": "env:DATAPORT_WORDPRESS_URL"], "datasets": [
                ["name": "people", "table": "people", "key": "id", "category": "account", "description": "d", "purposes": ["p"],
                 "legalBasis": "contract", "origin": "provided", "match": [["field": "email", "identity": "email"]],
                 "fields": [["name": "id", "type": "integer", "generated": true], ["name": "email", "type": "string"]]],
                ["name": "visits", "table": "visits", "category": "website-usage", "description": "d", "purposes": ["p"],
                 "legalBasis": "contract", "origin": "observed", "match": [["field": "person_id", "references": "people.id"]],
                 "fields": [["name": "person_id", "type": "integer"], ["name": "page", "type": "string"], ["name": "at", "type": "timestamp"]]],
            ]]],
        ]
        let path = dir.appendingPathComponent("c.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A failure in the second dataset rolls back the first one's rows too: the session's DDL
    /// (the id map's CREATE TABLE, which commits implicitly in MySQL) comes before any write, and
    /// the table it created is dropped again on rollback.
    func testAFailedImportRollsBackEverything() throws {
        let source = try freshDatabase(), target = try freshDatabase()
        _ = try sql(source.url, """
            CREATE TABLE people (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) NOT NULL);
            CREATE TABLE visits (person_id BIGINT UNSIGNED NOT NULL, page VARCHAR(100), at DATETIME(3));
            INSERT INTO people VALUES (7, 'kim@example.com');
            INSERT INTO visits VALUES (7, 'a-page-name-too-long-for-the-target', NULL);
            """)
        _ = try sql(target.url, """
            CREATE TABLE people (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) NOT NULL);
            CREATE TABLE visits (person_id BIGINT UNSIGNED NOT NULL, page VARCHAR(8), at DATETIME(3));
            """)
        let dir = try TestSupport.tempDir(self)
        let path = try peopleAndVisitsConfig(dir)
        let bundle = dir.appendingPathComponent("kim.zip").path
        XCTAssertEqual(try export(path, url: source.url, to: bundle, email: "kim@example.com").code, 0)
        let r = try TestSupport.run(TestSupport.binary, ["import", bundle, "--config", path],
                                    environment: ["DATAPORT_WORDPRESS_URL": target.url])
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("error 1406"), r.stderr)
        XCTAssertFalse(r.stderr.contains("a-page-name"), r.stderr)
        XCTAssertEqual(try sql(target.url, "SELECT count(*) FROM people"), "0")
        XCTAssertEqual(try sql(target.url, Self.idMapExists), "0", "the id map MySQL's DDL committed is dropped again")
    }

    // MARK: - The connector

    func store(_ url: String, _ datasets: [[String: Any]], options: [String: Any] = [:]) throws -> StoreConfig {
        var o = options
        o["url"] = o["url"] ?? url
        let json: [String: Any] = [
            "version": "1",
            "controller": ["name": "T", "contact": "t@example.com"],
            "stores": [["name": "db", "type": "mysql", "options": o, "datasets": datasets]],
        ]
        let data = try JSONSerialization.data(withJSONObject: json)
        return try StoresConfig.parse([UInt8](data), file: "test.json", baseDirectory: "/tmp").stores[0]
    }

    func dataset(_ name: String, table: String, key: String? = "id", _ fields: [(String, String)],
                 match: [String: Any] = ["field": "email", "identity": "email"]) -> [String: Any] {
        var d: [String: Any] = [
            "name": name, "table": table, "category": "account", "description": "d", "purposes": ["p"],
            "legalBasis": "contract", "origin": "provided", "match": [match],
            "fields": fields.map { ["name": $0.0, "type": $0.1] },
        ]
        if let key { d["key"] = key }
        return d
    }

    static let typesTable = """
        CREATE TABLE types (
          id INT PRIMARY KEY, email VARCHAR(100) COLLATE utf8mb4_unicode_520_ci,
          flag TINYINT(1), tiny TINYINT, small SMALLINT, medium MEDIUMINT, regular INT, big BIGINT,
          ubig BIGINT UNSIGNED, ubig_text BIGINT UNSIGNED, money DECIMAL(30,4), f FLOAT, d DOUBLE,
          day DATE, at DATETIME(6), stamp TIMESTAMP(3) NULL, zero_day DATE, zero_at DATETIME,
          fixed CHAR(3), words TEXT, bytes BLOB, bin4 BINARY(4), doc JSON, mood ENUM('calm','busy'), tags SET('a','b','c')
        ) CHARACTER SET utf8mb4;
        INSERT INTO types VALUES (1, 'ana@example.com', 1, -128, -32768, -8388608, -2147483648, -9223372036854775808,
          9223372036854775807, 18446744073709551615, 12345678901234567890.1234, 3.14, 2.718281828459045,
          '2024-02-29', '2024-07-01 12:34:56.123456', '2024-07-01 10:00:00.5', '0000-00-00', '0000-00-00 00:00:00',
          'ab', 'Grüße 🎉', X'00FF10', X'DEADBEEF', '{"a": [1, 2]}', 'busy', 'a,c');
        """

    static let typeFields: [(String, String)] = [
        ("id", "integer"), ("email", "string"), ("flag", "boolean"), ("tiny", "integer"), ("small", "integer"),
        ("medium", "integer"), ("regular", "integer"), ("big", "integer"), ("ubig", "integer"), ("ubig_text", "decimal"),
        ("money", "decimal"), ("f", "decimal"), ("d", "decimal"), ("day", "date"), ("at", "timestamp"), ("stamp", "timestamp"),
        ("zero_day", "string"), ("zero_at", "string"), ("fixed", "string"), ("words", "string"), ("bytes", "binary"),
        ("bin4", "binary"), ("doc", "string"), ("mood", "string"), ("tags", "string"),
    ]

    /// Every MySQL type family maps to its canonical type exactly: BIGINT UNSIGNED beyond Int64 as
    /// an exact decimal, DECIMAL as text, FLOAT by its own shortest digits, fractional seconds,
    /// zero dates as the server's text, utf8mb4, bytes.
    func testTypesMapExactly() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, Self.typesTable)
        let s = try store(db.url, [dataset("types", table: "types", Self.typeFields)])
        let c = try MySQLConnector(config: s)
        defer { c.close() }
        try c.validate()
        try c.beginSnapshot()
        let rows = try TestSupport.rows(of: s.datasets[0], from: c, identities: [.email: ["ana@example.com"]])
        XCTAssertEqual(rows.count, 1)
        let r = try XCTUnwrap(rows.first)
        XCTAssertEqual(r["flag"], .boolean(true))
        XCTAssertEqual(r["tiny"], .integer(-128))
        XCTAssertEqual(r["medium"], .integer(-8388608))
        XCTAssertEqual(r["big"], .integer(Int64.min))
        XCTAssertEqual(r["ubig"], .integer(Int64.max))
        XCTAssertEqual(r["ubig_text"], .decimal(ExactDecimal("18446744073709551615")!))
        XCTAssertEqual(r["money"], .decimal(ExactDecimal("12345678901234567890.1234")!))
        XCTAssertEqual(r["f"], .decimal(ExactDecimal("3.14")!))
        XCTAssertEqual(r["d"], .decimal(ExactDecimal("2.718281828459045")!))
        XCTAssertEqual(r["day"], .date(CalendarDate("2024-02-29")!))
        XCTAssertEqual(r["at"], .timestamp(Timestamp("2024-07-01T12:34:56.123456Z")!))
        XCTAssertEqual(r["stamp"], .timestamp(Timestamp("2024-07-01T10:00:00.5Z")!))
        XCTAssertEqual(r["zero_day"], .string("0000-00-00"))
        XCTAssertEqual(r["zero_at"], .string("0000-00-00 00:00:00"))
        XCTAssertEqual(r["fixed"], .string("ab"))
        XCTAssertEqual(r["words"], .string("Grüße 🎉"))
        XCTAssertEqual(r["bytes"], .binary([0, 255, 16]))
        XCTAssertEqual(r["bin4"], .binary([0xDE, 0xAD, 0xBE, 0xEF]))
        XCTAssertEqual(r["doc"], .string("{\"a\": [1, 2]}"))
        XCTAssertEqual(r["mood"], .string("busy"))
        XCTAssertEqual(r["tags"], .string("a,c"))
    }

    /// BIGINT UNSIGNED beyond Int64 in an `integer` field, and a zero date in a `timestamp` field,
    /// are refused with the one typed-cell error, which names the field and not the value.
    func testValuesThatDoNotFitAreRefusedWithoutTheValue() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, Self.typesTable)
        for (field, type) in [("ubig_text", "integer"), ("zero_at", "timestamp"), ("zero_day", "date")] {
            let s = try store(db.url, [dataset("types", table: "types", [("id", "integer"), ("email", "string"), (field, type)])])
            let c = try MySQLConnector(config: s)
            defer { c.close() }
            assertThrows(.store, { _ = try TestSupport.rows(of: s.datasets[0], from: c, identities: [.email: ["ana@example.com"]]) }) { e in
                XCTAssertTrue(e.message.contains("field \(field)"), e.message)
                XCTAssertFalse(e.message.contains("18446744073709551615") || e.message.contains("0000-00-00"), e.message)
            }
        }
    }

    /// Identities are read from every kind of cell, as on the other SQL stores: a VARBINARY id, a
    /// DOUBLE, a DECIMAL, a DATETIME and a BIGINT UNSIGNED beyond Int64 all yield their text; bytes
    /// that are not UTF-8 fail naming the field, never showing the bytes.
    func testDistinctValuesReadEveryKindOfCell() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, """
            CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50), handle VARBINARY(32), score DOUBLE, amount DECIMAL(10,2),
                            seen DATETIME, big BIGINT UNSIGNED, raw VARBINARY(8));
            INSERT INTO t VALUES (1, 'a@example.com', 'c-7f3a', 0.5, 12.30, '2024-01-02 03:04:05', 18446744073709551615, X'FF00');
            """)
        let fields = [("id", "integer"), ("email", "string"), ("handle", "string"), ("score", "decimal"), ("amount", "decimal"),
                      ("seen", "timestamp"), ("big", "decimal"), ("raw", "binary")]
        let s = try store(db.url, [dataset("t", table: "t", fields)])
        let c = try MySQLConnector(config: s)
        defer { c.close() }
        let subject = SubjectQuery(identities: [.email: ["a@example.com"]])
        for (field, expected) in [("handle", "c-7f3a"), ("score", "0.5"), ("amount", "12.30"), ("seen", "2024-01-02 03:04:05"), ("big", "18446744073709551615")] {
            XCTAssertEqual(try c.distinctValues(of: field, in: s.datasets[0], for: subject, limit: 10), [expected], field)
        }
        assertThrows(.store, { _ = try c.distinctValues(of: "raw", in: s.datasets[0], for: subject, limit: 10) }) {
            XCTAssertTrue($0.message.contains("field raw") && $0.message.contains("not valid UTF-8"), $0.message)
        }
    }

    /// Matching is exact per the project's normal form, not by MySQL's case- and accent-insensitive
    /// collations: a user id given as text matches only its own value, and an e-mail only its own
    /// address (trimmed, lower-cased), never one the collation calls equal.
    func testIdentityMatchingIsExactDespiteCollations() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, """
            CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(100), handle VARCHAR(50))
              CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;
            INSERT INTO people VALUES (1, ' Ana@Example.com', 'ana'), (2, 'ána@example.com', 'ANA'), (3, 'ana@example.com ', 'ana ');
            """)
        let s = try store(db.url, [
            dataset("by_email", table: "people", [("id", "integer"), ("email", "string"), ("handle", "string")]),
            dataset("by_handle", table: "people", [("id", "integer"), ("email", "string"), ("handle", "string")],
                    match: ["field": "handle", "identity": "cookie_id"]),
        ])
        let c = try MySQLConnector(config: s)
        defer { c.close() }
        let byEmail = try TestSupport.rows(of: s.datasets[0], from: c, identities: [.email: ["ana@example.com"]])
        XCTAssertEqual(byEmail.map { $0["id"] }, [.integer(1), .integer(3)])
        // An exact kind keeps its case but, like every kind, is trimmed (formats/stores-config.md):
        // `ana ` is `ana`, `ANA` is not.
        let byHandle = try TestSupport.rows(of: s.datasets[1], from: c, identities: [IdentityKind("cookie_id"): ["ana"]])
        XCTAssertEqual(byHandle.map { $0["id"] }, [.integer(1), .integer(3)])
    }

    /// Options: unknown ones, bad TLS modes and a missing table are config errors naming the piece;
    /// a wrong password is a store error that never prints the password.
    func testOptionsAndConnectionErrors() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, "CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50))")
        let fields = [("id", "integer"), ("email", "string")]
        assertThrows(.invalidConfig, { _ = try MySQLConnector(config: try self.store(db.url, [self.dataset("t", table: "t", fields)], options: ["tls": "sometimes"])) }) {
            XCTAssertTrue($0.message.contains("options.tls"), $0.message)
        }
        assertThrows(.invalidConfig, { _ = try MySQLConnector(config: try self.store(db.url, [self.dataset("t", table: "t", fields)], options: ["timeZone": "Mars/Olympus"])) })
        // The test server offers no TLS: `required` refuses to go on unencrypted.
        assertThrows(.store, { _ = try MySQLConnector(config: try self.store(db.url, [self.dataset("t", table: "t", fields)], options: ["tls": "required"])) })
        assertThrows(.invalidConfig, {
            let c = try MySQLConnector(config: try self.store(db.url, [self.dataset("t", table: "missing_table", fields)]))
            defer { c.close() }
            try c.validate()
        }) { XCTAssertTrue($0.message.contains("missing_table") && $0.message.contains("1146"), $0.message) }
        var u = URLComponents(string: db.url)!
        u.password = "Sup3rSecretPw"
        assertThrows(.store, { _ = try MySQLConnector(config: try self.store(u.string!, [self.dataset("t", table: "t", fields)])) }) {
            XCTAssertFalse($0.message.contains("Sup3rSecretPw"), $0.message)
            XCTAssertTrue($0.message.contains("1045"), $0.message)
        }
        // The password from the variable passwordEnv names: the same refusal, nothing printed.
        u.password = nil
        let s = try store(u.string!, [dataset("t", table: "t", fields)], options: ["passwordEnv": "DATAPORT_TEST_MYSQL_PW"])
        assertThrows(.store, { _ = try MySQLConnector(config: s, environment: ["DATAPORT_TEST_MYSQL_PW": "Sup3rSecretPw"]) }) {
            XCTAssertFalse($0.message.contains("Sup3rSecretPw"), $0.message)
        }
        assertThrows(.store, { _ = try MySQLConnector(config: s, environment: [:]) }) {
            XCTAssertTrue($0.message.contains("DATAPORT_TEST_MYSQL_PW"), $0.message)
        }
    }

    /// The server quotes values in duplicate-key and conversion errors: the connector keeps the
    /// error number and SQLSTATE and drops that text.
    func testServerErrorsAreScrubbedOfValues() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, "CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50) UNIQUE, n INT); INSERT INTO t VALUES (1, 'taken.person@example.com', 1)")
        let s = try store(db.url, [dataset("t", table: "t", [("id", "integer"), ("email", "string"), ("n", "integer")])])
        let c = try MySQLConnector(config: s)
        defer { c.close() }
        let session = try c.openSession()
        try session.begin()
        defer { session.rollback() }
        assertThrows(.store, { try session.execute("INSERT INTO t (id, email, n) VALUES (?, ?, ?)", [.integer(2), .string("taken.person@example.com"), .integer(1)]) }) {
            XCTAssertFalse($0.message.contains("taken.person"), $0.message)
            XCTAssertTrue($0.message.contains("error 1062") && $0.message.contains("SQLSTATE 23000"), $0.message)
        }
        assertThrows(.store, { try session.execute("INSERT INTO t (id, email, n) VALUES (?, ?, ?)", [.integer(3), .string("x@example.com"), .string("private-value-42")]) }) {
            XCTAssertFalse($0.message.contains("private-value"), $0.message)
            XCTAssertTrue($0.message.contains("error 1366"), $0.message)
        }
    }

    /// A fixed-offset `timeZone`: DATETIME wall-clock values are read in it and written back in it,
    /// TIMESTAMP columns agree through the session's time_zone.
    func testTimeZoneOption() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, """
            SET time_zone = '+00:00';
            CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50), at DATETIME, stamp TIMESTAMP NULL);
            INSERT INTO t VALUES (1, 'a@example.com', '2024-01-01 12:00:00', '2024-01-01 10:00:00');
            """)
        let fields = [("id", "integer"), ("email", "string"), ("at", "timestamp"), ("stamp", "timestamp")]
        let s = try store(db.url, [dataset("t", table: "t", fields)], options: ["timeZone": "+02:00"])
        let c = try MySQLConnector(config: s)
        defer { c.close() }
        let r = try XCTUnwrap(try TestSupport.rows(of: s.datasets[0], from: c, identities: [.email: ["a@example.com"]]).first)
        XCTAssertEqual(r["at"], .timestamp(Timestamp("2024-01-01T10:00:00Z")!))
        XCTAssertEqual(r["stamp"], .timestamp(Timestamp("2024-01-01T10:00:00Z")!))
        let session = try c.openSession()
        try session.begin()
        try session.execute("INSERT INTO t (id, email, at, stamp) VALUES (?, ?, ?, ?)",
                            [.integer(2), .string("b@example.com"), .timestamp(Timestamp("2024-06-01T08:30:00Z")!), .timestamp(Timestamp("2024-06-01T08:30:00Z")!)])
        try session.commit()
        XCTAssertEqual(try sql(db.url, "SET time_zone = '+00:00'; SELECT at, stamp FROM t WHERE id = 2"), "2024-06-01 10:30:00\t2024-06-01 08:30:00")
    }

    /// Imports into one database are serialised: a second session's `begin` waits for the first
    /// one's lock and goes on when it commits.
    func testConcurrentImportsAreSerialised() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, "CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50))")
        let s = try store(db.url, [dataset("t", table: "t", [("id", "integer"), ("email", "string")])])
        let c = try MySQLConnector(config: s)
        defer { c.close() }
        let first = try c.openSession()
        let second = try c.openSession()
        try first.begin()
        nonisolated(unsafe) var secondBegan: Date?
        nonisolated(unsafe) var secondError: (any Error)?
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let other = second
        Thread.detachNewThread {
            do { try other.begin(); secondBegan = Date() } catch { secondError = error }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 1.5), .timedOut, "the second import began while the first held the lock")
        let committed = Date()
        try first.commit()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertNil(secondError)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(secondBegan), committed)
        second.rollback()
    }
}
