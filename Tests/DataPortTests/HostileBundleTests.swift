@testable import DataPortCLI
import DataPortModel
import Foundation
import XCTest

/// Hostile bundles, generated from a valid sample bundle (nothing binary is committed), fed to the built
/// `dataport verify`, `inspect`, `convert` and `import` (into an empty store whose dump must not change). Each case has exactly one defect and names the check that
/// must catch it (by a fragment of its message), so removing that check makes the case fail.
///
/// Every run must exit with the documented code, print exactly one `dataport: error: ` line on stderr,
/// finish in under 5 s, and leave the file system as it was: the command runs in an empty target folder
/// and neither that folder nor its parent may change (a failed `convert` leaves no output behind).
final class HostileBundleTests: XCTestCase {
    // MARK: Exit codes: 5 unsafe or malformed, 6 a size, CRC-32, SHA-256 or count does not match, 9 a safety limit

    static let invalid = ExitCode.invalidBundle.rawValue, tampered = ExitCode.tamperedBundle.rawValue
    static let limit = ExitCode.limitExceeded.rawValue

    // MARK: Entry names

    func testEntryNameWithDotDotIsRefused() throws {
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(add=[{'name': TOP + '/../../dataport-hostile-escape.json', 'data': b'{}'}])
            """)
    }

    func testAbsoluteEntryNameIsRefused() throws {
        let marker = "/tmp/dataport-hostile-\(UUID().uuidString)/escape.json"
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(add=[{'name': '\(marker)', 'data': b'{}'}])
            """)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
        XCTAssertFalse(FileManager.default.fileExists(atPath: URL(fileURLWithPath: marker).deletingLastPathComponent().path))
    }

    func testDriveLetterEntryNameIsRefused() throws {
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(add=[{'name': 'C:/dataport-hostile-escape.json', 'data': b'{}'}])
            """)
    }

    func testColonInEntryNameIsRefused() throws {
        // On NTFS `account.json:hidden` is an alternate data stream of account.json.
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(add=[{'name': TOP + '/data/json/account.json:hidden', 'data': b'{}'}])
            """)
    }

    func testBackslashEntryNameIsRefused() throws {
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(add=[{'name': TOP + '\\\\..\\\\..\\\\dataport-hostile-escape.json', 'data': b'{}'}])
            """)
    }

    func testNULInEntryNameIsRefused() throws {
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(add=[{'name': (TOP + '/data/json/account.json\\x00/../../dataport-hostile-escape.json').encode(), 'data': b'{}'}])
            """)
    }

    func testEmptyEntryNameIsRefused() throws {
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(add=[{'name': b'', 'data': b'{}'}])
            """)
    }

    func testTwoTopFoldersAreRefused() throws {
        try assertRefused(code: Self.invalid, message: "exactly one top folder", """
            E = entries_with(add=[{'name': 'dataport-hostile-other/data.json', 'data': b'{}'}])
            """)
    }

    func testSymlinkEntryIsRefused() throws {
        // A listed data file, unchanged, but marked as a Unix symbolic link: only the type check can refuse it.
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(edit={TOP + '/data/json/account.json': {'attr': (0o120777 << 16), 'method': 0}})
            """)
    }

    // MARK: Duplicates

    func testDuplicateEntryNamesAreRefused() throws {
        try assertRefused(code: Self.invalid, message: "duplicate entry", """
            E = entries_with()
            E += [dict(e) for e in E if e['name'].endswith('/data/json/account.json')]
            """)
    }

    func testNamesEqualAfterNFCNormalisationAreRefused() throws {
        try assertRefused(code: Self.invalid, message: "duplicate entry", """
            E = entries_with(add=[{'name': TOP + '/data/json/caf\\u00e9.json', 'data': b'{}'},
                                  {'name': TOP + '/data/json/cafe\\u0301.json', 'data': b'{}'}])
            """)
    }

    func testNamesEqualAfterCaseFoldingAreRefused() throws {
        try assertRefused(code: Self.invalid, message: "duplicate entry", """
            E = entries_with(add=[{'name': TOP + '/data/json/ACCOUNT.json', 'data': b'{}'}])
            """)
        // Full case folding, not just lowercasing: ß folds to ss, the ligature ﬁ to fi.
        try assertRefused(code: Self.invalid, message: "duplicate entry", """
            E = entries_with(add=[{'name': TOP + '/data/json/stra\\u00dfe.json', 'data': b'{}'},
                                  {'name': TOP + '/data/json/STRASSE.json', 'data': b'{}'}])
            """)
        try assertRefused(code: Self.invalid, message: "duplicate entry", """
            E = entries_with(add=[{'name': TOP + '/data/json/\\ufb01le.json', 'data': b'{}'},
                                  {'name': TOP + '/data/json/FILE.json', 'data': b'{}'}])
            """)
    }

    // MARK: Zip structure

    func testLocalHeaderNameDifferentFromCentralDirectoryIsRefused() throws {
        try assertRefused(code: Self.invalid, message: "local header name disagrees", """
            E = entries_with(edit={TOP + '/data/json/account.json': {'local_name': TOP + '/data/json/accoun+.json'}})
            """)
    }

    func testEntryWhoseDataSpansTheNextEntryIsRefused() throws {
        // The first entry's compressed size is stretched over the next entry's header and data.
        try assertRefused(code: Self.invalid, message: "entries overlap", """
            E = entries_with(edit={TOP + '/data/json/account.json': {'overlap_next': True}})
            """)
    }

    func testTwoEntriesSharingTheSameLocalDataAreRefused() throws {
        // The overlapping-file zip bomb: a second entry's local header hides in the first one's extra
        // field, so both central entries point at the very same compressed bytes.
        try assertRefused(code: Self.invalid, message: "entries overlap", """
            E = entries_with(edit={TOP + '/data/json/account.json': {'twin': {'name': TOP + '/data/json/twin.json'}}})
            """)
    }

    func testDataAfterTheEndOfCentralDirectoryIsRefused() throws {
        try assertRefused(code: Self.invalid, message: "data after the end of the zip archive", """
            E = entries_with()
            POST = lambda raw: raw + b'PK\\x03\\x04 appended after the end record'
            """)
    }

    /// A zip that starts as one and has no end is cut short (as a stream whose writer failed): damaged, 6.
    func testTruncatedArchiveIsRefused() throws {
        try assertRefused(code: Self.tampered, error: .truncated, """
            E = entries_with()
            POST = lambda raw: raw[:len(raw) - 10]
            """)
    }

    func testArchiveCutInHalfIsRefused() throws {
        try assertRefused(code: Self.tampered, error: .truncated, """
            E = entries_with()
            POST = lambda raw: raw[:len(raw) // 2]
            """)
    }

    func testZip64RecordAtAHugeOffsetIsRefused() throws {
        // Regression: offsets near Int64.max from zip64 records overflowed `offset + count` (a trap, exit 132).
        try assertRefused(code: Self.invalid, message: "not a valid zip archive (truncated)", """
            E = entries_with()
            def POST(raw):
                body, end = raw[:-22], bytearray(raw[-22:])
                end[16:20] = b'\\xff\\xff\\xff\\xff'
                return body + struct.pack('<IIQI', 0x07064b50, 0, 0x7FFFFFFFFFFFFFF0, 1) + bytes(end)
            """)
    }

    // MARK: Bombs and sizes

    func testDeflateBombIsRefusedByItsRatio() throws {
        try assertRefused(code: Self.limit, error: .compressionRatio, Self.deflateBomb)
    }

    func testDeclaredSizeSmallerThanTheInflatedSizeIsRefused() throws {
        // The manifest inflates to more than its headers declare (same CRC-32 as the declared bytes would not have).
        try assertRefused(code: Self.tampered, message: "longer than", """
            m = dict(ENTRIES)[MANIFEST]
            E = entries_with(edit={MANIFEST: {'data': m + b' ' * 100000, 'usize': len(m)}})
            """)
    }

    func testDeclaredSizeLargerThanTheInflatedSizeIsRefused() throws {
        try assertRefused(code: Self.tampered, error: .sizeMismatch, """
            m = dict(ENTRIES)[MANIFEST]
            E = entries_with(edit={MANIFEST: {'usize': len(m) + 1}})
            """)
    }

    func testCorruptCRCIsRefused() throws {
        try assertRefused(code: Self.tampered, error: .checksumMismatch, """
            E = entries_with(edit={MANIFEST: {'crc_xor': 1}})
            """)
    }

    /// A 512 MB zero-filled entry, declared honestly: refused by its ratio before a byte is inflated
    /// (the ratio applies above `ArchiveLimits.ratioFloor`, 256 MiB, since issue 13).
    static let deflateBomb = """
        comp, crc = zeros_deflated(512)
        E = entries_with(add=[{'name': TOP + '/data/json/bomb.json', 'comp': comp, 'crc': crc, 'usize': 512 << 20}])
        """

    /// The same 200 MB of inflated bytes behind a manifest that declares its real (small) size: the
    /// ratio check cannot see it, the reader must stop at the declared size.
    static let lyingBomb = """
        m = dict(ENTRIES)[MANIFEST]
        comp, crc = zeros_deflated(200, prefix=m, fill=b' ')
        E = entries_with(edit={MANIFEST: {'comp': comp, 'crc': crc, 'usize': len(m)}})
        """

    func testBombsStayUnder200MBOfMemory() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw XCTSkip("/usr/bin/time is missing (apt-get install -y time)")
        }
        let dir = try TestSupport.tempDir(self)
        for (name, script, code) in [("bomb", Self.deflateBomb, Self.limit), ("lying-bomb", Self.lyingBomb, Self.tampered),
                                    ("value-bomb", Self.valueBomb, Self.limit)] {
            let bundle = try makeHostile(script, in: dir, name: "\(name).zip")
            for command in ["verify", "inspect"] {
                let r = try TestSupport.run("/usr/bin/time", ["-v", TestSupport.binary, command, bundle])
                XCTAssertEqual(r.code, code, "\(name) \(command): \(r.stderr)")
                guard let line = r.stderr.split(separator: "\n").first(where: { $0.contains("Maximum resident set size") }),
                      let kb = Int(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) else {
                    XCTFail("no peak memory in /usr/bin/time output: \(r.stderr)"); continue
                }
                print("peak memory of \(command) on \(name): \(kb / 1024) MB")
                XCTAssertLessThan(kb, 200 * 1024, "\(name) \(command) peaked at \(kb / 1024) MB")
            }
        }
    }

    // MARK: Manifest

    func testUnknownManifestFormatVersionIsRefused() throws {
        try assertRefused(code: Self.invalid, error: .unknownVersion, """
            m = manifest(); m['formatVersion'] = '2.0'
            E = entries_with(m)
            """)
    }

    func testUnknownManifestKeyIsRefused() throws {
        try assertRefused(code: Self.invalid, message: "unknown key surprise", """
            m = manifest(); m['surprise'] = True
            E = entries_with(m)
            """)
    }

    func testUnknownKeyInANestedManifestObjectIsRefused() throws {
        // Regression: identities and references used to check their members with `try?`, dropping the error.
        try assertRefused(code: Self.invalid, message: "unknown key subject.identities[0].surprise", """
            m = manifest(); m['subject']['identities'][0]['surprise'] = True
            E = entries_with(m)
            """)
        try assertRefused(code: Self.invalid, message: "unknown key", """
            m = manifest()
            d = next(d for d in m['datasets'] if d['references'])
            d['references'][0]['surprise'] = True
            E = entries_with(m)
            """)
    }

    func testManifestDeeplyNestedIsRefused() throws {
        try assertRefused(code: Self.limit, message: "JSON nesting deeper than", """
            m = dict(ENTRIES)[MANIFEST]
            m = m.replace(b'"scope"', b'"deep": ' + b'[' * 10000 + b']' * 10000 + b', "scope"', 1)
            E = entries_with(edit={MANIFEST: {'data': m}})
            """)
    }

    func testManifestWithMillionsOfValuesIsRefused() throws {
        // Regression: a 1.5 MB bundle whose manifest holds 15 million numbers took 877 MB and 35 s to refuse.
        try assertRefused(code: Self.limit, message: "more than 1000000 values", Self.valueBomb)
    }

    /// A manifest with 1.5 million small numbers in an unknown member: compresses well below the ratio limit.
    static let valueBomb = """
        import random
        random.seed(1)
        junk = ','.join(random.choice('0123456789') for _ in range(1_500_000)).encode()
        m = dict(ENTRIES)[MANIFEST].replace(b'"scope"', b'"junk": [' + junk + b'], "scope"', 1)
        E = entries_with(edit={MANIFEST: {'data': m}})
        """

    func testListedFileMissingIsRefused() throws {
        try assertRefused(code: Self.invalid, message: "listed in the manifest is missing: data/json/account.json", """
            E = entries_with(drop=[TOP + '/data/json/account.json'])
            """)
    }

    func testFileNotInTheManifestIsRefused() throws {
        try assertRefused(code: Self.invalid, message: "file not listed in the manifest: data/json/extra.json", """
            E = entries_with(add=[{'name': TOP + '/data/json/extra.json', 'data': b'{}'}])
            """)
    }

    func testWrongSizeInTheManifestIsRefused() throws {
        // The BagIt files still carry the true sizes: the cross-check catches the edited manifest.
        try assertRefused(code: Self.tampered, message: "Payload-Oxum disagrees", reach: .dataFiles, """
            m = manifest(); find_file(m, 'data/json/account.json')['size'] += 1
            E = entries_with(m)
            """)
        try assertRefused(code: Self.tampered, message: "Payload-Oxum disagrees", reach: .dataFiles, """
            m = manifest(); find_file(m, 'data/json/account.json')['size'] -= 1
            E = entries_with(m)
            """)
    }

    func testWrongSHA256InTheManifestIsRefused() throws {
        try assertRefused(code: Self.tampered, message: "manifest-sha256.txt disagrees with manifest.json", reach: .dataFiles, """
            m = manifest(); f = find_file(m, 'data/json/account.json')
            f['sha256'] = ('0' if f['sha256'][0] != '0' else '1') + f['sha256'][1:]
            E = entries_with(m)
            """)
    }

    // MARK: Data files changed after the manifest was written (manifest and BagIt files untouched)

    func testDataFileChangedButStillValidJSONIsRefusedByItsChecksum() throws {
        // Every record parses, so an import has written them all when the checksum fails at the
        // file's end: the transaction must roll back.
        try assertRefused(code: Self.tampered, error: .checksumMismatch, reach: .dataFiles,
                          Self.editDataOnly("d = d.replace(b'Website', b'Webs1te', 1); assert b'Webs1te' in d"))
    }

    func testDataFileChangedIntoInvalidJSONIsReportedAsTampering() throws {
        // The parse error is a consequence; the cause reported is the failed checksum.
        try assertRefused(code: Self.tampered, error: .checksumMismatch, reach: .dataFiles,
                          Self.editDataOnly("d = d.replace(b'\"id\":1,', b'\"id\":1;', 1); assert b'\"id\":1;' in d"))
    }

    func testDataFileChangedIntoADuplicateKeyIsReportedAsTampering() throws {
        // An import meets the duplicate key before the file's end: the checksum still names the cause.
        try assertRefused(code: Self.tampered, error: .checksumMismatch, reach: .dataFiles,
                          Self.editDataOnly("d = d.replace(b'{\"id\":2,', b'{\"id\":1,', 1); assert d.count(b'{\"id\":1,') == 2"))
    }

    func testDataFileLongerOrShorterThanTheManifestSaysIsRefused() throws {
        try assertRefused(code: Self.tampered, error: .sizeMismatch, reach: .dataFiles,
                          Self.editDataOnly("d = d + b'\\n'"))
        try assertRefused(code: Self.tampered, message: "the manifest says", reach: .dataFiles,
                          Self.editDataOnly("d = d[:len(d) // 2]"))
    }

    func testRecordCountDisagreeingWithTheManifestIsRefused() throws {
        try assertRefused(code: Self.tampered, error: .recordCountMismatch, reach: .dataFiles, """
            m = manifest(); next(d for d in m['datasets'] if d['name'] == 'quotation_requests')['recordCount'] += 1
            E = entries_with(m)
            """)
    }

    // MARK: Malformed JSON data files (the manifest's size and SHA-256 match, only the JSON is wrong)

    func testDataFileWithATrailingCommaIsRefused() throws {
        try assertRefused(code: Self.invalid, message: "malformed JSON", reach: .dataFiles,
                          Self.editData("d = d.replace(b'}\\n]}', b'},\\n]}'); assert b'},\\n]}' in d"))
    }

    func testDataFileWithADuplicateKeyIsRefused() throws {
        try assertRefused(code: Self.invalid, message: "duplicate key", reach: .dataFiles,
                          Self.editData("d = d.replace(b'{\"id\":1,', b'{\"id\":1,\"id\":1,', 1); assert b'\"id\":1,\"id\"' in d"))
    }

    func testDataFileWithInvalidUTF8IsRefused() throws {
        try assertRefused(code: Self.invalid, message: "invalid UTF-8", reach: .dataFiles,
                          Self.editData("d = d.replace(b'Website', b'Web\\xff\\xfeite', 1); assert b'\\xff' in d"))
    }

    func testDataFileWithALoneSurrogateIsRefused() throws {
        try assertRefused(code: Self.invalid, message: "lone surrogate", reach: .dataFiles,
                          Self.editData("d = d.replace(b'Website', b'Web\\\\ud800site', 1); assert b'ud800' in d"))
    }

    func testDataFileNested10000DeepIsRefused() throws {
        try assertRefused(code: Self.limit, message: "JSON nesting deeper than", reach: .dataFiles, Self.editData("""
            start = d.index(b'"fields":') + len(b'"fields":'); end = d.index(b',"records":')
            d = d[:start] + b'[' * 10000 + b']' * 10000 + d[end:]
            """))
    }

    /// Rewrites `data/json/quotation_requests.json` with the Python statements `edit` (on `d`), and
    /// updates the manifest's size and SHA-256 so only the JSON itself is wrong.
    static func editData(_ edit: String) -> String {
        """
        path = 'data/json/quotation_requests.json'
        d = dict(ENTRIES)[TOP + '/' + path]
        \(edit)
        m = manifest(); f = find_file(m, path); f['size'] = len(d); f['sha256'] = hashlib.sha256(d).hexdigest()
        E = entries_with(m, edit={TOP + '/' + path: {'data': d}})
        """
    }

    /// Rewrites `data/json/quotation_requests.json` with the Python statements `edit` (on `d`) and
    /// leaves manifest.json and the BagIt files as they were (`KEEP_BAG`: not brought up to date).
    static func editDataOnly(_ edit: String) -> String {
        """
        path = 'data/json/quotation_requests.json'
        d = dict(ENTRIES)[TOP + '/' + path]
        \(edit)
        E = entries_with(edit={TOP + '/' + path: {'data': d}})
        KEEP_BAG = True
        """
    }

    // MARK: tar.gz bundles (the same sample's entries, written as a tar.gz: TAR = True)

    func testTarGzRebuildOfTheSampleIsAValidBundle() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try makeHostile("E = entries_with()\nTAR = True", in: dir, name: "rebuilt.tar.gz")
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: bundle)).prefix(2)), [0x1F, 0x8B], "a gzip stream")
        let v = try TestSupport.dataport("verify", bundle)
        XCTAssertEqual(v.code, 0, v.stderr)
        let store = try emptyTargetStore()
        let i = try TestSupport.dataport("import", bundle, "--config", store.config)
        XCTAssertEqual(i.code, 0, i.stderr)
    }

    func testTarGzEntryNamesOutsideTheTopFolderAreRefused() throws {
        for name in ["TOP + '/../escape.json'", "'/tmp/dataport-hostile-escape.json'", "TOP + '/data/json/../../../escape.json'"] {
            try assertRefused(code: Self.invalid, error: .unsafePath, """
                E = entries_with(add=[{'name': \(name), 'data': b'{}'}])
                TAR = True
                """)
        }
    }

    func testTarGzLinksAreRefused() throws {
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(add=[{'name': TOP + '/data/json/link.json', 'tartype': b'2', 'linkname': '/etc/passwd'}])
            TAR = True
            """)
        try assertRefused(code: Self.invalid, error: .unsafePath, """
            E = entries_with(add=[{'name': TOP + '/data/json/link.json', 'tartype': b'1', 'linkname': TOP + '/manifest.json'}])
            TAR = True
            """)
    }

    func testTarGzDataFileChangedIsRefusedAndTheStoreUnchanged() throws {
        try assertRefused(code: Self.tampered, error: .checksumMismatch, reach: .dataFiles,
                          Self.editDataOnly("d = d.replace(b'Website', b'Webs1te', 1); assert b'Webs1te' in d") + "\nTAR = True")
    }

    // MARK: The harness

    /// Which commands read the defect: `inspect` reads the zip structure and the manifest only, so
    /// defects inside data files (checksums, record counts, their JSON) let it succeed.
    enum Reach { case manifest, dataFiles }

    func testTheExitCodesAreTheDocumentedOnes() {
        XCTAssertEqual([Self.invalid, Self.tampered, Self.limit], [5, 6, 9])
    }

    func testTheUntouchedRebuildIsAValidBundle() throws {
        // The generator itself must not break bundles, or every case above would pass for the wrong reason.
        let dir = try TestSupport.tempDir(self)
        let bundle = try makeHostile("E = entries_with(manifest())", in: dir, name: "rebuilt.zip")
        let v = try TestSupport.dataport("verify", bundle)
        XCTAssertEqual(v.code, 0, v.stderr)
        let out = dir.appendingPathComponent("converted.zip").path
        let c = try TestSupport.dataport("convert", bundle, "--format", "json", "--output", out)
        XCTAssertEqual(c.code, 0, c.stderr)
    }

    /// Builds the hostile bundle described by `script`, runs verify, inspect and convert on it, and checks them.
    func assertRefused(code: Int32, error: DataPortError.Code, reach: Reach = .manifest, _ script: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        try assertRefused(code: code, expected: .code(error), reach: reach, script, file: file, line: line)
    }

    /// As above, for a refusal with no code of its own: known by its message.
    func assertRefused(code: Int32, message: String, reach: Reach = .manifest, _ script: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        try assertRefused(code: code, expected: .message(message), reach: reach, script, file: file, line: line)
    }

    enum Refusal { case code(DataPortError.Code), message(String) }

    func assertRefused(code: Int32, expected: Refusal, reach: Reach, _ script: String, file: StaticString, line: UInt) throws {
        let work = try TestSupport.tempDir(self)
        let bundle = try makeHostile(script, in: work, name: "hostile.zip")
        let target = work.appendingPathComponent("target")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let before = try snapshot(work)
        let tmpBefore = try escapeMarkers()
        let store = try emptyTargetStore()
        let storeBefore = try TestSupport.run("/usr/bin/sqlite3", [store.db, ".dump"]).stdout
        // A code is read from the --json error document; a message from the stderr line.
        let json: [String]
        let message: String
        switch expected {
        case .code(let c): (json, message) = (["--json"], c.rawValue)
        case .message(let m): (json, message) = ([], m)
        }
        let runs: [(args: [String], code: Int32)] = [
            (["verify", bundle] + json, code),
            (["inspect", bundle] + json, reach == .manifest ? code : 0),
            (["convert", bundle, "--format", "json", "--output", target.appendingPathComponent("out.zip").path] + json, code),
            (["import", bundle, "--config", store.config] + json, code),
        ]
        for run in runs {
            let started = Date()
            let r = try TestSupport.run(TestSupport.binary, run.args, cwd: target)
            let elapsed = Date().timeIntervalSince(started)
            let what = "\(run.args[0]) (expected \(run.code), \(json.isEmpty ? "message" : "code") '\(message)')"
            XCTAssertEqual(r.code, run.code, "\(what): \(r.stderr)", file: file, line: line)
            // A guard against hangs and blow-ups (the value bomb once took 35 s), not a benchmark: a
            // debug build on a loaded 2-core machine takes up to ~8 s for the largest refusals here.
            XCTAssertLessThan(elapsed, 20, "\(what) took \(elapsed) s", file: file, line: line)
            if run.code == 0 {
                XCTAssertEqual(r.stderr, "", what, file: file, line: line)
            } else {
                let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
                XCTAssertEqual(lines.count, 1, "\(what): one line on stderr, got \(r.stderr.debugDescription)", file: file, line: line)
                XCTAssertTrue(r.stderr.hasPrefix("dataport: error: "), "\(what): \(r.stderr)", file: file, line: line)
                if json.isEmpty {
                    XCTAssertTrue(r.stderr.contains(message), "\(what): \(r.stderr)", file: file, line: line)
                } else {
                    let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
                    let error = doc?["error"] as? [String: Any]
                    XCTAssertEqual(error?["code"] as? String, message, "\(what): \(r.stderr)", file: file, line: line)
                }
            }
            XCTAssertEqual(try snapshot(work), before, "\(what): files changed next to the bundle", file: file, line: line)
            XCTAssertEqual(try escapeMarkers(), tmpBefore, "\(what): a file escaped", file: file, line: line)
            XCTAssertEqual(try TestSupport.run("/usr/bin/sqlite3", [store.db, ".dump"]).stdout, storeBefore,
                           "\(what): the target store changed", file: file, line: line)
        }
    }

    /// An empty SQLite store with the sample's schema, and a config for it, in a folder of its own.
    func emptyTargetStore() throws -> (db: String, config: String) {
        try TestSupport.emptySampleStore(in: try TestSupport.tempDir(self))
    }

    /// Every file below `dir` with its size.
    func snapshot(_ dir: URL) throws -> [String: Int] {
        var files: [String: Int] = [:]
        let keys: [URLResourceKey] = [.fileSizeKey]
        guard let walk = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: keys) else { return files }
        for case let url as URL in walk {
            files[String(url.path.dropFirst(dir.path.count))] = try url.resourceValues(forKeys: Set(keys)).fileSize ?? -1
        }
        return files
    }

    /// Files named like the escape targets of the cases, where an extractor would have put them.
    func escapeMarkers() throws -> [String] {
        let places = [FileManager.default.temporaryDirectory.path, "/tmp", "/", FileManager.default.currentDirectoryPath]
        return places.flatMap { place in
            ((try? FileManager.default.contentsOfDirectory(atPath: place)) ?? [])
                .filter { $0.hasPrefix("dataport-hostile") }.map { "\(place)/\($0)" }
        }.sorted()
    }

    /// Runs the generator: the sample bundle's entries, changed by `script`, written as `name` in `dir`.
    func makeHostile(_ script: String, in dir: URL, name: String) throws -> String {
        let out = dir.appendingPathComponent(name).path
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", Self.generator, try Self.sample(), out, script])
        XCTAssertEqual(r.code, 0, "generator failed: \(r.stderr)")
        return out
    }

    nonisolated(unsafe) static var sampleBundle: String?
    static let sampleDir = FileManager.default.temporaryDirectory.appendingPathComponent("dataport-test-sample-\(UUID().uuidString)")

    /// The valid bundle every case starts from, exported once.
    static func sample() throws -> String {
        if let sampleBundle { return sampleBundle }
        try FileManager.default.createDirectory(at: sampleDir, withIntermediateDirectories: true)
        let out = sampleDir.appendingPathComponent("sample.zip").path
        let r = try TestSupport.dataport(["export", "--config", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com",
                                          "--format", "json", "--generated-at", "2026-01-31T12:00:00Z", "--output", out])
        guard r.code == 0 else { throw XCTSkip("cannot export the sample bundle: \(r.stderr)") }
        sampleBundle = out
        return out
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: sampleDir)
        super.tearDown()
    }

    /// Writes zip archives byte by byte, so each case can break exactly one thing. argv: SAMPLE OUT SCRIPT.
    /// The script sets `E` (the entries, see `entries_with`) and may set `POST` (a function of the raw bytes).
    static let generator = #"""
    import hashlib, json, struct, sys, zipfile, zlib

    src, dst, script = sys.argv[1], sys.argv[2], sys.argv[3]
    with zipfile.ZipFile(src) as z:
        ENTRIES = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    TOP = ENTRIES[0][0].split('/')[0]
    MANIFEST = TOP + '/manifest.json'

    def manifest():
        return json.loads(dict(ENTRIES)[MANIFEST])

    def find_file(m, path):
        return next(f for f in [f for d in m['datasets'] for f in d['files']] + m['files'] if f['path'] == path)

    def entries_with(m=None, edit={}, drop=(), add=()):
        """The sample's entries; `m` replaces the manifest; `edit` maps a name to entry fields to change."""
        out = []
        for name, data in ENTRIES:
            if name in drop:
                continue
            e = {'name': name, 'data': data}
            if name == MANIFEST and m is not None:
                e['data'] = json.dumps(m, indent=2, ensure_ascii=False).encode()
            e.update(edit.get(name, {}))
            out.append(e)
        return out + [dict(e) for e in add]

    def deflate(data):
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()

    def zeros_deflated(megabytes, prefix=b'', fill=b'\0'):
        """Raw deflate and CRC-32 of `prefix` and then `megabytes` MiB of `fill`, without holding them."""
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        chunk = fill * (1 << 20)
        comp = bytearray(c.compress(prefix))
        crc = zlib.crc32(prefix)
        for _ in range(megabytes):
            comp += c.compress(chunk)
            crc = zlib.crc32(chunk, crc)
        comp += c.flush()
        return bytes(comp), crc

    def raw(name):
        return name.encode() if isinstance(name, str) else name

    def prepare(e):
        e.setdefault('method', 8)
        if 'comp' not in e:
            e['comp'] = deflate(e['data']) if e['method'] == 8 else e['data']
            e.setdefault('crc', zlib.crc32(e['data']))
            e.setdefault('usize', len(e['data']))
        e['crc'] ^= e.get('crc_xor', 0)
        return e

    def local_record(e):
        name = raw(e.get('local_name', e['name']))
        extra = e.get('local_extra', b'')
        return struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, e['method'], 0x6000, 0x5c3f, e['crc'],
                           len(e['comp']), e['usize'], len(name), len(extra)) + name + extra

    def build(entries):
        out, central, records = bytearray(), bytearray(), []
        for e in [prepare(dict(e)) for e in entries]:
            twin = None
            if 'twin' in e:
                # A second entry whose local header sits in this one's extra field: both share the data.
                twin = prepare(dict(e['twin'], comp=e['comp'], crc=e['crc'], usize=e['usize'], method=e['method']))
                t = local_record(twin)
                e['local_extra'] = struct.pack('<HH', 0xCAFE, len(t)) + t
            e['offset'] = len(out)
            out += local_record(e) + e['comp']
            records.append(e)
            if twin:
                twin['offset'] = e['offset'] + 30 + len(raw(e['name'])) + 4
                records.append(twin)
        for i, e in enumerate(records):
            csize = len(e['comp'])
            if e.get('overlap_next'):
                n = records[i + 1]
                csize += len(local_record(n)) + len(n['comp'])
            name = raw(e['name'])
            central += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 0x0314, 20, 0, e['method'], 0x6000, 0x5c3f, e['crc'],
                                   csize, e['usize'], len(name), 0, 0, 0, 0, e.get('attr', 0o100644 << 16), e['offset']) + name
        end = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, len(records), len(records), len(central), len(out), 0)
        return bytes(out + central + end)

    def fix_bag(entries):
        """Brings BagIt's checksum lists (when the bundle has them) up to date with changed files, so a
        case's only defect is the one it means: payload manifest first, then the tag manifest that lists it."""
        by_name = {e['name']: e for e in entries if isinstance(e['name'], str)}
        info = by_name.get(TOP + '/bag-info.txt')
        if info and 'data' in info:
            payload = [e for n, e in by_name.items() if n.startswith(TOP + '/data/') and 'data' in e]
            oxum = 'Payload-Oxum: %d.%d' % (sum(len(e['data']) for e in payload), len(payload))
            info['data'] = ('\n'.join(oxum if l.startswith('Payload-Oxum:') else l
                                      for l in info['data'].decode().splitlines()) + '\n').encode()
        for listing in ['manifest-sha256.txt', 'tagmanifest-sha256.txt']:
            e = by_name.get(TOP + '/' + listing)
            if not e or 'data' not in e:
                continue
            lines = []
            for line in e['data'].decode().splitlines():
                digest, path = line.split('  ', 1)
                f = by_name.get(TOP + '/' + path)
                if f and 'data' in f and 'usize' not in f:
                    digest = hashlib.sha256(f['data']).hexdigest()
                lines.append(digest + '  ' + path)
            e['data'] = ('\n'.join(lines) + '\n').encode()
        return entries

    def tar_gz(entries):
        """The entries as a tar.gz bundle (pax format): regular files, or the tar type given as 'tartype'."""
        import tarfile, io, gzip
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
            for e in entries:
                info = tarfile.TarInfo(raw(e['name']).decode('utf-8', 'surrogateescape'))
                if 'tartype' in e:
                    info.type, info.linkname = e['tartype'], e.get('linkname', '')
                    t.addfile(info)
                else:
                    info.size = len(e['data'])
                    t.addfile(info, io.BytesIO(e['data']))
        return gzip.compress(buf.getvalue(), mtime=0)

    POST = lambda raw: raw
    exec(script)
    entries = E if globals().get('KEEP_BAG') else fix_bag(E)
    with open(dst, 'wb') as f:
        f.write(tar_gz(entries) if globals().get('TAR') else POST(build(entries)))
    """#
}
