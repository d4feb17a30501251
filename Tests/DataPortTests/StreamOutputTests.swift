import Foundation
import XCTest

/// Bundles written to stdout (`--output -`), read from pipes and FIFOs between real processes, and
/// `transfer` (issue 20, items 2 and 3).
final class StreamOutputTests: XCTestCase {
    /// Runs a bash line (pipefail on) with `$DP` set to the built `dataport`.
    func bash(_ command: String, cwd: URL? = nil) throws -> TestSupport.Run {
        try TestSupport.run("/bin/bash", ["-c", "set -o pipefail; " + command], cwd: cwd, environment: ["DP": TestSupport.binary])
    }

    let ana = "--subject email=ana.nunez@example.com --generated-at 2026-01-31T12:00:00Z"
    var config: String { TestSupport.sampleConfig }

    func testZipTarGzAndEncryptedBundlesGoThroughAPipe() throws {
        let dir = try TestSupport.tempDir(self)
        _ = try TestSupport.exportSample(dir, name: "warmup.zip")
        XCTAssertEqual(try TestSupport.run("/usr/bin/age-keygen", ["-o", dir.appendingPathComponent("key.txt").path]).code, 0)
        let recipient = try TestSupport.run("/usr/bin/age-keygen", ["-y", dir.appendingPathComponent("key.txt").path]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for archive in ["zip", "tar.gz"] {
            // The summary goes to stderr: stdout carries nothing but the bundle.
            let plain = try bash("\"$DP\" export --config '\(config)' \(ana) --archive \(archive) --output - 2>summary.txt | \"$DP\" verify -", cwd: dir)
            XCTAssertEqual(plain.code, 0, plain.stderr)
            XCTAssertTrue(plain.stdout.hasPrefix("-: OK ("), plain.stdout)
            XCTAssertTrue(try String(contentsOf: dir.appendingPathComponent("summary.txt"), encoding: .utf8).hasPrefix("wrote standard output: "))
            // Byte for byte the bundle a file export writes, and a reader no one here wrote takes it.
            let file = try TestSupport.exportSample(dir, extra: ["--archive", archive], name: "file.\(archive)")
            let piped = dir.appendingPathComponent("piped.\(archive)").path
            XCTAssertEqual(try bash("\"$DP\" export --config '\(config)' \(ana) --archive \(archive) --output - > '\(piped)'").code, 0)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: piped)), try Data(contentsOf: URL(fileURLWithPath: file)), archive)
            let outside = archive == "zip" ? "python3 -c 'import sys, zipfile; assert zipfile.ZipFile(sys.argv[1]).testzip() is None' '\(piped)'"
                : "tar -tzf - < '\(piped)' > /dev/null"
            XCTAssertEqual(try bash(outside).code, 0, archive)
            // --json goes to stderr too, whole.
            let json = try bash("\"$DP\" export --config '\(config)' \(ana) --archive \(archive) --output - --json 2>report.json | \"$DP\" verify - --json", cwd: dir)
            XCTAssertEqual(json.code, 0, json.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("report.json"))) as! [String: Any]
            XCTAssertEqual(report["output"] as? String, "-")
            XCTAssertEqual(report["bytes"] as? Int, try FileManager.default.attributesOfItem(atPath: piped)[.size] as? Int)
            // Encrypted to a pipe: age's own tool and verify - both open it.
            let sealed = try bash("\"$DP\" export --config '\(config)' \(ana) --archive \(archive) --encrypt-to \(recipient) --output - | \"$DP\" verify - --identity key.txt", cwd: dir)
            XCTAssertEqual(sealed.code, 0, sealed.stderr)
            let viaAge = try bash("\"$DP\" export --config '\(config)' \(ana) --archive \(archive) --encrypt-to \(recipient) --output - | age -d -i key.txt | \"$DP\" verify -", cwd: dir)
            XCTAssertEqual(viaAge.code, 0, viaAge.stderr)
        }
        // Several formats: the zip takes entries compressed ahead in parallel spools, still appended only.
        let spooled = dir.appendingPathComponent("spooled.zip").path
        XCTAssertEqual(try bash("\"$DP\" export --config '\(config)' \(ana) --format json,csv,xml --output - > '\(spooled)'").code, 0)
        let viaFile = try TestSupport.exportSample(dir, formats: "json,csv,xml", name: "formats.zip")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: spooled)), try Data(contentsOf: URL(fileURLWithPath: viaFile)))
        // No file named "-", no ".age" name, nothing else left behind.
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("-").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("-.age").path))
    }

    func testOutputToATerminalIsRefused() throws {
        let dir = try TestSupport.tempDir(self)
        _ = try TestSupport.exportSample(dir, name: "warmup.zip")
        // Under a pseudo-terminal: stdin, stdout and stderr are the terminal.
        let pty = """
            import os, pty, sys
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(sys.argv[1], sys.argv[1:])
            out = b''
            while True:
                try:
                    d = os.read(fd, 4096)
                except OSError:
                    break
                if not d:
                    break
                out += d
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(out.decode('utf-8', 'replace'))
            sys.exit(os.waitstatus_to_exitcode(status))
            """
        for extra in [[], ["--archive", "tar.gz"], ["--json"]] {
            let r = try TestSupport.run("/usr/bin/python3", ["-c", pty, TestSupport.binary, "export", "--config", config,
                                                             "--subject", "email=ana.nunez@example.com", "--output", "-"] + extra, cwd: dir)
            XCTAssertEqual(r.code, 2, r.stdout)
            XCTAssertTrue(r.stdout.contains("refusing to write a bundle to a terminal"), r.stdout)
            XCTAssertFalse(r.stdout.contains("PK"), "no byte of a bundle reached the terminal")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["warmup.zip"])
    }

    /// A copy of the sample database where page_views holds `rows` more rows and the dataset after it
    /// (customer_segments, in the access scope) a bad cell: the export fails after much of the bundle
    /// went out (tar.gz spools each entry, so the failure must come in a later one).
    func failingMidStream(_ dir: URL, rows: Int, badCell: Bool = true) throws -> String {
        _ = try TestSupport.exportSample(dir, name: "warmup.zip")
        let db = dir.appendingPathComponent("bad.db").path
        try FileManager.default.copyItem(atPath: TestSupport.samples.appendingPathComponent("sample-app.db").path, toPath: db)
        let grow = try TestSupport.run("/usr/bin/sqlite3", [db, """
            INSERT INTO page_views (visit_id, viewed_at, path) SELECT 1, '2025-01-01T00:00:00Z', '/p/' || hex(randomblob(16)) FROM generate_series(1, \(rows));
            \(badCell ? "INSERT INTO customer_segments (user_id, segment, score, computed_at) VALUES (1, 'x', 1, 'not a time');" : "")
            """])
        XCTAssertEqual(grow.code, 0, grow.stderr)
        var doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as! [String: Any]
        var stores = doc["stores"] as! [[String: Any]]
        stores[0]["options"] = ["path": db]
        doc["stores"] = stores
        let path = dir.appendingPathComponent("bad.json").path
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testAFailureMidStreamCutsTheStreamShortAndFailsThePipeline() throws {
        let dir = try TestSupport.tempDir(self)
        let bad = try failingMidStream(dir, rows: 20000)
        XCTAssertEqual(try TestSupport.run("/usr/bin/age-keygen", ["-o", dir.appendingPathComponent("key.txt").path]).code, 0)
        let recipient = try TestSupport.run("/usr/bin/age-keygen", ["-y", dir.appendingPathComponent("key.txt").path]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for (name, options, open) in [("zip", "", ""), ("tar.gz", "--archive tar.gz", ""),
                                      ("age", "--archive tar.gz --encrypt-to \(recipient)", "--identity key.txt")] {
            let r = try bash("""
                "$DP" export --config '\(bad)' --subject email=ana.nunez@example.com --scope access \(options) --output - | tee cut.bin | "$DP" verify - \(open)
                echo "${PIPESTATUS[@]}"
                """, cwd: dir)
            let codes = r.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
            // The export says why (a store: 4); the reader sees a stream cut short (6: damaged or truncated).
            XCTAssertEqual(codes, ["4", "0", "6"], "\(name): \(r.stderr)")
            let size = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("cut.bin").path)[.size] as! Int
            XCTAssertGreaterThan(size, 64 << 10, "\(name): much of the bundle went out before the failure")
            // pipefail: the pipeline as a whole fails.
            XCTAssertNotEqual(try bash("\"$DP\" export --config '\(bad)' --subject email=ana.nunez@example.com --scope access \(options) --output - | cat > /dev/null", cwd: dir).code, 0)
        }
        // With --allow-partial the bundle is spooled and goes out whole, without the failed store.
        var doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as! [String: Any]
        var stores = doc["stores"] as! [[String: Any]]
        stores[0]["options"] = ["path": TestSupport.samples.appendingPathComponent("sample-app.db").path]
        var broken = stores[0]
        broken["name"] = "archive"
        try Data(repeating: 0x41, count: 4096).write(to: dir.appendingPathComponent("archive.db"))
        broken["options"] = ["path": dir.appendingPathComponent("archive.db").path]
        var datasets = broken["datasets"] as! [[String: Any]]
        datasets = [datasets[0]]
        datasets[0]["name"] = "old_accounts"
        broken["datasets"] = datasets
        doc["stores"] = stores + [broken]
        let partialConfig = dir.appendingPathComponent("partial.json").path
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: partialConfig))
        let partial = try bash("\"$DP\" export --config '\(partialConfig)' --subject email=ana.nunez@example.com --allow-partial --output - | \"$DP\" inspect -")
        XCTAssertEqual(partial.code, 0, partial.stderr)
        XCTAssertTrue(partial.stdout.contains("store archive (sqlite): failed"), partial.stdout)
    }

    /// SIGTERM while the bundle streams: exit 143, and what went out is a stream cut short.
    func testASignalMidStreamCutsTheStreamShort() throws {
        let dir = try TestSupport.tempDir(self)
        let big = try failingMidStream(dir, rows: 60000, badCell: false)
        let r = try bash("""
            ( echo $BASHPID > pid; exec "$DP" export --config '\(big)' --subject email=ana.nunez@example.com --output - ) \
                | { head -c 100000 > cut.zip; kill -TERM "$(cat pid)"; cat >> cut.zip; }
            echo "${PIPESTATUS[@]}"
            """, cwd: dir)
        XCTAssertEqual(r.stdout.split(whereSeparator: \.isWhitespace), ["143", "0"], r.stderr)
        let verdict = try TestSupport.dataport("verify", dir.appendingPathComponent("cut.zip").path)
        XCTAssertEqual(verdict.code, 6, verdict.stderr)
        XCTAssertTrue(verdict.stderr.contains("ends early"), verdict.stderr)
    }

    /// A pipe and a FIFO, whole or cut short, each get their verdict within a second of their end.
    func testPipesAndFIFOsGetTheirVerdictWithinASecondOfTheirEnd() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--archive", "tar.gz"], name: "ana.tar.gz")
        let fifo = dir.appendingPathComponent("in.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for (what, send, expected) in [("whole", "cat '\(bundle)'", 0), ("truncated", "head -c 3000 '\(bundle)'", 6)] {
            // The writer waits a second before it ends the stream; the clock starts when it does.
            let producer = "{ \(send); sleep 1; date +%s%N > end; }"
            for (how, line) in [("pipe", "\(producer) | \"$DP\" verify -; s=$?"),
                                ("FIFO", "\(producer) > '\(fifo)' & \"$DP\" verify '\(fifo)'; s=$?; wait")] {
                let r = try bash("\(line); date +%s%N > done; exit $s", cwd: dir)
                XCTAssertEqual(r.code, Int32(expected), "\(what) \(how): \(r.stderr)")
                let end = Int(try String(contentsOf: dir.appendingPathComponent("end"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
                let done = Int(try String(contentsOf: dir.appendingPathComponent("done"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
                XCTAssertLessThan(Double(done - end) / 1e9, 1.0, "\(what) \(how): the verdict came within a second of the end")
            }
        }
    }

    /// A private copy of the CRM sample (Samples/migration); returns its config.
    func crm(_ dir: URL, _ name: String) throws -> String {
        let crm = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: crm, withIntermediateDirectories: true)
        for f in ["crm-stores.json", "crm-schema.sql"] {
            try FileManager.default.copyItem(at: TestSupport.samples.appendingPathComponent("migration/\(f)"), to: crm.appendingPathComponent(f))
        }
        return crm.appendingPathComponent("crm-stores.json").path
    }

    /// What must be equal between ways of migrating: per dataset, counts and every checksum.
    func reconciliation(_ report: [String: Any]) -> [String] {
        (report["datasets"] as! [[String: Any]]).map { d in
            ["name", "table", "inBundle", "inserted", "updated", "unchanged", "skipped", "bundleChecksum", "mappedChecksum", "importedChecksum", "agrees"]
                .map { "\(d[$0] ?? "nil")" }.joined(separator: "|")
        } + (report["skippedDatasets"] as! [[String: Any]]).map { "skipped \($0["name"]!)" }
    }

    func testPipeAndTransferMigrateWithTheSameReconciliationAsTwoSteps() throws {
        let dir = try TestSupport.tempDir(self)
        let drop = TestSupport.crmDroppedFields.joined(separator: " ")
        // Two steps: a file, then import.
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "ana.zip")
        let twoStep = try TestSupport.dataport(["import", bundle, "--config", try crm(dir, "a"), "--json"] + TestSupport.crmDroppedFields)
        XCTAssertEqual(twoStep.code, 0, twoStep.stderr)
        let expected = reconciliation(try JSONSerialization.jsonObject(with: Data(twoStep.stdout.utf8)) as! [String: Any])
        XCTAssertTrue(expected.contains { $0.hasPrefix("payments|") && $0.contains("|3|3|0|0|0|") }, "\(expected)")
        // The pipe, as the README shows it across machines (`| ssh other dataport import - ...`).
        let target = try crm(dir, "b")
        let piped = try bash("\"$DP\" export --config '\(config)' \(ana) --scope access --archive tar.gz --output - | sh -c '\"$DP\" import - --config \(target) \(drop) --json'")
        XCTAssertEqual(piped.code, 0, piped.stderr)
        XCTAssertEqual(reconciliation(try JSONSerialization.jsonObject(with: Data(piped.stdout.utf8)) as! [String: Any]), expected)
        // The README shows that pipe across machines.
        let readme = try String(contentsOf: TestSupport.root.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains("--archive tar.gz --output - \\\n      | ssh other dataport import - --config target.json"))
        XCTAssertTrue(readme.contains("set -o pipefail"))
        // One process.
        let transfer = try TestSupport.dataport(["transfer", "--from", config, "--subject", "email=ana.nunez@example.com", "--scope", "access",
                                                 "--to", try crm(dir, "c"), "--json"] + TestSupport.crmDroppedFields)
        XCTAssertEqual(transfer.code, 0, transfer.stderr)
        let doc = try JSONSerialization.jsonObject(with: Data(transfer.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(reconciliation(doc["imported"] as! [String: Any]), expected)
        XCTAssertEqual(doc["agrees"] as? Bool, true)
        let exported = doc["exported"] as! [String: Any]
        XCTAssertEqual(exported["records"] as? Int, 25)
        XCTAssertEqual((doc["imported"] as! [String: Any])["bundle"] as? String, "(transfer)")
        XCTAssertFalse(transfer.stdout.contains("/proc/"), "the private bundle's path is never shown")
        // The three CRMs hold the same rows.
        func rows(_ name: String) throws -> String {
            try TestSupport.run("/usr/bin/sqlite3", [dir.appendingPathComponent("\(name)/crm.db").path,
                                                     "SELECT display_name, email FROM crm_people ORDER BY 1, 2; SELECT reference, amount_due FROM crm_bills ORDER BY 1"]).stdout
        }
        XCTAssertEqual(try rows("b"), try rows("a"))
        XCTAssertEqual(try rows("c"), try rows("a"))
        // A dry run writes nothing; a second transfer changes nothing.
        let before = try rows("c")
        let again = try TestSupport.dataport(["transfer", "--from", config, "--subject", "email=ana.nunez@example.com", "--scope", "access",
                                              "--to", dir.appendingPathComponent("c/crm-stores.json").path, "--json"] + TestSupport.crmDroppedFields)
        let againDoc = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as! [String: Any]
        XCTAssertTrue(((againDoc["imported"] as! [String: Any])["datasets"] as! [[String: Any]]).allSatisfy { ($0["inserted"] as? Int) == 0 && ($0["updated"] as? Int) == 0 })
        XCTAssertEqual(try rows("c"), before)
        let dry = try TestSupport.dataport(["transfer", "--from", config, "--subject", "email=ana.nunez@example.com", "--scope", "access",
                                            "--to", try crm(dir, "d"), "--dry-run"] + TestSupport.crmDroppedFields)
        XCTAssertEqual(dry.code, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("Dry run: would import"), dry.stdout)
        XCTAssertEqual(try TestSupport.run("/usr/bin/sqlite3", [dir.appendingPathComponent("d/crm.db").path, "SELECT count(*) FROM crm_people"]).stdout, "1\n")
        // Without the drop flags the transfer refuses to lose fields (3), and the target is untouched.
        let refused = try TestSupport.dataport("transfer", "--from", config, "--subject", "email=ana.nunez@example.com", "--scope", "access",
                                               "--to", dir.appendingPathComponent("d/crm-stores.json").path)
        XCTAssertEqual(refused.code, 3, refused.stderr)
        XCTAssertFalse(refused.stderr.contains("/proc/"), refused.stderr)
    }

    /// The sample migration script, on a private copy of the samples, through the built CLI.
    func testMigrateScriptUsesThePipeAndChecksSkippedDatasets() throws {
        let dir = try TestSupport.tempDir(self)
        _ = try TestSupport.exportSample(dir, name: "warmup.zip")
        let samples = dir.appendingPathComponent("Samples")
        try FileManager.default.createDirectory(at: samples.appendingPathComponent("migration"), withIntermediateDirectories: true)
        for f in ["stores.json", "sample-app.db", "sample-app.sql", "migration/crm-stores.json", "migration/crm-schema.sql", "migration/migrate.sh"] {
            try FileManager.default.copyItem(at: TestSupport.samples.appendingPathComponent(f), to: samples.appendingPathComponent(f))
        }
        let script = samples.appendingPathComponent("migration/migrate.sh").path
        XCTAssertTrue(try String(contentsOfFile: script, encoding: .utf8).contains("--output - \\\n        | $dataport import -"))
        let ok = try TestSupport.run("/bin/bash", [script, "ana.nunez@example.com"], environment: ["DATAPORT": TestSupport.binary])
        XCTAssertEqual(ok.code, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("migrated: account=1"), ok.stdout)
        // A dataset the CRM skips that the script does not expect fails the migration (3), before anything is written.
        var text = try String(contentsOfFile: script, encoding: .utf8)
        text = text.replacingOccurrences(of: "expected_skipped=\"contact_details ", with: "expected_skipped=\"")
        try text.write(toFile: script, atomically: true, encoding: .utf8)
        let crmDB = samples.appendingPathComponent("migration/crm.db").path
        try FileManager.default.removeItem(atPath: crmDB)
        let unexpected = try TestSupport.run("/bin/bash", [script, "ana.nunez@example.com"], environment: ["DATAPORT": TestSupport.binary])
        XCTAssertEqual(unexpected.code, 3, unexpected.stderr)
        XCTAssertTrue(unexpected.stderr.contains("contact_details"), unexpected.stderr)
        XCTAssertEqual(try TestSupport.run("/usr/bin/sqlite3", [crmDB, "SELECT count(*) FROM crm_people"]).stdout, "1\n", "the dry run wrote nothing")
        // A failing export fails the script (pipefail), whatever the import made of the cut stream.
        let failing = try TestSupport.run("/bin/bash", [script, "nobody@example.com"], environment: ["DATAPORT": TestSupport.binary])
        XCTAssertEqual(failing.code, 7, "the export's own code (no such subject), not the import's view of an empty stream: \(failing.stderr)")
    }
}
