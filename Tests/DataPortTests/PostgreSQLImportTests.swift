import DataPortModel
@testable import DataPortStores
import Foundation
import XCTest

/// Imports into a real PostgreSQL server, through the built CLI.
///
/// The server is the one PostgreSQLTests uses (`DATAPORT_PG_URL`, failing when it is set but
/// unusable; else `.ci/start-postgres.sh`; else skipped). Each test gets a schema of its own,
/// reached through the URL's `options=-csearch_path=...`, and drops it at the end.
final class PostgreSQLImportTests: XCTestCase {
    /// A schema of this test's own on the server, and a URL whose unqualified names resolve in it.
    struct Target {
        var baseURL: String
        var schema: String
        var url: String
    }

    func serverURL() throws -> String {
        switch PostgreSQLTests.server {
        case .url(let u): return u
        case .unavailable(let why): throw XCTSkip("PostgreSQL import tests skipped: \(why). Set DATAPORT_PG_URL or install postgresql.")
        case .broken(let why): throw PostgreSQLTests.ServerDown(reason: why)
        }
    }

    /// A fresh schema holding `ddl` (run with the schema first on the search path).
    func makeTarget(_ ddl: String) throws -> Target {
        let base = try serverURL()
        let schema = "dataport_import_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        let url: String
        if base.hasPrefix("postgres://") || base.hasPrefix("postgresql://") {
            url = base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)"
        } else {
            url = base + " options='-csearch_path=\(schema)'"
        }
        try psql(base, "CREATE SCHEMA \(schema)")
        addTeardownBlock { _ = try? PostgreSQLTests.psqlRun(base, "DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        let file = try TestSupport.tempDir(self).appendingPathComponent("schema.sql")
        try Data(ddl.utf8).write(to: file)
        let r = try TestSupport.run("/usr/bin/env", ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file.path])
        XCTAssertEqual(r.code, 0, "loading the schema failed: \(r.stderr)")
        return Target(baseURL: base, schema: schema, url: url)
    }

    @discardableResult
    func psql(_ url: String, _ sql: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try PostgreSQLTests.psqlRun(url, sql)
        XCTAssertEqual(r.code, 0, "psql failed: \(r.stderr)", file: file, line: line)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every row of every table of the target's schema (sorted), and every sequence's state: equal
    /// dumps mean nothing was written.
    func dump(_ t: Target) throws -> String {
        let tables = try psql(t.baseURL, "SELECT tablename FROM pg_tables WHERE schemaname = '\(t.schema)' ORDER BY 1")
            .split(separator: "\n").map(String.init)
        var out = ""
        for table in tables {
            out += "-- \(table)\n" + (try psql(t.url, "SET TimeZone = 'UTC'; SELECT r::text FROM \"\(table)\" r ORDER BY 1")) + "\n"
        }
        out += "-- sequences\n" + (try psql(t.baseURL, "SELECT sequencename || ' ' || coalesce(last_value::text, '-') FROM pg_sequences WHERE schemaname = '\(t.schema)' ORDER BY 1"))
        return out
    }

    /// A copy of `source` (a config in Samples) with its one store turned into a postgresql store at `url`.
    func targetConfig(_ source: URL, url: String, in dir: URL) throws -> String {
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as! [String: Any]
        config.removeValue(forKey: "$schema")
        var stores = config["stores"] as! [[String: Any]]
        XCTAssertEqual(stores.count, 1)
        stores[0]["type"] = "postgresql"
        stores[0]["options"] = ["url": url]
        config["stores"] = stores
        let path = dir.appendingPathComponent("target-\(UUID().uuidString).json").path
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// An empty copy of the sample app's schema (Samples/pg-target-schema.sql), plus `extra` SQL.
    func emptySampleTarget(_ dir: URL, extra: String = "") throws -> (target: Target, config: String) {
        let ddl = try String(contentsOf: TestSupport.samples.appendingPathComponent("pg-target-schema.sql"), encoding: .utf8)
        let t = try makeTarget(ddl + "\n" + extra)
        return (t, try targetConfig(TestSupport.samples.appendingPathComponent("stores.json"), url: t.url, in: dir))
    }

    func report(_ r: TestSupport.Run, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(r.code, 0, r.stderr, file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout, file: file, line: line)
    }

    func datasets(_ report: [String: Any]) -> [[String: Any]] { report["datasets"] as? [[String: Any]] ?? [] }

    func total(_ report: [String: Any], _ column: String) -> Int {
        datasets(report).reduce(0) { $0 + ($1[column] as? Int ?? 0) }
    }

    /// The files under `data/` of a bundle, by path below the bundle's top folder.
    func dataFiles(_ bundle: String, _ dir: URL) throws -> [String: Data] {
        try TestSupport.unzip(bundle, into: dir)
        let top = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).first)
        let data = top.appendingPathComponent("data")
        var out: [String: Data] = [:]
        for case let url as URL in FileManager.default.enumerator(at: data, includingPropertiesForKeys: nil)! where !url.hasDirectoryPath {
            out[String(url.path.dropFirst(data.path.count))] = try Data(contentsOf: url)
        }
        return out
    }

