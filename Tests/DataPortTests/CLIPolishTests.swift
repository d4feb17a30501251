@testable import DataPortCLI
import DataPortModel
import Foundation
import XCTest

/// What users of git, gh and ripgrep expect of a command line, and the stable error codes scripts
/// and library callers branch on: all through the built `dataport` where a user would see it.
final class CLIPolishTests: XCTestCase {
    // MARK: Error codes

    /// formats/cli-output.md's "Error codes" table lists exactly `DataPortError.Code.all`, in order.
    func testErrorCodeTableListsEveryCode() throws {
        let doc = try String(contentsOf: TestSupport.root.appendingPathComponent("formats/cli-output.md"), encoding: .utf8)
        let section = try XCTUnwrap(doc.components(separatedBy: "## Error codes").dropFirst().first)
        let documented = section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `"), let end = line.dropFirst(3).firstIndex(of: "`") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 3)..<end])
        }
        XCTAssertEqual(documented, DataPortError.Code.all.map(\.rawValue))
        XCTAssertEqual(Set(documented).count, documented.count, "a code listed twice")
        for kind in DataPortError.Kind.allCases {
            XCTAssertTrue(DataPortError.Code.all.contains(.general(kind)), "\(kind)'s general code is not listed")
        }
    }

    /// A site without a code carries its kind's; a reclassified error keeps a specific code and
    /// takes the new kind's general one otherwise.
    func testCodeDefaultsToTheKindsAndSurvivesReclassification() {
        XCTAssertEqual(DataPortError(.store, "x").code, .store)
        XCTAssertEqual(DataPortError(.invalidBundle, "x").reclassified(as: .store).code.rawValue, "store.failed")
        let cell = DataPortError(.store, "x", code: .malformedCell)
        XCTAssertEqual(cell.reclassified(as: .invalidBundle).code, .malformedCell)
        XCTAssertNotEqual(cell, DataPortError(.store, "x"), "the code is part of the error")
    }

    /// The --json error document carries the code for failures from each layer: the command line,
    /// the config's connector options, the stores, the bundle.
    func testErrorDocumentsCarryTheCode() throws {
        let dir = try TestSupport.tempDir(self)
        func code(_ args: [String], exit: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> String? {
            let r = try TestSupport.dataport(args + ["--json"])
            XCTAssertEqual(r.code, exit, r.stderr, file: file, line: line)
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            return (doc?["error"] as? [String: Any])?["code"] as? String
        }
        let out = dir.appendingPathComponent("a.zip").path
        XCTAssertEqual(try code(["exprt"], exit: 2), "usage.unknownCommand")
        XCTAssertEqual(try code(["export", "--confg", "x"], exit: 2), "usage.unknownOption")
        XCTAssertEqual(try code(["export"], exit: 2), "usage.missingOption")
        let config = dir.appendingPathComponent("stores.json")
        try TestSupport.accountConfig(options: #"{"path": "app.db", "pth": "x"}"#, datasets: "").replacingOccurrences(of: "}]},\n]", with: "}]}]")
            .write(to: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try code(["export", "--config", config.path, "--subject", "email=a@b.c", "--output", out], exit: 3), "config.unknownOption")
        XCTAssertEqual(try code(["export", "--config", TestSupport.sampleConfig, "--subject", "email=ghost@example.com", "--output", out], exit: 7),
                       "subject.notFound")
        XCTAssertEqual(try code(["verify", dir.appendingPathComponent("none.zip").path], exit: 5), "bundle.invalid")
        // A batch line's error is the same object, built in the same place.
        let list = dir.appendingPathComponent("list.txt")
        try "email=ghost@example.com\n".write(to: list, atomically: true, encoding: .utf8)
        let b = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subjects", list.path, "--output-dir", dir.path, "--json")
        XCTAssertEqual(b.code, 11, b.stderr)
        let batch = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as? [String: Any])
        let line = try XCTUnwrap((batch["subjects"] as? [[String: Any]])?.first)
        XCTAssertEqual((line["error"] as? [String: Any])?["code"] as? String, "subject.notFound")
    }

    /// A dataset whose table or column the store lacks fails with the same code in every SQL
    /// store (each server says so its own way: SQLite's message, SQLSTATE 42P01/42703, MySQL 1146/1054).
    func testAMissingTableOrColumnHasOneCodeInEverySQLStore() throws {
        let dir = try TestSupport.tempDir(self)
        var stores = [("sqlite", #"{"path": "\#(TestSupport.samples.appendingPathComponent("sample-app.db").path)"}"#, "users")]
        if ProcessInfo.processInfo.environment["DATAPORT_PG_URL"] != nil {
            stores.append(("postgresql", #"{"url": "env:DATAPORT_PG_URL"}"#, "pg_catalog.pg_class"))
        }
        if ProcessInfo.processInfo.environment["DATAPORT_MYSQL_URL"] != nil {
            stores.append(("mysql", #"{"url": "env:DATAPORT_MYSQL_URL"}"#, "information_schema.TABLES"))
        }
        for (type, options, existing) in stores {
            for (table, column, expected) in [("no_such_table_xyz", "id", "config.missingTable"), (existing, "no_such_column_xyz", "config.missingColumn")] {
                let config = dir.appendingPathComponent("\(type).json")
                try """
                {"version": "1", "controller": {"name": "Test Ltd", "contact": "privacy@test.example"},
                 "stores": [{"name": "app", "type": "\(type)", "options": \(options), "datasets": [
                   {"name": "account", "table": "\(table)", "category": "account", "description": "Account", "purposes": ["service"],
                    "legalBasis": "contract", "origin": "provided", "match": [{"field": "email", "identity": "email"}],
                    "fields": [{"name": "email", "type": "string", "column": "\(column)"}]}]}]}
                """.write(to: config, atomically: true, encoding: .utf8)
                let r = try TestSupport.dataport("export", "--config", config.path, "--subject", "email=a@b.c",
                                                 "--output", dir.appendingPathComponent("x.zip").path, "--json")
                XCTAssertEqual(r.code, 3, "\(type) \(table).\(column): \(r.stderr)")
                let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
                XCTAssertEqual((doc?["error"] as? [String: Any])?["code"] as? String, expected, "\(type) \(table).\(column): \(r.stderr)")
            }
        }
    }

    // MARK: Did you mean, everything missing at once

    func testMistypedCommandsAndOptionsGetASuggestion() throws {
        let cases: [([String], String)] = [
            (["exprt"], "unknown command 'exprt'; did you mean 'export'?"),
            (["verfiy", "a.zip"], "did you mean 'verify'?"),
            (["export", "--confg", "x"], "unknown option --confg; did you mean --config?"),
            (["convert", "a.zip", "--fromat", "csv"], "did you mean --format?"),
            (["export", "--outptu-dir", "x"], "did you mean --output-dir?"),
        ]
        for (args, expected) in cases {
            let r = try TestSupport.dataport(args)
            XCTAssertEqual(r.code, 2, "\(args)")
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
        }
        // Nothing close: no guess, the help is pointed to.
        let far = try TestSupport.dataport("frobnicate")
        XCTAssertEqual(far.stderr, "dataport: error: unknown command 'frobnicate'; run 'dataport --help'\n")
        XCTAssertFalse(try TestSupport.dataport("export", "--zzzzzz").stderr.contains("did you mean"))
    }

    func testEverythingMissingIsReportedInOneRun() throws {
        let cases: [([String], String)] = [
            (["export"], "missing required options --config FILE, --subject KIND=VALUE, --output FILE"),
            (["export", "--subjects", "list.txt"], "missing required options --config FILE, --output-dir DIR"),
            (["export", "--config", "c.json", "--subject", "email=a@b.c"], "missing required option --output FILE"),
            (["convert"], "missing the bundle path and required options --format LIST, --output FILE"),
            (["import"], "missing the bundle path and required option --config FILE"),
            (["transfer", "--subject", "email=a@b.c"], "missing required options --from FILE, --to FILE"),
            (["object", "--config", "c.json"], "missing required options --subject KIND=VALUE, --purpose PURPOSE"),
            (["verify"], "missing the bundle path"),
        ]
        for (args, expected) in cases {
            let r = try TestSupport.dataport(args)
            XCTAssertEqual(r.code, 2, "\(args)")
            XCTAssertEqual(r.stderr, "dataport: error: \(expected)\n", "\(args)")
        }
    }

    // MARK: Man page

    /// `dataport help --man` is made from the option specs, formats/dataport.1 is that text, and
    /// groff reads it without a warning.
    func testManPageIsCurrentAndWellFormed() throws {
        let r = try TestSupport.dataport("help", "--man")
        XCTAssertEqual(r.code, 0, r.stderr)
        let file = TestSupport.root.appendingPathComponent("formats/dataport.1")
        XCTAssertEqual(r.stdout, try String(contentsOf: file, encoding: .utf8),
                       "formats/dataport.1 is stale: run `dataport help --man > formats/dataport.1`")
        for c in CLI.commands {
            XCTAssertTrue(r.stdout.contains(".SS \(c.name)\n"), c.name)
            for o in c.options { XCTAssertTrue(r.stdout.contains(".B \\-\\-\(o.name.replacingOccurrences(of: "-", with: "\\-"))"), "\(c.name) --\(o.name)") }
        }
        for code in ExitCode.allCases { XCTAssertTrue(r.stdout.contains(".B \(code.rawValue)\n")) }
        let groff = try TestSupport.shell("groff -man -Tutf8 -ww -z '\(file.path)' 2>&1")
        XCTAssertEqual(groff.code, 0, groff.stdout)
        XCTAssertEqual(groff.stdout, "", "groff warns")
        let rendered = try TestSupport.shell("groff -man -Tutf8 '\(file.path)' 2>/dev/null | col -b")
        XCTAssertTrue(rendered.stdout.contains("--config FILE"), "options render with their placeholders")
    }

    // MARK: Completions

    /// The bash script, sourced by a real bash, completes commands, options, fixed values (lists
    /// after a comma, `--opt=value`) and file names with spaces.
    func testBashCompletionCompletesValuesAndFileNamesWithSpaces() throws {
        let dir = try TestSupport.tempDir(self)
        try TestSupport.dataport("completions", "bash").stdout.write(to: dir.appendingPathComponent("dataport.bash"), atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: dir.appendingPathComponent("my bundle.zip").path, contents: Data())
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("out dir"), withIntermediateDirectories: true)
        let cases: [([String], String)] = [
            (["exp"], "export|"),
            (["export", "--for"], "--format|"),
            (["export", "--format", ""], FormatRegistryNames.joined + "|"),
            (["export", "--format", "json,x"], "json,xml|json,xlsx|"),
            (["export", "--format", "=", "cs"], "csv|"),
            (["export", "--scope", ""], "portability|access|"),
            (["convert", "a.zip", "--archive", "t"], "tar.gz|"),
            (["verify", "--progress", "j"], "json|"),
            (["erase", "--language", "l"], "lt|"),
            (["verify", "my"], "my bundle.zip|"),
            (["export", "--output-dir", "out"], "out dir|"),
            (["completions", "f"], "fish|"),
            (["help", "--m"], "--man|"),
        ]
        var script = "cd '\(dir.path)'; source ./dataport.bash\n"
        script += #"t() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _dataport; printf '%s|' "${COMPREPLY[@]}"; echo; }"# + "\n"
        for (words, _) in cases { script += "t dataport " + words.map { "'\($0)'" }.joined(separator: " ") + "\n" }
        let r = try TestSupport.run("/bin/bash", ["-c", script])
        XCTAssertEqual(r.code, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, (words, expected)) in cases.enumerated() {
            XCTAssertEqual(i < lines.count ? lines[i] : nil, expected, "dataport \(words.joined(separator: " "))")
        }
    }

    /// The fish script, loaded by a real fish, completes the same.
    func testFishCompletionCompletesValuesAndFileNames() throws {
        guard TestSupport.has("fish") else { throw XCTSkip("fish is not installed (.ci/run installs it)") }
        let dir = try TestSupport.tempDir(self)
        let script = dir.appendingPathComponent("dataport.fish")
        try TestSupport.dataport("completions", "fish").stdout.write(to: script, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: dir.appendingPathComponent("my bundle.zip").path, contents: Data())
        XCTAssertEqual(try TestSupport.run("/usr/bin/env", ["fish", "-n", script.path]).code, 0)
        func complete(_ line: String) throws -> [String] {
            let r = try TestSupport.run("/usr/bin/env", ["fish", "-c", "source '\(script.path)'; complete -C '\(line)'"], cwd: dir)
            XCTAssertEqual(r.code, 0, r.stderr)
            return r.stdout.split(separator: "\n").map { String($0.split(separator: "\t").first ?? "") }
        }
        XCTAssertEqual(try complete("dataport exp"), ["export"])
        XCTAssertEqual(try complete("dataport export --for"), ["--format"])
        XCTAssertEqual(try complete("dataport export --format json,c"), ["json,csv"])
        XCTAssertEqual(try complete("dataport export --format=x"), ["--format=xlsx", "--format=xml"])
        XCTAssertEqual(try complete("dataport export --scope "), ["access", "portability"])
        XCTAssertEqual(try complete("dataport verify my"), ["my bundle.zip"])
        XCTAssertEqual(try complete("dataport completions "), ["bash", "fish", "zsh"])
    }

    func testZshCompletionDeclaresValuesAndFiles() throws {
        let zsh = try TestSupport.dataport("completions", "zsh").stdout
        XCTAssertTrue(zsh.hasPrefix("#compdef dataport\n"))
        XCTAssertTrue(zsh.contains("'--scope=[portability (Art. 20, default) or access (Art. 15, everything held)]:scope:(portability access)'"), zsh)
        XCTAssertTrue(zsh.contains("'*--subject=["))
        XCTAssertTrue(zsh.contains(":file:_files'"))
        XCTAssertTrue(zsh.contains("_sequence compadd - " + FormatRegistryNames.joined.replacingOccurrences(of: "|", with: " ")))
        if TestSupport.has("zsh") {
            let dir = try TestSupport.tempDir(self)
            let file = dir.appendingPathComponent("_dataport")
            try zsh.write(to: file, atomically: true, encoding: .utf8)
            XCTAssertEqual(try TestSupport.run("/usr/bin/env", ["zsh", "-n", file.path]).code, 0)
        }
    }

    // MARK: Output that never cuts a name, counts in the right number

    func testInspectNeverCutsANameAndCountsInTheRightNumber() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir)
        let r = try TestSupport.dataport("inspect", bundle)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("    newsletter_subscriptions subscriptions "), r.stdout)
        XCTAssertTrue(r.stdout.contains("       1 record         465 bytes  json"), r.stdout)
        XCTAssertTrue(r.stdout.contains("       2 records        602 bytes  json"), r.stdout)
        XCTAssertFalse(r.stdout.contains(" 1 records"), r.stdout)
        // Every dataset row keeps its columns aligned with the longest name.
        let rows = r.stdout.split(separator: "\n").filter { $0.hasSuffix("  json") }
        XCTAssertEqual(Set(rows.map { $0.range(of: " record")!.lowerBound.utf16Offset(in: $0) }).count, 1, r.stdout)
        let f = try TestSupport.dataport("formats")
        for line in f.stdout.split(separator: "\n") {
            XCTAssertTrue(line.contains("application/") || line.contains("text/"), "a media type is cut: \(line)")
        }
        XCTAssertEqual(counted(1, "record"), "1 record")
        XCTAssertEqual(counted(0, "identity", "identities"), "0 identities")
        XCTAssertEqual(TextColumn(["newsletter_subscriptions"], minimum: 22).pad("a").count, 24)
    }
}

/// The registered formats as the completions list them.
enum FormatRegistryNames {
    static var joined: String {
        let r = try? TestSupport.dataport("formats", "--json")
        let doc = r.flatMap { try? JSONSerialization.jsonObject(with: Data($0.stdout.utf8)) as? [String: Any] }
        return ((doc?["formats"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }.joined(separator: "|")
    }
}
