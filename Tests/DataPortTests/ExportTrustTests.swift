import DataPortBundle
@testable import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Issue 13, the export side: outputs that cannot be hijacked, interruptions that leave nothing,
/// batch reruns without stale bundles, identities and arguments never echoed, limits both sides share.
final class ExportTrustTests: XCTestCase {
    // MARK: Helpers

    /// A SQLite store (`users` found by e-mail, `notes` by user id) built by `sqlite3` from `sql`
    /// after the schema, and its config; returns (db, config).
    func store(_ dir: URL, name: String = "app", sql: String) throws -> (db: String, config: String) {
        let db = dir.appendingPathComponent("\(name).db").path
        let schema = "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT); CREATE TABLE notes(id INTEGER PRIMARY KEY, user_id INTEGER, body TEXT, extra TEXT);"
        let r = try TestSupport.run("/usr/bin/sqlite3", [db, schema + sql])
        XCTAssertEqual(r.code, 0, r.stderr)
        let config = dir.appendingPathComponent("\(name).json").path
        try TestSupport.accountConfig(options: #"{"path": "\#(db)"}"#, datasets: """
               {"name": "notes", "table": "notes", "category": "communications", "description": "Notes", "purposes": ["service"],
                "legalBasis": "contract", "origin": "provided", "key": "id", "match": [{"field": "user_id", "identity": "user_id"}],
                "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"},
                           {"name": "body", "type": "string"}, {"name": "extra", "type": "string"}]}
            """).write(toFile: config, atomically: true, encoding: .utf8)
        return (db, config)
    }

    func export(_ config: String, _ output: String, _ extra: [String] = [], cwd: URL? = nil) throws -> TestSupport.Run {
        try TestSupport.dataport(["export", "--config", config, "--subject", "email=ana@example.com", "--output", output] + extra, cwd: cwd)
    }

    func sha(_ path: String) throws -> String { SHA256.hex(of: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))) }

    func listing(_ dir: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    static let oneNote = "INSERT INTO users VALUES (1, 'ana@example.com'); INSERT INTO notes VALUES (1, 1, 'hello', NULL);"

    // MARK: 6. Output paths

    /// A folder, FIFO, device or symbolic link as --output is refused with exit 8 before any store is
    /// read (the config's database does not exist: reading it would be exit 4), and left as it was.
    func testOutputThatIsNotANewPathOrARegularFileIsRefusedBeforeAnyStoreIsRead() throws {
        let dir = try TestSupport.tempDir(self)
        let config = dir.appendingPathComponent("stores.json").path
        try """
            {"version": "1", "controller": {"name": "T", "contact": "p@t.example"}, "stores": [{"name": "app", "type": "sqlite",
             "options": {"path": "missing.db"}, "datasets": [{"name": "account", "table": "users", "category": "account",
             "description": "A", "purposes": ["s"], "legalBasis": "contract", "origin": "provided", "key": "id",
             "match": [{"field": "email", "identity": "email"}], "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]}]}]}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try export(config, dir.appendingPathComponent("new.zip").path).code, 4, "the store is really unreadable")
        let fifo = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let folder = dir.appendingPathComponent("folder").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let target = dir.appendingPathComponent("elsewhere.txt").path
        try "keep me".write(toFile: target, atomically: true, encoding: .utf8)
        let link = dir.appendingPathComponent("link.zip").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        for output in [fifo, folder, "/dev/null", link] {
            let r = try export(config, output)
            XCTAssertEqual(r.code, 8, "\(output): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("dataport: error: the output "), r.stderr)
        }
        var st = stat()
        XCTAssertEqual(lstat(fifo, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO, "the FIFO is still a FIFO")
        XCTAssertEqual(lstat(link, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK, "the link is still a link")
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "keep me")
        XCTAssertEqual(try listing(dir), ["elsewhere.txt", "fifo", "folder", "link.zip", "stores.json"], "no partial file")
    }

    /// The config's own files are refused as --output with exit 2 (by path, through a symbolic link
    /// to the folder, by a hard link's inode, a file store's dataset file) and stay unchanged.
    func testOutputThatIsOneOfTheConfigsOwnFilesIsRefused() throws {
        let dir = try TestSupport.tempDir(self)
        let (db, config) = try store(dir, sql: Self.oneNote)
        let before = try sha(db)
        let alias = dir.appendingPathComponent("alias").path
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: dir.path)
        let hard = dir.appendingPathComponent("hard.zip").path
        XCTAssertEqual(link(db, hard), 0)
        for output in [db, "app.db", "\(alias)/app.db", hard, config, db + "-journal"] {
            let r = try export(config, output, cwd: dir)
            XCTAssertEqual(r.code, 2, "\(output): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("one of the files this run reads"), r.stderr)
        }
        XCTAssertEqual(try sha(db), before, "the database is untouched")
        XCTAssertFalse(FileManager.default.fileExists(atPath: db + "-journal"))
        // A file store's dataset file; another name in its folder is fine.
        let csvDir = dir.appendingPathComponent("csv")
        try FileManager.default.createDirectory(at: csvDir, withIntermediateDirectories: false)
        try "email,topic\r\nana@example.com,x\r\n".write(to: csvDir.appendingPathComponent("subs.csv"), atomically: true, encoding: .utf8)
        let csvConfig = dir.appendingPathComponent("csv.json").path
        try """
            {"version": "1", "controller": {"name": "T", "contact": "p@t.example"}, "stores": [{"name": "files", "type": "csv",
             "options": {"path": "csv"}, "datasets": [{"name": "subs", "file": "subs.csv", "category": "subscriptions",
             "description": "S", "purposes": ["s"], "legalBasis": "consent", "origin": "provided",
             "match": [{"field": "email", "identity": "email"}], "fields": [{"name": "email", "type": "string"}, {"name": "topic", "type": "string"}]}]}]}
            """.write(toFile: csvConfig, atomically: true, encoding: .utf8)
        XCTAssertEqual(try export(csvConfig, dir.appendingPathComponent("ok.zip").path).code, 0)
        let before2 = try sha(csvDir.appendingPathComponent("subs.csv").path)
        let inside = try export(csvConfig, csvDir.appendingPathComponent("subs.csv").path)
        XCTAssertEqual(inside.code, 2, inside.stderr)
        XCTAssertEqual(try sha(csvDir.appendingPathComponent("subs.csv").path), before2)
        XCTAssertEqual(try export(csvConfig, csvDir.appendingPathComponent("subs.zip").path).code, 0)
    }

    /// `convert` checks its output the same way, and never writes over its input.
    func testConvertRefusesTheSameOutputs() throws {
        let dir = try TestSupport.tempDir(self)
        let (_, config) = try store(dir, sql: Self.oneNote)
        let bundle = dir.appendingPathComponent("a.zip").path
        XCTAssertEqual(try export(config, bundle).code, 0)
        let before = try sha(bundle)
        let fifo = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for (output, code) in [(fifo, Int32(8)), (dir.path, 8), (bundle, 2)] {
            let r = try TestSupport.dataport("convert", bundle, "--format", "csv", "--output", output)
            XCTAssertEqual(r.code, code, "\(output): \(r.stderr)")
        }
        XCTAssertEqual(try sha(bundle), before)
        XCTAssertEqual(try listing(dir), ["a.zip", "app.db", "app.json", "fifo"])
    }

    /// `--output -` is stdout (a pipe here), never a file named `-`; `convert` streams the same way.
    func testOutputDashIsStandardOutputNotAFile() throws {
        let dir = try TestSupport.tempDir(self)
        let (_, config) = try store(dir, sql: Self.oneNote)
        let r = try export(config, "-", cwd: dir)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("PK\u{03}\u{04}"), "the zip itself on stdout")
        XCTAssertTrue(r.stderr.hasPrefix("wrote standard output"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("-").path))
        let bundle = dir.appendingPathComponent("a.zip").path
        XCTAssertEqual(try export(config, bundle).code, 0)
        let converted = try TestSupport.run("/bin/bash", ["-c", "set -o pipefail; \"$DP\" convert '\(bundle)' --format csv --archive tar.gz --output - | \"$DP\" verify -"],
                                            cwd: dir, environment: ["DP": TestSupport.binary])
        XCTAssertEqual(converted.code, 0, converted.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("-").path))
    }

    /// The bundle is 0600 whatever the umask allows; replacing an existing regular file works.
    func testBundleIsMode0600() throws {
        let dir = try TestSupport.tempDir(self)
        let (_, config) = try store(dir, sql: Self.oneNote)
        let out = dir.appendingPathComponent("ana.zip").path
        try "old".write(toFile: out, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(out, 0o644), 0)
        for archive in ["zip", "tar.gz"] {
            let r = try TestSupport.shell("umask 000 && '\(TestSupport.binary)' export --config '\(config)' --subject email=ana@example.com --output '\(out)' --archive \(archive)")
            XCTAssertEqual(r.code, 0, r.stderr)
            let mode = (try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int) ?? -1
            XCTAssertEqual(mode, 0o600, archive)
        }
        XCTAssertEqual(try listing(dir), ["ana.zip", "app.db", "app.json"])
    }

    /// The temporary file is created exclusively with an unpredictable name and mode 0600: a
    /// symbolic link planted at the name the old code used (`.NAME.partial-PID`) is not followed,
    /// and two writers for one output never share a file.
    func testTemporaryFileIsExclusiveUnpredictableAndPrivate() throws {
        let dir = try TestSupport.tempDir(self)
        let out = dir.appendingPathComponent("b.zip").path
        let victim = dir.appendingPathComponent("victim.txt").path
        try "precious".write(toFile: victim, atomically: true, encoding: .utf8)
        let planted = dir.appendingPathComponent(".b.zip.partial-\(getpid())").path
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: victim)
        let a = try BundleWriter(output: out, kind: .zip, generatedAt: Timestamp("2026-01-31T12:00:00Z")!)
        let b = try BundleWriter(output: out, kind: .zip, generatedAt: Timestamp("2026-01-31T12:00:00Z")!)
        XCTAssertNotEqual(a.temporaryPath, b.temporaryPath)
        XCTAssertNotEqual(a.temporaryPath, planted)
        XCTAssertTrue(URL(fileURLWithPath: a.temporaryPath).lastPathComponent.hasPrefix(".b.zip.partial-"))
        XCTAssertTrue(PartialFiles.current.isSuperset(of: [a.temporaryPath, b.temporaryPath]), "registered for signal cleanup")
        var st = stat()
        XCTAssertEqual(lstat(a.temporaryPath, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        _ = try a.addFile("data/x.txt") { try $0.write("x") }
        a.discard()
        b.discard()
        XCTAssertFalse(PartialFiles.current.contains(a.temporaryPath))
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious")
        XCTAssertEqual(try listing(dir), [".b.zip.partial-\(getpid())", "victim.txt"])
        // A name taken by a link is never opened through: the creation itself refuses to follow.
        let fd = open(planted, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        XCTAssertEqual(fd, -1)
        XCTAssertEqual(errno, EEXIST)
    }

    // MARK: 7. Signals

    /// SIGINT, SIGTERM and SIGHUP during a real export of a large store remove the partial file and
    /// exit 130, 143, 129; the same for a convert.
    func testSignalsDuringExportAndConvertLeaveNothing() throws {
        let dir = try TestSupport.tempDir(self)
        let rows = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 150000) INSERT INTO notes SELECT i, 1, hex(randomblob(40)), NULL FROM c;"
        let (_, config) = try store(dir, sql: "INSERT INTO users VALUES (1, 'ana@example.com');" + rows)
        let bundle = dir.appendingPathComponent("whole.zip").path
        XCTAssertEqual(try export(config, bundle).code, 0)
        let cases: [(Int32, [String])] = [
            (SIGINT, ["export", "--config", config, "--subject", "email=ana@example.com", "--format", "json,csv", "--output"]),
            (SIGTERM, ["export", "--config", config, "--subject", "email=ana@example.com", "--archive", "tar.gz", "--output"]),
            (SIGHUP, ["export", "--config", config, "--subject", "email=ana@example.com", "--output"]),
            (SIGTERM, ["convert", bundle, "--format", "csv,xml", "--output"]),
        ]
        for (signal, args) in cases {
            let out = dir.appendingPathComponent("out-\(signal)-\(args[0])")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestSupport.binary)
            p.arguments = args + [out.appendingPathComponent("b.zip").path]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Wait until the partial file exists and holds something: the export is under way.
            let deadline = Date().addingTimeInterval(60)
            var seen = false
            while Date() < deadline, p.isRunning {
                if let names = try? listing(out), let partial = names.first(where: { $0.contains(".partial-") }),
                   ((try? FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(partial).path)[.size] as? Int) ?? 0) > 0 {
                    seen = true
                    break
                }
                usleep(2_000)
            }
            XCTAssertTrue(seen, "\(args[0]) finished before the signal; make the store larger")
            kill(p.processIdentifier, signal)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .exit, "signal \(signal): ended by the signal instead of exiting")
            XCTAssertEqual(p.terminationStatus, 128 + signal, "signal \(signal)")
            XCTAssertEqual(try listing(out), [], "signal \(signal) left a file behind")
        }
    }

    /// SIGTERM during a batch of two jobs, each creating and renaming its files while the other
    /// does (the cleanup waits for what is under way instead of one lock around every creation):
    /// exit 143, no partial file left, and every bundle in the folder whole. Three times, cut at
    /// different points.
    func testASignalDuringABatchOfTwoJobsLeavesOnlyWholeBundles() throws {
        let dir = try TestSupport.tempDir(self)
        let users = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000) INSERT INTO users SELECT i, 'u' || i || '@example.com' FROM c;"
        let notes = "INSERT INTO notes SELECT id, id, 'note of ' || email, NULL FROM users;"
        let (_, config) = try store(dir, sql: users + notes)
        let list = dir.appendingPathComponent("list.txt")
        try (1...3000).map { "email=u\($0)@example.com" }.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
        for (round, wanted) in [5, 60, 400].enumerated() {
            let out = dir.appendingPathComponent("out-\(round)")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestSupport.binary)
            p.arguments = ["export", "--config", config, "--subjects", list.path, "--output-dir", out.path, "--jobs", "2", "--quiet"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, p.isRunning, ((try? listing(out))?.filter { $0.hasSuffix(".zip") }.count ?? 0) < wanted { usleep(1_000) }
            XCTAssertTrue(p.isRunning, "the batch finished before the signal; make it longer")
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .exit)
            XCTAssertEqual(p.terminationStatus, 143)
            let names = try listing(out)
            XCTAssertEqual(names.filter { !$0.hasPrefix("subject-") || !$0.hasSuffix(".zip") }, [], "round \(round) left a partial file")
            XCTAssertGreaterThanOrEqual(names.count, wanted)
            for name in names {
                XCTAssertEqual(try TestSupport.shell("unzip -tqq '\(out.appendingPathComponent(name).path)'").code, 0, "\(name) is not whole")
            }
        }
    }

