import DataPortModel
@testable import DataPortStores
import Foundation
import XCTest

/// The set-based import path (`BulkWritingSession`: COPY on PostgreSQL, LOAD DATA LOCAL INFILE on
/// MariaDB) against real servers: values that COPY's and LOAD DATA's text formats must escape,
/// rollback when a set-based statement fails, idempotence, reconciliation and ownership.
enum BulkFixture {
    /// A SQLite store holding user 1 (`a@example.com`) with `vals` rows that stress the text
    /// formats, and keyless `tags`.
    static let sourceSQL = """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
        CREATE TABLE vals (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, s TEXT, d TEXT, b BLOB, flag INTEGER, at TEXT, day TEXT);
        CREATE TABLE tags (user_id INTEGER NOT NULL, s TEXT);
        INSERT INTO users VALUES (1, 'a@example.com');
        INSERT INTO vals VALUES
          (1, 1, 'tab' || char(9) || 'here', '12345678901234567890.123456789', X'00FF5C0A090D', 1, '2024-07-01T12:34:56.123456Z', '2024-02-29'),
          (2, 1, 'line' || char(10) || 'break' || char(13) || char(10), '-0.000001000', X'', 0, '1999-12-31T23:59:59Z', '1970-01-01'),
          (3, 1, 'back\\slash \\N \\t', NULL, NULL, NULL, NULL, NULL),
          (4, 1, '\\N', '0.000000000', X'5C4E', 1, '2000-01-01T00:00:00.5Z', '2000-01-01'),
          (5, 1, '', '1.000000000', X'0A', 0, '2024-01-01T00:00:00Z', '2024-01-01'),
          (6, 1, NULL, '999999999.999999999', X'09', 1, '2024-01-01T00:00:00.000001Z', '2024-01-01'),
          (7, 1, '\\.', '-1.500000000', X'5C2E', 0, '2024-01-01T00:00:00Z', '2024-01-01'),
          (8, 1, 'Grüße 🎉 "quoted" ''single''', '2.000000000', X'22', 1, '2024-01-01T00:00:00Z', '2024-01-01');
        INSERT INTO tags VALUES (1, 'x' || char(9) || 'y'), (1, 'x' || char(9) || 'y'), (1, NULL), (1, ''), (1, '\\N');
        """

    static func config(type: String, options: String) -> String {
        TestSupport.accountConfig(type: type, options: options, datasets: """
               {"name": "vals", "table": "vals", "category": "billing", "description": "Values", "purposes": ["billing"],
                "legalBasis": "contract", "origin": "provided", "key": "id", "match": [{"field": "user_id", "identity": "user_id"}],
                "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "s", "type": "string"},
                           {"name": "d", "type": "decimal"}, {"name": "b", "type": "binary"}, {"name": "flag", "type": "boolean"},
                           {"name": "at", "type": "timestamp"}, {"name": "day", "type": "date"}]},
               {"name": "tags", "table": "tags", "category": "website-usage", "description": "Tags", "purposes": ["analytics"],
                "legalBasis": "consent", "origin": "observed", "match": [{"field": "user_id", "identity": "user_id"}],
                "fields": [{"name": "user_id", "type": "integer"}, {"name": "s", "type": "string"}]}
            """)
    }