    // MARK: - Round trip and idempotence

    func testRoundTripIntoAnEmptyStoreGivesTheSameDataFiles() throws {
        let dir = try TestSupport.tempDir(self)
        let original = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "original.zip")
        let (t, config) = try emptySampleTarget(dir)
        let first = try report(try TestSupport.dataport("import", original, "--config", config, "--json"))
        XCTAssertEqual(first["agrees"] as? Bool, true)
        XCTAssertEqual(total(first, "inserted"), 25)
        XCTAssertEqual(datasets(first).count, 13)

        // Stored in the target's own types, not as text.
        XCTAssertEqual(try psql(t.url, "SELECT (registered_at AT TIME ZONE 'UTC')::text || '|' || birth_date::text FROM users"), "2021-03-04 09:15:00|1988-02-29")
        XCTAssertEqual(try psql(t.url, "SELECT string_agg(confirmed::text || '/' || coalesce((unsubscribed_at AT TIME ZONE 'UTC')::text, 'null'), ',' ORDER BY id) FROM newsletter_subscriptions"),
                       "true/null,false/2023-01-15 16:45:30")
        XCTAssertEqual(try psql(t.url, "SELECT string_agg(budget::text, ',' ORDER BY id) FROM quotation_requests"), "12500.00,0.10")
        XCTAssertEqual(try psql(t.url, "SELECT string_agg(pg_typeof(amount)::text, ',') FROM payments"), "numeric,numeric,numeric")
        XCTAssertEqual(try psql(t.url, "SELECT count(*) FROM sessions WHERE token IS NULL"), "1", "secret columns are not written")

