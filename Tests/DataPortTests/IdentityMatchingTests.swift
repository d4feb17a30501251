import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// One normal form, every store: the same rows on SQLite, PostgreSQL, CSV, JSONL and an access log
/// give the same answers to the same identities (formats/stores-config.md, "Identity normal form").
final class IdentityMatchingTests: XCTestCase {
    /// id, e-mail as stored, IP as stored. Row `nl` has newline padding, which a log line cannot hold.
    static let rows: [(id: String, email: String, ip: String)] = [
        ("nfc", "ren\u{E9}e@example.com", "2001:DB8::4A"),
        ("nfd", "rene\u{301}e@example.com", "2001:0db8:0:0:0:0:0:004a"),
        ("upper", "REN\u{C9}E@EXAMPLE.COM", "203.0.113.7"),
        ("pad", "\t\u{A0}REN\u{C9}E@example.com\u{2028} ", "::ffff:203.0.113.7"),
        ("nl", "\nren\u{E9}e@example.com\r\n", "203.0.113.7"),
        ("tag", "ren\u{E9}e+news@example.com", "203.0.113.77"),
        ("otherdomain", "ren\u{E9}e@example.org", "2001:db8::4a0"),
        ("plain", "renee@example.com", "10.0.0.1"),
        ("dotted", "\u{130}stanbul@example.com", "10.0.0.2"),
        ("dotless", "ISTANBUL@example.com", "10.0.0.3"),
        ("sharp", "stra\u{DF}e@example.com", "10.0.0.4"),
        ("ss", "STRASSE@example.com", "10.0.0.5"),
    ]

    /// Requests (as typed) and the rows each must find, on every store.
    static let cases: [(kind: IdentityKind, request: String, expected: Set<String>)] = [
        (.email, "ren\u{E9}e@example.com", ["nfc", "nfd", "upper", "pad", "nl"]),
        (.email, " RENE\u{301}E@Example.Com\t", ["nfc", "nfd", "upper", "pad", "nl"]),
        (.email, "ren\u{E9}e+news@example.com", ["tag"]),
        (.email, "renee@example.com", ["plain"]),
        (.email, "i\u{307}stanbul@example.com", ["dotted"]),
        (.email, "istanbul@example.com", ["dotless"]),
        (.email, "strasse@example.com", ["sharp", "ss"]),
        (.email, "ren\u{E9}e@example", []),
        (.ip, "2001:db8::4a", ["nfc", "nfd"]),
        (.ip, "2001:DB8:0::4A ", ["nfc", "nfd"]),
        (.ip, "203.0.113.7", ["upper", "pad", "nl"]),
        (.ip, "::FFFF:cb00:7107", ["upper", "pad", "nl"]),
        (.ip, "203.0.113.77", ["tag"]),
        (.ip, "203.0.113", []),
    ]

    /// A new SQLite database with one table and its rows.
    static func sqlite(_ path: String, _ create: String, insert: String, _ rows: [[Value]]) throws {
        let db = try SQLiteDatabase(path: path, readOnly: false, create: true)
        try db.execute(create)
        let stmt = try db.prepare(insert)
        for r in rows { try stmt.bind(values: r); while try stmt.step() {} }
    }