    static func write(_ text: String, _ dir: URL, _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The source with vals' key 4 twice (records 4 and 5 of the bundle, which lists records in key order).
    static let repeatedKeySQL = sourceSQL.replacingOccurrences(of: "vals (id INTEGER PRIMARY KEY,", with: "vals (id INTEGER NOT NULL,")
        + "INSERT INTO vals VALUES (4, 1, 'again', NULL, NULL, NULL, NULL, NULL);"

    /// The bundle of user 1 exported from the SQLite source.
    static func bundle(_ dir: URL, sql: String = sourceSQL) throws -> String {
        let db = dir.appendingPathComponent("source-\(UUID().uuidString).db").path
        let r = try TestSupport.run("/usr/bin/sqlite3", [db, sql])
        XCTAssertEqual(r.code, 0, r.stderr)
        let config = try write(config(type: "sqlite", options: #"{"path": "\#(db)"}"#), dir, "source.json")
        let bundle = dir.appendingPathComponent("source-\(UUID().uuidString).zip").path
        let e = try TestSupport.dataport("export", "--config", config, "--subject", "email=a@example.com", "--generated-at", "2026-01-01T00:00:00Z", "--output", bundle)
        XCTAssertEqual(e.code, 0, e.stderr)
        return bundle
    }

    /// The data files of a bundle, by name.
    static func dataFiles(_ bundle: String, _ dir: URL) throws -> [String: Data] {
        try TestSupport.unzip(bundle, into: dir)
        let top = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).first)
        let data = top.appendingPathComponent("data")
        var out: [String: Data] = [:]
        for case let url as URL in FileManager.default.enumerator(at: data, includingPropertiesForKeys: nil)! where !url.hasDirectoryPath {
            out[String(url.path.dropFirst(data.path.count))] = try Data(contentsOf: url)
        }
        return out
    }

    /// Import twice (the second changes nothing), export again: the same data files.
    static func roundTrip(_ dir: URL, config: String, env: [String: String] = [:], check: () throws -> Void) throws {
        let bundle = try bundle(dir)
        for pass in 1...2 {
            let r = try TestSupport.run(TestSupport.binary, ["import", bundle, "--config", config, "--json"], environment: env)
            XCTAssertEqual(r.code, 0, "pass \(pass): \(r.stderr)")
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(report["agrees"] as? Bool, true, r.stdout)
            for d in report["datasets"] as? [[String: Any]] ?? [] {
                XCTAssertEqual(d[pass == 1 ? "inserted" : "unchanged"] as? Int, d["inBundle"] as? Int, "pass \(pass): \(d)")
                XCTAssertEqual(d["updated"] as? Int, 0, "pass \(pass): \(d)")
            }
        }
        try check()
        let again = dir.appendingPathComponent("again.zip").path
        let e = try TestSupport.run(TestSupport.binary, ["export", "--config", config, "--subject", "email=a@example.com",
                                                         "--generated-at", "2026-01-01T00:00:00Z", "--output", again], environment: env)
        XCTAssertEqual(e.code, 0, e.stderr)
        let a = try dataFiles(bundle, dir.appendingPathComponent("a")), b = try dataFiles(again, dir.appendingPathComponent("b"))
        XCTAssertEqual(a.count, 3)
        for (name, bytes) in a where !name.contains("tags") { XCTAssertEqual(b[name], bytes, "\(name) differs after the round trip") }
        // Keyless rows come back in the store's order: the same lines, as a multiset.
        let lines = { (d: Data?) in String(decoding: d ?? Data(), as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ", ")) }.sorted() }
        let tags = try XCTUnwrap(a.keys.first { $0.contains("tags") })
        XCTAssertEqual(lines(b[tags]), lines(a[tags]))
    }
}

extension PostgreSQLImportTests {
    static let bulkSchema = """
        CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);
        CREATE TABLE vals (id integer PRIMARY KEY, user_id integer NOT NULL, s text, d numeric, b bytea, flag boolean, at timestamptz, day date);
        CREATE TABLE tags (user_id integer NOT NULL, s text);
        """

