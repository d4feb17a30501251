import DataPort
import DataPortImport
import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// The store conformance suite, like rclone's fstests: every type in `StoreRegistry.standard` runs
/// every test here on one small dataset, declared once below as data, that its fixture
/// (`StoreFixture.maker`) materialises in that store. A registered type without a fixture fails
/// `testEveryRegisteredStoreTypeHasAFixture` (and every test). What a store declares it cannot do
/// (`StoreCapabilities`) is not skipped: the test checks that the store refuses it properly.
final class StoreConformanceTests: XCTestCase {
    // MARK: - The dataset, as data

    /// A field of the suite's dataset. `log` is the column holding it in a store whose columns are
    /// fixed (no `namedColumns`: an access log's parsed fields); fields without one are left out there.
    struct Field {
        var name: String
        var type: FieldType
        var secret = false
        var log: String?
    }

    static let fields: [Field] = [
        Field(name: "id", type: .integer, log: "status"),
        Field(name: "email", type: .string, log: "cookie_id"),
        Field(name: "ip", type: .string, log: "ip"),
        Field(name: "name", type: .string, log: "user_agent"),
        Field(name: "amount", type: .decimal),
        Field(name: "active", type: .boolean),
        Field(name: "born", type: .date),
        Field(name: "seen_at", type: .timestamp),
        Field(name: "photo", type: .binary),
        Field(name: "password_hash", type: .string, secret: true, log: "user"),
    ]

    static func row(_ id: Int64, _ email: String?, _ ip: String, _ name: String?, _ amount: String?, _ active: Bool?,
                    _ born: String?, _ seen: String?, _ photo: String?, _ secret: String?) -> [Value] {
        [.integer(id), email.map(Value.string) ?? .null, .string(ip), name.map(Value.string) ?? .null,
         amount.map { .decimal(ExactDecimal($0)!) } ?? .null, active.map(Value.boolean) ?? .null,
         born.map { .date(CalendarDate($0)!) } ?? .null, seen.map { .timestamp(Timestamp($0)!) } ?? .null,
         photo.map { .binary(Array($0.utf8)) } ?? .null, secret.map(Value.string) ?? .null]
    }

    /// The rows: the subject's (101, 103, 104, 105) among near misses. Decimals carry 9 fraction
    /// digits (a DECIMAL(30,9) column gives them back so); binary is UTF-8 (a text file holds it).
    static let rows: [[Value]] = [
        row(101, "ana@example.com", "203.0.113.7", "Ana N\u{FA}\u{F1}ez", "1234567890.123456789", true, "1990-05-17", "2024-03-01T10:15:00Z", "PNG\u{20AC}", "hash-101-secret"),
        // Same local part, other domain; an IP of which the subject's is a prefix.
        row(102, "ana@example.org", "203.0.113.77", "Ana Other", "1.500000000", false, "1991-01-01", "2024-03-02T00:00:00Z", "x", "hash-102-secret"),
        // Every field NULL but the key and the IP it is found by.
        row(103, nil, "203.0.113.7", nil, nil, nil, nil, nil, nil, nil),
        // Another spelling of the subject's address (case): the same normal form.
        row(104, "ANA@Example.COM", "10.0.0.1", "ANA", "-0.250000000", false, "2000-02-29", "2024-03-03T23:59:59Z", "y", "hash-104-secret"),
        // Decomposed (NFD) é: the normal form of the subject's composed address; stored as it is.
        row(105, "rene\u{301}e@example.com", "10.0.0.2", "Rene\u{301}e", "0.000000000", true, "1985-12-31", "2024-03-04T08:00:00Z", "z", "hash-105-secret"),
        // No accent: another person.
        row(106, "renee@example.com", "10.0.0.3", "Renee", "2.000000000", true, "1980-01-01", "2024-03-05T08:00:00Z", "w", "hash-106-secret"),
        // Prefix and suffix near misses.
        row(107, "xana@example.com", "203.0.113.70", "Xana", "3.000000000", false, "1970-01-01", "2024-03-06T08:00:00Z", "v", "hash-107-secret"),
        row(108, "ana@example.com.evil", "2203.0.113.7", "Evil", "4.000000000", false, "1970-01-02", "2024-03-07T08:00:00Z", "u", "hash-108-secret"),
    ]

