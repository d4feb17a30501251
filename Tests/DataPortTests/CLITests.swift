@testable import DataPortCLI
import Foundation
import XCTest

final class CLITests: XCTestCase {
    func testHelpListsEveryCommandAndVersion() throws {
        let r = try TestSupport.dataport("--help")
        XCTAssertEqual(r.code, 0)
        for c in CLI.commands { XCTAssertTrue(r.stdout.contains(c.name), c.name) }
        for c in CLI.commands {
            let h = try TestSupport.dataport(c.name, "--help")
            XCTAssertEqual(h.code, 0)
            XCTAssertTrue(h.stdout.contains("Usage: dataport \(c.name)"), c.name)
            XCTAssertTrue(h.stdout.contains("Examples:"), c.name)
        }
        XCTAssertTrue(try TestSupport.dataport("--version").stdout.hasPrefix("dataport "))
    }

    func testUsageErrorsExitWith2() throws {
        for args in [["frobnicate"], ["export", "--bogus"], ["export", "--config", TestSupport.sampleConfig, "--output", "/tmp/x.zip"],
                     ["export", "--config", TestSupport.sampleConfig, "--subject", "email", "--output", "/tmp/x.zip"],
                     ["export", "--config", TestSupport.sampleConfig, "--subject", "email=a@b.c", "--output", "/tmp/x.zip", "--format", "yaml"],
                     ["verify"], ["verify", "a", "b"], []] {
            let r = try TestSupport.dataport(args)
            XCTAssertEqual(r.code, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("dataport: error: ") || args.isEmpty, r.stderr)
        }
    }

    func testMissingConfigExitsWith3() throws {
        let r = try TestSupport.dataport("export", "--config", "/nonexistent/stores.json", "--subject", "email=a@b.c", "--output", "/tmp/never.zip")
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("/nonexistent/stores.json"))
    }

    func testUnknownSubjectExitsWith7AndNamesNoOne() throws {
        let dir = try TestSupport.tempDir(self)
        let r = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "email=ghost@example.com",
                                         "--output", dir.appendingPathComponent("g.zip").path)
        XCTAssertEqual(r.code, 7, r.stderr)
        XCTAssertFalse(r.stderr.contains("ghost"), "personal data in an error line")
    }

    func testVerifyAndInspectRefuseANonBundle() throws {
        let dir = try TestSupport.tempDir(self)
        let junk = dir.appendingPathComponent("junk.zip")
        try Data("this is not a zip".utf8).write(to: junk)
        XCTAssertEqual(try TestSupport.dataport("verify", junk.path).code, 5)
        XCTAssertEqual(try TestSupport.dataport("inspect", junk.path).code, 5)
        XCTAssertEqual(try TestSupport.dataport("verify", dir.appendingPathComponent("missing.zip").path).code, 5)
    }

    func testExportJSONAndInspectJSON() throws {
        let dir = try TestSupport.tempDir(self)
        let out = dir.appendingPathComponent("a.zip").path
        let e = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com", "--output", out, "--json")
        XCTAssertEqual(e.code, 0, e.stderr)
        let doc = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(doc["output"] as? String, out)
        XCTAssertGreaterThan(doc["records"] as! Int, 10)
        let i = try TestSupport.dataport("inspect", "--json", out)
        XCTAssertEqual(i.code, 0)
        let m = try JSONSerialization.jsonObject(with: Data(i.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(m["format"] as? String, "dataport-bundle")
        let text = try TestSupport.dataport("inspect", out)
        XCTAssertTrue(text.stdout.contains("invoices"))
        XCTAssertTrue(text.stdout.contains("left out: customer_segments"))
        let f = try TestSupport.dataport("formats", "--json")
        XCTAssertEqual(f.code, 0)
        XCTAssertTrue(f.stdout.contains("\"json\""))
    }

    func testJSONErrorObject() throws {
        let r = try TestSupport.dataport("verify", "--json", "/nonexistent.zip")
        XCTAssertEqual(r.code, 5)
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let err = doc["error"] as! [String: Any]
        XCTAssertEqual(err["exitCode"] as? Int, 5)
        XCTAssertEqual(err["kind"] as? String, "invalid-bundle")
    }

    func testConvertRoundTripsTheSampleBundle() throws {
        let dir = try TestSupport.tempDir(self)
        let original = try TestSupport.exportSample(dir)
        let formats = (try TestSupport.dataport("formats", "--json").stdout)
        let names = ((try JSONSerialization.jsonObject(with: Data(formats.utf8)) as! [String: Any])["formats"] as! [[String: Any]]).map { $0["name"] as! String }
        var current = original
        for (i, name) in (names + ["json"]).enumerated() {
            let next = dir.appendingPathComponent("c\(i).zip").path
            let r = try TestSupport.dataport("convert", current, "--format", name, "--output", next)
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertEqual(try TestSupport.dataport("verify", next).code, 0)
            current = next
        }
        // Back in JSON after a trip through every format: the same bytes as the original export.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: current)), try Data(contentsOf: URL(fileURLWithPath: original)))
    }

    /// `ExitCode` is the source of the README's exit-code table: the table must list each of its codes.
    func testReadmeExitCodeTableMatches() throws {
        let readme = try String(contentsOf: TestSupport.root.appendingPathComponent("README.md"), encoding: .utf8)
        for code in ExitCode.allCases {
            XCTAssertTrue(readme.contains("| \(code.rawValue) | \(code.meaning) |"), "README lacks exit code \(code.rawValue)")
        }
    }
}
