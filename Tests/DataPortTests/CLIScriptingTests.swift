@testable import DataPortCLI
import DataPortModel
import Foundation
import XCTest

/// What scripts rely on: --json documents that match their published schemas, progress events,
/// quiet mode, batches, and every documented exit code being reachable.
final class CLIScriptingTests: XCTestCase {
    /// Validates a JSON document against `$defs/<def>` of formats/cli-output.schema.json with Python's jsonschema.
    func validate(_ json: String, def: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let schema = TestSupport.root.appendingPathComponent("formats/cli-output.schema.json").path
        let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        wrapper = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/" + sys.argv[2]}
        for line in sys.stdin.read().splitlines() if sys.argv[3] == "lines" else [sys.stdin.read()]:
            jsonschema.validate(json.loads(line), wrapper, cls=jsonschema.Draft202012Validator)
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, schema, def, def == "progressEvent" ? "lines" : "doc"]
        let input = Pipe(), err = Pipe()
        p.standardInput = input
        p.standardError = err
        try p.run()
        input.fileHandleForWriting.write(Data(json.utf8))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, "\(def): \(message)", file: file, line: line)
    }

    func testJSONOutputsMatchTheirSchemas() throws {
        let dir = try TestSupport.tempDir(self)
        let out = dir.appendingPathComponent("a.zip").path
        let e = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com", "--output", out, "--json")
        XCTAssertEqual(e.code, 0, e.stderr)
        try validate(e.stdout, def: "export")
        let v = try TestSupport.dataport("verify", out, "--json")
        try validate(v.stdout, def: "verify")
        let c = try TestSupport.dataport("convert", out, "--format", "json", "--output", dir.appendingPathComponent("c.zip").path, "--json")
        try validate(c.stdout, def: "convert")
        try validate(try TestSupport.dataport("formats", "--json").stdout, def: "formats")
        let crm = dir.appendingPathComponent("crm")
        try FileManager.default.createDirectory(at: crm, withIntermediateDirectories: true)
        for f in ["crm-stores.json", "crm-schema.sql"] {
            try FileManager.default.copyItem(at: TestSupport.samples.appendingPathComponent("migration/\(f)"), to: crm.appendingPathComponent(f))
        }
        let t = try TestSupport.dataport(["transfer", "--from", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com",
                                          "--to", crm.appendingPathComponent("crm-stores.json").path, "--json"] + TestSupport.crmDroppedFields)
        XCTAssertEqual(t.code, 0, t.stderr)
        try validate(t.stdout, def: "transfer")
        let bad = try TestSupport.dataport("verify", "/nonexistent.zip", "--json")
        try validate(bad.stdout, def: "error")
        let i = try TestSupport.dataport("inspect", out, "--json")
        let manifestCheck = try TestSupport.run("/usr/bin/env", ["python3", "-c", "import json,sys,jsonschema; jsonschema.validate(json.loads(sys.argv[2]), json.load(open(sys.argv[1])), cls=jsonschema.Draft202012Validator)",
                                                                  TestSupport.root.appendingPathComponent("formats/manifest.schema.json").path, i.stdout])
        XCTAssertEqual(manifestCheck.code, 0, manifestCheck.stderr)
    }

    func testProgressJSONStreamParsesAndEndsWithDone() throws {
        let dir = try TestSupport.tempDir(self)
        let out = dir.appendingPathComponent("a.zip").path
        for args in [["export", "--config", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com", "--output", out],
                     ["verify", out], ["convert", out, "--format", "json", "--output", dir.appendingPathComponent("c.zip").path]] {
            let r = try TestSupport.dataport(args + ["--progress", "json", "--quiet"])
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertEqual(r.stdout, "", "quiet prints nothing on stdout")
            let lines = r.stderr.split(separator: "\n").map(String.init)
            XCTAssertGreaterThan(lines.count, 2)
            try validate(r.stderr, def: "progressEvent")
            let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
            XCTAssertEqual(last["event"] as? String, "done", args[0])
            XCTAssertFalse(r.stderr.contains("ana.nunez"), "no personal data in progress")
        }
    }

    func testQuietAndNonTerminalPrintNothingButErrors() throws {
        let dir = try TestSupport.tempDir(self)
        let out = dir.appendingPathComponent("a.zip").path
        let r = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com", "--output", out, "--quiet")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.stdout + r.stderr, "")
        // stderr is a pipe here, not a terminal: no progress line without --progress json.
        let v = try TestSupport.dataport("verify", out)
        XCTAssertEqual(v.stderr, "")
    }

    func testBatchGoesOnPastAFailingSubject() throws {
        let dir = try TestSupport.tempDir(self)
        let list = dir.appendingPathComponent("subjects.txt")
        try "email=ana.nunez@example.com\n# a comment\n{\"email\": \"ghost@example.com\"}\nuser_id=4\n".write(to: list, atomically: true, encoding: .utf8)
        let outDir = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let r = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subjects", list.path, "--output-dir", outDir.path, "--json")
        XCTAssertEqual(r.code, 11, r.stderr)
        try validate(r.stdout, def: "batch")
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(doc["succeeded"] as? Int, 2)
        XCTAssertEqual(doc["failed"] as? Int, 1)
        let failed = (doc["subjects"] as! [[String: Any]]).first { $0["status"] as? String == "failed" }!
        XCTAssertEqual(failed["line"] as? Int, 3)
        XCTAssertEqual((failed["error"] as! [String: Any])["exitCode"] as? Int, 7)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outDir.path).sorted(), ["subject-1.zip", "subject-4.zip"])
        XCTAssertFalse(r.stderr.contains("ghost"), "no personal data in error lines")
        // Sharding splits the same list.
        let shard = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subjects", list.path, "--output-dir", outDir.path, "--shard", "2/2", "--json")
        XCTAssertEqual(shard.code, 0, shard.stderr)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(shard.stdout.utf8)) as! [String: Any])["succeeded"] as? Int, 1)
    }

    /// Without a key, `inspect --json` of an encrypted bundle prints only its recipient counts.
    func testInspectOfAnEncryptedBundleMatchesItsSchema() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--encrypt-to", "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"], name: "sealed.zip")
        let r = try TestSupport.dataport("inspect", "--json", bundle + ".age")
        XCTAssertEqual(r.code, 0, r.stderr)
        try validate(r.stdout, def: "inspectEncrypted")
        // A wrong key's --json error document is an `error` document with code 12.
        let key = dir.appendingPathComponent("key.txt")
        try "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n".write(to: key, atomically: true, encoding: .utf8)
        let other = try TestSupport.exportSample(dir, extra: ["--encrypt-to", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"], name: "other.zip")
        let refused = try TestSupport.dataport("verify", "--json", other + ".age", "--identity", key.path)
        XCTAssertEqual(refused.code, 12, refused.stderr)
        try validate(refused.stdout, def: "error")
        XCTAssertTrue(refused.stdout.contains("cannot-decrypt"), refused.stdout)
    }

    func testEveryErrorKindHasItsOwnDocumentedCode() {
        var seen = Set<Int32>()
        for kind in DataPortError.Kind.allCases { XCTAssertTrue(seen.insert(ExitCode(kind).rawValue).inserted, "\(kind) shares a code") }
        XCTAssertEqual(seen.union([0]), Set(ExitCode.allCases.map(\.rawValue)))
    }

    /// Every documented code, reached through the built executable (1, a bug, only through the mapping above).
    func testEveryDocumentedExitCodeIsReachable() throws {
        let dir = try TestSupport.tempDir(self)
        let good = try TestSupport.exportSample(dir, name: "good.zip")
        var reached: [Int32: String] = [:]
        /// With `error`, the run is repeated with --json and its (last) error document must carry that code.
        func expect(_ code: Int32, _ args: [String], _ why: String, error: DataPortError.Code? = nil) throws {
            let r = try TestSupport.dataport(args)
            XCTAssertEqual(r.code, code, "\(why): \(r.stderr)")
            reached[r.code] = why
            guard let error else { return }
            let j = try TestSupport.dataport(args + ["--json"])
            let start = j.stdout.range(of: "{\n  \"error\":", options: .backwards)?.lowerBound
            let doc = start.flatMap { try? JSONSerialization.jsonObject(with: Data(j.stdout[$0...].utf8)) as? [String: Any] }
            XCTAssertEqual((doc?["error"] as? [String: Any])?["code"] as? String, error.rawValue, "\(why): \(j.stdout)")
        }
        try expect(0, ["verify", good], "success")
        try expect(2, ["export", "--nope"], "usage", error: .unknownCommandOption)
        try expect(3, ["export", "--config", dir.appendingPathComponent("missing.json").path, "--subject", "email=a@b.c", "--output", dir.appendingPathComponent("x.zip").path], "config")
        // A store file that is not a database.
        let broken = dir.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try Data("not a database, just text that is long enough to be read as a header............".utf8).write(to: broken.appendingPathComponent("app.db"))
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.sampleConfig))) as! [String: Any]
        var stores = config["stores"] as! [[String: Any]]
        stores[0]["options"] = ["path": broken.appendingPathComponent("app.db").path]
        config["stores"] = stores
        try JSONSerialization.data(withJSONObject: config).write(to: broken.appendingPathComponent("stores.json"))
        try expect(4, ["export", "--config", broken.appendingPathComponent("stores.json").path, "--subject", "email=a@b.c", "--output", dir.appendingPathComponent("x.zip").path], "store")
        let junk = dir.appendingPathComponent("junk.zip")
        try Data("junk".utf8).write(to: junk)
        try expect(5, ["verify", junk.path], "invalid bundle", error: .invalidBundle)

        // Rewrite one data file with a valid CRC but different content: only SHA-256 catches it.
        let tampered = dir.appendingPathComponent("tampered.zip").path
        let py = try TestSupport.run("/usr/bin/env", ["python3", "-c", """
            import sys, zipfile
            with zipfile.ZipFile(sys.argv[1]) as a, zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as b:
                for i in a.infolist():
                    d = a.read(i)
                    if i.filename.endswith('invoices.json'): d = d.replace(b'EUR', b'USD')
                    b.writestr(i, d)
            """, good, tampered])
        XCTAssertEqual(py.code, 0, py.stderr)
        try expect(6, ["verify", tampered], "tampered", error: .checksumMismatch)
        try expect(7, ["export", "--config", TestSupport.sampleConfig, "--subject", "email=nobody@example.com", "--output", dir.appendingPathComponent("n.zip").path], "not found", error: .subjectNotFound)
        try expect(8, ["export", "--config", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com", "--output", dir.appendingPathComponent("no/such/dir/x.zip").path], "output")
        try expect(9, ["verify", good, "--max-entries", "3"], "limit", error: .tooManyEntries)
        // A target that alters rows as they are written: the read-back checksum disagrees.
        let target = dir.appendingPathComponent("target.db").path
        let schema = try TestSupport.run("/usr/bin/sqlite3", [TestSupport.samples.appendingPathComponent("sample-app.db").path, ".schema"]).stdout
        XCTAssertEqual(try TestSupport.run("/usr/bin/sqlite3", [target, schema + "\nCREATE TRIGGER alter_total AFTER INSERT ON invoices BEGIN UPDATE invoices SET total = '0.00' WHERE id = NEW.id; END;"]).code, 0)
        stores[0]["options"] = ["path": target]
        config["stores"] = stores
        let targetConfig = dir.appendingPathComponent("target.json")
        try JSONSerialization.data(withJSONObject: config).write(to: targetConfig)
        try expect(10, ["import", good, "--config", targetConfig.path], "reconciliation", error: .reconciliation)
        let list = dir.appendingPathComponent("s.txt")
        try "email=ghost@example.com\n".write(to: list, atomically: true, encoding: .utf8)
        try expect(11, ["export", "--config", TestSupport.sampleConfig, "--subjects", list.path, "--output-dir", dir.path], "batch")
        // Encrypted to the age specification's example recipient, whose key no one is given.
        let encrypted = try TestSupport.exportSample(dir, extra: ["--encrypt-to", "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"], name: "sealed.zip")
        try expect(12, ["verify", encrypted + ".age"], "cannot decrypt", error: .noKey)
        XCTAssertEqual(Set(reached.keys).union([1]), Set(ExitCode.allCases.map(\.rawValue)))
    }

    func testCompletionScriptsAreValidShell() throws {
        let dir = try TestSupport.tempDir(self)
        let bash = dir.appendingPathComponent("dataport.bash")
        try TestSupport.dataport("completions", "bash").stdout.write(to: bash, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TestSupport.shell("bash -n '\(bash.path)'").code, 0)
        XCTAssertTrue(try TestSupport.dataport("completions", "zsh").stdout.hasPrefix("#compdef dataport"))
    }

    /// On a terminal (a pseudo-terminal from `script`), progress is one line redrawn in place on stderr.
    func testProgressOnATerminalIsOneUpdatingLine() throws {
        guard TestSupport.has("script") else { throw XCTSkip("script (bsdutils) is not installed") }
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir)
        let r = try TestSupport.run("/usr/bin/script", ["-qec", "'\(TestSupport.binary)' verify '\(bundle)' > /dev/null", "/dev/null"])
        XCTAssertEqual(r.code, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains("\r\u{1B}[K"), "redraws in place")
        XCTAssertTrue(r.stdout.contains("verify: "), "ends with the phase's final line")
        XCTAssertTrue(r.stdout.contains("records"))
        XCTAssertFalse(r.stdout.contains("ana.nunez"), "no personal data")
        // --quiet silences it even on a terminal.
        let q = try TestSupport.run("/usr/bin/script", ["-qec", "'\(TestSupport.binary)' verify --quiet '\(bundle)'", "/dev/null"])
        XCTAssertEqual(q.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "")
    }
}
