import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// The access-log connector: parsing each field of the combined format, NULLs, exact identity
/// matching, malformed lines, snapshots, and the sample log through the CLI.
final class AccessLogTests: XCTestCase {
    static let allFields = ["ip", "ident", "user", "time", "method", "path", "protocol", "request", "status", "bytes",
                            "referrer", "user_agent", "cookie_id"]

    /// The type each parsed field is exported as in these tests.
    static func type(of field: String) -> String {
        switch field {
        case "time": "timestamp"
        case "status", "bytes": "integer"
        default: "string"
        }
    }

    /// A config with one accesslog store over `log` (written to a temp folder), exporting `fields`.
    func makeStore(log: String, fields: [String] = allFields, extraFieldJSON: String? = nil,
                   match: String = #"[{"field": "ip", "identity": "ip"}, {"field": "cookie_id", "identity": "cookie_id"}]"#,
                   origin: String = "observed", options: String? = nil, file: String = "access.log") throws -> (StoreConfig, URL) {
        let dir = try TestSupport.tempDir(self)
        try Data(log.utf8).write(to: dir.appendingPathComponent("access.log"))
        var fieldJSON = fields.map { #"{"name": "\#($0)", "type": "\#(Self.type(of: $0))"}"# }
        if let extraFieldJSON { fieldJSON.append(extraFieldJSON) }
        let json = """
        {"version": "1", "controller": {"name": "Test", "contact": "t@example.com"},
         "stores": [{"name": "weblog", "type": "accesslog", "options": \(options ?? #"{"path": "."}"#),
           "datasets": [{"name": "web_server_log", "file": "\(file)", "category": "website-usage", "description": "log",
             "purposes": ["security"], "legalBasis": "legitimate-interests", "origin": "\(origin)",
             "match": \(match), "fields": [\(fieldJSON.joined(separator: ", "))]}]}]}
        """
        let config = try StoresConfig.parse(Array(json.utf8), file: dir.appendingPathComponent("stores.json").path, baseDirectory: dir.path)
        return (config.stores[0], dir)
    }

    /// Reads the subject's records, as dictionaries by field name.
    func read(_ store: StoreConfig, _ identities: [IdentityKind: [String]], snapshot: Bool = false) throws -> [[String: Value]] {
        let connector = try AccessLogConnector(config: store)
        defer { connector.close() }
        try connector.validate()
        if snapshot { try connector.beginSnapshot() }
        let d = store.datasets[0]
        return try TestSupport.rows(of: d, from: connector, identities: identities)
    }

    // MARK: - Parsing

    func testParsesEveryField() throws {
        let log = #"203.0.113.7 ident1 ana [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=1&b=2 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)" "c-7f3a9e""# + "\n"
        let (store, _) = try makeStore(log: log)
        let rows = try read(store, [.ip: ["203.0.113.7"]])
        XCTAssertEqual(rows.count, 1)
        let r = try XCTUnwrap(rows.first)
        XCTAssertEqual(r["ip"], .string("203.0.113.7"))
        XCTAssertEqual(r["ident"], .string("ident1"))
        XCTAssertEqual(r["user"], .string("ana"))
        XCTAssertEqual(r["time"], .timestamp(Timestamp("2000-10-10T20:55:36Z")!), "the -0700 zone is converted to UTC")
        XCTAssertEqual(r["method"], .string("GET"))
        XCTAssertEqual(r["path"], .string("/apache_pb.gif?a=1&b=2"))
        XCTAssertEqual(r["protocol"], .string("HTTP/1.0"))
        XCTAssertEqual(r["request"], .string("GET /apache_pb.gif?a=1&b=2 HTTP/1.0"))
        XCTAssertEqual(r["status"], .integer(200))
        XCTAssertEqual(r["bytes"], .integer(2326))
        XCTAssertEqual(r["referrer"], .string("http://www.example.com/start.html"))
        XCTAssertEqual(r["user_agent"], .string("Mozilla/4.08 [en] (Win98; I ;Nav)"))
        XCTAssertEqual(r["cookie_id"], .string("c-7f3a9e"))
    }

    func testTimeZonesAreConvertedToUTC() throws {
        let cases: [(String, String)] = [
            ("01/Jan/2024:02:00:00 +0530", "2023-12-31T20:30:00Z"),   // crosses the day and year back
            ("31/Dec/2023:23:30:00 -0100", "2024-01-01T00:30:00Z"),   // crosses forward
            ("29/Feb/2024:12:00:00 +0000", "2024-02-29T12:00:00Z"),
            ("07/Jul/2024:09:00:00 +0200", "2024-07-07T07:00:00Z"),
            ("15/Mar/2024:10:00:00 -0000", "2024-03-15T10:00:00Z"),
        ]
        let log = cases.map { #"192.0.2.1 - - [\#($0.0)] "GET / HTTP/1.1" 200 1 "-" "-""# }.joined(separator: "\n")
        let (store, _) = try makeStore(log: log, fields: ["ip", "time"], match: #"[{"field": "ip", "identity": "ip"}]"#)
        let rows = try read(store, [.ip: ["192.0.2.1"]])
        XCTAssertEqual(rows.map { $0["time"]!.canonicalText! }, cases.map(\.1))
    }

    func testDashesAndAbsentFieldsAreNull() throws {
        let log = [
            #"192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a HTTP/1.1" 304 - "-" "-" "-""#,
            #"192.0.2.1 - - [10/Oct/2000:13:55:37 +0000] "GET /b HTTP/1.1" 200 0 "https://r.example/" "UA""#,   // no cookie field
            #"192.0.2.1 - - [10/Oct/2000:13:55:38 +0000] "GET /c HTTP/1.1" 200 10"#,                         // Common Log Format
            #"192.0.2.1 - - [10/Oct/2000:13:55:39 +0000] "-" 400 0 "-" "-""#,                                // no request line
        ].joined(separator: "\n") + "\n"
        let (store, _) = try makeStore(log: log)
        let rows = try read(store, [.ip: ["192.0.2.1"]])
        XCTAssertEqual(rows.count, 4)
        for r in rows {
            XCTAssertEqual(r["ident"], .null)
            XCTAssertEqual(r["user"], .null)
        }
        XCTAssertEqual(rows[0]["bytes"], .null, "bytes '-' is NULL")
        XCTAssertEqual(rows[0]["referrer"], .null)
        XCTAssertEqual(rows[0]["user_agent"], .null)
        XCTAssertEqual(rows[0]["cookie_id"], .null)
        XCTAssertEqual(rows[0]["status"], .integer(304))
        XCTAssertEqual(rows[1]["bytes"], .integer(0), "0 bytes is not NULL")
        XCTAssertEqual(rows[1]["referrer"], .string("https://r.example/"))
        XCTAssertEqual(rows[1]["cookie_id"], .null, "no cookie field is NULL")
        XCTAssertEqual(rows[2]["referrer"], .null)
        XCTAssertEqual(rows[2]["user_agent"], .null)
        XCTAssertEqual(rows[3]["request"], .null)
        XCTAssertEqual(rows[3]["method"], .null)
        XCTAssertEqual(rows[3]["path"], .null)
    }

    func testEscapesAndOddRequestLines() throws {
        let log = [
            #"192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /q?x=\"1\" HTTP/1.1" 200 1 "-" "Agent \"quoted\" \\ back \x22hex\x22 caf\xC3\xA9""#,
            #"192.0.2.1 - - [10/Oct/2000:13:55:37 +0000] "\x16\x03\x01\x02\x00" 400 157 "-" "-""#,   // TLS sent to the HTTP port
            #"192.0.2.1 - - [10/Oct/2000:13:55:38 +0000] "GET /old" 200 5 "-" "-""#,                   // HTTP/0.9
            #"192.0.2.1 - john smith [10/Oct/2000:13:55:39 +0000] "GET /a b HTTP/1.1" 200 5 "-" "-""#,  // spaces in user and target
        ].joined(separator: "\r\n") + "\r\n"
        let (store, _) = try makeStore(log: log)
        let rows = try read(store, [.ip: ["192.0.2.1"]])
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows[0]["path"], .string(#"/q?x="1""#))
        XCTAssertEqual(rows[0]["user_agent"], .string(#"Agent "quoted" \ back "hex" café"#))
        XCTAssertEqual(rows[1]["method"], .null)
        XCTAssertEqual(rows[1]["path"], .null)
        XCTAssertEqual(rows[1]["request"]?.canonicalText?.utf8.first, 0x16)
        XCTAssertEqual(rows[2]["method"], .string("GET"))
        XCTAssertEqual(rows[2]["path"], .string("/old"))
        XCTAssertEqual(rows[2]["protocol"], .null)
        XCTAssertEqual(rows[3]["user"], .string("john smith"))
        XCTAssertEqual(rows[3]["path"], .string("/a b"))
        XCTAssertEqual(rows[3]["protocol"], .string("HTTP/1.1"), "CRLF line ends are stripped")
    }

    // MARK: - Matching

    /// An exact kind (cookie ids) matches whole values too, and a line matching two identities
    /// comes once (IP near misses: the store conformance suite).
    func testCookieIDsMatchWholeValuesAndEachLineComesOnce() throws {
        let log = [
            #"203.0.113.7 - - [07/Jul/2024:09:00:00 +0000] "GET /ana HTTP/1.1" 200 1 "-" "-" "c-ana""#,
            #"203.0.113.70 - - [07/Jul/2024:09:00:02 +0000] "GET /other HTTP/1.1" 200 1 "-" "-" "c-ana-2""#,
            #"1203.0.113.7 - - [07/Jul/2024:09:00:03 +0000] "GET /other HTTP/1.1" 200 1 "-" "-" "xc-ana""#,
            #"203.0.113.7 - - [07/Jul/2024:09:00:04 +0000] "GET /ana2 HTTP/1.1" 200 1 "-" "-" "-""#,
            #"198.51.100.23 - - [07/Jul/2024:09:00:05 +0000] "GET /ana-phone HTTP/1.1" 200 1 "-" "-" "c-ana""#,
        ].joined(separator: "\n")
        let (store, _) = try makeStore(log: log)
        XCTAssertEqual(try read(store, [.cookieID: ["c-ana"]]).map { $0["path"]! }, [.string("/ana"), .string("/ana-phone")],
                       "cookie ids match exactly too")
        XCTAssertEqual(try read(store, [.cookieID: ["C-ANA"]]).count, 0, "an exact kind keeps its case")
        XCTAssertEqual(try read(store, [.ip: ["203.0.113.7"], .cookieID: ["c-ana"]]).count, 3, "either identity matches, each line once")
    }

    func testDistinctValuesForIdentityResolution() throws {
        let log = [
            #"203.0.113.7 - - [07/Jul/2024:09:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-" "c-2""#,
            #"203.0.113.7 - - [07/Jul/2024:09:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-" "c-1""#,
            #"203.0.113.7 - - [07/Jul/2024:09:00:02 +0000] "GET / HTTP/1.1" 200 1 "-" "-" "c-2""#,
            #"203.0.113.77 - - [07/Jul/2024:09:00:02 +0000] "GET / HTTP/1.1" 200 1 "-" "-" "c-3""#,
            #"203.0.113.7 - - [07/Jul/2024:09:00:02 +0000] "GET / HTTP/1.1" 200 1 "-" "-" "-""#,
        ].joined(separator: "\n")
        let (store, _) = try makeStore(log: log)
        let c = try AccessLogConnector(config: store)
        defer { c.close() }
        let values = try c.distinctValues(of: "cookie_id", in: store.datasets[0], for: SubjectQuery(identities: [.ip: ["203.0.113.7"]]), limit: 100)
        XCTAssertEqual(values, ["c-1", "c-2"])
    }

    // MARK: - Errors

    func testMalformedLinesNameTheLineButNotItsContents() throws {
        let good = #"192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#
        let bad = [
            #"192.0.2.9 - - [10/Oct/2000:13:55:36 +0000] "GET /private-person@example.com HTTP/1.1" two 1 "-" "-""#,   // status
            #"192.0.2.9 - - [32/Oct/2000:13:55:36 +0000] "GET /private-person@example.com HTTP/1.1" 200 1 "-" "-""#,   // day
            #"192.0.2.9 - - [10/Okt/2000:13:55:36 +0000] "GET /private-person@example.com HTTP/1.1" 200 1 "-" "-""#,   // month
            #"192.0.2.9 - - [10/Oct/2000:13:55:36] "GET /private-person@example.com HTTP/1.1" 200 1 "-" "-""#,         // zone
            #"192.0.2.9 - - [10/Oct/2000:13:55:36 +0000] "GET /private-person@example.com HTTP/1.1 200 1"#,            // quote
            #"192.0.2.9 - - [10/Oct/2000:13:55:36 +0000] "GET /private-person@example.com HTTP/1.1" 200 12k "-" "-""#, // bytes
            #"192.0.2.9 - - [10/Oct/2000:13:55:36 +0000] "GET /private-person@example.com HTTP/1.1" 200 1 "-""#,       // half combined
            #"private-person@example.com"#,
            #"192.0.2.9 private-person@example.com"#,
        ]
        for (i, line) in bad.enumerated() {
            let (store, _) = try makeStore(log: [good, good, line, good].joined(separator: "\n"))
            for identities in [[IdentityKind.ip: ["192.0.2.1"]], [.ip: ["192.0.2.9"]]] {
                assertThrows(.store, { _ = try self.read(store, identities) }) { e in
                    XCTAssertEqual(e.message, "malformed log line", "case \(i)")
                    XCTAssertEqual(e.location, "access.log, line 3", "case \(i)")
                    XCTAssertFalse(e.description.contains("private-person"), "case \(i): the error must not quote the line")
                    XCTAssertFalse(e.description.contains("192.0.2.9"), "case \(i): the error must not quote the line")
                }
            }
        }
    }

    func testMalformedLineThroughTheCLIExitsWith4WithoutContents() throws {
        let dir = try TestSupport.tempDir(self)
        try Data((#"203.0.113.7 - - [07/Jul/2024:09:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""# + "\n" +
                  "garbage mentioning secret.person@example.com\n").utf8).write(to: dir.appendingPathComponent("access.log"))
        let config = try writeWeblogConfig(dir, logFolder: dir.path)
        let r = try TestSupport.dataport(["export", "--config", config, "--subject", "ip=203.0.113.7", "--scope", "access",
                                          "--output", dir.appendingPathComponent("b.zip").path])
        XCTAssertEqual(r.code, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("malformed log line"), r.stderr)
        XCTAssertTrue(r.stderr.contains("access.log, line 2"), r.stderr)
        XCTAssertFalse(r.stderr.contains("secret.person"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("b.zip").path))
    }

    func testConfigErrors() throws {
        let log = #"192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "-""# + "\n"
        // Unknown options, missing files and columns, references: the store conformance suite.
        var (store, _) = try makeStore(log: log, options: "{}")
        assertThrows(.invalidConfig, { _ = try AccessLogConnector(config: store) }) { XCTAssertTrue($0.message.contains("path"), $0.message) }

        (store, _) = try makeStore(log: log, extraFieldJSON: #"{"name": "agent", "column": "useragent", "type": "string"}"#)
        assertThrows(.invalidConfig, { _ = try AccessLogConnector(config: store) }) {
            XCTAssertTrue($0.message.contains("web_server_log") && $0.message.contains("useragent"), $0.message)
        }

        (store, _) = try makeStore(log: log, fields: ["ip"], extraFieldJSON: #"{"name": "when", "column": "time", "type": "integer"}"#,
                                   match: #"[{"field": "ip", "identity": "ip"}]"#)
        assertThrows(.invalidConfig, { _ = try AccessLogConnector(config: store) }) { XCTAssertTrue($0.message.contains("when"), $0.message) }

        (store, _) = try makeStore(log: log, origin: "provided")
        assertThrows(.invalidConfig, { _ = try AccessLogConnector(config: store) }) { XCTAssertTrue($0.message.contains("observed"), $0.message) }

        (store, _) = try makeStore(log: log, file: "../access.log")
        assertThrows(.invalidConfig, { _ = try AccessLogConnector(config: store) })

        (store, _) = try makeStore(log: log, options: #"{"path": "no-such-folder"}"#)
        let c2 = try AccessLogConnector(config: store)
        assertThrows(.store, { try c2.validate() })
    }

    // MARK: - Snapshot and streaming

    func testLargeLogStreams() throws {
        var log = ""
        log.reserveCapacity(120 * 50_000)
        for i in 0..<50_000 {
            let ip = i % 1000 == 0 ? "203.0.113.7" : "192.0.2.\(i % 250)"
            log += #"\#(ip) - - [10/Oct/2000:13:55:36 +0000] "GET /page/\#(i) HTTP/1.1" 200 \#(i) "-" "Agent/1.0""# + "\n"
        }
        let (store, _) = try makeStore(log: log, fields: ["ip", "path", "bytes"], match: #"[{"field": "ip", "identity": "ip"}]"#)
        let rows = try read(store, [.ip: ["203.0.113.7"]])
        XCTAssertEqual(rows.count, 50)
        XCTAssertEqual(rows.last?["bytes"], .integer(49_000))
    }

    // MARK: - The sample log through the CLI

    /// A config with only the sample weblog store (no other servers needed), paths absolute.
    func writeWeblogConfig(_ dir: URL, logFolder: String) throws -> String {
        let all = try JSONSerialization.jsonObject(with: Data(contentsOf: TestSupport.samples.appendingPathComponent("stores-all.json"))) as! [String: Any]
        var weblog = (all["stores"] as! [[String: Any]]).first { $0["type"] as? String == "accesslog" }!
        weblog["options"] = ["path": logFolder]
        var config = all
        config["stores"] = [weblog]
        config.removeValue(forKey: "subjectName")
        config.removeValue(forKey: "$schema")
        let path = dir.appendingPathComponent("weblog.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testSampleLogExport() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try writeWeblogConfig(dir, logFolder: TestSupport.samples.path)
        func export(_ subject: [String], _ name: String) throws -> (count: Int64, text: String) {
            let out = dir.appendingPathComponent("\(name).zip").path
            let r = try TestSupport.dataport(["export", "--config", config, "--scope", "access", "--generated-at", "2026-01-31T12:00:00Z",
                                              "--output", out, "--json"] + subject.flatMap { ["--subject", $0] })
            XCTAssertEqual(r.code, 0, r.stderr)
            let x = dir.appendingPathComponent(name)
            try TestSupport.unzip(out, into: x)
            let files = FileManager.default.enumerator(at: x, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }
            let data = try XCTUnwrap(files.first { $0.lastPathComponent == "web_server_log.json" })
            let manifest = try XCTUnwrap(files.first { $0.lastPathComponent == "manifest.json" })
            let m = try JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as! [String: Any]
            let d = (m["datasets"] as! [[String: Any]]).first { $0["name"] as? String == "web_server_log" }!
            return ((d["recordCount"] as! NSNumber).int64Value, try String(contentsOf: data, encoding: .utf8))
        }
        // Counted independently of the connector: the sample's lines by first field or final cookie field.
        let lines = try String(contentsOf: TestSupport.samples.appendingPathComponent("access.log"), encoding: .utf8).split(separator: "\n")
        func expected(ip: String, cookie: String? = nil) -> Int64 {
            Int64(lines.filter { l in l.split(separator: " ").first.map(String.init) == ip || cookie.map { l.hasSuffix(" \"\($0)\"") } == true }.count)
        }
        let ana = try export(["ip=203.0.113.7"], "ana-ip")
        XCTAssertEqual(ana.count, expected(ip: "203.0.113.7"))
        XCTAssertEqual(ana.count, 7)
        XCTAssertTrue(ana.text.contains(#""time":"2024-07-07T07:00:00Z""#), "zone converted")
        XCTAssertFalse(ana.text.contains("203.0.113.77"), "the near-miss IP must not be exported with Ana's")
        XCTAssertFalse(ana.text.contains("198.51.100.23"), "her phone's lines need her cookie id")

        let anaBoth = try export(["ip=203.0.113.7", "cookie_id=c-7f3a9e"], "ana-both")
        XCTAssertEqual(anaBoth.count, expected(ip: "203.0.113.7", cookie: "c-7f3a9e"))
        XCTAssertEqual(anaBoth.count, 9)
        XCTAssertTrue(anaBoth.text.contains("198.51.100.23"))
        XCTAssertFalse(anaBoth.text.contains("203.0.113.77"))

        let other = try export(["ip=203.0.113.77"], "other")
        XCTAssertEqual(other.count, expected(ip: "203.0.113.77"))
        XCTAssertEqual(other.count, 3)
        XCTAssertFalse(other.text.contains(#""ip":"203.0.113.7""#))
    }
}
