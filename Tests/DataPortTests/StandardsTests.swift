import Foundation
import XCTest

/// The bundle as standard tools see it: BagIt and Frictionless validators, tar.gz beside zip,
/// and the index page a person opens.
final class StandardsTests: XCTestCase {
    func extractedFullBundle(_ dir: URL, extra: [String] = []) throws -> (bundle: String, top: URL) {
        let bundle = try TestSupport.exportSample(dir, formats: "json,csv,xml", extra: ["--scope", "access"] + extra)
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(bundle, into: x)
        return (bundle, try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil)[0])
    }

    /// A validator from PyPI; CI installs it (.ci/run), so its absence is a failure, not a skip.
    func requireTool(_ name: String) throws {
        guard TestSupport.has(name) else {
            XCTFail("\(name) is not installed: python3 -m pip install bagit frictionless (.ci/run does this)")
            throw XCTSkip("\(name) missing")
        }
    }

    func testBundleIsAValidBag() throws {
        try requireTool("bagit.py")
        let dir = try TestSupport.tempDir(self)
        let (_, top) = try extractedFullBundle(dir)
        let r = try TestSupport.shell("bagit.py --validate '\(top.path)' 2>&1")
        XCTAssertEqual(r.code, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains("is valid"), r.stdout)
        // And the validator really checks: a changed payload file makes the bag invalid.
        let csv = top.appendingPathComponent("data/csv/invoices.csv")
        try (try String(contentsOf: csv, encoding: .utf8) + "\r\n").write(to: csv, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try TestSupport.shell("bagit.py --validate '\(top.path)' 2>&1").code, 0)
    }

    func testDataPackageValidatesWithFrictionless() throws {
        try requireTool("frictionless")
        let dir = try TestSupport.tempDir(self)
        let (_, top) = try extractedFullBundle(dir)
        let r = try TestSupport.shell("cd '\(top.path)' && frictionless validate --json datapackage.json")
        XCTAssertEqual(r.code, 0, String(r.stdout.prefix(3000)))
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(report["valid"] as? Bool, true)
        let descriptor = try JSONSerialization.jsonObject(with: Data(contentsOf: top.appendingPathComponent("datapackage.json"))) as! [String: Any]
        let resources = descriptor["resources"] as! [[String: Any]]
        XCTAssertEqual(resources.count, 13)
        let payments = resources.first { $0["name"] as? String == "payments" }!
        let schema = payments["schema"] as! [String: Any]
        XCTAssertEqual(schema["primaryKey"] as? [String], ["id"])
        XCTAssertNotNil(schema["foreignKeys"], "payments.invoice_id references invoices.id")
    }

    func testTarGzBundlesVerifyConvertAndImportLikeZip() throws {
        let dir = try TestSupport.tempDir(self)
        let zip = try TestSupport.exportSample(dir, name: "b.zip")
        let tgz = try TestSupport.exportSample(dir, extra: ["--archive", "tar.gz"], name: "b.tar.gz")
        XCTAssertEqual(try TestSupport.shell("tar -tzf '\(tgz)' | grep -c manifest.json").stdout.trimmingCharacters(in: .whitespacesAndNewlines), "1")
        XCTAssertEqual(try TestSupport.dataport("verify", tgz).code, 0)
        XCTAssertEqual(try TestSupport.dataport("inspect", tgz).code, 0)
        // Converting the tar.gz to zip gives the same bytes as exporting zip directly.
        let converted = dir.appendingPathComponent("c.zip").path
        XCTAssertEqual(try TestSupport.dataport("convert", tgz, "--format", "json", "--output", converted).code, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: converted)), try Data(contentsOf: URL(fileURLWithPath: zip)))
        // And it imports.
        let crm = dir.appendingPathComponent("crm")
        try FileManager.default.createDirectory(at: crm, withIntermediateDirectories: true)
        for f in ["crm-stores.json", "crm-schema.sql"] {
            try FileManager.default.copyItem(at: TestSupport.samples.appendingPathComponent("migration/\(f)"), to: crm.appendingPathComponent(f))
        }
        let imp = try TestSupport.dataport(["import", tgz, "--config", crm.appendingPathComponent("crm-stores.json").path] + TestSupport.crmDroppedFields)
        XCTAssertEqual(imp.code, 0, imp.stderr)
        // Determinism holds for tar.gz too.
        let again = try TestSupport.exportSample(dir, extra: ["--archive", "tar.gz"], name: "again.tar.gz")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: again)), try Data(contentsOf: URL(fileURLWithPath: tgz)))
    }

    /// A dataset of up to 512 records is written from memory, a larger one on lanes (a thread per
    /// format and for the pages); a tar.gz writes each format in a pass of its own. All three give
    /// the same files, on both sides of the threshold.
    func testDataFilesAndPagesAreTheSameOnEitherSideOfTheLaneThreshold() throws {
        let dir = try TestSupport.tempDir(self)
        for n in [512, 513] {
            let db = dir.appendingPathComponent("s\(n).db").path
            let sql = """
            CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
            INSERT INTO users VALUES (1, 'ana@example.com'), (2, 'bo@example.com');
            CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, at TEXT, note TEXT, amount TEXT);
            WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < \(n + 3))
            INSERT INTO events SELECT i, CASE WHEN i <= \(n) THEN 1 ELSE 2 END, '2026-01-31T22:30:05Z',
              CASE WHEN i % 7 = 0 THEN NULL ELSE 'Ana <b>&</b> #' || i END, (i * 3) || '.50' FROM c;
            """
            XCTAssertEqual(try TestSupport.shell("sqlite3 '\(db)' <<'EOF'\n\(sql)\nEOF").code, 0)
            let config = dir.appendingPathComponent("s\(n).json")
            try """
            {"version": "1", "controller": {"name": "Example Ltd", "contact": "privacy@example.com"},
             "stores": [{"name": "app", "type": "sqlite", "options": {"path": "\(db)"}, "datasets": [
               {"name": "account", "table": "users", "category": "account", "description": "Account", "purposes": ["Service"],
                "legalBasis": "contract", "origin": "provided", "key": "id", "match": [{"field": "email", "identity": "email"}],
                "yields": [{"identity": "user_id", "field": "id"}],
                "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]},
               {"name": "events", "table": "events", "category": "website-usage", "description": "Events", "purposes": ["Security"],
                "legalBasis": "legitimate-interests", "origin": "observed", "key": "id", "match": [{"field": "user_id", "identity": "user_id"}],
                "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "at", "type": "timestamp"},
                           {"name": "note", "type": "string"}, {"name": "amount", "type": "decimal"}]}]}]}
            """.write(to: config, atomically: true, encoding: .utf8)
            for formats in ["json", "json,csv,xml"] {
                var trees: [String] = []
                for archive in ["zip", "tar.gz"] {
                    let out = dir.appendingPathComponent("b\(n)-\(formats.count).\(archive)").path
                    let r = try TestSupport.dataport("export", "--config", config.path, "--subject", "email=ana@example.com", "--format", formats,
                                                     "--archive", archive, "--scope", "access", "--generated-at", "2026-01-31T12:00:00Z", "--output", out)
                    XCTAssertEqual(r.code, 0, r.stderr)
                    let x = dir.appendingPathComponent("x\(n)-\(formats.count)-\(archive)")
                    try FileManager.default.createDirectory(at: x, withIntermediateDirectories: true)
                    if archive == "zip" { try TestSupport.unzip(out, into: x) } else {
                        XCTAssertEqual(try TestSupport.shell("tar -xzf '\(out)' -C '\(x.path)'").code, 0)
                    }
                    trees.append(x.path)
                }
                let diff = try TestSupport.shell("diff -r '\(trees[0])' '\(trees[1])'")
                XCTAssertEqual(diff.code, 0, "\(n) records, \(formats): \(diff.stdout.prefix(600))")
                let rows = try TestSupport.shell("cat '\(trees[0])'/*/pages/events*.html | grep -c '<th scope=\"row\">'")
                XCTAssertEqual(rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines), String(n), "every record on the pages")
            }
        }
    }

    func testIndexPageIsSelfContainedAndEscaped() throws {
        let dir = try TestSupport.tempDir(self)
        let (_, top) = try extractedFullBundle(dir)
        let html = try String(contentsOf: top.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Ana María Núñez"))
        XCTAssertTrue(html.contains("Example Web Services Ltd"))
        XCTAssertTrue(html.contains("Your rights"))
        XCTAssertTrue(html.contains("legitimate interests (Art. 6(1)(f) GDPR)"), "legal basis of the derived segment shown under access scope")
        XCTAssertFalse(html.lowercased().contains("<script"))
        XCTAssertFalse(html.contains("src=\"http") || html.contains("href=\"http") || html.contains("url("), "no external requests")
        // A value that looks like markup is escaped, never interpreted (on its dataset's page).
        let page = try String(contentsOf: top.appendingPathComponent("pages/quotation_requests.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("=HYPERLINK(&quot;http://evil.example&quot;,&quot;click&quot;)"))
        XCTAssertFalse(page.lowercased().contains("<script"))
        XCTAssertTrue(html.contains("href=\"data/csv/invoices.csv\""))
        // Python's HTML parser reads it without error.
        let p = try TestSupport.run("/usr/bin/env", ["python3", "-c", "import sys, html.parser; html.parser.HTMLParser().feed(open(sys.argv[1]).read())", top.appendingPathComponent("index.html").path])
        XCTAssertEqual(p.code, 0, p.stderr)
    }

    /// Renders `page` in headless Chromium; returns the screenshot and the URLs the page requested
    /// (the browser's own housekeeping with Google's hosts left out).
    func render(_ browser: String, _ page: URL, in dir: URL, name: String) throws -> (png: Data, urls: Set<String>) {
        let shot = dir.appendingPathComponent("\(name).png"), log = dir.appendingPathComponent("\(name).netlog.json")
        let flags = "--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync"
        let r = try TestSupport.shell("timeout 60 \(browser) \(flags) --user-data-dir='\(dir.path)/profile-\(name)' --log-net-log='\(log.path)' --window-size=1200,2000 --screenshot='\(shot.path)' 'file://\(page.path)' 2>&1")
        XCTAssertEqual(r.code, 0, r.stdout)
        let net = try String(contentsOf: log, encoding: .utf8)
        let urls = Set(net.components(separatedBy: "\"url\":\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) })
        let housekeeping = ["google.com", "googleapis.com", "gvt1.com", "gstatic.com"]
        return (try Data(contentsOf: shot), urls.filter { url in
            guard let host = URL(string: url)?.host else { return !url.hasPrefix("file:") && !url.hasPrefix("data:") && !url.hasPrefix("chrome") && !url.hasPrefix("about:") }
            return !housekeeping.contains { host == $0 || host.hasSuffix("." + $0) }
        })
    }

    /// A real headless browser renders the page and makes no network request (needs Debian's chromium).
    func testIndexPageRendersInHeadlessChromiumWithoutNetwork() throws {
        guard let browser = ["chromium", "chromium-browser"].first(where: TestSupport.has) else {
            throw XCTSkip("chromium is not installed; scripts/check-index-page.sh documents the check")
        }
        let dir = try TestSupport.tempDir(self)
        let (_, top) = try extractedFullBundle(dir)
        let (png, urls) = try render(browser, top.appendingPathComponent("index.html"), in: dir, name: "index")
        XCTAssertGreaterThan(png.count, 10_000, "a real rendering, not an empty page")
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertEqual(urls, [], "the page made network requests")
        // The check can fail: a page with one external image is caught.
        let control = dir.appendingPathComponent("control.html")
        try "<!DOCTYPE html><p>x</p><img src=\"http://192.0.2.1/pixel.png\">".write(to: control, atomically: true, encoding: .utf8)
        XCTAssertTrue(try render(browser, control, in: dir, name: "control").urls.contains("http://192.0.2.1/pixel.png"))
    }
}