    // MARK: 8. Batches

    /// A line that fails now removes the bundle an earlier run wrote for it; --archive is honoured
    /// and names the file, and a bundle of the other kind for the same line does not survive.
    func testBatchRerunsLeaveNoStaleBundleAndHonourTheArchiveKind() throws {
        let dir = try TestSupport.tempDir(self)
        let (_, config) = try store(dir, sql: Self.oneNote + "INSERT INTO users VALUES (2, 'bo@example.com');")
        let list = dir.appendingPathComponent("list.txt")
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
        func batch(_ lines: String, _ extra: [String] = []) throws -> TestSupport.Run {
            try lines.write(to: list, atomically: true, encoding: .utf8)
            return try TestSupport.dataport(["export", "--config", config, "--subjects", list.path, "--output-dir", out.path] + extra)
        }
        XCTAssertEqual(try batch("email=ana@example.com\nemail=bo@example.com\n").code, 0)
        XCTAssertEqual(try listing(out), ["subject-1.zip", "subject-2.zip"])
        // Line 1 now names someone no store holds: Ana's old bundle must not pass for the answer.
        let rerun = try batch("email=ghost@example.com\nemail=bo@example.com\n")
        XCTAssertEqual(rerun.code, 11, rerun.stderr)
        XCTAssertEqual(try listing(out), ["subject-2.zip"])
        // tar.gz: named by kind, gzip inside, and the zip of the earlier run for that line is gone.
        let tar = try batch("email=ghost@example.com\nemail=bo@example.com\n", ["--archive", "tar.gz"])
        XCTAssertEqual(tar.code, 11, tar.stderr)
        XCTAssertEqual(try listing(out), ["subject-2.tar.gz"])
        let head = try FileHandle(forReadingFrom: out.appendingPathComponent("subject-2.tar.gz")).read(upToCount: 2)
        XCTAssertEqual(head.map([UInt8].init), [0x1F, 0x8B])
        XCTAssertEqual(try TestSupport.dataport("verify", out.appendingPathComponent("subject-2.tar.gz").path).code, 0)
    }

