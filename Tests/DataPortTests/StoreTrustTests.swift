import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// Stores off the happy path (issue 13, items 9-12 and 14 for SQLite): a store that fails while it
/// is read fails alone and whole with `--allow-partial`; junk log lines can be skipped and counted;
/// invalid UTF-8 is an error, never U+FFFD; file stores read regular files only; an initScript
/// builds its database and nothing else; SQLite messages that can carry a value are not shown.
final class StoreTrustTests: XCTestCase {
    static let ana = "ana@example.com"

    static func dataset(_ name: String, _ source: String, match: String, fields: String, extra: String = "", origin: String = "provided",
                        category: String = "account") -> String {
        """
        {"name": "\(name)", \(source), "category": "\(category)", "description": "d", "purposes": ["p"],
         "legalBasis": "legitimate-interests", "origin": "\(origin)", "match": \(match), "fields": \(fields)\(extra)}
        """
    }

    /// A SQLite store `app` over `db`: `orders` first (read fine), then `account`.
    static func appStore(_ db: String, options: String = "") -> String {
        let email = #"[{"field": "email", "identity": "email"}]"#
        let orders = dataset("orders", #""table": "orders""#, match: email,
                             fields: #"[{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}, {"name": "item", "type": "string"}]"#)
        let account = dataset("account", #""table": "users""#, match: email,
                              fields: #"[{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}, {"name": "name", "type": "string"}, {"name": "age", "type": "integer"}]"#,
                              extra: #", "key": "id", "yields": [{"identity": "user_id", "field": "id"}]"#)
        return #"{"name": "app", "type": "sqlite", "options": {"path": "\#(db)"\#(options)}, "datasets": [\#(orders), \#(account)]}"#
    }

    /// An accesslog store `weblog` over `folder/access.log`, matched on the logged user.
    static func weblogStore(_ folder: String, file: String = "access.log", extra: String = "") -> String {
        let d = dataset("web_log", #""file": "\#(file)""#, match: #"[{"field": "user", "identity": "email"}]"#,
                        fields: #"[{"name": "user", "type": "string"}, {"name": "path", "type": "string"}, {"name": "user_agent", "type": "string"}]"#,
                        extra: extra, origin: "observed", category: "website-usage")
        return #"{"name": "weblog", "type": "accesslog", "options": {"path": "\#(folder)"}, "datasets": [\#(d)]}"#
    }

    static func csvStore(_ folder: String, file: String = "audience.csv") -> String {
        let d = dataset("newsletter", #""file": "\#(file)""#, match: #"[{"field": "email", "identity": "email"}]"#,
                        fields: #"[{"name": "email", "type": "string"}, {"name": "name", "type": "string"}]"#, category: "subscriptions")
        return #"{"name": "mailing", "type": "csv", "options": {"path": "\#(folder)"}, "datasets": [\#(d)]}"#
    }

    func writeConfig(_ dir: URL, _ stores: [String]) throws -> String {
        let text = #"{"version": "1", "controller": {"name": "Test", "contact": "t@example.com"}, "stores": [\#(stores.joined(separator: ", "))]}"#
        let path = dir.appendingPathComponent("stores.json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A SQLite database with `users` and `orders`; `extraSQL` runs after the sample rows.
    func makeDB(_ dir: URL, extraSQL: String = "") throws -> String {
        let db = dir.appendingPathComponent("app.db").path
        let r = try TestSupport.run("/usr/bin/sqlite3", [db, """
            CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, age);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT, item TEXT);
            INSERT INTO users VALUES (1, 'ana@example.com', 'Ana', 41), (2, 'bo@example.com', 'Bo', 30);
            INSERT INTO orders VALUES (10, 'ana@example.com', 'order-item-visible'), (11, 'bo@example.com', 'bo-item');
            \(extraSQL)
            """])
        XCTAssertEqual(r.code, 0, r.stderr)
        return db
    }

    static let goodLine = #"203.0.113.7 - ana@example.com [07/Jul/2024:09:00:00 +0000] "GET /home HTTP/1.1" 200 1 "-" "Agent""#

    func writeLog(_ dir: URL, _ bytes: [UInt8], name: String = "access.log") throws {
        try Data(bytes).write(to: dir.appendingPathComponent(name))
    }

    func export(_ config: String, _ dir: URL, _ extra: String...) throws -> (TestSupport.Run, String) {
        let out = dir.appendingPathComponent("ana-\(UUID().uuidString).zip").path
        let r = try TestSupport.dataport(["export", "--config", config, "--subject", "email=\(Self.ana)", "--scope", "access",
                                          "--generated-at", "2026-01-31T12:00:00Z", "--output", out] + extra)
        return (r, out)
    }

    /// The manifest and the text of every file of a bundle.
    func contents(_ bundle: String, _ dir: URL) throws -> (manifest: [String: Any], files: [String: String]) {
        let into = dir.appendingPathComponent("x-\(UUID().uuidString)")
        try TestSupport.unzip(bundle, into: into)
        var files: [String: String] = [:]
        for case let url as URL in FileManager.default.enumerator(at: into, includingPropertiesForKeys: nil)! where !url.hasDirectoryPath {
            files[url.lastPathComponent] = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(files["manifest.json"]).utf8)) as! [String: Any]
        return (manifest, files)
    }

    func store(_ manifest: [String: Any], _ name: String) -> [String: Any]? {
        (manifest["stores"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    func datasetNames(_ manifest: [String: Any]) -> [String] {
        (manifest["datasets"] as! [[String: Any]]).map { $0["name"] as! String }
    }

    // MARK: - 9. --allow-partial covers failures while reading

    func testABadCellFailsItsWholeStoreWithAllowPartialAndExit4Without() throws {
        let dir = try TestSupport.tempDir(self)
        let db = try makeDB(dir, extraSQL: "UPDATE users SET age = 'secret-age-value' WHERE id = 1;")
        try writeLog(dir, Array((Self.goodLine + "\n").utf8))
        let config = try writeConfig(dir, [Self.appStore(db), Self.weblogStore(dir.path)])

        let (strict, out) = try export(config, dir)
        XCTAssertEqual(strict.code, 4, strict.stderr)
        XCTAssertTrue(strict.stderr.contains("dataset account, field age"), strict.stderr)
        XCTAssertFalse(strict.stderr.contains("secret-age-value"), strict.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let (partial, bundle) = try export(config, dir, "--allow-partial", "--json")
        XCTAssertEqual(partial.code, 0, partial.stderr)
        let (m, files) = try contents(bundle, dir)
        let app = try XCTUnwrap(store(m, "app"))
        XCTAssertEqual(app["status"] as? String, "failed")
        let reason = try XCTUnwrap(app["reason"] as? String)
        XCTAssertTrue(reason.contains("field age"), reason)
        XCTAssertFalse(reason.contains("secret-age-value"), reason)
        XCTAssertEqual(store(m, "weblog")?["status"] as? String, "complete")
        // The failed store is left out whole: `orders`, read fine before `account` failed, too.
        XCTAssertEqual(datasetNames(m), ["web_log"])
        let excluded = (m["excluded"] as! [[String: Any]]).map { "\($0["name"]!): \($0["reason"]!)" }
        XCTAssertEqual(excluded, ["orders: store app could not be read", "account: store app could not be read"])
        for (name, text) in files {
            XCTAssertFalse(text.contains("order-item-visible"), "no record of the failed store in \(name)")
            XCTAssertFalse(text.contains("secret-age-value"), name)
        }
        XCTAssertFalse(files.keys.contains("orders.json"))
        // Identities the failed store yielded (user_id 1) are resolved away with it.
        let identities = (m["subject"] as! [String: Any])["identities"] as! [[String: Any]]
        XCTAssertEqual(identities.map { $0["kind"] as! String }, ["email"])
        XCTAssertEqual(try TestSupport.dataport("verify", bundle).code, 0)
    }

    func testAStoreThatFailsWhileIdentitiesAreResolvedFailsAloneWithAllowPartial() throws {
        let dir = try TestSupport.tempDir(self)
        // `account` yields cookie ids from `name`, which holds bytes that are not UTF-8 for Ana.
        let db = try makeDB(dir, extraSQL: "UPDATE users SET name = CAST(X'416E61FF' AS TEXT) WHERE id = 1;")
        try writeLog(dir, Array((Self.goodLine + "\n").utf8))
        let app = Self.appStore(db).replacingOccurrences(of: #""yields": [{"identity": "user_id", "field": "id"}]"#,
                                                          with: #""yields": [{"identity": "user_id", "field": "id"}, {"identity": "cookie_id", "field": "name"}]"#)
        let config = try writeConfig(dir, [app, Self.weblogStore(dir.path)])
        let (strict, _) = try export(config, dir)
        XCTAssertEqual(strict.code, 4, strict.stderr)
        XCTAssertTrue(strict.stderr.contains("dataset account, field name: a value is not valid UTF-8"), strict.stderr)
        let (partial, bundle) = try export(config, dir, "--allow-partial")
        XCTAssertEqual(partial.code, 0, partial.stderr)
        let (m, _) = try contents(bundle, dir)
        XCTAssertEqual(store(m, "app")?["status"] as? String, "failed")
        XCTAssertEqual(datasetNames(m), ["web_log"])
        let identities = (m["subject"] as! [String: Any])["identities"] as! [[String: Any]]
        XCTAssertEqual(identities.map { $0["kind"] as! String }, ["email"], "nothing the failed store yielded")
    }

    func testAMalformedLogLineFailsOnlyTheLogWithAllowPartial() throws {
        let dir = try TestSupport.tempDir(self)
        let db = try makeDB(dir)
        try writeLog(dir, Array((Self.goodLine + "\njunk line naming secret.person@example.com\n").utf8))
        let config = try writeConfig(dir, [Self.appStore(db), Self.weblogStore(dir.path)])
        let (strict, _) = try export(config, dir)
        XCTAssertEqual(strict.code, 4, strict.stderr)
        let (partial, bundle) = try export(config, dir, "--allow-partial")
        XCTAssertEqual(partial.code, 0, partial.stderr)
        let (m, files) = try contents(bundle, dir)
        XCTAssertEqual(store(m, "weblog")?["status"] as? String, "failed")
        XCTAssertTrue((store(m, "weblog")?["reason"] as? String ?? "").contains("access.log, line 2"))
        XCTAssertEqual(datasetNames(m), ["orders", "account"])
        XCTAssertFalse(files.values.contains { $0.contains("secret.person") })
    }

    func testSkipMalformedLinesCountsThemInTheManifestAndTheIndexPage() throws {
        let dir = try TestSupport.tempDir(self)
        var log = Array((Self.goodLine + "\n" + "junk from some client\n").utf8)
        // Invalid UTF-8 in the user agent, raw: malformed too (item 10). As an nginx escape it is
        // kept as logged (escapes undecoded), never replaced.
        log += Array(#"203.0.113.7 - ana@example.com [07/Jul/2024:09:00:01 +0000] "GET /a HTTP/1.1" 200 1 "-" "Ag"#.utf8) + [0xFF] + Array("\"\n".utf8)
        log += Array(#"203.0.113.7 - ana@example.com [07/Jul/2024:09:00:02 +0000] "GET /b HTTP/1.1" 200 1 "-" "Ag\xC3 \"q\"""#.utf8) + [0x0A]
        log += Array((Self.goodLine.replacingOccurrences(of: "/home", with: "/second") + "\n").utf8)
        try writeLog(dir, log)
        let strictConfig = try writeConfig(dir, [Self.weblogStore(dir.path)])
        XCTAssertEqual(try export(strictConfig, dir).0.code, 4)

        let config = try writeConfig(dir, [Self.weblogStore(dir.path, extra: #", "skipMalformedLines": true"#)])
        let (r, bundle) = try export(config, dir)
        XCTAssertEqual(r.code, 0, r.stderr)
        let (m, files) = try contents(bundle, dir)
        let d = try XCTUnwrap((m["datasets"] as! [[String: Any]]).first)
        XCTAssertEqual(d["recordCount"] as? Int, 3)
        XCTAssertEqual(d["skippedLines"] as? Int, 2)
        let page = try XCTUnwrap(files["index.html"])
        XCTAssertTrue(page.contains("2 lines of this log could not be read"), page)
        XCTAssertTrue(try XCTUnwrap(files["web_log.json"]).contains(#""user_agent":"Ag\\xC3 \\\"q\\\"""#), files["web_log.json"]!)
        XCTAssertFalse(files.values.contains { $0.contains("junk from") })
        XCTAssertEqual(try TestSupport.dataport("verify", bundle).code, 0)
        // The manifest and the config validate against the published schemas (python jsonschema).
        let manifestPath = dir.appendingPathComponent("m.json")
        try Data(try XCTUnwrap(files["manifest.json"]).utf8).write(to: manifestPath)
        let check = try TestSupport.run("/usr/bin/env", ["python3", "-c", """
            import json, sys, jsonschema
            fmt = sys.argv[1]
            for doc, schema in ((sys.argv[2], 'manifest.schema.json'), (sys.argv[3], 'stores-config.schema.json')):
                jsonschema.validate(json.load(open(doc)), json.load(open(fmt + '/' + schema)), cls=jsonschema.Draft202012Validator)
            """, TestSupport.root.appendingPathComponent("formats").path, manifestPath.path, config])
        XCTAssertEqual(check.code, 0, check.stderr)

        // Nothing skipped: no field. The option belongs to access logs only.
        try writeLog(dir, Array((Self.goodLine + "\n").utf8))
        let (clean, cleanBundle) = try export(config, dir)
        XCTAssertEqual(clean.code, 0, clean.stderr)
        XCTAssertNil(((try contents(cleanBundle, dir).manifest["datasets"] as! [[String: Any]]).first)?["skippedLines"])
        let wrong = try writeConfig(dir, [Self.appStore(try makeDB(dir.appendingPathComponent("sub", isDirectory: true).creatingFolder()))
            .replacingOccurrences(of: #""key": "id""#, with: #""key": "id", "skipMalformedLines": true"#)])
        let refused = try export(wrong, dir).0
        XCTAssertEqual(refused.code, 3, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("skipMalformedLines"), refused.stderr)
    }

    // MARK: - 10. Invalid UTF-8 is never replaced

    func testInvalidUTF8InASQLiteTextCellIsAStoreErrorAtDatasetFieldAndRow() throws {
        let dir = try TestSupport.tempDir(self)
        let db = try makeDB(dir, extraSQL: "UPDATE users SET name = CAST(X'416E61FF' AS TEXT) WHERE id = 1;")
        XCTAssertEqual(try TestSupport.run("/usr/bin/sqlite3", [db, "SELECT typeof(name) FROM users WHERE id = 1"]).stdout, "text\n")
        let config = try writeConfig(dir, [Self.appStore(db)])
        let (r, out) = try export(config, dir)
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("dataset account, field name: a value is not valid UTF-8"), r.stderr)
        XCTAssertTrue(r.stderr.contains("record 1"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Ana"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testInvalidUTF8InALogLineIsAMalformedLine() throws {
        let dir = try TestSupport.tempDir(self)
        let bad = Array(#"203.0.113.7 - ana@example.com [07/Jul/2024:09:00:01 +0000] "GET /caf"#.utf8) + [0xE9] + Array(#" HTTP/1.1" 200 1 "-" "A""#.utf8)
        try writeLog(dir, Array((Self.goodLine + "\n").utf8) + bad + [0x0A])
        let r = try export(try writeConfig(dir, [Self.weblogStore(dir.path)]), dir).0
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("malformed log line") && r.stderr.contains("access.log, line 2"), r.stderr)
    }

    func testInvalidUTF8InCSVAndJSONLinesFilesIsRefused() throws {
        let dir = try TestSupport.tempDir(self)
        try Data(Array("email,name\r\nana@example.com,Ana".utf8) + [0xFF] + Array("\r\n".utf8)).write(to: dir.appendingPathComponent("audience.csv"))
        let r = try export(try writeConfig(dir, [Self.csvStore(dir.path)]), dir).0
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("invalid UTF-8"), r.stderr)
    }

    // MARK: - 11. Regular files only

    /// Runs the built `dataport` and kills it if it is still running after `seconds`.
    func dataportWithTimeout(_ args: [String], seconds: Double) throws -> (code: Int32, stderr: String, timedOut: Bool) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.binary)
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = p.isRunning
        if timedOut { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), timedOut)
    }

    func testFileStoresRefuseSymlinksFIFOsAndFoldersNamingTheDataset() throws {
        let dir = try TestSupport.tempDir(self)
        let folder = dir.appendingPathComponent("exports")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let outside = dir.appendingPathComponent("other-people.csv")
        try Data("email,name\r\nana@example.com,Leaked From Elsewhere\r\n".utf8).write(to: outside)
        let csv = folder.appendingPathComponent("audience.csv")
        let logs = dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let log = logs.appendingPathComponent("access.log")

        func refused(_ stores: [String], _ what: String, dataset: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let config = try writeConfig(dir, stores)
            let out = dir.appendingPathComponent("o.zip").path
            let r = try dataportWithTimeout(["export", "--config", config, "--subject", "email=\(Self.ana)", "--scope", "access", "--output", out], seconds: 20)
            XCTAssertFalse(r.timedOut, "the export hangs (\(what))", file: file, line: line)
            XCTAssertEqual(r.code, 3, r.stderr, file: file, line: line)
            XCTAssertTrue(r.stderr.contains("dataset \(dataset)") && r.stderr.contains(what), r.stderr, file: file, line: line)
            XCTAssertFalse(r.stderr.contains("Leaked"), r.stderr, file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), file: file, line: line)
        }

        try FileManager.default.createSymbolicLink(at: csv, withDestinationURL: outside)
        try refused([Self.csvStore(folder.path)], "symbolic link", dataset: "newsletter")
        try FileManager.default.removeItem(at: csv)
        // A link to a folder on the way to the file.
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("sub"), withDestinationURL: dir)
        try refused([Self.csvStore(folder.path, file: "sub/other-people.csv")], "symbolic link", dataset: "newsletter")

        XCTAssertEqual(mkfifo(csv.path, 0o600), 0)
        try refused([Self.csvStore(folder.path)], "is a FIFO", dataset: "newsletter")
        try FileManager.default.removeItem(at: csv)
        try FileManager.default.createDirectory(at: csv, withIntermediateDirectories: false)
        try refused([Self.csvStore(folder.path)], "is a folder", dataset: "newsletter")

        try FileManager.default.createSymbolicLink(at: log, withDestinationURL: outside)
        try refused([Self.weblogStore(logs.path)], "symbolic link", dataset: "web_log")
        try FileManager.default.removeItem(at: log)
        XCTAssertEqual(mkfifo(log.path, 0o600), 0)
        try refused([Self.weblogStore(logs.path)], "is a FIFO", dataset: "web_log")

        // A JSON Lines store goes through the same door.
        let jsonl = #"{"name": "events", "type": "jsonl", "options": {"path": "\#(logs.path)"}, "datasets": [\#(Self.dataset("ev", #""file": "access.log""#, match: #"[{"field": "email", "identity": "email"}]"#, fields: #"[{"name": "email", "type": "string"}]"#))]}"#
        try refused([jsonl], "is a FIFO", dataset: "ev")

        // A regular file still reads.
        try FileManager.default.removeItem(at: log)
        try writeLog(logs, Array((Self.goodLine + "\n").utf8))
        XCTAssertEqual(try export(try writeConfig(dir, [Self.weblogStore(logs.path)]), dir).0.code, 0)
    }

    // MARK: - 12. initScript builds one database and nothing else

    func testInitScriptCannotAttachOtherFilesAndAFailedBuildLeavesNothing() throws {
        let dir = try TestSupport.tempDir(self)
        let db = dir.appendingPathComponent("app.db").path
        let elsewhere = dir.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let schema = """
            CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, age);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT, item TEXT);
            INSERT INTO users VALUES (1, 'ana@example.com', 'Ana', 41);
            """
        let attacks = [
            "ATTACH DATABASE '\(elsewhere.path)/planted.db' AS planted; CREATE TABLE planted.t (x);",
            "VACUUM INTO '\(elsewhere.path)/planted.db';",
            "SELECT load_extension('\(elsewhere.path)/planted.so');",
        ]
        for attack in attacks {
            let script = dir.appendingPathComponent("init.sql")
            try Data((schema + attack).utf8).write(to: script)
            let config = try writeConfig(dir, [Self.appStore(db, options: #", "initScript": "\#(script.path)""#)])
            let (r, out) = try export(config, dir)
            XCTAssertEqual(r.code, 3, "\(attack): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("initScript") && r.stderr.contains("authoriz"), r.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path), [], attack)
            XCTAssertFalse(FileManager.default.fileExists(atPath: db), "no half-built database: \(attack)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("building") }
            XCTAssertEqual(left, [], "no temporary file left: \(attack)")
        }
        // A script that fails half-way leaves nothing either; a good one builds the database.
        let script = dir.appendingPathComponent("init.sql")
        try Data((schema + "INSERT INTO nowhere VALUES (1);").utf8).write(to: script)
        let config = try writeConfig(dir, [Self.appStore(db, options: #", "initScript": "\#(script.path)""#)])
        XCTAssertEqual(try export(config, dir).0.code, 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: db))
        try Data(schema.utf8).write(to: script)
        let (ok, _) = try export(config, dir)
        XCTAssertEqual(ok.code, 0, ok.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: db))
    }

    // MARK: - 14. SQLite messages that could carry a value

    func testATriggersRaiseMessageIsNotShown() throws {
        let dir = try TestSupport.tempDir(self)
        let db = try makeDB(dir, extraSQL: "CREATE TRIGGER refuse BEFORE INSERT ON orders BEGIN SELECT RAISE(ABORT, 'refusing trigger-text-zed'); END;")
        let c = try SQLiteConnector(config: try StoresConfig.parse(Array(try Data(contentsOf: URL(fileURLWithPath: try writeConfig(dir, [Self.appStore(db)])))),
                                                                   file: "s.json", baseDirectory: dir.path).stores[0])
        defer { c.close() }
        let session = try c.openSession()
        assertThrows(.store, { _ = try session.execute("INSERT INTO orders (id, email, item) VALUES (?, ?, ?)", [.integer(12), .string("x@example.com"), .string("i")]) }) {
            XCTAssertFalse($0.description.contains("trigger-text-zed"), $0.description)
            XCTAssertTrue($0.description.contains("SQLITE_CONSTRAINT_TRIGGER"), $0.description)
        }
        // A constraint's message names only the schema, and stays.
        assertThrows(.store, { _ = try session.execute("DROP TRIGGER refuse", []); _ = try session.execute("INSERT INTO orders (id) VALUES (?)", [.integer(10)]) }) {
            XCTAssertTrue($0.description.contains("UNIQUE constraint failed: orders.id"), $0.description)
        }
    }
}

private extension URL {
    /// The folder, created (with its parents) if missing.
    func creatingFolder() throws -> URL {
        try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}