    static func csvField(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    static func sqlText(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    /// Writes the rows into every store type (`StoreFixture.available`, and an access log) and
    /// returns the config and the PostgreSQL schema, if any. `only` narrows the table stores.
    func makeStores(_ dir: URL, only: [StoreFixture]? = nil) throws -> (config: StoresConfig, pgSchema: String?) {
        let files = dir.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        var log = ""
        for r in Self.rows where r.id != "nl" {
            log += "\(r.ip) - - [10/Oct/2000:13:55:36 -0700] \"GET /\(r.id) HTTP/1.1\" 200 1 \"-\" \"-\" \"\(r.email)\"\n"
        }
        try log.write(to: files.appendingPathComponent("access.log"), atomically: true, encoding: .utf8)
        let table = StoreFixture.Table("people", [.text("id"), .text("email"), .text("ip")],
                                       Self.rows.map { [.string($0.id), .string($0.email), .string($0.ip)] })
        func dataset(_ name: String, _ source: String, id: String = "id", email: String = "email", ip: String = "ip") -> String {
            """
            {"name": "\(name)", \(source), "category": "account", "description": "People.", "purposes": ["test"],
             "legalBasis": "contract", "origin": "observed", "recipients": [],
             "fields": [{"name": "id", "column": "\(id)", "type": "string"}, {"name": "email", "column": "\(email)", "type": "string"},
                        {"name": "ip", "column": "\(ip)", "type": "string"}],
             "match": [{"identity": "email", "field": "email"}, {"identity": "ip", "field": "ip"}]}
            """
        }
        var stores: [String] = []
        var pgSchema: String?
        for fixture in only ?? StoreFixture.available() {
            let made = try fixture.make(self, in: dir, [table])
            let source = made.source["people"]!
            if fixture == .postgresql { pgSchema = String(source.split(separator: "\"")[2].split(separator: ".")[0]) }
            stores.append(made.json(fixture.rawValue, datasets: [dataset("p_\(fixture.rawValue)", source)]))
        }
        stores.append("{\"name\": \"logs\", \"type\": \"accesslog\", \"options\": {\"path\": \"\(files.path)\"}, \"datasets\": [\(dataset("p_log", "\"file\": \"access.log\"", id: "path", email: "cookie_id"))]}")
        let text = "{\"version\": \"1\", \"controller\": {\"name\": \"Test\", \"contact\": \"dpo@example.com\"}, \"stores\": [\(stores.joined(separator: ","))]}"
        try text.write(to: dir.appendingPathComponent("stores.json"), atomically: true, encoding: .utf8)
        return (try StoresConfig.load(path: dir.appendingPathComponent("stores.json").path), pgSchema)
    }

    func pgURLIfAny() -> String? {
        if case .url(let u) = PostgreSQLTests.server { return u }
        return nil
    }

    func testEveryStoreFindsExactlyTheRowsWhoseNormalFormMatches() throws {
        let dir = try TestSupport.tempDir(self)
        let fixtures = StoreFixture.available()
        let (config, _) = try makeStores(dir, only: fixtures)
        XCTAssertEqual(Set(config.stores.map(\.type)), Set(fixtures.map(\.rawValue) + ["accesslog"]))
        for store in config.stores {
            let c = try StoreRegistry.standard.connector(for: store)
            try c.validate()
            defer { c.close() }
            let d = store.datasets[0]
            for t in Self.cases {
                let value = Identity(kind: t.kind, value: t.request, foundIn: ["request"]).value
                var found = Set<String>()
                try c.read(d, for: SubjectQuery(identities: [t.kind: [value]])) { r in
                    if case .string(let id) = r.values[0] { found.insert(id.hasPrefix("/") ? String(id.dropFirst()) : id) }
                }
                let expected = store.type == "accesslog" ? t.expected.subtracting(["nl"]) : t.expected
                XCTAssertEqual(found, expected, "\(store.type): \(t.kind)=\(t.request.unicodeScalars.map { String($0.value, radix: 16) })")
                // Resolution reads through distinctValues: the same rows.
                let ids = try c.distinctValues(of: "id", in: d, for: SubjectQuery(identities: [t.kind: [value]]), limit: 100)
                XCTAssertEqual(Set(ids.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }), expected, "\(store.type) distinct: \(t.kind)")
            }
        }
    }

    func testTheCLIExportFindsTheSameRowsInEveryStore() throws {
        let dir = try TestSupport.tempDir(self)
        let fixtures = StoreFixture.available()
        _ = try makeStores(dir, only: fixtures)
        let out = dir.appendingPathComponent("b.zip").path
        let r = try TestSupport.dataport("export", "--config", dir.appendingPathComponent("stores.json").path, "--scope", "access",
                                         "--subject", "email=\u{A0}RENE\u{301}E@EXAMPLE.com", "--output", out, "--json")
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("RENE"), r.stderr)
        let result = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let manifest = (result["manifest"] as? [String: Any]) ?? result
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(out, into: x)
        let top = try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil)[0]
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("manifest.json"))) as! [String: Any]
        _ = manifest
        let counts = Dictionary(uniqueKeysWithValues: (m["datasets"] as! [[String: Any]]).map { ($0["name"] as! String, $0["recordCount"] as! Int) })
        for f in fixtures { XCTAssertEqual(counts["p_\(f.rawValue)"], 5, f.rawValue) }
        XCTAssertEqual(counts["p_log"], 4)
    }

    // MARK: - Indexes

    func testSQLiteLookupUsesTheDocumentedExpressionIndex() throws {
        let dir = try TestSupport.tempDir(self)
        let (config, _) = try makeStores(dir, only: [.sqlite])
        let store = config.stores[0]
        let db = try SQLiteDatabase(path: store.path("path")!, readOnly: false)
        try db.execute("CREATE INDEX people_email_norm ON people (dataport_norm_caseless(email)); CREATE INDEX people_ip_norm ON people (dataport_norm_ip(ip))")
        let builder = SQLQueryBuilder(datasets: store.datasets, dialect: .sqlite)
        let q = builder.selectRows(store.datasets[0], for: SubjectQuery(identities: [.email: ["ren\u{E9}e@example.com"], .ip: ["10.0.0.1"]]))
        let plan = try db.prepare("EXPLAIN QUERY PLAN " + q.text)
        try plan.bind(q.parameters)
        var details: [String] = []
        while try plan.step() { if case .text(let t) = plan.cell(3) { details.append(t) } }
        XCTAssertTrue(details.contains { $0.contains("INDEX people_email_norm") }, "\(details)")
        XCTAssertTrue(details.contains { $0.contains("INDEX people_ip_norm") }, "\(details)")
        XCTAssertFalse(details.contains { $0.hasPrefix("SCAN people") }, "\(details)")
        // The indexed read still finds exactly the subject's rows.
        let c = try StoreRegistry.standard.connector(for: store)
        defer { c.close() }
        XCTAssertEqual(try TestSupport.rows(of: store.datasets[0], from: c, identities: [.email: ["ren\u{E9}e@example.com"]]).count, 5)
    }

    func testPostgreSQLLookupUsesTheDocumentedExpressionIndex() throws {
        guard let url = pgURLIfAny() else { throw XCTSkip("no PostgreSQL server") }
        let dir = try TestSupport.tempDir(self)
        let (config, schema) = try makeStores(dir, only: [.postgresql])
        let store = config.stores.first { $0.type == "postgresql" }!
        let key = SQLQueryBuilder.postgresKey(.caseless, "email")
        let ipKey = SQLQueryBuilder.postgresKey(.ip, "ip")
        let s = schema!
        XCTAssertEqual(try PostgreSQLTests.psqlRun(url, "CREATE INDEX ON \(s).people ((\(key))); CREATE INDEX ON \(s).people ((\(ipKey))); ANALYZE \(s).people").code, 0)
        let builder = SQLQueryBuilder(datasets: store.datasets, dialect: .postgresql)
        let subject = SubjectQuery(identities: [.email: ["ren\u{E9}e@example.com"]])
        let q = builder.selectSpellings("email", in: store.datasets[0], kind: .email, for: subject)
        let literal = q.text.replacingOccurrences(of: "$1", with: Self.sqlText(SQLQueryBuilder.candidateKeys(.caseless, ["ren\u{E9}e@example.com"])[0]))
        let plan = try PostgreSQLTests.psqlRun(url, "SET enable_seqscan = off; EXPLAIN \(literal)")
        XCTAssertEqual(plan.code, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("people_regexp_replace_idx"), plan.stdout)
        XCTAssertFalse(plan.stdout.contains("Seq Scan"), plan.stdout)
        // PostgreSQL computes, for every stored spelling, the key Swift computes for its normal form.
        let keys = try PostgreSQLTests.psqlRun(url, "SELECT id || '=' || \(key) || '=' || \(ipKey) FROM \(s).people")
        XCTAssertEqual(keys.code, 0, keys.stderr)
        var byID: [String: String] = [:]
        for line in keys.stdout.split(separator: "\n") { let p = line.split(separator: "=", maxSplits: 1); byID[String(p[0])] = String(p[1]) }
        for r in Self.rows {
            let email = SQLQueryBuilder.candidateKeys(.caseless, [IdentityForm.caseless.normalize(r.email)])[0]
            let ips = SQLQueryBuilder.candidateKeys(.ip, [IdentityForm.ip.normalize(r.ip)])
            let pg = byID[r.id]!.split(separator: "=", maxSplits: 1).map(String.init)
            XCTAssertEqual(pg[0], email, r.id)
            XCTAssertTrue(ips.contains(pg[1]), "\(r.id): \(pg[1]) not in \(ips)")
        }
    }

    /// The byte-level ASCII path (SQLite's per-row function) equals the String path.
    func testTheASCIIFastPathEqualsTheNormalForm() {
        for text in ["", " ", "\tAna.Nunez+X@Example.COM \r\n", "\u{0B}user_42\u{0C}", "C-7F3A", "a\u{1F}b", "  z  "] {
            for form in [IdentityForm.caseless, .exact] {
                let bytes = Array(text.utf8)
                let fast = bytes.withUnsafeBufferPointer { form.normalizeASCII($0) }
                XCTAssertEqual(fast.map { String(decoding: $0, as: UTF8.self) }, form.normalize(text), "\(form) \(bytes)")
            }
        }
        XCTAssertNil(Array("ren\u{E9}e".utf8).withUnsafeBufferPointer { IdentityForm.caseless.normalizeASCII($0) })
        XCTAssertNil(Array("10.0.0.1".utf8).withUnsafeBufferPointer { IdentityForm.ip.normalizeASCII($0) })
    }

    /// The PostgreSQL candidate key is shared by a value and its normal form, for every scalar that
    /// case folding changes (so the pre-selection through the index can miss no spelling).
    func testTheCaselessCandidateKeyIsInvariantUnderTheNormalForm() {
        var checked = 0
        for v in 0x80...0x1FFFF {
            guard let u = Unicode.Scalar(v), u.properties.changesWhenCaseFolded || u.properties.changesWhenLowercased else { continue }
            let raw = "a" + String(u) + "z"
            for spelling in [raw, raw.decomposedStringWithCanonicalMapping, raw.uppercased()] {
                XCTAssertEqual(SQLQueryBuilder.candidateKeys(.caseless, [spelling]), SQLQueryBuilder.candidateKeys(.caseless, [IdentityForm.caseless.normalize(spelling)]), "U+\(String(v, radix: 16))")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 1000)
    }

    /// The MySQL spelling lookup misses no spelling either: for every scalar that case folding
    /// changes, a value, its NFD and its upper case, each padded, equal the normal form under the
    /// lookup's expression on the server (`SQLQueryBuilder.selectSpellings`), as in MariaDB's
    /// collation tables. The misses are scalars newer than the collation's Unicode version.
    func testTheMySQLSpellingLookupFindsEveryCaseFoldedSpelling() throws {
        let db = try MySQLTests.freshDatabase(for: self)
        func hex(_ s: String) -> String { "_utf8mb4 X'" + s.utf8.map { String(format: "%02X", $0) }.joined() + "'" }
        var sql = """
            CREATE TABLE s (v INT, spelling VARCHAR(64)) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
            CREATE TABLE n (v INT, candidate VARCHAR(64)) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

            """
        var rows: [String] = [], candidates: [String] = []
        for v in 0x80...0x1FFFF {
            guard let u = Unicode.Scalar(v), u.properties.changesWhenCaseFolded || u.properties.changesWhenLowercased else { continue }
            let raw = "a" + String(u) + "z"
            for c in SQLQueryBuilder.mysqlCandidates(IdentityForm.caseless.normalize(raw)) { candidates.append("(\(v), \(hex(c)))") }
            for spelling in [raw, raw.decomposedStringWithCanonicalMapping, raw.uppercased()] {
                rows.append("(\(v), \(hex("\t\u{A0}" + spelling + "\u{2028} ")))")
            }
        }
        for (table, values) in [("s", rows), ("n", candidates)] {
            for chunk in stride(from: 0, to: values.count, by: 500) {
                sql += "INSERT INTO \(table) VALUES " + values[chunk..<min(chunk + 500, values.count)].joined(separator: ", ") + ";\n"
            }
        }
        let file = try TestSupport.tempDir(self).appendingPathComponent("s.sql")
        try sql.write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try MySQLTests.clientRun(db.url, database: db.name, "SOURCE \(file.path)").code, 0)
        let collation = ["utf8mb4_uca1400_ai_ci", "utf8mb4_0900_ai_ci"].first {
            (try? MySQLTests.clientRun(db.url, database: db.name, "SELECT _utf8mb4'a' COLLATE \($0)"))?.code == 0
        } ?? "utf8mb4_unicode_520_ci"
        let r = try MySQLTests.clientRun(db.url, database: db.name, """
            SELECT count(*), count(DISTINCT v) FROM s;
            SELECT DISTINCT HEX(v) FROM s WHERE NOT EXISTS (SELECT 1 FROM n WHERE n.v = s.v AND
              REGEXP_REPLACE(CONVERT(s.spelling USING utf8mb4), \(hex(SQLQueryBuilder.mysqlTrimPattern)), '') COLLATE \(collation) = n.candidate) ORDER BY v;
            """)
        XCTAssertEqual(r.code, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "\(rows.count)\t\(rows.count / 3)")
        let missed = lines.dropFirst().compactMap { UInt32($0, radix: 16) }
        // The collation's Unicode version knows every such scalar but those added later.
        XCTAssertLessThan(missed.count, 60, "missed: \(missed.map { String($0, radix: 16) })")
        for v in missed { XCTAssertGreaterThan(Unicode.Scalar(v)!.properties.age.map { $0.major * 100 + $0.minor } ?? 0, 1400, "U+\(String(v, radix: 16)) is in Unicode 14") }
    }

    // MARK: - Resolution to a fixed point

    /// A chain c0 -> c1 -> ... -> c30 of ids of a kind the config declares (so strong), each row
    /// yielding the next, in a store of `fixture`'s type; `nil` puts the chain in an access log
    /// (line i: user c<i>, cookie c<i+1>).
    func chainConfig(_ dir: URL, resolution: String = "", on fixture: StoreFixture? = .sqlite) throws -> String {
        let meta = #""category": "website-usage", "description": "Links.", "purposes": ["test"], "legalBasis": "contract", "origin": "observed", "recipients": []"#
        let store: String
        if let fixture {
            let made = try fixture.make(self, in: dir, [StoreFixture.Table("links", [.text("a"), .text("b")], (0..<30).map { [.string("c\($0)"), .string("c\($0 + 1)")] })])
            store = made.json("chain", datasets: ["""
                {"name": "links", \(made.source["links"]!), \(meta),
                 "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}],
                 "match": [{"identity": "link_id", "field": "a"}], "yields": [{"identity": "link_id", "field": "b"}]}
                """])
        } else {
            let logs = dir.appendingPathComponent("chain-logs-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            try (0..<30).map { "192.0.2.1 - c\($0) [10/Oct/2000:13:55:36 -0700] \"GET /\($0) HTTP/1.1\" 200 1 \"-\" \"-\" \"c\($0 + 1)\"\n" }.joined()
                .write(to: logs.appendingPathComponent("access.log"), atomically: true, encoding: .utf8)
            store = """
                {"name": "chain", "type": "accesslog", "options": {"path": "\(logs.path)"}, "datasets": [
                  {"name": "links", "file": "access.log", \(meta),
                   "fields": [{"name": "user", "type": "string"}, {"name": "cookie_id", "type": "string"}],
                   "match": [{"identity": "link_id", "field": "user"}], "yields": [{"identity": "link_id", "field": "cookie_id"}]}]}
                """
        }
        let text = """
        {"version": "1", "controller": {"name": "Test", "contact": "dpo@example.com"}, \(resolution) "stores": [\(store)]}
        """
        let path = dir.appendingPathComponent("chain-\(fixture?.rawValue ?? "accesslog")-\(resolution.count).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testResolutionRunsToAFixedPointPastTheOldCapOnEveryStoreType() throws {
        let dir = try TestSupport.tempDir(self)
        for fixture in StoreFixture.available().map(Optional.some) + [nil] {
            let name = fixture?.rawValue ?? "accesslog"
            let out = dir.appendingPathComponent("chain-\(name).zip").path
            let r = try TestSupport.dataport("export", "--config", try chainConfig(dir, on: fixture), "--subject", "link_id=c0", "--output", out, "--json")
            XCTAssertEqual(r.code, 0, "\(name): \(r.stderr)")
            let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            XCTAssertEqual(json?["records"] as? Int, 30, "\(name): \(r.stdout)")
        }
    }

    func testAResolutionLimitReachedFailsWithExit9NamingIt() throws {
        let dir = try TestSupport.tempDir(self)
        for (limit, name) in [("\"resolution\": {\"maxRounds\": 10},", "resolution.maxRounds"), ("\"resolution\": {\"maxIdentities\": 12},", "resolution.maxIdentities")] {
            let out = dir.appendingPathComponent("chain.zip").path
            let r = try TestSupport.dataport("export", "--config", try chainConfig(dir, resolution: limit), "--subject", "link_id=c0", "--output", out)
            XCTAssertEqual(r.code, 9, r.stderr)
            XCTAssertTrue(r.stderr.contains(name), r.stderr)
            XCTAssertFalse(r.stderr.contains("c0"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }

    // MARK: - The CLI

    func testAKindNoDatasetMatchesIsAUsageErrorListingTheKinds() throws {
        let dir = try TestSupport.tempDir(self)
        let r = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "mail=ana.nunez@example.com",
                                         "--output", dir.appendingPathComponent("b.zip").path)
        XCTAssertEqual(r.code, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("it matches on: cookie_id, email, user_id"), r.stderr)
        XCTAssertFalse(r.stderr.contains("ana.nunez"), r.stderr)
    }

    func testAllowEmptyWritesAVerifiableBundleThatConfirmsNothingIsHeld() throws {
        let dir = try TestSupport.tempDir(self)
        let out = dir.appendingPathComponent("empty.zip").path
        let without = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "email=nobody@example.com", "--output", out)
        XCTAssertEqual(without.code, 7, without.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let r = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "email=nobody@example.com",
                                         "--scope", "access", "--allow-empty", "--generated-at", "2026-01-31T12:00:00Z", "--output", out)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try TestSupport.dataport("verify", out).code, 0)
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(out, into: x)
        let top = try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil)[0]
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("manifest.json"))) as! [String: Any]
        let datasets = m["datasets"] as! [[String: Any]]
        XCTAssertFalse(datasets.isEmpty)
        XCTAssertTrue(datasets.allSatisfy { $0["recordCount"] as? Int == 0 })
        XCTAssertTrue((m["stores"] as! [[String: Any]]).allSatisfy { $0["status"] as? String == "complete" })
        let page = try String(contentsOf: top.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("We hold no personal data about you"), page)
    }

    func testAConfigDeclaresTheFormOfItsOwnKindsButNotOfEmailOrIP() throws {
        let dir = try TestSupport.tempDir(self)
        try "member\n\"\tREN\u{C9}E@X.ORG\"\nother@x.org\n".write(to: dir.appendingPathComponent("m.csv"), atomically: true, encoding: .utf8)
        func config(_ kinds: String) -> [UInt8] {
            Array("""
            {"version": "1", "controller": {"name": "T", "contact": "c@x"}, "identityKinds": \(kinds),
             "stores": [{"name": "f", "type": "csv", "options": {"path": "\(dir.path)"}, "datasets": [
               {"name": "members", "file": "m.csv", "category": "account", "description": "M.", "purposes": ["p"], "legalBasis": "contract",
                "origin": "provided", "recipients": [], "fields": [{"name": "member", "type": "string"}],
                "match": [{"identity": "member_email", "field": "member"}]}]}]}
            """.utf8)
        }
        let c = try StoresConfig.parse(config(#"{"member_email": {"form": "caseless", "strength": "strong"}}"#), file: "c.json", baseDirectory: dir.path)
        let g = try Gathering(config: c, request: [Identity(kind: IdentityKind("member_email"), value: "ren\u{E9}e@x.org", foundIn: ["request"])])
        defer { g.close() }
        XCTAssertEqual(try g.read(c.datasets[0]) { _ in }, 1)
        let exact = try StoresConfig.parse(config("{}"), file: "c.json", baseDirectory: dir.path)
        let g2 = try Gathering(config: exact, request: [Identity(kind: IdentityKind("member_email"), value: "ren\u{E9}e@x.org", foundIn: ["request"])])
        defer { g2.close() }
        XCTAssertEqual(try g2.read(exact.datasets[0]) { _ in }, 0, "an undeclared kind compares exactly")
        assertThrows(.invalidConfig, { _ = try StoresConfig.parse(config(#"{"email": {"form": "exact"}}"#), file: "c.json", baseDirectory: dir.path) }) {
            XCTAssertTrue($0.message.contains("identityKinds.email.form"), $0.message)
        }
    }

    // MARK: - Weak and shared identifiers

    /// Ana (user 1) and Bo (user 2) share an IP (Bo once visited from Ana's) and a cookie (Bo used
    /// Ana's browser). Their accounts and visits are in a store of `app`'s type; the log's `user`
    /// field yields user ids.
    func sharedStores(_ dir: URL, app: StoreFixture) throws -> String {
        let made = try app.make(self, in: dir, [
            StoreFixture.Table("users", [.integer("id"), .text("email"), .text("name")],
                               [[.integer(1), .string("ana@example.com"), .string("Ana")], [.integer(2), .string("bo@example.com"), .string("Bo")]]),
            StoreFixture.Table("visits", [.integer("id"), .integer("user_id"), .text("ip"), .text("cookie_id")],
                               [[.integer(1), .integer(1), .string("203.0.113.7"), .string("c-a")], [.integer(2), .integer(1), .string("198.51.100.9"), .string("c-a2")],
                                [.integer(3), .integer(2), .string("203.0.113.7"), .string("c-b")], [.integer(4), .integer(2), .string("192.0.2.50"), .string("c-a")]]),
        ])
        let logs = dir.appendingPathComponent("logs-\(app.rawValue)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        func line(_ ip: String, _ user: String, _ path: String, _ cookie: String) -> String {
            "\(ip) - \(user) [10/Oct/2000:13:55:36 -0700] \"GET \(path) HTTP/1.1\" 200 1 \"-\" \"-\" \"\(cookie)\"\n"
        }
        try [line("203.0.113.7", "-", "/a1", "c-a"), line("203.0.113.7", "2", "/b1", "c-b"), line("198.51.100.9", "1", "/a2", "c-a2"),
             line("192.0.2.50", "-", "/b2", "c-a"), line("203.0.113.7", "-", "/a3", "c-a2")].joined()
            .write(to: logs.appendingPathComponent("access.log"), atomically: true, encoding: .utf8)
        let meta = #""purposes": ["test"], "legalBasis": "legitimate-interests", "recipients": []"#
        let appStore = made.json("app", datasets: ["""
            {"name": "account", \(made.source["users"]!), "category": "account", "description": "Account.", \(meta), "origin": "provided", "key": "id",
             "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}, {"name": "name", "type": "string"}],
             "match": [{"identity": "email", "field": "email"}, {"identity": "user_id", "field": "id"}],
             "yields": [{"identity": "user_id", "field": "id"}]}
            """, """
            {"name": "visits", \(made.source["visits"]!), "category": "website-usage", "description": "Visits.", \(meta), "origin": "observed", "key": "id",
             "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "ip", "type": "string"}, {"name": "cookie_id", "type": "string"}],
             "match": [{"identity": "user_id", "field": "user_id"}],
             "yields": [{"identity": "ip", "field": "ip"}, {"identity": "cookie_id", "field": "cookie_id"}]}
            """])
        let text = """
        {"version": "1", "controller": {"name": "Test", "contact": "dpo@example.com"},
         "subjectName": {"dataset": "account", "field": "name"},
         "stores": [
          \(appStore),
          {"name": "web", "type": "accesslog", "options": {"path": "\(logs.path)"}, "datasets": [
            {"name": "access_log", "title": "Web server log", "file": "access.log", "category": "website-usage", "description": "Requests.", \(meta), "origin": "observed",
             "fields": [{"name": "ip", "type": "string"}, {"name": "user", "type": "string"}, {"name": "path", "type": "string"}, {"name": "cookie_id", "type": "string"}],
             "match": [{"identity": "ip", "field": "ip"}, {"identity": "cookie_id", "field": "cookie_id"}],
             "yields": [{"identity": "user_id", "field": "user"}]}]}]}
        """
        let path = dir.appendingPathComponent("shared-\(app.rawValue).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func exportShared(_ dir: URL, _ extra: [String], app: StoreFixture) throws -> (manifest: [String: Any], data: String, page: String) {
        let out = dir.appendingPathComponent("ana-\(app.rawValue)-\(extra.count).zip").path
        let r = try TestSupport.dataport(["export", "--config", try sharedStores(dir, app: app), "--subject", "email=ana@example.com", "--scope", "access",
                                          "--generated-at", "2026-01-31T12:00:00Z", "--output", out] + extra)
        XCTAssertEqual(r.code, 0, "\(app): \(r.stderr)")
        XCTAssertEqual(try TestSupport.dataport("verify", out).code, 0)
        let x = dir.appendingPathComponent("x-\(app.rawValue)-\(extra.count)")
        try TestSupport.unzip(out, into: x)
        let top = try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil)[0]
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("manifest.json"))) as! [String: Any]
        let data = try ["account", "visits", "access_log"].map { try String(contentsOf: top.appendingPathComponent("data/json/\($0).json"), encoding: .utf8) }.joined()
        return (m, data, try String(contentsOf: top.appendingPathComponent("index.html"), encoding: .utf8))
    }

    func testSharedWeakIdentifiersAreWithheldAndWeakRowsNeverYieldOnEveryStoreType() throws {
        let dir = try TestSupport.tempDir(self)
        for app in StoreFixture.available() {
            let (m, data, page) = try exportShared(dir, [], app: app)
            let datasets = Dictionary(uniqueKeysWithValues: (m["datasets"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
            XCTAssertEqual(datasets["account"]?["recordCount"] as? Int, 1, "\(app)")
            XCTAssertEqual(datasets["visits"]?["recordCount"] as? Int, 2, "\(app)")
            XCTAssertEqual(datasets["access_log"]?["recordCount"] as? Int, 2, "\(app): only /a2 and /a3 (through Ana's own IP or cookie)")
            XCTAssertEqual(datasets["access_log"]?["sharedOnly"] as? [String: Int], ["withheld": 3, "included": 0], "\(app)")
            XCTAssertNil(datasets["visits"]?["sharedOnly"], "\(app)")
            for foreign in ["/b1", "/b2", "/a1", "c-b", "Bo", "bo@example.com", "192.0.2.50"] {
                XCTAssertFalse(data.contains(foreign), "\(app): another person's data in Ana's bundle: \(foreign)")
                XCTAssertFalse(page.contains(foreign) && foreign != "/a1", "\(app): another person's data on Ana's page: \(foreign)")
            }
            let identities = ((m["subject"] as! [String: Any])["identities"] as! [[String: Any]])
            let shared = Set(identities.filter { $0["shared"] as? Bool == true }.map { "\($0["kind"]!)=\($0["value"]!)" })
            XCTAssertEqual(shared, ["ip=203.0.113.7", "cookie_id=c-a"], "\(app)")
            XCTAssertFalse(identities.contains { $0["kind"] as? String == "user_id" && $0["value"] as? String == "2" }, "\(app): a weak row yielded Bo's user id")
            XCTAssertTrue(page.contains("2 identifiers (cookie_id, ip) were also used by another person"), "\(app): \(page)")
            XCTAssertTrue(page.contains("were withheld to protect that person (Web server log: 3)"), "\(app): \(page)")
        }
    }

    func testASubjectFoundOnlyThroughSharedIdentifiersGetsABundleThatSaysSo() throws {
        let dir = try TestSupport.tempDir(self)
        for app in StoreFixture.available() {
            let out = dir.appendingPathComponent("ip-\(app.rawValue).zip").path
            let r = try TestSupport.dataport("export", "--config", try sharedStores(dir, app: app), "--subject", "ip=203.0.113.7", "--scope", "access", "--output", out)
            XCTAssertEqual(r.code, 0, "\(app): \(r.stderr)")
            let x = dir.appendingPathComponent("x-ip-\(app.rawValue)")
            try TestSupport.unzip(out, into: x)
            let top = try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil)[0]
            let page = try String(contentsOf: top.appendingPathComponent("index.html"), encoding: .utf8)
            XCTAssertFalse(page.contains("We hold no personal data"), "\(app): \(page)")
            XCTAssertTrue(page.contains("were withheld to protect that person"), "\(app): \(page)")
            XCTAssertFalse(page.contains("/b1"), "\(app): \(page)")
        }
    }

    func testIncludeSharedIncludesThemCountedButStillNeverYieldsOnEveryStoreType() throws {
        let dir = try TestSupport.tempDir(self)
        for app in StoreFixture.available() {
            let (m, data, page) = try exportShared(dir, ["--include-shared"], app: app)
            let datasets = Dictionary(uniqueKeysWithValues: (m["datasets"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
            XCTAssertEqual(datasets["access_log"]?["recordCount"] as? Int, 5, "\(app)")
            XCTAssertEqual(datasets["access_log"]?["sharedOnly"] as? [String: Int], ["withheld": 0, "included": 3], "\(app)")
            XCTAssertEqual(datasets["account"]?["recordCount"] as? Int, 1, "\(app): Bo's account never joins Ana's")
            XCTAssertFalse(data.contains("bo@example.com"), "\(app)")
            XCTAssertTrue(page.contains("are included on request and may be about that person (Web server log: 3)"), "\(app): \(page)")
        }
    }
}