    // MARK: 13. Identities with control characters

    /// A NUL (or any control character) inside an identity is refused, on --subject (exit 2) and in
    /// a batch line (that line's failure, exit 11 overall), without the value in any message.
    func testIdentitiesWithControlCharactersAreRefused() throws {
        let dir = try TestSupport.tempDir(self)
        let (_, config) = try store(dir, sql: Self.oneNote)
        let one = try TestSupport.dataport("export", "--config", config, "--subject", "email=ana@example.com\u{1}x",
                                           "--output", dir.appendingPathComponent("a.zip").path, "--json")
        XCTAssertEqual(one.code, 2, one.stderr)
        XCTAssertTrue(one.stderr.contains("control character"), one.stderr)
        XCTAssertFalse(one.stderr.contains("ana@") || one.stdout.contains("ana@"), "no value in the error")
        let list = dir.appendingPathComponent("list.txt")
        try "{\"email\": \"ana@example.com\\u0000-other\"}\nemail=ana@example.com\u{7}\nemail=ana@example.com\n".write(to: list, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
        let r = try TestSupport.dataport("export", "--config", config, "--subjects", list.path, "--output-dir", out.path, "--json")
        XCTAssertEqual(r.code, 11, r.stderr)
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let subjects = doc["subjects"] as! [[String: Any]]
        XCTAssertEqual(subjects.map { $0["status"] as? String }, ["failed", "failed", "ok"])
        for s in subjects.prefix(2) { XCTAssertEqual((s["error"] as? [String: Any])?["exitCode"] as? Int, 2) }
        XCTAssertEqual(try listing(out), ["subject-3.zip"])
        XCTAssertFalse(r.stderr.contains("ana@") || r.stdout.contains("other"), "no value in the errors: \(r.stderr)")
    }

    // MARK: 15. No value echoed

    /// Mistyped command lines are described, never printed: the values may be personal data.
    func testTheCLIDescribesBadArgumentsWithoutPrintingThem() throws {
        let dir = try TestSupport.tempDir(self)
        let (_, config) = try store(dir, sql: Self.oneNote)
        let out = dir.appendingPathComponent("a.zip").path
        let secret = "zoe.private@example.com"
        let cases: [([String], String)] = [
            (["export", "--config", config, secret], "unexpected argument 3, which looks like an e-mail address: did you mean --subject email=...?"),
            (["export", "--config", config, "--subject", "email=a@example.com", "--output", out, "203.0.113.77"], "looks like an IP address"),
            (["export", "--config", config, "--subject", "email=a@example.com", "--output", out, "--format", "json,\(secret)"], "item 2 of the format list"),
            (["export", "--config", config, "--subject", secret, "--output", out], "--subject must be KIND=VALUE"),
            (["export", "--config", config, "-\(secret)"], "unknown option (argument 3)"),
            (["export", "--config", config, "--\(secret)"], "unknown option (argument 3)"),
            ([secret], "unknown command (the first argument)"),
        ]
        for (args, expected) in cases {
            let r = try TestSupport.dataport(args + ["--json"])
            XCTAssertEqual(r.code, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("zoe") || r.stdout.contains("zoe") || r.stderr.contains("203.0.113"), "echoed: \(r.stderr)")
        }
        // Option and command names are still named.
        XCTAssertTrue(try TestSupport.dataport("export", "--bogus").stderr.contains("unknown option --bogus"))
        XCTAssertTrue(try TestSupport.dataport("frobnicate").stderr.contains("unknown command 'frobnicate'"))
    }

    // MARK: 16. Limits both sides share

    /// A very compressible dataset (8 MiB of one letter, over 200:1) is written by export and
    /// accepted by verify, inspect, convert and import with their defaults, in zip and tar.gz.
    func testVeryCompressibleDatasetIsReadBackWithTheDefaults() throws {
        let dir = try TestSupport.tempDir(self)
        let (_, config) = try store(dir, sql: "INSERT INTO users VALUES (1, 'ana@example.com'); INSERT INTO notes VALUES (1, 1, replace(hex(zeroblob(4194304)), '0', 'a'), NULL);")
        let bundle = dir.appendingPathComponent("c.zip").path
        XCTAssertEqual(try export(config, bundle).code, 0)
        for args in [["verify", bundle], ["inspect", bundle], ["convert", bundle, "--format", "csv", "--output", dir.appendingPathComponent("c2.zip").path]] {
            let r = try TestSupport.dataport(args)
            XCTAssertEqual(r.code, 0, "\(args): \(r.stderr)")
        }
        let (_, target) = try store(dir, name: "target", sql: "")
        let imported = try TestSupport.dataport("import", bundle, "--config", target)
        XCTAssertEqual(imported.code, 0, imported.stderr)
        let tar = dir.appendingPathComponent("c.tar.gz").path
        XCTAssertEqual(try export(config, tar, ["--archive", "tar.gz"]).code, 0)
        XCTAssertEqual(try TestSupport.dataport("verify", tar).code, 0)
        let zipped = try TestSupport.run("/usr/bin/python3", ["-c", "import sys, zipfile; i = [e for e in zipfile.ZipFile(sys.argv[1]).infolist() if e.filename.endswith('notes.json')][0]; print(i.file_size // i.compress_size)",
                                                              dir.appendingPathComponent("c.zip").path])
        // ISA-L's level 3 (the writer's deflate, in 256 KiB blocks) tops out near 290:1 on one
        // letter, its level 1 near 860:1, zlib near 1030:1: the case is far more compressible than
        // any real dataset, and it is read back with the defaults.
        XCTAssertGreaterThan(Int(zipped.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 200, "the case really is very compressible")
    }

    /// A value over 64 MiB is refused by export (exit 9, naming dataset and field, writing nothing),
    /// in JSON and CSV; a CSV record may hold such a value in every field.
    func testValueLimitIsOneDefinitionForWritersAndReaders() throws {
        let dir = try TestSupport.tempDir(self)
        let big = ValueLimits.maxValueBytes + 1
        let (_, config) = try store(dir, sql: "INSERT INTO users VALUES (1, 'ana@example.com'); INSERT INTO notes VALUES (1, 1, 'x', substr(replace(hex(zeroblob(\(big / 2 + 1))), '0', 'b'), 1, \(big)));")
        for format in ["json", "csv"] {
            let r = try export(config, dir.appendingPathComponent("big.zip").path, ["--format", format])
            XCTAssertEqual(r.code, 9, "\(format): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("field extra") && r.stderr.contains("dataset notes"), r.stderr)
        }
        XCTAssertEqual(try listing(dir).filter { $0.hasSuffix(".zip") || $0.contains("partial") }, [])
        // A CSV record holds one value per field, each up to the limit: the reader takes them all.
        // (Shown end to end by hand with two 32 MiB values; parsing 64 MiB takes minutes in a debug build.)
        XCTAssertGreaterThanOrEqual(CSVFormat.maxRecordBytes(fieldCount: 4), 4 * (ValueLimits.maxValueBytes + 1))
    }

    /// The writer refuses what readers with the same limits would refuse (here with a low ratio
    /// floor, to stay fast), and leaves no file: zip per entry, tar.gz over its whole stream.
    func testWriterRefusesWhatReadersWithTheSameLimitsRefuse() throws {
        let dir = try TestSupport.tempDir(self)
        var limits = ArchiveLimits()
        limits.ratioFloor = 1 << 20
        limits.maxRatio = 200  // below what the writer's deflate reaches on zeros (about 290:1)
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let when = Timestamp("2026-01-31T12:00:00Z")!
        let zip = try BundleWriter(output: dir.appendingPathComponent("z.zip").path, kind: .zip, generatedAt: when, limits: limits)
        assertThrows(.limitExceeded, { _ = try zip.addFile("data/json/notes.json") { try $0.write(zeros) } }) { e in
            XCTAssertEqual(e.location, "data/json/notes.json")
        }
        zip.discard()
        let tar = try BundleWriter(output: dir.appendingPathComponent("t.tar.gz").path, kind: .tarGz, generatedAt: when, limits: limits)
        // The whole stream counts: its few small files must not bring it under the ratio.
        _ = try tar.addFile("data/json/notes.json") { sink in for _ in 0..<16 { try sink.write(zeros) } }
        let manifest = Manifest(toolVersion: "0", generatedAt: when, scope: .portability, controller: Controller(name: "T", contact: "p@t.example"),
                                subject: Subject(displayName: nil, identities: []), stores: [], datasets: [], excluded: [], otherFiles: [])
        assertThrows(.limitExceeded, { try tar.commit(manifest: manifest) })
        tar.discard()
        XCTAssertEqual(try listing(dir), [])
    }
}
