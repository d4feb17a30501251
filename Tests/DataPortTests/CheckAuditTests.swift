import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// `dataport check` and `dataport audit` through the built CLI, against SQLite, the real
/// PostgreSQL and MariaDB servers and file stores; their --json validated against
/// formats/cli-output.schema.json with python jsonschema.
final class CheckAuditTests: XCTestCase {
    // MARK: - Helpers

    func validate(_ json: String, def: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let schema = TestSupport.root.appendingPathComponent("formats/cli-output.schema.json").path
        let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        wrapper = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/" + sys.argv[2]}
        jsonschema.validate(json.loads(sys.argv[3]), wrapper, cls=jsonschema.Draft202012Validator)
        """
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", script, schema, def, json])
        XCTAssertEqual(r.code, 0, "\(def): \(r.stderr)", file: file, line: line)
    }

    func object(_ json: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
    }

    func problems(_ r: TestSupport.Run) throws -> [[String: Any]] {
        try XCTUnwrap(try object(r.stdout)["problems"] as? [[String: Any]])
    }

    func codes(_ r: TestSupport.Run) throws -> [String] { try problems(r).map { $0["code"] as! String } }

    /// Problems with `code` for `dataset` (and `field`).
    func find(_ r: TestSupport.Run, _ code: String, _ dataset: String, field: String? = nil) throws -> [[String: Any]] {
        try problems(r).filter { $0["code"] as? String == code && $0["dataset"] as? String == dataset && (field == nil || $0["field"] as? String == field) }
    }

    static func dataset(_ name: String, _ source: String, match: String, fields: String, yields: String = "[]", key: String? = "id",
                        purposes: String = #"["Service"]"#, recipients: String? = #"["Nobody outside the controller"]"#,
                        retention: String? = #""1 year""#) -> String {
        var s = #"{"name": "\#(name)", \#(source), "category": "account", "description": "d", "purposes": \#(purposes), "legalBasis": "contract", "origin": "provided", "#
        if let recipients { s += #""recipients": \#(recipients), "# }
        if let retention { s += #""retention": \#(retention), "# }
        if let key { s += #""key": "\#(key)", "# }
        return s + #""match": \#(match), "yields": \#(yields), "fields": \#(fields)}"#
    }

    static func config(_ stores: String...) -> String {
        #"{"version": "1", "controller": {"name": "T", "contact": "t@example.com"}, "stores": [\#(stores.joined(separator: ", "))]}"#
    }

    func write(_ text: String, _ name: String, in dir: URL) throws -> String {
        let p = dir.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// The datasets every SQL check test uses: `account` (users: email match, an unmarked
    /// `api_key`, fields that only look secret), `team_notes` (references a column that is not unique,
    /// and tells the person nothing), `badges` (a kind no request can give and nothing yields).
    static func checkDatasets(text: String = "TEXT", integer: String = "integer") -> String {
        "[" + [
            dataset("account", #""table": "users""#, match: #"[{"field": "email", "identity": "email"}]"#,
                    fields: #"[{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}, {"name": "team", "type": "string"}, {"name": "api_key", "type": "string"}, {"name": "monkey", "type": "string"}, {"name": "password_changed_at", "type": "timestamp"}, {"name": "sort_key", "type": "string"}]"#,
                    yields: #"[{"identity": "user_id", "field": "id"}]"#),
            dataset("team_notes", #""table": "notes""#, match: #"[{"field": "team", "references": "account.team"}]"#,
                    fields: #"[{"name": "id", "type": "integer"}, {"name": "team", "type": "string"}, {"name": "body", "type": "string"}]"#,
                    purposes: "[]", recipients: nil, retention: nil),
            dataset("badges", #""table": "badges""#, match: #"[{"field": "code", "identity": "Badge Code"}]"#,
                    fields: #"[{"name": "id", "type": "integer"}, {"name": "code", "type": "string"}]"#),
        ].joined(separator: ", ") + "]"
    }

    static let checkDDL = """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200), team VARCHAR(50), api_key VARCHAR(50), monkey VARCHAR(50), password_changed_at VARCHAR(40), sort_key VARCHAR(20));
        CREATE TABLE notes (id INTEGER PRIMARY KEY, team VARCHAR(50), body VARCHAR(200));
        CREATE TABLE badges (id INTEGER PRIMARY KEY, code VARCHAR(50));
        INSERT INTO users VALUES (1, 'zoe.value@example.com', 'team-red', 'k-123-secretvalue', 'm', '2026-01-01T00:00:00Z', 's');
        INSERT INTO notes VALUES (1, 'team-red', 'a note body value');
        """

    /// What every crafted check config must report, on any SQL store: all problems in one run.
    func assertCheckFindsEverything(_ config: String, store: String, indexHint: String, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.Run {
        let r = try TestSupport.dataport("check", "--config", config, "--json")
        XCTAssertEqual(r.code, 3, r.stderr, file: file, line: line)
        try validate(r.stdout, def: "check", file: file, line: line)
        XCTAssertEqual(try find(r, "references.notUnique", "team_notes", field: "team").count, 1, r.stdout, file: file, line: line)
        XCTAssertEqual(try find(r, "identity.unusable", "badges").count, 1, r.stdout, file: file, line: line)
        XCTAssertEqual(try find(r, "dataset.unreachable", "badges").count, 1, r.stdout, file: file, line: line)
        XCTAssertEqual(try find(r, "secret.unmarked", "account", field: "api_key").count, 1, r.stdout, file: file, line: line)
        for notSecret in ["monkey", "password_changed_at", "sort_key", "email"] {
            XCTAssertEqual(try find(r, "secret.unmarked", "account", field: notSecret).count, 0, notSecret, file: file, line: line)
        }
        for code in ["purposes.missing", "recipients.missing", "retention.missing"] {
            let p = try find(r, code, "team_notes")
            XCTAssertEqual(p.first?["level"] as? String, "warning", code, file: file, line: line)
            XCTAssertEqual(try find(r, code, "account").count, 0, code, file: file, line: line)
        }
        let scan = try find(r, "match.scan", "account", field: "email")
        XCTAssertEqual(scan.count, 1, r.stdout, file: file, line: line)
        XCTAssertTrue((scan.first?["fix"] as? String ?? "").contains(indexHint), "\(scan)", file: file, line: line)
        for value in ["zoe.value", "k-123-secretvalue", "team-red", "a note body value"] {
            XCTAssertFalse(r.stdout.contains(value) || r.stderr.contains(value), "a store value in the output: \(value)", file: file, line: line)
        }
        let docs = try String(contentsOf: TestSupport.root.appendingPathComponent("formats/cli-output.md"), encoding: .utf8)
        for code in Set(try codes(r)) { XCTAssertTrue(docs.contains("`\(code)`"), "code \(code) is not documented in cli-output.md", file: file, line: line) }
        let stores = try object(r.stdout)["stores"] as! [[String: Any]]
        XCTAssertEqual(stores.first?["name"] as? String, store, file: file, line: line)
        XCTAssertEqual(stores.first?["status"] as? String, "checked", file: file, line: line)
        // --strict: what the person must be told, and unmarked secrets, are errors.
        let strict = try TestSupport.dataport("check", "--config", config, "--json", "--strict")
        XCTAssertEqual(strict.code, 3, file: file, line: line)
        XCTAssertEqual(try find(strict, "retention.missing", "team_notes").first?["level"] as? String, "error", file: file, line: line)
        XCTAssertEqual(try find(strict, "secret.unmarked", "account").first?["level"] as? String, "error", file: file, line: line)
        return r
    }

    // MARK: - check

    func testCheckSamplesAreClean() throws {
        let r = try TestSupport.dataport("check", "--config", TestSupport.sampleConfig, "--json")
        XCTAssertEqual(r.code, 0, r.stderr + r.stdout)
        try validate(r.stdout, def: "check")
        XCTAssertEqual(try object(r.stdout)["errors"] as? Int, 0)
        // The samples have no expression index on users.email: the scan is reported with its fix.
        let scan = try find(r, "match.scan", "account", field: "email")
        XCTAssertEqual(scan.first?["fix"] as? String, #"CREATE INDEX users_email_norm ON "users" (dataport_norm_caseless("email"));"#)
        let text = try TestSupport.dataport("check", "--config", TestSupport.sampleConfig)
        XCTAssertEqual(text.code, 0)
        XCTAssertTrue(text.stdout.contains("0 errors"), text.stdout)
        XCTAssertFalse(text.stdout.contains("ana.nunez"), "no store value")
    }

    func testCheckAllStoresSample() throws {
        guard case .url(let url) = PostgreSQLTests.server else { throw XCTSkip("no PostgreSQL server") }
        let dir = try TestSupport.tempDir(self)
        var all = try JSONSerialization.jsonObject(with: Data(contentsOf: TestSupport.samples.appendingPathComponent("stores-all.json"))) as! [String: Any]
        all.removeValue(forKey: "$schema")
        all["stores"] = (all["stores"] as! [[String: Any]]).map { s in
            var s = s, o = s["options"] as? [String: Any] ?? [:]
            for key in ["path", "initScript"] {
                if let p = o[key] as? String, !p.hasPrefix("/") { o[key] = TestSupport.samples.appendingPathComponent(p).standardizedFileURL.path }
            }
            s["options"] = o
            return s
        }
        let config = dir.appendingPathComponent("stores-all.json").path
        try JSONSerialization.data(withJSONObject: all).write(to: URL(fileURLWithPath: config))
        let r = try TestSupport.run("/usr/bin/env", ["DATAPORT_PG_URL=\(url)", TestSupport.binary, "check", "--config", config, "--json"])
        XCTAssertEqual(r.code, 0, r.stderr + r.stdout)
        try validate(r.stdout, def: "check")
        let stores = try object(r.stdout)["stores"] as! [[String: Any]]
        XCTAssertTrue(stores.allSatisfy { $0["status"] as? String == "checked" }, "\(stores)")
        XCTAssertTrue(stores.contains { $0["type"] as? String == "postgresql" })
        // Two file stores over one folder cover it together: neither reports the other's file.
        let a = try TestSupport.run("/usr/bin/env", ["DATAPORT_PG_URL=\(url)", TestSupport.binary, "audit", "--config", config,
                                                     "--subject", "email=ana.nunez@example.com", "--json", "--progress", "json"])
        XCTAssertEqual(a.code, 0, a.stderr + a.stdout)
        try validate(a.stdout, def: "audit")
        XCTAssertEqual((try object(a.stdout)["found"] as? [[String: Any]])?.count, 0, a.stdout)
        let events = a.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual((try object(events.last ?? "{}"))["event"] as? String, "done", a.stderr)
        XCTAssertTrue(events.allSatisfy { $0.contains("\"phase\": \"audit\"") || $0.contains("\"phase\":\"audit\"") }, a.stderr)
        XCTAssertFalse(a.stderr.contains("ana.nunez"))
        // Unset: the PostgreSQL store is unreachable, reported, and the others are still checked.
        let down = try TestSupport.run("/usr/bin/env", ["-u", "DATAPORT_PG_URL", TestSupport.binary, "check", "--config", config, "--json"])
        XCTAssertEqual(down.code, 3)
        XCTAssertTrue(try codes(down).contains("store.unreachable"), down.stdout)
        XCTAssertTrue(try codes(down).contains("match.scan"), "the other stores are still checked")
    }

    func testCheckReportsEveryProblemOfASQLiteStore() throws {
        let dir = try TestSupport.tempDir(self)
        let db = dir.appendingPathComponent("app.db").path
        let sql = try SQLiteDatabase(path: db, readOnly: false, create: true)
        try sql.execute(Self.checkDDL)
        let datasets = Self.checkDatasets().dropLast() + ", " + Self.dataset("ghost", #""table": "ghosts""#, match: #"[{"field": "uid", "identity": "user_id"}]"#,
                                                                           fields: #"[{"name": "id", "type": "integer"}, {"name": "uid", "type": "integer"}]"#) + "]"
        let list = Self.dataset("mailing", #""file": "missing.csv""#, match: #"[{"field": "email", "identity": "email"}]"#,
                                fields: #"[{"name": "email", "type": "string"}]"#, key: nil)
        let config = try write(Self.config(#"{"name": "app", "type": "sqlite", "options": {"path": "app.db"}, "datasets": \#(datasets)}"#,
                                           #"{"name": "mail", "type": "csv", "options": {"path": "."}, "datasets": [\#(list)]}"#), "stores.json", in: dir)
        let r = try assertCheckFindsEverything(config, store: "app", indexHint: "dataport_norm_caseless(\"email\")")
        XCTAssertEqual(try find(r, "table.missing", "ghost").count, 1, r.stdout)
        // A file store's problem is reported beside the SQL store's, in the same run.
        XCTAssertTrue(try problems(r).contains { $0["code"] as? String == "store.invalid" && $0["store"] as? String == "mail" }, r.stdout)
        // The suggested index, created as the docs say (through DataPort's SQLite wrapper), serves the lookup.
        let fix = try XCTUnwrap(try find(r, "match.scan", "account", field: "email").first?["fix"] as? String)
        try sql.execute(fix)
        try sql.execute("CREATE UNIQUE INDEX users_team ON users (team)")
        let after = try TestSupport.dataport("check", "--config", config, "--json")
        XCTAssertEqual(try find(after, "match.scan", "account", field: "email").count, 0, after.stdout)
        XCTAssertEqual(try find(after, "references.notUnique", "team_notes").count, 0, after.stdout)
        // The text report lists the same problems, and exits 3.
        let text = try TestSupport.dataport("check", "--config", config)
        XCTAssertEqual(text.code, 3)
        XCTAssertTrue(text.stdout.contains("error: dataset.unreachable:"), text.stdout)
        XCTAssertTrue(text.stderr.contains("errors"), text.stderr)
    }

    func testCheckReportsAConfigThatDoesNotLoad() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try write(#"{"version": "1", "controller": {"name": "T"}}"#, "bad.json", in: dir)
        let r = try TestSupport.dataport("check", "--config", config, "--json")
        XCTAssertEqual(r.code, 3)
        try validate(r.stdout, def: "check")
        XCTAssertEqual(try codes(r), ["config.invalid"])
    }

    func testSecretLookingNames() {
        for yes in ["password_hash", "api_key", "apiKey", "reset_token", "passwordHash", "salt", "client_secret", "pass", "authtoken", "private_key", "PWD", "totp_seed"] {
            XCTAssertTrue(ConfigCheck.looksSecret(yes), yes)
        }
        for no in ["monkey", "key", "sort_key", "keyboard_layout", "passport_number", "passenger", "hashtag", "thrash", "basalt", "email", "turkey"] {
            XCTAssertFalse(ConfigCheck.looksSecret(no), no)
        }
    }

    // MARK: - PostgreSQL and MySQL

    /// A fresh schema on the PostgreSQL server holding `ddl`; the URL resolves unqualified names in it.
    func postgresSchema(_ ddl: String) throws -> String {
        guard case .url(let base) = PostgreSQLTests.server else {
            if case .broken(let why) = PostgreSQLTests.server { throw PostgreSQLTests.ServerDown(reason: why) }
            throw XCTSkip("no PostgreSQL server")
        }
        let schema = "dataport_check_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))"
        let url = base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)"
        XCTAssertEqual(try PostgreSQLTests.psqlRun(base, "CREATE SCHEMA \(schema)").code, 0)
        addTeardownBlock { _ = try? PostgreSQLTests.psqlRun(base, "DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        let r = try PostgreSQLTests.psqlRun(url, ddl)
        XCTAssertEqual(r.code, 0, r.stderr)
        return url
    }

    func mysqlDatabase(_ ddl: String) throws -> String {
        let server: String
        switch MySQLTests.server {
        case .url(let u): server = u
        case .unavailable: throw XCTSkip("no MySQL server")
        case .broken(let why): throw MySQLTests.ServerDown(reason: why)
        }
        let db = "dataport_check_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        XCTAssertEqual(try MySQLTests.clientRun(server, database: nil, "CREATE DATABASE \(db) CHARACTER SET utf8mb4").code, 0)
        addTeardownBlock { _ = try? MySQLTests.clientRun(server, database: nil, "DROP DATABASE IF EXISTS \(db)") }
        var u = URLComponents(string: server)!
        u.path = "/" + db
        let r = try MySQLTests.clientRun(u.string!, database: db, ddl)
        XCTAssertEqual(r.code, 0, r.stderr)
        return u.string!
    }

    func testCheckReportsEveryProblemOfAPostgreSQLSchema() throws {
        let url = try postgresSchema(Self.checkDDL)
        let dir = try TestSupport.tempDir(self)
        let config = try write(Self.config(#"{"name": "pg", "type": "postgresql", "options": {"url": "\#(url)"}, "datasets": \#(Self.checkDatasets())}"#), "pg.json", in: dir)
        let r = try assertCheckFindsEverything(config, store: "pg", indexHint: "regexp_replace(translate(normalize(btrim(\"email\"")
        // The documented candidate-key index (the fix as printed) serves the lookup even on a tiny table.
        let fix = try XCTUnwrap(try find(r, "match.scan", "account", field: "email").first?["fix"] as? String)
        XCTAssertEqual(try PostgreSQLTests.psqlRun(url, fix + " ALTER TABLE users ADD UNIQUE (team);").code, 0)
        let after = try TestSupport.dataport("check", "--config", config, "--json")
        XCTAssertEqual(try find(after, "match.scan", "account", field: "email").count, 0, after.stdout)
        XCTAssertEqual(try find(after, "references.notUnique", "team_notes").count, 0, after.stdout)
    }

    func testCheckReportsEveryProblemOfAMySQLDatabase() throws {
        let url = try mysqlDatabase(Self.checkDDL)
        let dir = try TestSupport.tempDir(self)
        let config = try write(Self.config(#"{"name": "blog", "type": "mysql", "options": {"url": "\#(url)", "tls": "disabled"}, "datasets": \#(Self.checkDatasets())}"#), "my.json", in: dir)
        let r = try assertCheckFindsEverything(config, store: "blog", indexHint: "CREATE INDEX `users_email` ON `users` (`email`)")
        let fix = try XCTUnwrap(try find(r, "match.scan", "account", field: "email").first?["fix"] as? String)
        let db = String(URLComponents(string: url)!.path.dropFirst())
        XCTAssertEqual(try MySQLTests.clientRun(url, database: db, fix + " ALTER TABLE users ADD UNIQUE (team);").code, 0)
        let after = try TestSupport.dataport("check", "--config", config, "--json")
        XCTAssertEqual(try find(after, "match.scan", "account", field: "email").count, 0, after.stdout)
        XCTAssertEqual(try find(after, "references.notUnique", "team_notes").count, 0, after.stdout)
        // Honest about MySQL: with the index the rows are found through it, but the spelling
        // lookup of a text identity still reads the column.
        XCTAssertEqual(try find(after, "match.columnScan", "account", field: "email").count, 1, after.stdout)
    }

    // MARK: - audit

    /// The subject's address in NFC; the stores hold it upper-cased, in NFD and padded.
    static let email = "ren\u{E9}e.ortiz@example.com"
    static let upper = "REN\u{C9}E.ORTIZ@EXAMPLE.COM"
    static let nfd = "\u{A0}Rene\u{301}e.Ortiz@Example.com\t"
    static let other = "bo.other@example.org"
    static let nearMiss = "renee.ortiz@example.com"

    /// Tables: `users` (covered), `legacy_users` (upper case, twice), `crm_contacts` (NFD, padded),
    /// `other_people` (another person and a near miss only), `counters` (no text column).
    static func auditSQL(text: String = "TEXT") -> String {
        """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email \(text));
        CREATE TABLE legacy_users (id INTEGER PRIMARY KEY, mail \(text), note \(text));
        CREATE TABLE crm_contacts (id INTEGER PRIMARY KEY, contact_email VARCHAR(200));
        CREATE TABLE other_people (id INTEGER PRIMARY KEY, mail \(text));
        CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER);
        INSERT INTO users VALUES (1, '\(email)');
        INSERT INTO legacy_users VALUES (1, '\(upper)', 'x'), (2, '\(upper)', 'y'), (3, '\(other)', 'z');
        INSERT INTO crm_contacts VALUES (1, '\(nfd)');
        INSERT INTO other_people VALUES (1, '\(other)'), (2, '\(nearMiss)');
        INSERT INTO counters VALUES (1, 1);
        """
    }

    static let auditDataset = dataset("account", #""table": "users""#, match: #"[{"field": "email", "identity": "email"}, {"field": "id", "identity": "user_id"}]"#,
                                      fields: #"[{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]"#,
                                      yields: #"[{"identity": "user_id", "field": "id"}]"#)

    /// Runs audit; checks the exit code (3: found), the schema and that no value is printed; returns found rows by object.
    func audit(_ config: String, env: [String] = [], extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> [String: [String: Any]] {
        let r = try TestSupport.run("/usr/bin/env", env + [TestSupport.binary, "audit", "--config", config, "--subject", "email=\(Self.email)", "--json"] + extra)
        XCTAssertEqual(r.code, 3, r.stderr, file: file, line: line)
        try validate(r.stdout, def: "audit", file: file, line: line)
        for v in [Self.email, Self.upper, Self.nfd, Self.other, "ortiz", "ORTIZ", "Ortiz"] {
            XCTAssertFalse(r.stdout.contains(v) || r.stderr.contains(v), "a value in the output", file: file, line: line)
        }
        let found = try object(r.stdout)["found"] as! [[String: Any]]
        return Dictionary(found.map { ("\($0["object"]!).\($0["column"]!)", $0) }, uniquingKeysWith: { a, _ in a })
    }

    func assertSQLFindings(_ found: [String: [String: Any]], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(found["legacy_users.mail"]?["rows"] as? Int, 2, "\(found)", file: file, line: line)
        XCTAssertEqual(found["legacy_users.mail"]?["kind"] as? String, "email", file: file, line: line)
        XCTAssertEqual(found["crm_contacts.contact_email"]?["rows"] as? Int, 1, "\(found)", file: file, line: line)
        XCTAssertNil(found.keys.first { $0.hasPrefix("other_people") || $0.hasPrefix("users.") }, "\(found)", file: file, line: line)
    }

    func testAuditFindsTheSubjectInTablesAndFilesTheConfigOmits() throws {
        let dir = try TestSupport.tempDir(self)
        let db = try SQLiteDatabase(path: dir.appendingPathComponent("app.db").path, readOnly: false, create: true)
        try db.execute(Self.auditSQL())
        let files = dir.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        _ = try write("email,name\n\(Self.email),R\n", "newsletter.csv", in: files)
        _ = try write("id,E-Mail Address,x\n1,\(Self.upper),y\n2,\(Self.other),z\n", "old-export.csv", in: files)
        _ = try write("email\n\(Self.other)\n", "others.csv", in: files)
        _ = try write("{\"who\": \"Rene\u{301}e.Ortiz@Example.com\", \"n\": 1}\n{\"who\": \"\(Self.other)\"}\n", "events.jsonl", in: files)
        _ = try write("10.0.0.1 - - [01/Jan/2026] \"GET /?u=\(Self.upper) HTTP/1.1\" 200\n10.0.0.2 - - \"GET / HTTP/1.1\" 200 \(Self.other)\n", "app.log", in: files)
        _ = try write("\(Self.email)\n", "notes.txt", in: files)
        _ = try write("mail\n\(Self.upper)\n", "export-\(Self.email).csv", in: files)
        _ = try write("a,b\n\"unterminated\n", "broken.csv", in: files)
        let newsletter = Self.dataset("newsletter", #""file": "newsletter.csv""#, match: #"[{"field": "email", "identity": "email"}]"#,
                                      fields: #"[{"name": "email", "type": "string"}, {"name": "name", "type": "string"}]"#, key: nil)
        let config = try write(Self.config(#"{"name": "app", "type": "sqlite", "options": {"path": "app.db"}, "datasets": [\#(Self.auditDataset)]}"#,
                                           #"{"name": "mail", "type": "csv", "options": {"path": "files"}, "datasets": [\#(newsletter)]}"#),
                               "stores.json", in: dir)
        let found = try audit(config)
        assertSQLFindings(found)
        XCTAssertEqual(found["old-export.csv.E-Mail Address"]?["rows"] as? Int, 1, "\(found)")
        // The subject's user id (1, yielded by users.id) is a value like any other: equal text counts.
        XCTAssertEqual(found["old-export.csv.id"]?["kind"] as? String, "user_id", "\(found)")
        XCTAssertEqual(found["events.jsonl.who"]?["rows"] as? Int, 1, "\(found)")
        XCTAssertEqual(found["app.log.line"]?["rows"] as? Int, 1, "\(found)")
        XCTAssertEqual(found.values.filter { ($0["object"] as? String ?? "").contains("name withheld") }.count, 1, "\(found)")
        XCTAssertNil(found.keys.first { $0.hasPrefix("newsletter.csv") || $0.hasPrefix("others.csv") || $0.hasPrefix("notes.txt") }, "\(found)")
        let r = try TestSupport.dataport("audit", "--config", config, "--subject", "email=\(Self.email)", "--json")
        let doc = try object(r.stdout)
        XCTAssertEqual((doc["skipped"] as? [[String: Any]])?.map { $0["object"] as! String }, ["broken.csv"])
        XCTAssertEqual(doc["complete"] as? Bool, false)
        // --tables narrows; a covered table named there is a usage error (it is never searched).
        let narrow = try TestSupport.dataport("audit", "--config", config, "--subject", "email=\(Self.email)", "--tables", "app.crm_contacts", "--json")
        XCTAssertEqual(narrow.code, 3)
        XCTAssertEqual((try object(narrow.stdout)["found"] as! [[String: Any]]).count, 1)
        let covered = try TestSupport.dataport("audit", "--config", config, "--subject", "email=\(Self.email)", "--tables", "users")
        XCTAssertEqual(covered.code, 2, covered.stderr)
        // Nothing found, but broken.csv could not be searched: incomplete, exit 4.
        let incomplete = try TestSupport.dataport("audit", "--config", config, "--subject", "email=nobody@example.net", "--json")
        XCTAssertEqual(incomplete.code, 4, incomplete.stderr)
        XCTAssertEqual(try object(incomplete.stdout)["complete"] as? Bool, false)
        // Someone the omitted tables do not hold: exit 0.
        let clean = try TestSupport.dataport("audit", "--config", config, "--subject", "email=nobody@example.net", "--tables", "legacy_users,crm_contacts")
        XCTAssertEqual(clean.code, 0, clean.stderr)
        XCTAssertTrue(clean.stdout.contains("0 places"), clean.stdout)
        // A table a dataset's query reads is covered: never reported.
        let legacy = Self.dataset("legacy", #""query": "SELECT id, mail AS email FROM legacy_users""#, match: #"[{"field": "email", "identity": "email"}]"#,
                                  fields: #"[{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]"#)
        let withQuery = try write(Self.config(#"{"name": "app", "type": "sqlite", "options": {"path": "app.db"}, "datasets": [\#(Self.auditDataset), \#(legacy)]}"#),
                                  "query.json", in: dir)
        let q = try audit(withQuery)
        XCTAssertNil(q.keys.first { $0.hasPrefix("legacy_users") }, "\(q)")
        XCTAssertEqual(q["crm_contacts.contact_email"]?["rows"] as? Int, 1, "\(q)")
        // A kind the config does not match: exit 2, as for export.
        XCTAssertEqual(try TestSupport.dataport("audit", "--config", config, "--subject", "mail=x@example.com").code, 2)
    }

    func testAuditOfTheSampleCoversEverything() throws {
        let r = try TestSupport.dataport("audit", "--config", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com", "--json")
        XCTAssertEqual(r.code, 0, r.stderr + r.stdout)
        try validate(r.stdout, def: "audit")
        XCTAssertEqual(try object(r.stdout)["complete"] as? Bool, true)
    }

    func testAuditFindsTheSubjectInAPostgreSQLSchema() throws {
        let url = try postgresSchema(Self.auditSQL())
        let dir = try TestSupport.tempDir(self)
        let config = try write(Self.config(#"{"name": "pg", "type": "postgresql", "options": {"url": "\#(url)"}, "datasets": [\#(Self.auditDataset)]}"#), "pg.json", in: dir)
        assertSQLFindings(try audit(config))
    }

    func testAuditFindsTheSubjectInAMySQLDatabase() throws {
        let url = try mysqlDatabase(Self.auditSQL(text: "VARCHAR(200)"))
        let dir = try TestSupport.tempDir(self)
        let config = try write(Self.config(#"{"name": "blog", "type": "mysql", "options": {"url": "\#(url)", "tls": "disabled"}, "datasets": [\#(Self.auditDataset)]}"#), "my.json", in: dir)
        assertSQLFindings(try audit(config))
    }
}
