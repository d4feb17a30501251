import Foundation
import XCTest

/// Stores that fail: a partial export that says so, a locked store, and an import that waits for
/// nothing and changes nothing.
final class StoreFailureTests: XCTestCase {
    /// The sample config plus a second SQLite store whose file is not a database.
    func configWithBrokenStore(_ dir: URL) throws -> String {
        _ = try TestSupport.exportSample(dir, name: "warmup.zip")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.sampleConfig))) as! [String: Any]
        var stores = config["stores"] as! [[String: Any]]
        stores[0]["options"] = ["path": TestSupport.samples.appendingPathComponent("sample-app.db").path]
        var broken = stores[0]
        broken["name"] = "archive"
        let junk = dir.appendingPathComponent("archive.db")
        try Data(repeating: 0x41, count: 4096).write(to: junk)
        broken["options"] = ["path": junk.path]
        var datasets = broken["datasets"] as! [[String: Any]]
        datasets = [datasets[0]]
        datasets[0]["name"] = "old_accounts"
        broken["datasets"] = datasets
        stores.append(broken)
        config["stores"] = stores
        let path = dir.appendingPathComponent("stores.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testAFailedStoreFailsTheExportUnlessPartialIsAllowedAndThenSaysSo() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try configWithBrokenStore(dir)
        let out = dir.appendingPathComponent("ana.zip").path
        let strict = try TestSupport.dataport("export", "--config", config, "--subject", "email=ana.nunez@example.com", "--output", out)
        XCTAssertEqual(strict.code, 4, strict.stderr)
        XCTAssertTrue(strict.stderr.contains("archive"), "names the store: \(strict.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let partial = try TestSupport.dataport("export", "--config", config, "--subject", "email=ana.nunez@example.com", "--output", out,
                                               "--allow-partial", "--json")
        XCTAssertEqual(partial.code, 0, partial.stderr)
        let m = try JSONSerialization.jsonObject(with: Data(try TestSupport.dataport("inspect", "--json", out).stdout.utf8)) as! [String: Any]
        let stores = m["stores"] as! [[String: Any]]
        let archive = try XCTUnwrap(stores.first { $0["name"] as? String == "archive" })
        XCTAssertEqual(archive["status"] as? String, "failed")
        XCTAssertNotNil(archive["reason"])
        let excluded = (m["excluded"] as! [[String: Any]]).first { $0["name"] as? String == "old_accounts" }
        XCTAssertEqual(excluded?["reason"] as? String, "store archive could not be read")
        XCTAssertTrue(try TestSupport.dataport("inspect", out).stdout.contains("store archive (sqlite): failed"))
    }

    /// Holds an exclusive lock on a SQLite file for `seconds` in another process; returns once it is held.
    func lock(_ db: String, seconds: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN EXCLUSIVE')
            print('locked', flush=True)
            time.sleep(int(sys.argv[2]))
            c.execute('ROLLBACK')
            """, db, String(seconds)]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        _ = out.fileHandleForReading.availableData // waits for "locked"
        return p
    }

    func testALockedStoreIsAClearStoreErrorAndImportChangesNothing() throws {
        let dir = try TestSupport.tempDir(self)
        _ = try TestSupport.exportSample(dir, name: "warmup.zip")
        let db = dir.appendingPathComponent("app.db").path
        try FileManager.default.copyItem(atPath: TestSupport.samples.appendingPathComponent("sample-app.db").path, toPath: db)
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.sampleConfig))) as! [String: Any]
        var stores = config["stores"] as! [[String: Any]]
        stores[0]["options"] = ["path": db]
        config["stores"] = stores
        let path = dir.appendingPathComponent("stores.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        let bundle = try TestSupport.exportSample(dir, name: "b.zip")
        let before = try TestSupport.run("/usr/bin/sqlite3", [db, ".dump"]).stdout

        let holder = try lock(db, seconds: 8)
        defer { holder.terminate(); holder.waitUntilExit() }
        let started = Date()
        let export = try TestSupport.dataport("export", "--config", path, "--subject", "email=ana.nunez@example.com", "--output", dir.appendingPathComponent("x.zip").path)
        XCTAssertEqual(export.code, 4, export.stderr)
        XCTAssertTrue(export.stderr.contains("locked") && export.stderr.contains("app"), export.stderr)
        let imp = try TestSupport.dataport("import", bundle, "--config", path)
        XCTAssertEqual(imp.code, 4, imp.stderr)
        XCTAssertTrue(imp.stderr.contains("locked"), imp.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 8, "gives up after the busy timeout, does not hang")
        holder.terminate()
        holder.waitUntilExit()
        XCTAssertEqual(try TestSupport.run("/usr/bin/sqlite3", [db, ".dump"]).stdout, before)
    }
}
