import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// Store options declared as data: one check for every connector (all problems in one error,
/// "did you mean" for a typo), the docs and `check --help` from the same declarations; and every
/// required config key left out reported in one run.
final class StoreOptionsTests: XCTestCase {
    static let docBegin = "<!-- store options: generated from the connectors' declarations (StoreOptionsTests) -->\n"
    static let docEnd = "<!-- end of store options -->"

    /// A config of the given stores (JSON objects without datasets: each gets one).
    static func config(_ stores: [String], datasetDescription: String = #""description": "d","#) -> String {
        let dataset = #"{"name": "DS", "SOURCE", "category": "contact", \#(datasetDescription) "purposes": ["p"], "legalBasis": "contract", "origin": "observed", "match": [{"field": "email", "identity": "email"}], "fields": [{"name": "email", "type": "string"}]}"#
        let list = stores.enumerated().map { i, s in
            let source = s.contains(#""type": "sqlite""#) || s.contains(#""type": "mysql""#) || s.contains(#""type": "postgresql""#) ? #""table": "t""# : #""file": "f.csv""#
            return "{" + s + #", "datasets": ["# + dataset.replacingOccurrences(of: "DS", with: "d\(i)").replacingOccurrences(of: #""SOURCE""#, with: source) + "]}"
        }
        return #"{"version": "1", "controller": {"name": "T", "contact": "t@example.com"}, "stores": ["# + list.joined(separator: ", ") + "]}"
    }

    func parse(_ json: String) throws -> StoresConfig {
        try StoresConfig.parse(Array(json.utf8), file: "/tmp/stores.json", baseDirectory: "/tmp")
    }

    func testEveryOptionProblemOfTheConfigIsNamedInOneError() {
        let json = Self.config([
            #""name": "app", "type": "sqlite", "options": {"pth": "app.db"}"#,
            #""name": "blog", "type": "mysql", "options": {"tls": "sometimes-secret"}"#,
            #""name": "mail", "type": "csv", "options": {"path": ["nested-secret"], "delimiter": "::secret"}"#,
            #""name": "logs", "type": "accesslog", "options": {"path": ".", "glob": "*.secret"}"#,
        ])
        assertThrows(.invalidConfig, { _ = try self.parse(json) }) { e in
            for part in ["7 problems",
                         "store app: unknown option pth for a sqlite store (did you mean path?)",
                         "store app: a sqlite store needs options.path",
                         "store blog: options.tls must be one of disabled, preferred, required, verify-identity",
                         "store blog: a mysql store needs options.url",
                         "store mail: options.path must be a string",
                         "store mail: options.delimiter must be one ASCII character",
                         "store logs: unknown option glob for an accesslog store (known: path)"] {
                XCTAssertTrue(e.message.contains(part), "\(part) missing from: \(e.message)")
            }
            XCTAssertFalse(e.message.contains("\n"), e.message)
            XCTAssertFalse(e.message.contains("secret"), "no option value is printed: \(e.message)")
            XCTAssertEqual(e.location, "/tmp/stores.json")
        }
        // One problem alone reads as before, without a count.
        assertThrows(.invalidConfig, { _ = try self.parse(Self.config([#""name": "app", "type": "sqlite", "options": {"path": "a.db", "timezone": "UTC"}"#])) }) {
            XCTAssertEqual($0.message, "store app: unknown option timezone for a sqlite store (known: path, initScript)")
        }
    }

    func testAConnectorChecksItsOptionsThroughTheSameDeclaration() throws {
        var store = try parse(Self.config([#""name": "app", "type": "sqlite", "options": {"path": "/nonexistent/app.db"}"#])).stores[0]
        store.options["initScirpt"] = "x.sql"
        store.options["path"] = nil
        for make in [{ _ = try SQLiteConnector(config: store) }, { _ = try StoreRegistry.standard.connector(for: store) }] {
            assertThrows(.invalidConfig, make) {
                XCTAssertEqual($0.message, "2 problems: unknown option initScirpt for a sqlite store (did you mean initScript?); a sqlite store needs options.path")
                XCTAssertEqual($0.location, "store app")
            }
        }
    }

    func testNearSpellings() {
        XCTAssertEqual(Spelling.nearest(to: "timezone", among: ["url", "timeZone", "tls"]), "timeZone")
        XCTAssertEqual(Spelling.nearest(to: "tlsca", among: ["tls", "tlsCA"]), "tlsCA")
        XCTAssertEqual(Spelling.nearest(to: "delimter", among: ["path", "delimiter"]), "delimiter")
        XCTAssertEqual(Spelling.nearest(to: "pasword", among: ["passwordEnv", "url"]), nil)
        XCTAssertEqual(Spelling.nearest(to: "glob", among: ["path"]), nil)
        XCTAssertEqual(Spelling.nearest(to: "ul", among: ["url"]), nil, "too short to guess")
    }

    /// Every required key left out is named in the one error, not one per run.
    func testEveryMissingRequiredKeyIsReportedInOneRun() {
        var json = Self.config([#""name": "app", "type": "sqlite", "options": {"path": "a.db"}"#,
                                #""name": "mail", "type": "csv", "options": {"path": "."}"#], datasetDescription: "")
        json = json.replacingOccurrences(of: #""contact": "t@example.com""#, with: #""address": "x""#)
            .replacingOccurrences(of: #""legalBasis": "contract", "#, with: "")
        assertThrows(.invalidConfig, { _ = try self.parse(json) }) { e in
            for key in ["controller.contact", "stores[0].datasets[0].description", "stores[0].datasets[0].legalBasis",
                        "stores[1].datasets[0].description", "stores[1].datasets[0].legalBasis"] {
                XCTAssertTrue(e.message.contains("\(key) is required"), "\(key) missing from: \(e.message)")
            }
            XCTAssertTrue(e.message.hasPrefix("5 problems: "), e.message)
        }
        // Alone, a missing key is the message it always was.
        let one = Self.config([#""name": "app", "type": "sqlite", "options": {"path": "a.db"}"#]).replacingOccurrences(of: #""name": "T", "#, with: "")
        assertThrows(.invalidConfig, { _ = try self.parse(one) }) { XCTAssertEqual($0.message, "controller.name is required") }
    }

    func testAMisspeltConfigKeyGetsTheNearestKnownOne() {
        let json = Self.config([#""name": "app", "type": "sqlite", "options": {"path": "a.db"}"#])
            .replacingOccurrences(of: #""purposes""#, with: #""purpose""#)
        assertThrows(.invalidConfig, { _ = try self.parse(json) }) {
            XCTAssertEqual($0.message, "unknown key stores[0].datasets[0].purpose (did you mean purposes?)")
        }
    }

    /// Through the CLI: exit 3, one line on stderr naming both stores' options.
    func testExportRefusesEveryBadOptionAtOnce() throws {
        let dir = try TestSupport.tempDir(self)
        let config = dir.appendingPathComponent("stores.json")
        try Data(Self.config([#""name": "app", "type": "sqlite", "options": {"path": "a.db", "initscript": "a.sql"}"#,
                              #""name": "mail", "type": "jsonl", "options": {}"#]).utf8).write(to: config)
        let r = try TestSupport.dataport("export", "--config", config.path, "--subject", "email=a@example.com",
                                         "--output", dir.appendingPathComponent("o.zip").path)
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("unknown option initscript for a sqlite store (did you mean initScript?)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("store mail: a jsonl store needs options.path"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("o.zip").path))
    }

    /// formats/stores-config.md lists exactly the options the connectors declare.
    func testTheDocsListTheDeclaredOptions() throws {
        let doc = try String(contentsOf: TestSupport.root.appendingPathComponent("formats/stores-config.md"), encoding: .utf8)
        let expected = Self.docBegin + "\n" + StoreRegistry.standard.optionsMarkdown + "\n" + Self.docEnd
        guard let start = doc.range(of: Self.docBegin), let end = doc.range(of: Self.docEnd, range: start.upperBound..<doc.endIndex) else {
            return XCTFail("formats/stores-config.md has no generated store options section")
        }
        let found = String(doc[start.lowerBound..<end.upperBound])
        if found != expected {
            let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("stores-config-options.md")
            try Data(expected.utf8).write(to: fresh)
            XCTFail("the store options in formats/stores-config.md differ from the declarations; the section as it should be: \(fresh.path)")
        }
    }

    func testCheckHelpListsTheStoreOptions() throws {
        let r = try TestSupport.dataport("check", "--help")
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Store types and their options"), r.stdout)
        for (type, options) in StoreRegistry.standard.options {
            XCTAssertTrue(r.stdout.contains("\n  \(type)\n"), type)
            for o in options { XCTAssertTrue(r.stdout.contains("    \(o.name)  "), "\(type).\(o.name)") }
        }
        XCTAssertTrue(r.stdout.contains("    tls  one of disabled, preferred, required, verify-identity, default preferred"), r.stdout)
        let listing = try XCTUnwrap(r.stdout.components(separatedBy: "Store types and their options").last)
        XCTAssertTrue(listing.split(separator: "\n").allSatisfy { $0.count <= 100 }, listing)
    }
}
