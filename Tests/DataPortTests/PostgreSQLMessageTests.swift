import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// Server messages are shown by shape (issue 13, item 14), against the real server: a row's value
/// the server quotes never reaches stderr or the `--json` error document.
extension PostgreSQLTests {
    /// A fresh table with Ana's row and another person's, dropped when the test ends.
    func peopleTable(_ url: String) throws -> String {
        let table = "dataport_msg_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        _ = try psql(url, """
            CREATE TABLE \(table) (id int PRIMARY KEY, email text UNIQUE, name text);
            INSERT INTO \(table) VALUES (1, 'ana@example.com', 'Secret Name Zed'), (2, 'other@example.com', 'Other Person Qux');
            """)
        addTeardownBlock { _ = try? Self.psqlRun(url, "DROP TABLE IF EXISTS \(table) CASCADE") }
        return table
    }

    /// PL/pgSQL functions that raise with a row's value, and a trigger that does, on `table`; a skip
    /// (never a pass) when the server cannot load PL/pgSQL.
    func raisingFunctions(_ url: String, on table: String) throws {
        let probe = try Self.psqlRun(url, "DO $$ BEGIN END $$")
        guard probe.code == 0 else {
            throw XCTSkip("PL/pgSQL does not load on this server (\(probe.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); the RAISE cases need it")
        }
        _ = try psql(url, """
            CREATE FUNCTION \(table)_refuse(e text) RETURNS int LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'refusing %', upper(e); END $$;
            CREATE FUNCTION \(table)_sneaky(e text) RETURNS int LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'no table %', e USING ERRCODE = 'undefined_table'; END $$;
            CREATE FUNCTION \(table)_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN IF NEW.id > 100 THEN RAISE EXCEPTION 'refusing %', upper(NEW.email); END IF; RETURN NEW; END $$;
            CREATE TRIGGER \(table)_t BEFORE INSERT ON \(table) FOR EACH ROW EXECUTE FUNCTION \(table)_trigger();
            """)
        addTeardownBlock {
            _ = try? Self.psqlRun(url, "DROP FUNCTION IF EXISTS \(table)_refuse(text), \(table)_sneaky(text); DROP TABLE IF EXISTS \(table) CASCADE; DROP FUNCTION IF EXISTS \(table)_trigger()")
        }
    }

    /// A config with one postgresql store whose dataset `people` is `query`.
    func queryConfig(_ dir: URL, url: String, query: String) throws -> String {
        let text = """
            {"version": "1", "controller": {"name": "T", "contact": "t@example.com"},
             "stores": [{"name": "billing", "type": "postgresql", "options": {"url": "\(url)"},
               "datasets": [{"name": "people", "query": "\(query)", "category": "account", "description": "d", "purposes": ["p"],
                 "legalBasis": "contract", "origin": "provided", "key": "id", "match": [{"field": "email", "identity": "email"}],
                 "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}, {"name": "n", "type": "string"}]}]}]}
            """
        let path = dir.appendingPathComponent("pg-\(UUID().uuidString).json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Exports Ana with `query` (plain and `--json`); asserts exit 4, the SQLSTATE and condition, and
    /// that none of `values` appears anywhere in the output.
    func assertScrubbed(_ url: String, query: String, sqlstate: String, condition: String, values: [String], code: Int32 = 4,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try TestSupport.tempDir(self)
        let config = try queryConfig(dir, url: url, query: query)
        for extra in [[], ["--json"]] {
            let r = try TestSupport.dataport(["export", "--config", config, "--subject", "email=ana@example.com",
                                              "--output", dir.appendingPathComponent("o.zip").path] + extra)
            XCTAssertEqual(r.code, code, r.stderr, file: file, line: line)
            let all = r.stdout + r.stderr
            XCTAssertTrue(all.contains("SQLSTATE \(sqlstate) \(condition)"), all, file: file, line: line)
            for v in values { XCTAssertFalse(all.lowercased().contains(v.lowercased()), "\(v) leaked: \(all)", file: file, line: line) }
            if extra == ["--json"] {
                let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.isEmpty ? r.stderr.utf8 : r.stdout.utf8)) as? [String: Any]
                XCTAssertNotNil(doc, "a JSON error document: \(all)", file: file, line: line)
            }
        }
    }

    func testACastErrorDoesNotQuoteTheRowsValue() throws {
        let url = try serverURL()
        let t = try peopleTable(url)
        try assertScrubbed(url, query: "SELECT id, email, (name::int)::text AS n FROM \(t)", sqlstate: "22P02",
                           condition: "invalid_text_representation", values: ["Secret Name Zed", "Other Person Qux"])
        // An allowed SQLSTATE quotes a value too once a row is cast: while a query runs, no text is shown.
        // (Class 42 while reading is the config's query's fault: exit 3.)
        try assertScrubbed(url, query: "SELECT id, email, (quote_ident(name)::regclass)::text AS n FROM \(t)", sqlstate: "42P01",
                           condition: "undefined_table", values: ["Secret Name Zed", "Other Person Qux"], code: 3)
    }

    func testARaisedExceptionDoesNotQuoteTheRowsValue() throws {
        let url = try serverURL()
        let t = try peopleTable(url)
        try raisingFunctions(url, on: t)
        try assertScrubbed(url, query: "SELECT id, email, \(t)_refuse(email)::text AS n FROM \(t)", sqlstate: "P0001",
                           condition: "raise_exception", values: ["ANA@EXAMPLE.COM", "OTHER@EXAMPLE.COM"])
        // A function may raise any SQLSTATE, an allowed one included: its text is still not shown.
        try assertScrubbed(url, query: "SELECT id, email, \(t)_sneaky(name)::text AS n FROM \(t)", sqlstate: "42P01",
                           condition: "undefined_table", values: ["Secret Name Zed", "Other Person Qux"], code: 3)
        // A trigger's RAISE on a write (an import's session).
        let session = try PostgreSQLConnector(config: try billingStore(url: url, datasets: Self.invoicesDataset)).openSession()
        try session.begin()
        defer { session.rollback() }
        assertThrows(.store, { _ = try session.execute("INSERT INTO \(t) (id, email, name) VALUES ($1, $2, $3)", [.integer(101), .string("trigger.victim@example.com"), .string("n")]) }) {
            XCTAssertFalse($0.description.lowercased().contains("trigger.victim"), $0.description)
            XCTAssertTrue($0.description.contains("SQLSTATE P0001 raise_exception"), $0.description)
        }
    }

    func testAUniqueViolationDoesNotQuoteTheKey() throws {
        let url = try serverURL()
        let t = try peopleTable(url)
        let session = try PostgreSQLConnector(config: try billingStore(url: url, datasets: Self.invoicesDataset)).openSession()
        try session.begin()
        defer { session.rollback() }
        // The condition and the constraint's name, never the key (DETAIL) or the row.
        assertThrows(.store, { _ = try session.execute("INSERT INTO \(t) (id, email, name) SELECT 3, email, name FROM \(t) WHERE id = 2", []) }) {
            XCTAssertFalse($0.description.contains("other@example.com"), $0.description)
            XCTAssertTrue($0.description.contains("SQLSTATE 23505 unique_violation"), $0.description)
            XCTAssertTrue($0.description.contains("constraint \(t)_email_key"), $0.description)
        }
        session.rollback()
        // A value-free message stays where no row has been read: a missing table is named.
        let missing = Self.invoicesDataset.replacingOccurrences(of: #""table": "invoices""#, with: #""table": "no_such_table_here""#)
        assertThrows(.invalidConfig, { _ = try self.read(try self.billingStore(url: url, datasets: missing), "invoices", [.userID: ["1"]]) }) {
            XCTAssertTrue($0.description.contains("relation \"no_such_table_here\" does not exist"), $0.description)
        }
    }
}