    static func query(_ identities: [(IdentityKind, String)]) -> SubjectQuery {
        var by: [IdentityKind: [String]] = [:]
        for (k, v) in identities { by[k, default: []].append(Identity(kind: k, value: v, foundIn: ["request"]).value) }
        return SubjectQuery(identities: by)
    }

    /// The subject and the rows that are theirs, in order.
    static let subject = query([(.email, "ana@example.com"), (.email, "ren\u{E9}e@example.com"), (.ip, "203.0.113.7")])
    static let subjectIDs: [Int64] = [101, 103, 104, 105]

    /// Requests that must find exactly these rows (near misses find only their own row, or none).
    static let nearMisses: [(identity: (IdentityKind, String), ids: [Int64])] = [
        ((.email, "ana@example.org"), [102]),
        ((.email, "ana@example.co"), []),
        ((.email, "na@example.com"), []),
        ((.email, "ana@example"), []),
        ((.email, "renee@example.com"), [106]),
        ((.email, "xana@example.com"), [107]),
        ((.ip, "203.0.113.77"), [102]),
        ((.ip, "203.0.113.70"), [107]),
        ((.ip, "203.0.113"), []),
        ((.ip, "203.0.113.8"), []),
    ]

    // MARK: - The stores

    /// One registered store type with its fixture.
    struct Store {
        var type: String
        var capabilities: StoreCapabilities
        var make: (XCTestCase, URL, [StoreFixture.Table]) throws -> StoreFixture.Made

        /// The suite's fields this store holds, with their column in it.
        var columns: [(field: Field, column: String)] {
            capabilities.contains(.namedColumns) ? fields.map { ($0, $0.name) } : fields.compactMap { f in f.log.map { (f, $0) } }
        }
        var exported: [Field] { columns.map(\.field).filter { !$0.secret } }

        /// `rows` as this store's table `name` (only the columns it holds).
        func table(_ name: String = "people", _ rows: [[Value]] = StoreConformanceTests.rows, key: String? = nil) -> StoreFixture.Table {
            let indices = columns.map { c in fields.firstIndex { $0.name == c.field.name }! }
            return StoreFixture.Table(name, columns.map { .typed($0.column, $0.field.type) }, rows.map { r in indices.map { r[$0] } }, key: key)
        }

        /// What a read of the rows with `ids` must give.
        func expected(_ ids: [Int64]) -> [Record] {
            let exportedIndices = exported.map { e in fields.firstIndex { $0.name == e.name }! }
            return ids.map { id in
                let r = rows.first { $0[0] == .integer(id) }!
                return Record(exportedIndices.map { r[$0] })
            }
        }
    }

    /// Every registered store type that can run here; a type without a fixture fails the test.
    func stores(file: StaticString = #filePath, line: UInt = #line) throws -> [Store] {
        var out: [Store] = []
        for type in StoreRegistry.standard.factories.keys.sorted() {
            switch try StoreFixture.maker(forType: type, file: file, line: line) {
            case .ready(let capabilities, let make)?: out.append(Store(type: type, capabilities: capabilities, make: make))
            case .unavailable?: continue
            case nil: XCTFail("store type \(type) is registered but has no fixture: make its connector StoreFileWriting, or add a case to StoreFixture", file: file, line: line)
            }
        }
        return out
    }