    func bulkTarget(_ dir: URL, extra: String = "") throws -> (Target, String) {
        let t = try makeTarget(Self.bulkSchema + extra)
        return (t, try BulkFixture.write(BulkFixture.config(type: "postgresql", options: #"{"url": "\#(t.url)"}"#), dir, "target.json"))
    }

    /// Tabs, newlines, carriage returns, backslashes, text that looks like `\N` or COPY's end
    /// marker `\.`, NULL beside the empty string, bytes of every kind, big decimals: stored as
    /// themselves (checked with psql), a second import changes nothing, the export is byte-identical.
    func testBulkImportKeepsEveryValueThroughCOPY() throws {
        let dir = try TestSupport.tempDir(self)
        let (t, config) = try bulkTarget(dir)
        try BulkFixture.roundTrip(dir, config: config) {
            XCTAssertEqual(try psql(t.url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM vals WHERE s = E'tab\\there' OR s = E'line\\nbreak\\r\\n' OR s = E'back\\\\slash \\\\N \\\\t' OR s = E'\\\\N' OR s = E'\\\\.'"), "1,2,3,4,7")
            XCTAssertEqual(try psql(t.url, "SELECT (SELECT count(*) FROM vals WHERE s = '') || '/' || (SELECT count(*) FROM vals WHERE s IS NULL)"), "1/1")
            XCTAssertEqual(try psql(t.url, "SELECT encode(b, 'hex') || '|' || d::text || '|' || flag::text FROM vals WHERE id = 1"), "00ff5c0a090d|12345678901234567890.123456789|true")
            XCTAssertEqual(try psql(t.url, "SELECT (SELECT count(*) FROM vals WHERE b = ''::bytea) || '/' || (SELECT count(*) FROM vals WHERE b IS NULL)"), "1/1")
            XCTAssertEqual(try psql(t.url, "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM vals WHERE id = 6"), "2024-01-01 00:00:00.000001")
            XCTAssertEqual(try psql(t.url, "SELECT count(*) || '/' || count(*) FILTER (WHERE s = E'x\\ty') || '/' || count(*) FILTER (WHERE s IS NULL) || '/' || count(*) FILTER (WHERE s = '') FROM tags"), "5/2/1/1")
            XCTAssertEqual(try psql(t.url, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'dataport_stage%'"), "0")
        }
    }

    /// A constraint violated by one row in the middle of the set-based INSERT: exit 4, the
    /// constraint named and no value, and the target exactly as it was (the account row too).
    func testBulkImportFailingMidwayLeavesTheTargetUnchanged() throws {
        let dir = try TestSupport.tempDir(self)
        let (t, config) = try bulkTarget(dir, extra: """
            ALTER TABLE vals ADD CONSTRAINT small_amounts CHECK (d IS NULL OR d < 1000000000);
            INSERT INTO users VALUES (99, 'z@example.com');
            """)
        let bundle = try BulkFixture.bundle(dir)
        let before = try dump(t)
        let r = try TestSupport.dataport("import", bundle, "--config", config)
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("small_amounts") && r.stderr.contains("SQLSTATE 23514"), r.stderr)
        XCTAssertFalse(r.stderr.contains("12345678901234567890"), r.stderr)
        XCTAssertEqual(try dump(t), before)
    }

    /// A trigger changes one value on the way in: the join read-back finds it, exit 10 names the
    /// dataset, field and record (never the value), nothing is kept; a row of someone else with a
    /// key of the bundle refuses the import too.
    func testBulkImportReconcilesAndChecksOwnership() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try BulkFixture.bundle(dir)
        let (t, config) = try bulkTarget(dir, extra: """
            CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN IF NEW.id = 5 THEN NEW.s := 'changed'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER shout BEFORE INSERT OR UPDATE ON vals FOR EACH ROW EXECUTE FUNCTION shout();
            """)
        let before = try dump(t)
        let r = try TestSupport.dataport("import", bundle, "--config", config)
        XCTAssertEqual(r.code, 10, r.stderr)
        XCTAssertTrue(r.stderr.contains("dataset vals, field s, record 5:"), r.stderr)
        XCTAssertFalse(r.stderr.contains("changed"), r.stderr)
        XCTAssertEqual(try dump(t), before)

        let (other, otherConfig) = try bulkTarget(dir, extra: "INSERT INTO vals (id, user_id, s) VALUES (3, 99, 'someone else');")
        let otherBefore = try dump(other)
        let o = try TestSupport.dataport("import", bundle, "--config", otherConfig)
        XCTAssertEqual(o.code, 10, o.stderr)
        XCTAssertTrue(o.stderr.contains("dataset vals, record 3: its key id is held in the target by a row that does not belong"), o.stderr)
        XCTAssertEqual(try dump(other), otherBefore)
    }

    /// A key twice in the bundle is refused (exit 5) and nothing is kept: into an empty table whose
    /// primary key finds it (the insert fails, a savepoint turns that back into the bundle's
    /// fault), into one without a unique key (checked on the staged keys), into a non-empty one.
    func testBulkImportRefusesARepeatedKey() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try BulkFixture.bundle(dir, sql: BulkFixture.repeatedKeySQL)
        for extra in ["", "ALTER TABLE vals DROP CONSTRAINT vals_pkey;", "INSERT INTO vals (id, user_id) VALUES (100, 1);"] {
            let (t, config) = try bulkTarget(dir, extra: extra)
            let before = try dump(t)
            let r = try TestSupport.dataport("import", bundle, "--config", config)
            XCTAssertEqual(r.code, 5, "\(extra): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("dataset vals holds two records with the same key"), r.stderr)
            XCTAssertEqual(try dump(t), before)
        }
    }

    /// Into an empty table the rows go straight in by COPY: a statement trigger sees one COPY and
    /// no `INSERT ... SELECT` from a staging table. When that COPY fails in the middle (a trigger
    /// refuses one row of a COPY), it is rolled back to its savepoint and the dataset is read again
    /// and staged: every row exactly once, the report agrees.
    func testBulkImportIntoAnEmptyTableCopiesStraightIn() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try BulkFixture.bundle(dir)
        let log = """
            CREATE TABLE seen (statement text);
            CREATE FUNCTION seen() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN INSERT INTO seen VALUES (split_part(ltrim(current_query()), ' ', 1)); RETURN NULL; END $$;
            CREATE TRIGGER seen AFTER INSERT ON vals FOR EACH STATEMENT EXECUTE FUNCTION seen();
            """
        let (t, config) = try bulkTarget(dir, extra: log)
        let r = try report(try TestSupport.dataport("import", bundle, "--config", config, "--json"))
        XCTAssertEqual(r["agrees"] as? Bool, true, "\(r)")
        XCTAssertEqual(try psql(t.url, "SELECT string_agg(statement, ',') FROM seen"), "COPY")
        XCTAssertEqual(try psql(t.url, "SELECT count(*) FROM vals"), "8")

        let (f, failing) = try bulkTarget(dir, extra: log + """
            CREATE FUNCTION no_copy() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN IF NEW.id = 5 AND ltrim(current_query()) LIKE 'COPY%' THEN RAISE EXCEPTION 'not by COPY'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER no_copy BEFORE INSERT ON vals FOR EACH ROW EXECUTE FUNCTION no_copy();
            """)
        let fr = try report(try TestSupport.dataport("import", bundle, "--config", failing, "--json"))
        XCTAssertEqual(fr["agrees"] as? Bool, true, "\(fr)")
        let vals = try XCTUnwrap(datasets(fr).first { $0["name"] as? String == "vals" })
        XCTAssertEqual(vals["inserted"] as? Int, 8, "\(vals)")
        XCTAssertEqual(try psql(f.url, "SELECT string_agg(statement, ',') FROM seen"), "INSERT", "the failed COPY left nothing")
        XCTAssertEqual(try psql(f.url, "SELECT count(*) || '/' || count(DISTINCT id) FROM vals"), "8/8")
        XCTAssertEqual(try dump(f), try dump(t).replacingOccurrences(of: "COPY", with: "INSERT"))
    }

    /// A row of the subject's changed in the target is put back by the next import: counted as
    /// updated, the rest unchanged.
    func testBulkImportUpdatesOnlyWhatDiffers() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try BulkFixture.bundle(dir)
        let (t, config) = try bulkTarget(dir)
        XCTAssertEqual(try TestSupport.dataport("import", bundle, "--config", config).code, 0)
        let before = try dump(t)
        try psql(t.url, "UPDATE vals SET s = 'edited', flag = NULL WHERE id = 2; UPDATE vals SET b = '\\x01' WHERE id = 8")
        let r = try report(try TestSupport.dataport("import", bundle, "--config", config, "--json"))
        let vals = try XCTUnwrap(datasets(r).first { $0["name"] as? String == "vals" })
        XCTAssertEqual(vals["updated"] as? Int, 2, "\(vals)")
        XCTAssertEqual(vals["unchanged"] as? Int, 6, "\(vals)")
        XCTAssertEqual(r["agrees"] as? Bool, true)
        XCTAssertEqual(try dump(t), before)
    }
}

extension MySQLTests {
    static let bulkSchema = """
        CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL) ENGINE=InnoDB;
        CREATE TABLE vals (id INT PRIMARY KEY, user_id INT NOT NULL, s TEXT, d DECIMAL(40,9), b LONGBLOB, flag TINYINT(1),
          at DATETIME(6), day DATE) ENGINE=InnoDB;
        CREATE TABLE tags (user_id INT NOT NULL, s TEXT) ENGINE=InnoDB;
        """

    func bulkTarget(_ dir: URL, extra: String = "") throws -> (url: String, config: String) {
        let db = try freshDatabase()
        _ = try sql(db.url, Self.bulkSchema + extra)
        return (db.url, try BulkFixture.write(BulkFixture.config(type: "mysql", options: #"{"url": "\#(db.url)"}"#), dir, "target.json"))
    }

    /// Every row of the bulk tables, in order: equal dumps mean nothing was written.
    func bulkDump(_ url: String) throws -> String {
        try sql(url, "SELECT id, user_id, HEX(s), d, HEX(b), flag, at, day FROM vals ORDER BY id; SELECT * FROM users ORDER BY id; SELECT user_id, HEX(s) FROM tags ORDER BY 1, 2")
    }

    /// The values LOAD DATA's format must escape (tab, newline, backslash, `\N` text, NUL bytes),
    /// NULL beside empty, big decimals: stored as themselves, a second import changes nothing,
    /// the export is byte-identical.
    func testBulkImportKeepsEveryValueThroughLoadData() throws {
        let dir = try TestSupport.tempDir(self)
        let (url, config) = try bulkTarget(dir)
        try BulkFixture.roundTrip(dir, config: config) {
            XCTAssertEqual(try sql(url, "SELECT GROUP_CONCAT(id ORDER BY id) FROM vals WHERE BINARY s IN ('tab\\there', 'line\\nbreak\\r\\n', 'back\\\\slash \\\\N \\\\t', '\\\\N', '\\\\.')"), "1,2,3,4,7")
            XCTAssertEqual(try sql(url, "SELECT CONCAT((SELECT count(*) FROM vals WHERE s = ''), '/', (SELECT count(*) FROM vals WHERE s IS NULL))"), "1/1")
            XCTAssertEqual(try sql(url, "SELECT CONCAT(HEX(b), '|', d, '|', flag) FROM vals WHERE id = 1"), "00FF5C0A090D|12345678901234567890.123456789|1")
            XCTAssertEqual(try sql(url, "SELECT CONCAT((SELECT count(*) FROM vals WHERE b = ''), '/', (SELECT count(*) FROM vals WHERE b IS NULL))"), "1/1")
            XCTAssertEqual(try sql(url, "SELECT at FROM vals WHERE id = 6"), "2024-01-01 00:00:00.000001")
        }
    }

    /// A CHECK constraint violated by one row in the middle of the set-based INSERT: exit 4 with
    /// the error number and no value, and the target as it was (the account row too).
    func testBulkImportFailingMidwayLeavesTheTargetUnchanged() throws {
        let dir = try TestSupport.tempDir(self)
        let (url, config) = try bulkTarget(dir, extra: """
            ALTER TABLE vals ADD CONSTRAINT small_amounts CHECK (d IS NULL OR d < 1000000000);
            INSERT INTO users VALUES (99, 'z@example.com');
            """)
        let bundle = try BulkFixture.bundle(dir)
        let before = try bulkDump(url)
        let r = try TestSupport.dataport("import", bundle, "--config", config)
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("CHECK constraint"), r.stderr)
        XCTAssertFalse(r.stderr.contains("12345678901234567890"), r.stderr)
        XCTAssertEqual(try bulkDump(url), before)
    }

    /// A trigger changes one value on the way in: exit 10 names dataset, field and record, nothing
    /// is kept; someone else's row with a key of the bundle refuses the import too.
    func testBulkImportReconcilesAndChecksOwnership() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try BulkFixture.bundle(dir)
        let (url, config) = try bulkTarget(dir, extra: """
            CREATE TRIGGER shout BEFORE INSERT ON vals FOR EACH ROW SET NEW.s = IF(NEW.id = 5, 'changed', NEW.s);
            """)
        let before = try bulkDump(url)
        let r = try TestSupport.dataport("import", bundle, "--config", config)
        XCTAssertEqual(r.code, 10, r.stderr)
        XCTAssertTrue(r.stderr.contains("dataset vals, field s, record 5:"), r.stderr)
        XCTAssertFalse(r.stderr.contains("changed"), r.stderr)
        XCTAssertEqual(try bulkDump(url), before)

        let (other, otherConfig) = try bulkTarget(dir, extra: "INSERT INTO vals (id, user_id, s) VALUES (3, 99, 'someone else');")
        let otherBefore = try bulkDump(other)
        let o = try TestSupport.dataport("import", bundle, "--config", otherConfig)
        XCTAssertEqual(o.code, 10, o.stderr)
        XCTAssertTrue(o.stderr.contains("dataset vals, record 3: its key id is held in the target by a row that does not belong"), o.stderr)
        XCTAssertEqual(try bulkDump(other), otherBefore)
    }

    /// A key twice in the bundle is refused (exit 5), nothing kept, with or without a primary key.
    func testBulkImportRefusesARepeatedKey() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try BulkFixture.bundle(dir, sql: BulkFixture.repeatedKeySQL)
        for extra in ["", "ALTER TABLE vals DROP PRIMARY KEY;"] {
            let (url, config) = try bulkTarget(dir, extra: extra)
            let before = try bulkDump(url)
            let r = try TestSupport.dataport("import", bundle, "--config", config)
            XCTAssertEqual(r.code, 5, "\(extra): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("dataset vals holds two records with the same key"), r.stderr)
            XCTAssertEqual(try bulkDump(url), before)
        }
    }

    /// A DATETIME without fractional digits (whose digest reads the server's own text): whole
    /// seconds go in and agree, and a second import changes nothing; a fraction the column cannot
    /// hold is caught (exit 10, naming field and record), not rounded away, and nothing is kept.
    func testBulkImportIntoADatetimeWithoutFractions() throws {
        let dir = try TestSupport.tempDir(self)
        let noFraction = "ALTER TABLE vals MODIFY at DATETIME;"
        var wholeSQL = BulkFixture.sourceSQL
        for fraction in [".123456Z", ".5Z", ".000001Z"] { wholeSQL = wholeSQL.replacingOccurrences(of: fraction, with: "Z") }
        let whole = try BulkFixture.bundle(dir, sql: wholeSQL)
        let (url, config) = try bulkTarget(dir, extra: noFraction)
        for (pass, counted) in [(1, "inserted"), (2, "unchanged")] {
            let r = try TestSupport.dataport("import", whole, "--config", config, "--json")
            XCTAssertEqual(r.code, 0, "pass \(pass): \(r.stderr)")
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(report["agrees"] as? Bool, true, r.stdout)
            let vals = try XCTUnwrap((report["datasets"] as? [[String: Any]])?.first { $0["name"] as? String == "vals" })
            XCTAssertEqual(vals[counted] as? Int, 8, "pass \(pass): \(vals)")
        }
        XCTAssertEqual(try sql(url, "SELECT at FROM vals WHERE id = 1"), "2024-07-01 12:34:56")

        let (other, otherConfig) = try bulkTarget(dir, extra: noFraction)
        let before = try bulkDump(other)
        let f = try TestSupport.dataport("import", try BulkFixture.bundle(dir), "--config", otherConfig)
        XCTAssertEqual(f.code, 10, f.stderr)
        XCTAssertTrue(f.stderr.contains("dataset vals, field at, record 1"), f.stderr)
        XCTAssertFalse(f.stderr.contains("12:34:56"), f.stderr)
        XCTAssertEqual(try bulkDump(other), before)
    }

    /// A changed row is put back by the next import: counted as updated, the rest unchanged.
    /// Into an empty table the rows go straight in by LOAD DATA; when that fails in the middle (a
    /// trigger refuses one row, the first time only: its MyISAM counter survives the rollback), it
    /// is rolled back to its savepoint and the dataset read again and staged: every row exactly
    /// once, the report agrees. (Before, the one attempt was the staged one, and the import failed.)
    func testBulkImportIntoAnEmptyTableLoadsStraightIn() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try BulkFixture.bundle(dir)
        let (plain, plainConfig) = try bulkTarget(dir)
        XCTAssertEqual(try TestSupport.dataport("import", bundle, "--config", plainConfig).code, 0)
        let (url, config) = try bulkTarget(dir, extra: """
            CREATE TABLE tries (n INT NOT NULL) ENGINE=MyISAM; INSERT INTO tries VALUES (0);
            DELIMITER //
            CREATE TRIGGER once BEFORE INSERT ON vals FOR EACH ROW BEGIN
              IF NEW.id = 5 AND (SELECT n FROM tries) = 0 THEN UPDATE tries SET n = 1; SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused once'; END IF;
            END//
            DELIMITER ;
            """)
        let r = try TestSupport.dataport("import", bundle, "--config", config, "--json")
        XCTAssertEqual(r.code, 0, r.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["agrees"] as? Bool, true, r.stdout)
        let vals = try XCTUnwrap((report["datasets"] as? [[String: Any]])?.first { $0["name"] as? String == "vals" })
        XCTAssertEqual(vals["inserted"] as? Int, 8, "\(vals)")
        XCTAssertEqual(try sql(url, "SELECT n FROM tries"), "1", "the first attempt was refused")
        XCTAssertEqual(try bulkDump(url), try bulkDump(plain))
    }

    func testBulkImportUpdatesOnlyWhatDiffers() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try BulkFixture.bundle(dir)
        let (url, config) = try bulkTarget(dir)
        XCTAssertEqual(try TestSupport.dataport("import", bundle, "--config", config).code, 0)
        let before = try bulkDump(url)
        _ = try sql(url, "UPDATE vals SET s = 'edited', flag = NULL WHERE id = 2; UPDATE vals SET b = X'01' WHERE id = 8")
        let r = try TestSupport.dataport("import", bundle, "--config", config, "--json")
        XCTAssertEqual(r.code, 0, r.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let vals = try XCTUnwrap((report["datasets"] as? [[String: Any]])?.first { $0["name"] as? String == "vals" })
        XCTAssertEqual(vals["updated"] as? Int, 2, "\(vals)")
        XCTAssertEqual(vals["unchanged"] as? Int, 6, "\(vals)")
        XCTAssertEqual(report["agrees"] as? Bool, true)
        XCTAssertEqual(try bulkDump(url), before)
    }
}

/// Staging through the sessions directly: the text that reaches the staging table is exactly the
/// bundle's, every column type with a canonical rendering compares equal in the server (no row
/// comes back to be hashed in Swift), and a NUL that PostgreSQL text cannot hold is reported.
enum StagingFixture {
    static let texts = ["a\tb", "a\nb", "a\r\nb", "\\", "\\N", "\\.", "", "x\\ty\\n", "Grüße 🎉", "\\\\N\t\\"]
    static let columns: [BulkTarget.Column] = [
        .init(name: "id", type: .integer), .init(name: "name", type: .string), .init(name: "amount", type: .decimal),
        .init(name: "at", type: .timestamp), .init(name: "flag", type: .boolean), .init(name: "doc", type: .binary), .init(name: "day", type: .date),
    ]
    static var rows: [[Value]] {
        texts.enumerated().map { i, s in
            [.integer(Int64(i + 1)), .string(s), .decimal(ExactDecimal(i % 2 == 0 ? "12345678901234567890.123456789" : "-0.000000001")!),
             .timestamp(Timestamp(i % 2 == 0 ? "2024-06-30T07:30:00.25Z" : "1999-12-31T23:59:59Z")!), .boolean(i % 2 == 0),
             .binary(i % 2 == 0 ? Array(0...255) : []), .date(CalendarDate("2024-02-29")!)]
        } + [[.integer(Int64(texts.count + 1)), .null, .null, .null, .null, .null, .null]]
    }

    static func check(_ session: any SQLSession, cutsNUL: Bool) throws {
        let bulk = try XCTUnwrap(session as? any BulkWritingSession)
        try session.begin()
        defer { session.rollback() }
        let target = BulkTarget(table: "\"typed\"", path: ["typed"], columns: columns, key: 0)
        XCTAssertTrue(bulk.stages(target))
        let staged = try bulk.stage(target) { add in for r in rows { try add(r) } }
        XCTAssertEqual(staged.count, Int64(rows.count))
        XCTAssertTrue(staged.altered.isEmpty)
        var seen: [String?] = []
        try session.query("SELECT c1 FROM dataport_stage_1 ORDER BY dataport_n", []) { cells in
            if case .text(let t) = cells[0] { seen.append(t) } else { seen.append(nil) }
        }
        XCTAssertEqual(seen, texts + [nil])
        XCTAssertNil(try staged.firstRepeatedKey(targetEmpty: false))
        let written = try staged.upsert(targetEmpty: true)
        XCTAssertEqual(written.inserted, Int64(rows.count))
        for empty in [true, false] {
            var differing: [Int64] = []
            try staged.differences(targetEmpty: empty) { record, _, _ in differing.append(record) }
            XCTAssertEqual(differing, [], "every column type used here has a canonical rendering (empty: \(empty))")
        }
        XCTAssertTrue(try staged.targetHoldsOnlyStaged(), "the target holds the staged rows and no other")
        try bulk.runUnprepared("SAVEPOINT held")
        _ = try session.execute("UPDATE typed SET flag = NOT flag WHERE id = 2", [])
        XCTAssertFalse(try staged.targetHoldsOnlyStaged(), "a changed value")
        try bulk.runUnprepared("ROLLBACK TO SAVEPOINT held")
        XCTAssertTrue(try staged.targetHoldsOnlyStaged())
        _ = try session.execute("INSERT INTO typed (id) VALUES (1000)", [])
        XCTAssertFalse(try staged.targetHoldsOnlyStaged(), "one more row")
        _ = try session.execute("DELETE FROM typed WHERE id = 1000", [])
        XCTAssertEqual(try staged.upsert(targetEmpty: false).updated, 0, "nothing differs the second time")
        try staged.drop()

        let cut = try bulk.stage(BulkTarget(table: "\"typed\"", path: ["typed"], columns: Array(columns.prefix(2)), key: 0)) { add in
            try add([.integer(100), .string("cut\u{0}here")])
        }
        XCTAssertEqual(cut.altered.map(\.record), cutsNUL ? [1] : [])
        XCTAssertEqual(cut.altered.map(\.column), cutsNUL ? [1] : [])
    }

    /// Straight into the empty table: the digest the client computes over the text it loads is the
    /// one the server computes over the stored values (every column type here, NULLs, 256 bytes);
    /// one more row, or a NUL cut from a text, makes it differ (a value the target changes: the
    /// trigger tests of the CLI).
    static func checkLoad(_ session: any SQLSession, cutsNUL: Bool) throws {
        let bulk = try XCTUnwrap(session as? any BulkWritingSession)
        let target = BulkTarget(table: "\"typed\"", path: ["typed"], columns: columns, key: 0)
        try session.begin()
        defer { session.rollback() }
        let loaded = try XCTUnwrap(try bulk.loadEmpty(target) { add in for r in rows { try add(r) } })
        XCTAssertEqual(loaded.count, Int64(rows.count))
        XCTAssertTrue(loaded.exact, "the client's digest is the server's")
        var held = 0
        try session.query("SELECT count(*) FROM typed", []) { cells in if case .integer(let n) = cells[0] { held = Int(n) } }
        XCTAssertEqual(held, rows.count)
        // A row the table holds besides them (a target that was not empty after all).
        try bulk.runUnprepared("SAVEPOINT t")
        _ = try session.execute("DELETE FROM typed", [])
        _ = try session.execute("INSERT INTO typed (id) VALUES (1000)", [])
        XCTAssertFalse(try XCTUnwrap(try bulk.loadEmpty(target) { add in for r in rows { try add(r) } }).exact)
        try bulk.runUnprepared("ROLLBACK TO SAVEPOINT t")
        _ = try session.execute("DELETE FROM typed", [])
        let cut = try XCTUnwrap(try bulk.loadEmpty(BulkTarget(table: "\"typed\"", path: ["typed"], columns: Array(columns.prefix(2)), key: 0)) { add in
            try add([.integer(100), .string("cut\u{0}here")])
        })
        XCTAssertEqual(cut.exact, !cutsNUL)
        // Keyless rows, or a key the table does not hold unique: staged, never loaded straight in.
        XCTAssertNil(try bulk.loadEmpty(BulkTarget(table: "\"typed\"", path: ["typed"], columns: columns, key: nil)) { _ in XCTFail("read") })
        XCTAssertNil(try bulk.loadEmpty(BulkTarget(table: "\"typed\"", path: ["typed"], columns: columns, key: 1)) { _ in XCTFail("read") })
    }
}

extension PostgreSQLImportTests {
    func testStagingThroughCOPYIsExact() throws {
        let t = try makeTarget("CREATE TABLE typed (id integer PRIMARY KEY, name text, amount numeric, at timestamptz, flag boolean, doc bytea, day date);")
        let json = """
            {"version": "1", "controller": {"name": "Test", "contact": "t@example.com"},
             "stores": [{"name": "target", "type": "postgresql", "options": {"url": "\(t.url)"}, "datasets": []}]}
            """
        let connector = try PostgreSQLConnector(config: try StoresConfig.parse(Array(json.utf8), file: "test.json", baseDirectory: "/tmp").stores[0])
        defer { connector.close() }
        try StagingFixture.check(try connector.openSession(), cutsNUL: true)
        try StagingFixture.checkLoad(try connector.openSession(), cutsNUL: true)
        // The digest of a server without `hashtextextended` (or a big-endian one) agrees too.
        let md5 = try XCTUnwrap(try connector.openSession() as? PostgreSQLSession)
        md5.digestKind = .md5(signed: true)
        try StagingFixture.checkLoad(md5, cutsNUL: true)
        let probed = try XCTUnwrap(try connector.openSession() as? PostgreSQLSession)
        try probed.begin()
        XCTAssertEqual(try probed.rowDigestKind(), .postgreSQLHash, "this server hashes as the client does")
        probed.rollback()
    }

    /// `PostgreSQLHash` is the server's `hashtextextended` for every length of tail, the empty
    /// text, multi-byte text and seeds with either half zero or the sign bit set.
    func testRowDigestHashIsTheServers() throws {
        let t = try makeTarget("")
        let texts = (0..<40).map { n in String((0..<n).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) }) } + ["Grüße 🎉"]
        let seeds: [UInt64] = [0, 1, 0x8000_0000_0000_0001, 0xdead_beef_0000_0000, 0x0000_0000_1234_5678]
        var expected: [String] = []
        var rows: [String] = []
        for s in seeds {
            for x in texts {
                rows.append("(\(rows.count), '\(x)', \(Int64(bitPattern: s)))")
                expected.append(String(Int64(bitPattern: Array(x.utf8).withUnsafeBufferPointer { PostgreSQLHash.hash($0, seed: s) })))
            }
        }
        let held = try psql(t.url, "SELECT hashtextextended(x COLLATE \"C\", s) FROM (VALUES \(rows.joined(separator: ", "))) AS v(i, x, s) ORDER BY i")
        XCTAssertEqual(held.split(separator: "\n").map(String.init), expected)
    }
}

extension MySQLTests {
    func testStagingThroughLoadDataIsExact() throws {
        let db = try freshDatabase()
        _ = try sql(db.url, "CREATE TABLE typed (id INT PRIMARY KEY, name TEXT, amount DECIMAL(40,9), at DATETIME(6), flag TINYINT(1), doc LONGBLOB, day DATE)")
        let connector = try MySQLConnector(config: try store(db.url, []))
        defer { connector.close() }
        try StagingFixture.check(try connector.openSession(), cutsNUL: false)
        try StagingFixture.checkLoad(try connector.openSession(), cutsNUL: false)
    }
}
