import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// Shared helpers for the test suite: paths, temporary folders, running the built `dataport`.
enum TestSupport {
    /// The repository root (this file is Tests/DataPortTests/TestSupport.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var samples: URL { root.appendingPathComponent("Samples") }
    static var sampleConfig: String { samples.appendingPathComponent("stores.json").path }

    /// The built `dataport` executable, next to the test bundle.
    static var binary: String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent == "MacOS" { dir = dir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("dataport").path
    }

    /// A fresh, empty temporary folder, removed when the test ends.
    static func tempDir(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dataport-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    struct Run {
        var code: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program and collects its output.
    @discardableResult
    static func run(_ executable: String, _ args: [String], cwd: URL? = nil, environment: [String: String]? = nil) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = cwd }
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently so a large output cannot block the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Run(code: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs the built `dataport`.
    @discardableResult
    static func dataport(_ args: String..., cwd: URL? = nil) throws -> Run {
        try run(binary, args, cwd: cwd)
    }

    @discardableResult
    static func dataport(_ args: [String], cwd: URL? = nil) throws -> Run {
        try run(binary, args, cwd: cwd)
    }

    /// Runs a shell command line (for external validators such as xmllint, python3).
    @discardableResult
    static func shell(_ command: String, cwd: URL? = nil) throws -> Run {
        try run("/bin/sh", ["-c", command], cwd: cwd)
    }

    /// Whether a program is on the PATH.
    static func has(_ program: String) -> Bool {
        (try? shell("command -v \(program)").code) == 0
    }

    /// Exports a sample subject into `dir` and returns the bundle path.
    static func exportSample(_ dir: URL, email: String = "ana.nunez@example.com", formats: String = "json",
                             extra: [String] = [], name: String = "bundle.zip") throws -> String {
        let out = dir.appendingPathComponent(name).path
        let r = try dataport(["export", "--config", sampleConfig, "--subject", "email=\(email)", "--format", formats,
                              "--generated-at", "2026-01-31T12:00:00Z", "--output", out] + extra)
        XCTAssertEqual(r.code, 0, "export failed: \(r.stderr)")
        return out
    }

    /// Extracts a zip with Python's zipfile (a reader no one here wrote) into `dir`.
    static func unzip(_ bundle: String, into dir: URL) throws {
        let r = try shell("python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' '\(bundle)' '\(dir.path)'")
        XCTAssertEqual(r.code, 0, r.stderr)
    }
}

extension TestSupport {
    /// The bundle fields of the sample's access bundle that the CRM sample (Samples/migration) does
    /// not keep, allowed to be left out: without them the import refuses to lose them.
    static let crmDroppedFields = ["--drop-field", "account.status", "--drop-field", "account.birth_date",
                                   "--drop-field", "newsletter_subscriptions.id", "--drop-field", "newsletter_subscriptions.unsubscribed_at"]

    /// An empty SQLite store with the sample's schema (plus `extraSQL`), and a config for it, in `dir`.
    static func emptySampleStore(in dir: URL, extraSQL: String = "") throws -> (db: String, config: String) {
        _ = try exportSample(dir, name: "warmup.zip") // builds Samples/sample-app.db on first use
        let db = dir.appendingPathComponent("target.db").path
        let schema = try run("/usr/bin/sqlite3", [samples.appendingPathComponent("sample-app.db").path, ".schema"]).stdout
        let r = try run("/usr/bin/sqlite3", [db, schema + extraSQL])
        XCTAssertEqual(r.code, 0, r.stderr)
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sampleConfig))) as! [String: Any]
        var stores = config["stores"] as! [[String: Any]]
        stores[0]["options"] = ["path": db]
        config["stores"] = stores
        let path = dir.appendingPathComponent("target.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        return (db, path)
    }
}

extension TestSupport {
    /// Every row a connector yields for a dataset, as field name -> value.
    static func rows(of d: DatasetConfig, from connector: any StoreConnector, identities: [IdentityKind: [String]]) throws -> [[String: Value]] {
        var rows: [[String: Value]] = []
        try connector.read(d, for: SubjectQuery(identities: identities)) { r in
            rows.append(Dictionary(uniqueKeysWithValues: zip(d.exportedFields.map(\.name), r.values)))
        }
        return rows
    }
}

extension XCTestCase {
    /// Asserts that `body` throws a DataPortError of `kind`, then lets `check` look at it.
    func assertThrows(_ kind: DataPortError.Kind, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line,
                      check: (DataPortError) -> Void = { _ in }) {
        do {
            try body()
            XCTFail("expected a \(kind.rawValue) error", file: file, line: line)
        } catch let e as DataPortError {
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            check(e)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }
}

extension TestSupport {
    /// A stores config with one store `app` of `type` (its `options` as JSON) whose first dataset is
    /// `account` (table `users`, key `id`, found by e-mail, yielding `user_id`), followed by
    /// `datasets` (dataset objects as JSON, comma separated).
    static func accountConfig(type: String = "sqlite", options: String, datasets: String) -> String {
        """
        {"version": "1", "controller": {"name": "Test Ltd", "contact": "privacy@test.example"},
         "stores": [{"name": "app", "type": "\(type)", "options": \(options), "datasets": [
           {"name": "account", "table": "users", "category": "account", "description": "Account", "purposes": ["service"],
            "legalBasis": "contract", "origin": "provided", "key": "id",
            "match": [{"field": "email", "identity": "email"}], "yields": [{"identity": "user_id", "field": "id"}],
            "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]},
        \(datasets)]}]}
        """
    }

    /// `accountConfig` with `items` (key `id`, found by `user_id`: `id`, `user_id`, `code` and the
    /// `last` field, name and type) and `hits` (keyless: `user_id`, `path`).
    static func itemsConfig(type: String = "sqlite", options: String, last: (name: String, type: String)) -> String {
        accountConfig(type: type, options: options, datasets: """
               {"name": "items", "table": "items", "category": "billing", "description": "Items", "purposes": ["billing"],
                "legalBasis": "contract", "origin": "provided", "key": "id", "match": [{"field": "user_id", "identity": "user_id"}],
                "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"}, {"name": "code", "type": "string"},
                           {"name": "\(last.name)", "type": "\(last.type)"}]},
               {"name": "hits", "table": "hits", "category": "website-usage", "description": "Hits", "purposes": ["analytics"],
                "legalBasis": "consent", "origin": "observed", "match": [{"field": "user_id", "identity": "user_id"}],
                "fields": [{"name": "user_id", "type": "integer"}, {"name": "path", "type": "string"}]}
            """)
    }

    /// Starts `dataport import bundle --config config --quiet --progress json` and returns once its
    /// progress says it is writing `dataset` (or it ended): the moment to kill it halfway.
    static func importUntilWriting(_ dataset: String, bundle: String, config: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["import", bundle, "--config", config, "--quiet", "--progress", "json"]
        let progress = Pipe()
        p.standardError = progress // kept open by `p`
        try p.run()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("\"phase\":\"import\",\"dataset\":\"\(dataset)\"") {
            let chunk = progress.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        return p
    }
}