    /// A dataset of the suite's fields (some overridden) in a store's JSON.
    static func dataset(_ name: String, source: String, fields: [(field: Field, column: String)], key: String? = nil,
                        match: String = #"[{"identity": "email", "field": "email"}, {"identity": "ip", "field": "ip"}]"#) -> String {
        let list = fields.map { f, column in
            "{\"name\": \"\(f.name)\", \"column\": \"\(column)\", \"type\": \"\(f.type.rawValue)\"\(f.secret ? ", \"secret\": true" : "")}"
        }
        return """
            {"name": "\(name)", \(source), "category": "account", "description": "People.", "purposes": ["test"],
             "legalBasis": "contract", "origin": "observed", "recipients": [], \(key.map { "\"key\": \"\($0)\", " } ?? "")
             "fields": [\(list.joined(separator: ", "))], "match": \(match)}
            """
    }

    /// The store holding `people` and a connector on it, validated.
    func open(_ store: Store, _ dir: URL) throws -> (connector: any StoreConnector, dataset: DatasetConfig, made: StoreFixture.Made) {
        let made = try store.make(self, dir, [store.table()])
        let config = try StoreFixture.parse(made.json(store.type, datasets: [Self.dataset("people", source: made.source["people"]!, fields: store.columns)]), in: dir)
        let c = try StoreRegistry.standard.connector(for: config.stores[0])
        addTeardownBlock { c.close() }
        try c.validate()
        XCTAssertEqual(String(describing: Swift.type(of: c).capabilities), String(describing: store.capabilities), store.type)
        return (c, config.stores[0].datasets[0], made)
    }

    func read(_ c: any StoreConnector, _ d: DatasetConfig, _ subject: SubjectQuery) throws -> [Record] {
        var out: [Record] = []
        let n = try c.read(d, for: subject) { out.append($0) }
        XCTAssertEqual(n, out.count)
        return out
    }

    func ids(_ records: [Record]) -> [Int64] { records.compactMap { if case .integer(let i) = $0.values[0] { i } else { nil } } }

    // MARK: - The suite

    func testEveryRegisteredStoreTypeHasAFixture() throws {
        let run = try stores().map(\.type)
        let expectedHere = StoreRegistry.standard.factories.keys.filter { t in
            if t == "postgresql", case .unavailable = PostgreSQLTests.server { return false }
            if t == "mysql", case .unavailable = MySQLTests.server { return false }
            return true
        }
        XCTAssertEqual(Set(run), Set(expectedHere))
        XCTAssertTrue(run.contains("accesslog") && run.contains("csv") && run.contains("jsonl") && run.contains("sqlite"), "\(run)")
    }

    /// Every field type and NULL come back typed and exact (Unicode as stored), secrets left out.
    func testEveryFieldTypeAndNULLComeBackExactlyWithoutSecrets() throws {
        for store in try stores() {
            let dir = try TestSupport.tempDir(self)
            let (c, d, _) = try open(store, dir)
            let records = try read(c, d, Self.subject)
            XCTAssertEqual(records, store.expected(Self.subjectIDs), store.type)
            XCTAssertEqual(d.exportedFields.map(\.name), store.exported.map(\.name), store.type)
            // Secrets never reach a record.
            let secrets = Set(Self.rows.compactMap { if case .string(let s) = $0.last! { s } else { nil } })
            for r in records {
                XCTAssertEqual(r.values.count, store.exported.count, store.type)
                for v in r.values { if case .string(let s) = v { XCTAssertFalse(secrets.contains(s), "\(store.type): a secret was read") } }
            }
            // The identities the subject's rows hold, as stored, each once.
            let emails = try c.distinctValues(of: "email", in: d, for: Self.subject, limit: 100)
            XCTAssertEqual(Set(emails), ["ana@example.com", "ANA@Example.COM", "rene\u{301}e@example.com"], store.type)
            XCTAssertEqual(try c.distinctValues(of: "email", in: d, for: Self.subject, limit: 1).count, 1, store.type)
        }
    }

    /// Whole-value equality of normal forms: a near miss finds only its own row.
    func testNearMissesFindOnlyTheirOwnRows() throws {
        for store in try stores() {
            let dir = try TestSupport.tempDir(self)
            let (c, d, _) = try open(store, dir)
            for t in Self.nearMisses {
                XCTAssertEqual(ids(try read(c, d, Self.query([t.identity]))), t.ids, "\(store.type): \(t.identity)")
            }
            XCTAssertEqual(try read(c, d, SubjectQuery(identities: [:])), [], store.type)
            // Only the kinds the dataset matches on: an IP given as another kind selects nothing.
            XCTAssertEqual(try read(c, d, Self.query([(IdentityKind("user_id"), "203.0.113.7"), (.email, "203.0.113.7")])), [], store.type)
        }
    }

    /// Rows come in a stable order (the key or file order: the same here), the same on every read.
    func testTheOrderIsStableAcrossReadsAndSnapshots() throws {
        for store in try stores() {
            let dir = try TestSupport.tempDir(self)
            let (c, d, _) = try open(store, dir)
            let first = try read(c, d, Self.subject)
            try c.beginSnapshot()
            XCTAssertEqual(try read(c, d, Self.subject), first, store.type)
            XCTAssertEqual(try read(c, d, Self.subject), first, store.type)
            c.endSnapshot()
            XCTAssertEqual(ids(try read(c, d, Self.subject)), Self.subjectIDs, store.type)
        }
    }

    /// The first error of a config, from making the connector, validating it or reading its first dataset.
    func configError(_ store: String, in dir: URL) -> DataPortError? {
        do {
            let config = try StoreFixture.parse(store, in: dir)
            let c = try StoreRegistry.standard.connector(for: config.stores[0])
            defer { c.close() }
            try c.validate()
            for d in config.stores[0].datasets { _ = try c.read(d, for: Self.subject) { _ in } }
            return nil
        } catch let e as DataPortError { return e } catch { XCTFail("\(error)"); return nil }
    }

    func assertInvalidConfig(_ error: DataPortError?, naming culprit: String, and dataset: String? = nil, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        guard let error else { return XCTFail("\(what): accepted", file: file, line: line) }
        XCTAssertEqual(error.kind, .invalidConfig, "\(what): \(error)", file: file, line: line)
        for name in [culprit] + (dataset.map { [$0] } ?? []) {
            XCTAssertTrue(error.description.contains(name), "\(what) does not name \(name): \(error)", file: file, line: line)
        }
    }

    /// Unknown option, missing table or file, missing column, and every source or match the store
    /// cannot serve: `invalidConfig` naming the culprit (the exact text is the connector's).
    func testEveryConfigErrorIsInvalidConfigNamingTheCulprit() throws {
        for store in try stores() {
            let dir = try TestSupport.tempDir(self)
            let made = try store.make(self, dir, [store.table()])
            let source = made.source["people"]!
            func config(options: String? = nil, source: String = source, columns: [(field: Field, column: String)] = store.columns,
                        match: String? = nil) -> String {
                var storeJSON = made.store
                if let options { storeJSON = storeJSON.replacingOccurrences(of: "\"options\": {", with: "\"options\": {\(options), ") }
                let d = match.map { Self.dataset("people", source: source, fields: columns, match: $0) } ?? Self.dataset("people", source: source, fields: columns)
                return "{\"name\": \"\(store.type)\", \(storeJSON), \"datasets\": [\(d)]}"
            }
            XCTAssertNil(configError(config(), in: dir), store.type)
            assertInvalidConfig(configError(config(options: #""bogusOption": "x""#), in: dir), naming: "bogusOption", "\(store.type) unknown option")
            let missing = source.contains("\"file\"") ? #""file": "no_such_file.log""# : source.replacingOccurrences(of: "people", with: "no_such_table")
            assertInvalidConfig(configError(config(source: missing), in: dir), naming: missing.contains("file") ? "no_such_file" : "no_such_table", and: "people", "\(store.type) missing table or file")
            var columns = store.columns
            columns[2].column = "no_such_column"
            assertInvalidConfig(configError(config(columns: columns), in: dir), naming: "no_such_column", and: "people", "\(store.type) missing column")
            if !store.capabilities.contains(.references) {
                assertInvalidConfig(configError(config(match: #"[{"identity": "ip", "field": "ip"}, {"field": "email", "references": "people.id"}]"#), in: dir),
                                    naming: "reference", "\(store.type) references")
            }
            if !store.capabilities.contains(.queries) {
                assertInvalidConfig(configError(config(source: #""query": "SELECT 1""#), in: dir), naming: "people", "\(store.type) query")
            } else {
                assertInvalidConfig(configError(config(source: #""file": "people.csv""#), in: dir), naming: "people", "\(store.type) file")
            }
        }
    }

    /// A cell that does not fit its field is a `.store` error with a location, never the value.
    func testABadCellIsAStoreErrorWithALocationAndNoValue() throws {
        let bad = "SECRET-not-a-number"
        for store in try stores() {
            let dir = try TestSupport.tempDir(self)
            // A text column `code` that the config declares an integer (a log: its `bytes`).
            let column = store.capabilities.contains(.namedColumns) ? "code" : "bytes"
            let table = StoreFixture.Table("bad", [.typed(store.columns[1].column, .string), .typed(column, .string)],
                                           [[.string("ana@example.com"), .string("12")], [.string("ana@example.com"), .string(bad)]])
            let made = try store.make(self, dir, [table])
            let code = Field(name: "code", type: .integer)
            let d = Self.dataset("bad", source: made.source["bad"]!, fields: [(Self.fields[1], store.columns[1].column), (code, column)],
                                 match: #"[{"identity": "email", "field": "email"}]"#)
            let config = try StoreFixture.parse(made.json(store.type, datasets: [d]), in: dir)
            let c = try StoreRegistry.standard.connector(for: config.stores[0])
            defer { c.close() }
            try c.validate()
            var seen = 0
            XCTAssertThrowsError(try c.read(config.stores[0].datasets[0], for: Self.subject) { _ in seen += 1 }, store.type) { e in
                guard let e = e as? DataPortError else { return XCTFail("\(store.type): \(e)") }
                XCTAssertEqual(e.kind, .store, "\(store.type): \(e)")
                XCTAssertFalse(e.description.contains(bad) || e.description.contains("SECRET"), "\(store.type) quotes the value: \(e)")
                XCTAssertFalse((e.location ?? "").isEmpty, "\(store.type) has no location: \(e)")
                if store.capabilities.contains(.namedColumns) {
                    XCTAssertTrue(e.message.contains("bad") && e.message.contains("code"), "\(store.type) names no dataset and field: \(e)")
                }
            }
            XCTAssertEqual(seen, 1, "\(store.type): the good row before the bad one")
        }
    }

    /// When the body throws, the read stops and rethrows that error; the connector reads again after.
    func testAThrowingBodyStopsTheReadAndItsErrorComesBackUnchanged() throws {
        struct Stop: Error, Equatable { var id = UUID() }
        for store in try stores() {
            let dir = try TestSupport.tempDir(self)
            let (c, d, _) = try open(store, dir)
            let stop = Stop()
            var calls = 0
            XCTAssertThrowsError(try c.read(d, for: Self.subject) { _ in calls += 1; throw stop }, store.type) { e in
                XCTAssertEqual(e as? Stop, stop, "\(store.type): \(e)")
            }
            XCTAssertEqual(calls, 1, store.type)
            XCTAssertEqual(ids(try read(c, d, Self.subject)), Self.subjectIDs, store.type)
        }
    }

    /// With `snapshot`, rows written during a snapshot are not seen until the next one; without,
    /// every read sees the store as it is (the exporter's count check catches a change).
    func testASnapshotSeesOneStateWhileTheStoreIsWritten() throws {
        for store in try stores() {
            let dir = try TestSupport.tempDir(self)
            let (c, d, made) = try open(store, dir)
            let late = Self.row(109, "ana@example.com", "203.0.113.7", "Late", "5.000000000", true, "1999-09-09", "2024-04-01T00:00:00Z", "t", "hash-109-secret")
            try c.beginSnapshot()
            XCTAssertEqual(ids(try read(c, d, Self.subject)), Self.subjectIDs, store.type)
            try made.append("people", store.table("people", [late]).rows)
            let during = ids(try read(c, d, Self.subject))
            if store.capabilities.contains(.snapshot) {
                XCTAssertEqual(during, Self.subjectIDs, "\(store.type) declares a snapshot")
            } else {
                XCTAssertEqual(during, Self.subjectIDs + [109], "\(store.type) declares no snapshot")
            }
            c.endSnapshot()
            try c.beginSnapshot()
            XCTAssertEqual(ids(try read(c, d, Self.subject)), Self.subjectIDs + [109], store.type)
            c.endSnapshot()
        }
    }

    /// With `references`, a dataset matched by a subject's key gets exactly those rows (through the
    /// gather); without, it was refused as a config error above.
    func testReferencesFollowTheSubjectsKeysOnly() throws {
        for store in try stores() where store.capabilities.contains(.references) {
            let dir = try TestSupport.tempDir(self)
            let notes = StoreFixture.Table("notes", [.integer("person_id"), .text("body")],
                                           [[.integer(101), .string("a")], [.integer(102), .string("b")], [.integer(1010), .string("c")], [.integer(104), .string("d")]])
            let made = try store.make(self, dir, [store.table(key: "id"), notes])
            let notesSet = """
                {"name": "notes", \(made.source["notes"]!), "category": "account", "description": "Notes.", "purposes": ["test"],
                 "legalBasis": "contract", "origin": "observed", "recipients": [],
                 "fields": [{"name": "person_id", "type": "integer"}, {"name": "body", "type": "string"}],
                 "match": [{"field": "person_id", "references": "people.id"}]}
                """
            let config = try StoreFixture.parse(made.json(store.type, datasets: [Self.dataset("people", source: made.source["people"]!, fields: store.columns, key: "id"), notesSet]), in: dir)
            let g = try Gathering(config: config, request: [Identity(kind: .email, value: "ana@example.com", foundIn: ["request"])])
            defer { g.close() }
            var bodies: [Value] = []
            try g.read(config.stores[0].datasets[1]) { bodies.append($0.values[1]) }
            XCTAssertEqual(bodies, [.string("a"), .string("d")], store.type)
        }
    }

    // MARK: - Imports

    /// The import contract of a writable store: an upsert by key (a second import changes nothing,
    /// a changed row is updated back), keyless rows as a multiset (a duplicate stays two rows, and
    /// stays two on the next import), and a failure part-way rolls back every row. A store that is
    /// not writable refuses the import as `invalidConfig`.
    func testTheImportContractOrARefusal() throws {
        let dir = try TestSupport.tempDir(self)
        let source = try XCTUnwrap(try stores().first { $0.type == "sqlite" })
        let visit: (String, String?) -> [Value] = { ip, note in [.string(ip), .timestamp(Timestamp("2024-05-01T10:00:00Z")!), note.map(Value.string) ?? .null] }
        let visitRows = [visit("203.0.113.7", "twice"), visit("203.0.113.7", "twice"), visit("203.0.113.7", nil), visit("203.0.113.77", "other")]
        let visits = { (rows: [[Value]], notNull: Set<String>) in
            StoreFixture.Table("visits", [.text("ip"), .typed("at", .timestamp), .text("note")], rows, notNull: notNull)
        }
        func datasets(_ made: StoreFixture.Made, _ store: Store) -> [String] {
            [Self.dataset("people", source: made.source["people"]!, fields: store.columns, key: "id"),
             """
             {"name": "visits", \(made.source["visits"]!), "category": "account", "description": "Visits.", "purposes": ["test"],
              "legalBasis": "contract", "origin": "observed", "recipients": [],
              "fields": [{"name": "ip", "type": "string"}, {"name": "at", "type": "timestamp"}, {"name": "note", "type": "string"}],
              "match": [{"identity": "ip", "field": "ip"}]}
             """]
        }
        let from = try source.make(self, dir, [source.table(key: "id"), visits(visitRows, [])])
        let sourceConfig = try StoreFixture.parse(from.json("source", datasets: datasets(from, source)), in: dir)
        let bundle = dir.appendingPathComponent("ana.zip").path
        var options = ExportOptions()
        options.scope = .access
        _ = try Exporter.export(config: sourceConfig, identities: [Identity(kind: .email, value: "ana@example.com", foundIn: ["request"]),
                                                                   Identity(kind: .ip, value: "203.0.113.7", foundIn: ["request"])],
                                output: bundle, options: options)
        for store in try stores() {
            guard store.capabilities.contains(.writable) else {
                let target = try store.make(self, dir, [store.table("people", [])])
                let config = try StoreFixture.parse(target.json("target", datasets: [Self.dataset("people", source: target.source["people"]!, fields: store.columns)]), in: dir)
                XCTAssertThrowsError(try Importer.run(bundle: bundle, config: config, options: ImportOptions()), store.type) { e in
                    assertInvalidConfig(e as? DataPortError, naming: store.type, "\(store.type) import")
                }
                continue
            }
            let target = try store.make(self, dir, [store.table("people", [], key: "id"), visits([], [])])
            let config = try StoreFixture.parse(target.json("target", datasets: datasets(target, store)), in: dir)
            func counts(_ r: ImportReport) -> [String: [Int64]] {
                Dictionary(uniqueKeysWithValues: r.datasets.map { ($0.dataset, [$0.inserted, $0.updated, $0.unchanged]) })
            }
            func held() throws -> (people: [Record], visits: [Record]) {
                let c = try StoreRegistry.standard.connector(for: config.stores[0])
                defer { c.close() }
                let all = Self.query([(.email, "ana@example.com"), (.ip, "203.0.113.7")])
                return (try read(c, config.stores[0].datasets[0], all), try read(c, config.stores[0].datasets[1], all))
            }
            let first = try Importer.run(bundle: bundle, config: config, options: ImportOptions())
            XCTAssertTrue(first.agrees, store.type)
            XCTAssertEqual(counts(first), ["people": [3, 0, 0], "visits": [3, 0, 0]], store.type)
            XCTAssertEqual(try held().people, store.expected([101, 103, 104]), store.type)
            XCTAssertEqual(try held().visits.count, 3, "\(store.type): the duplicate visit is two rows")
            // A changed row is updated back; the rest is unchanged, and the keyless rows stay a multiset.
            let writable = try XCTUnwrap(try StoreRegistry.standard.connector(for: config.stores[0]) as? any WritableStoreConnector)
            let session = try writable.openSession()
            try session.begin()
            let table = target.source["people"]!.split(separator: "\"")[2]
            try session.execute("UPDATE \(table) SET name = \(session.placeholder(1)) WHERE id = \(session.placeholder(2))", [.string("Changed"), .integer(101)])
            try session.commit()
            writable.close()
            let second = try Importer.run(bundle: bundle, config: config, options: ImportOptions())
            XCTAssertEqual(counts(second), ["people": [0, 1, 2], "visits": [0, 0, 3]], store.type)
            XCTAssertEqual(try held().people, store.expected([101, 103, 104]), store.type)
            XCTAssertEqual(try held().visits.count, 3, store.type)

            // A failure part-way (visits.note NOT NULL, after people was written) leaves nothing.
            let failing = try store.make(self, dir, [store.table("people", [], key: "id"), visits([], ["note"])])
            let failingConfig = try StoreFixture.parse(failing.json("target", datasets: datasets(failing, store)), in: dir)
            XCTAssertThrowsError(try Importer.run(bundle: bundle, config: failingConfig, options: ImportOptions()), store.type) { e in
                XCTAssertEqual((e as? DataPortError)?.kind, .store, "\(store.type): \(e)")
            }
            let c = try StoreRegistry.standard.connector(for: failingConfig.stores[0])
            defer { c.close() }
            XCTAssertEqual(try read(c, failingConfig.stores[0].datasets[0], Self.subject), [], "\(store.type): rolled back")
        }
    }
}