        // Export the subject again, from PostgreSQL: the same data files, byte for byte.
        let again = dir.appendingPathComponent("again.zip").path
        let e = try TestSupport.dataport("export", "--config", config, "--subject", "email=ana.nunez@example.com", "--scope", "access",
                                         "--generated-at", "2026-01-31T12:00:00Z", "--output", again)
        XCTAssertEqual(e.code, 0, e.stderr)
        let a = try dataFiles(original, dir.appendingPathComponent("a"))
        let b = try dataFiles(again, dir.appendingPathComponent("b"))
        XCTAssertEqual(a.count, 13)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (name, bytes) in a {
            XCTAssertEqual(b[name], bytes, "\(name) differs after the round trip through PostgreSQL")
        }
    }

    func testImportingTwiceChangesNothing() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "b.zip")
        let (t, config) = try emptySampleTarget(dir)
        let first = try report(try TestSupport.dataport("import", bundle, "--config", config, "--json"))
        XCTAssertEqual(first["agrees"] as? Bool, true)
        let before = try dump(t)
        XCTAssertTrue(before.contains("Ana María Núñez"), before)
        let second = try report(try TestSupport.dataport("import", bundle, "--config", config, "--json"))
        XCTAssertEqual(second["agrees"] as? Bool, true)
        for d in datasets(second) {
            XCTAssertEqual(d["inserted"] as? Int, 0, "\(d["name"]!)")
            XCTAssertEqual(d["updated"] as? Int, 0, "\(d["name"]!)")
            XCTAssertEqual(d["unchanged"] as? Int, d["inBundle"] as? Int, "\(d["name"]!)")
        }
        XCTAssertEqual(total(second, "unchanged"), 25)
        XCTAssertEqual(try dump(t), before)

        // A row changed in the store is put back by the next import (updated, not duplicated).
        try psql(t.url, "UPDATE invoices SET total = 1.00, issued_on = '2000-01-01' WHERE number = '2024-0002'")
        let third = try report(try TestSupport.dataport("import", bundle, "--config", config, "--json"))
        let invoices = try XCTUnwrap(datasets(third).first { $0["name"] as? String == "invoices" })
        XCTAssertEqual(invoices["updated"] as? Int, 1)
        XCTAssertEqual(third["agrees"] as? Bool, true)
        XCTAssertEqual(try dump(t), before)
    }

    // MARK: - Nothing written on failure

    func testATamperedBundleIsRefusedBeforeAnyWrite() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "b.zip")
        // Flip one byte inside the data of the payments entry (found by its local header).
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bundle)))
        let name = Array("data/json/payments.json".utf8)
        var flipped = false
        var i = 0
        while i + 30 < bytes.count, !flipped {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4b, bytes[i + 2] == 3, bytes[i + 3] == 4 {
                let nameLength = Int(bytes[i + 26]) | Int(bytes[i + 27]) << 8
                let extraLength = Int(bytes[i + 28]) | Int(bytes[i + 29]) << 8
                let entry = Array(bytes[(i + 30)..<(i + 30 + nameLength)])
                if entry.count >= name.count, Array(entry.suffix(name.count)) == name {
                    bytes[i + 30 + nameLength + extraLength + 10] ^= 0x20
                    flipped = true
                }
            }
            i += 1
        }
        XCTAssertTrue(flipped, "the payments entry was not found")
        let bad = dir.appendingPathComponent("bad.zip")
        try Data(bytes).write(to: bad)

        let (t, config) = try emptySampleTarget(dir)
        let before = try dump(t)
        let r = try TestSupport.dataport("import", bad.path, "--config", config)
        XCTAssertTrue([5, 6].contains(r.code), "exit \(r.code): \(r.stderr)")
        XCTAssertEqual(try dump(t), before)
        XCTAssertEqual(try psql(t.baseURL, "SELECT count(*) FROM pg_tables WHERE schemaname = '\(t.schema)' AND tablename = 'dataport_id_map'"), "0")
    }

    func testAFailureHalfwayRollsEverythingBack() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "b.zip")
        // The target refuses one payment (the last of three, after seven datasets were written).
        let (t, config) = try emptySampleTarget(dir, extra: "ALTER TABLE payments ADD CONSTRAINT refuse_one CHECK (amount <> 234.50);")
        let before = try dump(t)
        let r = try TestSupport.dataport("import", bundle, "--config", config)
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("refuse_one") && r.stderr.contains("SQLSTATE 23514"), r.stderr)
        XCTAssertFalse(r.stderr.contains("234.50"), "no value in the message: \(r.stderr)")
        XCTAssertEqual(try dump(t), before)
        // The id map's CREATE TABLE was rolled back with the rest (DDL is transactional here).
        XCTAssertEqual(try psql(t.baseURL, "SELECT count(*) FROM pg_tables WHERE schemaname = '\(t.schema)' AND tablename = 'dataport_id_map'"), "0")
    }

    func testAMissingTableIsInvalidConfig() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "b.zip")
        let (t, config) = try emptySampleTarget(dir, extra: "DROP TABLE customer_segments;")
        let before = try dump(t)
        let r = try TestSupport.dataport("import", bundle, "--config", config)
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("customer_segments"), r.stderr)
        XCTAssertEqual(try dump(t), before)
    }

    // MARK: - Generated keys

    static let crmSchema = """
        CREATE TABLE crm_people (
          person_no integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          mail text NOT NULL,
          display_name text,
          signed_up timestamptz
        );
        CREATE TABLE crm_bills (
          bill_no bigserial PRIMARY KEY,
          person_no integer NOT NULL REFERENCES crm_people(person_no),
          reference text NOT NULL,
          bill_date date NOT NULL,
          amount_due numeric(14, 2) NOT NULL,
          currency_code char(3) NOT NULL
        );
        CREATE TABLE crm_bill_payments (
          payment_no integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
          bill_no bigint NOT NULL REFERENCES crm_bills(bill_no),
          received timestamptz NOT NULL,
          amount numeric(14, 2) NOT NULL,
          channel text
        );
        CREATE TABLE crm_newsletters (
          person_no integer NOT NULL REFERENCES crm_people(person_no),
          list_name text NOT NULL,
          since timestamptz NOT NULL,
          opted_in boolean NOT NULL
        );
        -- The CRM's own customer: imported keys must not collide with theirs.
        INSERT INTO crm_people (mail, display_name, signed_up) VALUES ('existing@crm.example', 'Existing Customer', '2019-01-01T00:00:00Z');
        INSERT INTO crm_bills (person_no, reference, bill_date, amount_due, currency_code) VALUES (1, 'CRM-1', '2019-02-01', '10.00', 'EUR');
        """

    func testGeneratedKeysAndRewrittenForeignKeysImportedTwice() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "b.zip")
        let t = try makeTarget(Self.crmSchema)
        let config = try targetConfig(TestSupport.samples.appendingPathComponent("migration/crm-stores.json"), url: t.url, in: dir)

        let first = try report(try TestSupport.dataport(["import", bundle, "--config", config, "--json"] + TestSupport.crmDroppedFields))
        XCTAssertEqual(first["agrees"] as? Bool, true)
        let inserted = Dictionary(uniqueKeysWithValues: datasets(first).map { ($0["name"] as! String, $0["inserted"] as! Int) })
        XCTAssertEqual(inserted, ["account": 1, "invoices": 2, "payments": 3, "newsletter_subscriptions": 2])
        // The subject got the CRM's next key, and every foreign key was rewritten to the CRM's keys.
        XCTAssertEqual(try psql(t.url, "SELECT string_agg(person_no || ' ' || display_name, ',' ORDER BY person_no) FROM crm_people"),
                       "1 Existing Customer,2 Ana María Núñez")
        XCTAssertEqual(try psql(t.url, "SELECT string_agg(reference || ' ' || amount_due, ',' ORDER BY reference) FROM crm_bills WHERE person_no = 2"),
                       "2024-0001 12500.00,2024-0002 1234.50")
        XCTAssertEqual(try psql(t.url, """
            SELECT count(*) FROM crm_bill_payments p JOIN crm_bills b ON p.bill_no = b.bill_no WHERE b.person_no = 2
            """), "3")
        XCTAssertEqual(try psql(t.url, "SELECT string_agg(list_name || ' ' || opted_in, ',' ORDER BY list_name) FROM crm_newsletters WHERE person_no = 2"),
                       "monthly-news true,product-updates false")
        XCTAssertEqual(try psql(t.url, "SELECT count(*) FROM dataport_id_map"), "6", "one entry per generated key")

        let before = try dump(t)
        let second = try report(try TestSupport.dataport(["import", bundle, "--config", config, "--json"] + TestSupport.crmDroppedFields))
        XCTAssertEqual(second["agrees"] as? Bool, true)
        for d in datasets(second) {
            XCTAssertEqual(d["inserted"] as? Int, 0, "\(d["name"]!)")
            XCTAssertEqual(d["updated"] as? Int, 0, "\(d["name"]!)")
            XCTAssertEqual(d["unchanged"] as? Int, d["inBundle"] as? Int, "\(d["name"]!)")
        }
        XCTAssertEqual(try dump(t), before, "no duplicates, no key consumed")

        // Exported back from the CRM: the same values under the CRM's keys.
        let out = dir.appendingPathComponent("from-crm.zip").path
        let e = try TestSupport.dataport("export", "--config", config, "--subject", "email=ana.nunez@example.com", "--scope", "access",
                                         "--generated-at", "2026-01-31T12:00:00Z", "--output", out)
        XCTAssertEqual(e.code, 0, e.stderr)
        let files = try dataFiles(out, dir.appendingPathComponent("crm"))
        let payments = String(decoding: try XCTUnwrap(files["/json/payments.json"]), as: UTF8.self)
        for amount in ["12500.00", "1000.00", "234.50"] { XCTAssertTrue(payments.contains(amount), payments) }
    }

    // MARK: - The session

    func testSessionBindsEveryTypeAndReportsErrorsWithoutValues() throws {
        let t = try makeTarget("""
            CREATE TABLE typed (id integer PRIMARY KEY, name text, amount numeric(10, 2), day date, at timestamptz,
                                flag boolean, doc bytea, big bigint);
            """)
        let json = """
            {"version": "1", "controller": {"name": "Test", "contact": "t@example.com"},
             "stores": [{"name": "target", "type": "postgresql", "options": {"url": "\(t.url)"}, "datasets": []}]}
            """
        let store = try StoresConfig.parse(Array(json.utf8), file: "test.json", baseDirectory: "/tmp").stores[0]
        let connector = try PostgreSQLConnector(config: store)
        defer { connector.close() }
        let session = try connector.openSession()
        XCTAssertEqual(session.placeholder(3), "$3")
        let ph = session.placeholder

        let doc: [UInt8] = [0x00, 0xff, 0x5c, 0x78, 0x27, 0x0a]
        let rows: [[Value]] = [
            [.integer(1), .string("O'Brien \"x\" $1 \\x"), .decimal(ExactDecimal("1234.50")!), .date(CalendarDate("2024-02-29")!),
             .timestamp(Timestamp("2024-06-30T07:30:00.25Z")!), .boolean(true), .binary(doc), .integer(9_000_000_000)],
            [.integer(2), .null, .null, .null, .null, .boolean(false), .binary([]), .null],
        ]
        try session.begin()
        let insert = "INSERT INTO typed VALUES (\((1...8).map(ph).joined(separator: ", ")))"
        for row in rows { XCTAssertEqual(try session.execute(insert, row), 1) }
        var cells: [[StoreCell]] = []
        try session.query("SELECT id, name, amount, day, at, flag, doc, big FROM typed WHERE id IN (\(ph(1)), \(ph(2))) ORDER BY id",
                          [.integer(1), .integer(2)]) { cells.append($0) }
        XCTAssertEqual(cells.count, 2)
        let types: [FieldType] = [.integer, .string, .decimal, .date, .timestamp, .boolean, .binary, .integer]
        for (row, stored) in zip(rows, cells) {
            XCTAssertEqual(zip(stored, types).map { $0.value(as: $1) }, row)
        }
        if case .blob(let b) = cells[0][6] { XCTAssertEqual(b, doc) } else { XCTFail("bytea is read as bytes: \(cells[0][6])") }

        // Null-safe equality with NULL and typed parameters, and the rows an UPDATE changed.
        var found: [Int64] = []
        let eq = session.nullSafeEquals
        try session.query("SELECT id FROM typed WHERE name \(eq) \(ph(1)) AND amount \(eq) \(ph(2)) AND flag \(eq) \(ph(3)) AND doc \(eq) \(ph(4))",
                          [.null, .null, .boolean(false), .binary([])]) { if case .integer(let i) = $0[0] { found.append(i) } }
        XCTAssertEqual(found, [2])
        XCTAssertEqual(try session.execute("UPDATE typed SET flag = \(ph(1)) WHERE day \(eq) \(ph(2))", [.boolean(true), .null]), 1)
        var returned: [StoreCell] = []
        try session.query("UPDATE typed SET big = big + 1 WHERE id = \(ph(1)) RETURNING big", [.integer(1)]) { returned = $0 }
        XCTAssertEqual(returned.first?.value(as: .integer), .integer(9_000_000_001))
        try session.commit()
        XCTAssertEqual(try psql(t.url, "SELECT count(*) FROM typed WHERE flag"), "2")

        // Errors: the config's (exit 3) for a missing table or column, the store's otherwise; never a value.
        func expect(_ kind: DataPortError.Kind, _ sql: String, _ values: [Value], mentions: String, file: StaticString = #filePath, line: UInt = #line) {
            do {
                try session.begin()
                defer { session.rollback() }
                try session.execute(sql, values)
                XCTFail("expected a \(kind.rawValue) error", file: file, line: line)
            } catch let e as DataPortError {
                XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
                XCTAssertTrue(e.description.contains(mentions), e.description, file: file, line: line)
                XCTAssertFalse(e.description.contains("secret-value"), e.description, file: file, line: line)
            } catch {
                XCTFail("unexpected \(error)", file: file, line: line)
            }
        }
        expect(.invalidConfig, "INSERT INTO no_such_table (id) VALUES ($1)", [.string("secret-value-1")], mentions: "42P01")
        expect(.invalidConfig, "INSERT INTO typed (id, no_such_column) VALUES ($1, $2)", [.integer(3), .string("secret-value-2")], mentions: "42703")
        expect(.store, "INSERT INTO typed (id) VALUES ($1)", [.string("secret-value-3")], mentions: "22P02")
        expect(.store, "INSERT INTO typed (id, name) VALUES ($1, $2)", [.integer(1), .string("secret-value-4")], mentions: "23505")
        expect(.store, "INSERT INTO typed (id, day) VALUES ($1, $2)", [.integer(5), .string("secret-value-5")], mentions: "SQLSTATE")
        // After failed transactions the session still works, and nothing of them was kept.
        try session.begin()
        XCTAssertEqual(try session.execute("DELETE FROM typed WHERE id = \(ph(1))", [.integer(2)]), 1)
        session.rollback()
        XCTAssertEqual(try psql(t.url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM typed"), "1,2")
    }

    func testScrubKeepsNamesAroundShortValues() {
        let message = #"invalid input syntax for type integer: "1" in t1 near EURO, EUR, "x@y.z""#
        XCTAssertEqual(PostgreSQLConnection.scrub(message, ["1", "EUR", "x@y.z"]), #"invalid input syntax for type integer: "…" in t1 near EURO, …, "…""#)
    }
    // MARK: - Trust off the happy path (issue 13)

    /// A config with `account` (users, by e-mail), `items` (key `id`: `code` text, `at` timestamp)
    /// and `hits` (keyless), for a store of `type` with `options` (JSON).
    func trustConfig(_ dir: URL, _ name: String, type: String, options: String) throws -> String {
        let config = TestSupport.itemsConfig(type: type, options: options, last: ("at", "timestamp"))
        let path = dir.appendingPathComponent("\(name).json").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let trustSchema = """
        CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);
        CREATE TABLE items (id integer PRIMARY KEY, user_id integer NOT NULL, code text, at timestamptz);
        CREATE TABLE hits (user_id integer NOT NULL, path text);
        """

    /// A bundle exported from a SQLite store holding user 1 and `rows` (SQL).
    func trustBundle(_ dir: URL, _ name: String, rows: String) throws -> String {
        let db = dir.appendingPathComponent("\(name).db").path
        let r = try TestSupport.run("/usr/bin/sqlite3", [db, """
            CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
            CREATE TABLE items (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, code TEXT, at TEXT);
            CREATE TABLE hits (user_id INTEGER NOT NULL, path TEXT);
            INSERT INTO users VALUES (1, 'a@example.com');
            \(rows)
            """])
        XCTAssertEqual(r.code, 0, r.stderr)
        let config = try trustConfig(dir, name, type: "sqlite", options: #"{"path": "\#(db)"}"#)
        let bundle = dir.appendingPathComponent("\(name).zip").path
        let e = try TestSupport.dataport("export", "--config", config, "--subject", "email=a@example.com", "--output", bundle)
        XCTAssertEqual(e.code, 0, e.stderr)
        return bundle
    }

    /// The server changes values on the way in (a string cut at NUL, nanoseconds rounded to
    /// microseconds): the import is rolled back before COMMIT, exit 10 naming dataset, field, record.
    func testAServerThatChangesValuesKeepsNothing() throws {
        let dir = try TestSupport.tempDir(self)
        for (rows, field, record) in [
            ("INSERT INTO items VALUES (1, 1, 'ok', '2025-01-01T00:00:00Z'), (2, 1, 'cut' || char(0) || 'here', '2025-01-01T00:00:00Z');", "code", 2),
            ("INSERT INTO items VALUES (1, 1, 'ok', '2025-01-01T00:00:00.123456789Z');", "at", 1),
        ] {
            let bundle = try trustBundle(dir, "source-\(field)", rows: rows)
            let t = try makeTarget(Self.trustSchema)
            let config = try trustConfig(dir, "target-\(field)", type: "postgresql", options: #"{"url": "\#(t.url)"}"#)
            let before = try dump(t)
            let r = try TestSupport.dataport("import", bundle, "--config", config)
            XCTAssertEqual(r.code, 10, r.stderr)
            XCTAssertTrue(r.stderr.contains("dataset items, field \(field), record \(record):"), r.stderr)
            for value in ["cut", "here", "123456"] { XCTAssertFalse(r.stderr.contains(value), r.stderr) }
            XCTAssertEqual(try dump(t), before, "a disagreeing import committed its rows (\(field))")
        }
    }

    /// Three imports of one bundle at once into a schema without `dataport_id_map`: they wait for
    /// each other (an advisory lock before anything else), none fails, keyless rows are not doubled.
    func testConcurrentImportsAreSerialised() throws {
        let dir = try TestSupport.tempDir(self)
        let hits = (1...9).map { "(1, '/p/\($0 % 4)')" }.joined(separator: ", ")
        let bundle = try trustBundle(dir, "source", rows: "INSERT INTO items VALUES (1, 1, 'a', '2025-01-01T00:00:00Z'); INSERT INTO hits VALUES \(hits);")
        let t = try makeTarget(Self.trustSchema)
        let config = try trustConfig(dir, "target", type: "postgresql", options: #"{"url": "\#(t.url)"}"#)
        nonisolated(unsafe) var runs = [TestSupport.Run?](repeating: nil, count: 3)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: runs.count) { i in
            let r = try? TestSupport.dataport("import", bundle, "--config", config, "--json")
            lock.lock(); runs[i] = r; lock.unlock()
        }
        var inserted: [Int] = []
        for r in runs {
            let run = try XCTUnwrap(r)
            inserted.append(datasets(try report(run)).first { $0["name"] as? String == "hits" }?["inserted"] as? Int ?? -1)
        }
        XCTAssertEqual(inserted.sorted(), [0, 0, 9])
        XCTAssertEqual(try psql(t.url, "SELECT count(*) FROM hits"), "9")
        XCTAssertEqual(try psql(t.url, "SELECT count(*) FROM items"), "1")
    }
}
