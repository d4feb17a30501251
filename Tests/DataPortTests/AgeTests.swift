import DataPortAge
import DataPortIO
import DataPortModel
import Foundation
import XCTest

/// Encrypted bundles (formats/encryption.md), tested against the real `age` and `age-keygen`.
final class AgeTests: XCTestCase {
    let ana = "ana.nunez@example.com"

    /// Runs `age ARGS` under a pseudo-terminal (age reads passphrases only from one), answering
    /// every passphrase prompt with `passphrase`.
    func ageWithTerminal(_ passphrase: String, _ args: [String], in dir: URL) throws -> TestSupport.Run {
        let script = dir.appendingPathComponent("agepty.py")
        try """
        import os, pty, sys
        passphrase = sys.argv[1].encode()
        pid, fd = pty.fork()
        if pid == 0:
            os.execvp("age", ["age"] + sys.argv[2:])
        out, answered = b"", 0
        while True:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            while answered < out.lower().count(b"passphrase") and out.rstrip().endswith(b":"):
                os.write(fd, passphrase + b"\\n")
                answered += 1
        _, status = os.waitpid(pid, 0)
        sys.stderr.write(out.decode(errors="replace"))
        sys.exit(os.waitstatus_to_exitcode(status))
        """.write(to: script, atomically: true, encoding: .utf8)
        return try TestSupport.run("/usr/bin/env", ["python3", script.path, passphrase] + args)
    }

    /// A key pair from `age-keygen`: the identity file and its recipient.
    func keygen(_ dir: URL, _ name: String) throws -> (identity: String, recipient: String) {
        let path = dir.appendingPathComponent(name).path
        XCTAssertEqual(try TestSupport.run("/usr/bin/age-keygen", ["-o", path]).code, 0)
        let r = try TestSupport.run("/usr/bin/age-keygen", ["-y", path])
        XCTAssertEqual(r.code, 0, r.stderr)
        return (path, r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func files(in dir: URL) throws -> Set<String> { Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) }

    // MARK: keys

    func testKeysMatchTheSpecAndAgeKeygen() throws {
        // The C2SP age specification's own example pair.
        let spec = try X25519Identity("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
        XCTAssertEqual(spec.recipient.text, "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
        XCTAssertEqual(spec.text, "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
        let dir = try TestSupport.tempDir(self)
        let (identityFile, recipient) = try keygen(dir, "key.txt")
        let identities = try AgeKeyFiles.identities(path: identityFile)
        XCTAssertEqual(identities.map(\.recipient.text), [recipient])
        XCTAssertEqual(try X25519Recipient(recipient).text, recipient)
        // One changed character breaks the checksum; mixed case is refused.
        var broken = Array(recipient)
        broken[10] = broken[10] == "q" ? "p" : "q"
        XCTAssertThrowsError(try X25519Recipient(String(broken)))
        XCTAssertThrowsError(try X25519Recipient(recipient.prefix(8).uppercased() + recipient.dropFirst(8)))
        XCTAssertThrowsError(try X25519Identity(String(spec.text.lowercased().prefix(20)) + spec.text.dropFirst(20)))
    }

    // MARK: STREAM chunking, through the library and the age tool

    /// Sizes around the 64 KiB chunk boundary, where a last-chunk flag goes wrong first.
    func testChunkBoundariesRoundTripAndAgeReadsThem() throws {
        let dir = try TestSupport.tempDir(self)
        let (identityFile, recipientText) = try keygen(dir, "key.txt")
        let encryption = try AgeEncryption(recipients: [try X25519Recipient(recipientText)])
        let decryption = AgeDecryption(identities: try AgeKeyFiles.identities(path: identityFile))
        for size in [0, 1, 65535, 65536, 65537, 131072, 200_000] {
            let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let out = MemorySink()
            let sink = try encryption.sink(over: out)
            // Written in uneven pieces, as an archive writer does.
            var i = 0
            while i < plain.count { let n = min(10_007, plain.count - i); try sink.write(Array(plain[i..<i + n])); i += n }
            try sink.finish()
            let chunks = max(1, (size + 65535) / 65536)
            let header = try AgeHeader.parse(out.bytes).header.serialized().count
            XCTAssertEqual(out.bytes.count, header + 16 + size + 16 * chunks, "size \(size)")
            let back = try drain(AgeDecryptingSource(MemorySource(out.bytes), decryption: decryption, name: "test"))
            XCTAssertEqual(back, plain, "size \(size)")
            if size > 65536 {
                // Cut right after a full chunk (looks complete), or flip one payload byte: refused as tampered.
                let cut = Array(out.bytes.prefix(header + 16 + 65536 + 16))
                var flipped = out.bytes
                flipped[flipped.count - 5] ^= 0x80
                for broken in [cut, flipped] {
                    XCTAssertThrowsError(try drain(AgeDecryptingSource(MemorySource(broken), decryption: decryption, name: "test"))) {
                        XCTAssertEqual(($0 as? DataPortError)?.kind, .tamperedBundle)
                    }
                }
            }
            let file = dir.appendingPathComponent("s\(size).age")
            try Data(out.bytes).write(to: file)
            let decrypted = try TestSupport.run("/usr/bin/age", ["-d", "-i", identityFile, "-o", file.path + ".out", file.path])
            XCTAssertEqual(decrypted.code, 0, "age refuses size \(size): \(decrypted.stderr)")
            // age writes no output file for an empty plaintext.
            XCTAssertEqual((try? [UInt8](Data(contentsOf: URL(fileURLWithPath: file.path + ".out")))) ?? [], plain, "size \(size)")
        }
    }

    func drain(_ source: any ByteSource) throws -> [UInt8] {
        var back: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { return back }
            back += buffer[0..<n]
        }
    }

    // MARK: X25519 recipients, both ways

    func testAgeDecryptsWhatExportEncryptsToRecipients() throws {
        let dir = try TestSupport.tempDir(self)
        let a = try keygen(dir, "a.txt"), b = try keygen(dir, "b.txt")
        let recipientsFile = dir.appendingPathComponent("recipients.txt")
        try "# the processor\n\n\(b.recipient)\n".write(to: recipientsFile, atomically: true, encoding: .utf8)
        let plain = try TestSupport.exportSample(dir, formats: "json,csv", name: "plain.zip")
        let out = dir.appendingPathComponent("ana.zip").path
        let r = try TestSupport.dataport(["export", "--config", TestSupport.sampleConfig, "--subject", "email=\(ana)", "--format", "json,csv",
                                          "--generated-at", "2026-01-31T12:00:00Z", "--output", out,
                                          "--encrypt-to", a.recipient, "--recipients-file", recipientsFile.path, "--json"])
        XCTAssertEqual(r.code, 0, r.stderr)
        // `.age` is appended; nothing else is written.
        XCTAssertTrue(r.stdout.contains("ana.zip.age"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let encrypted = out + ".age"
        // Either recipient opens it with the age tool, and what comes out is exactly the plain bundle.
        for key in [a.identity, b.identity] {
            let decrypted = dir.appendingPathComponent("decrypted.zip").path
            try? FileManager.default.removeItem(atPath: decrypted)
            let age = try TestSupport.run("/usr/bin/age", ["-d", "-i", key, "-o", decrypted, encrypted])
            XCTAssertEqual(age.code, 0, age.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: decrypted)), try Data(contentsOf: URL(fileURLWithPath: plain)))
        }
        // The header carries what the spec requires and nothing more: the version, one X25519
        // stanza per recipient, the MAC.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: encrypted)))
        let header = String(decoding: try AgeHeader.parse(bytes).header.serialized(), as: UTF8.self)
        let lines = header.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 6, header)
        XCTAssertEqual(lines[0], "age-encryption.org/v1")
        for i in [1, 3] {
            XCTAssertTrue(lines[i].hasPrefix("-> X25519 ") && lines[i].count == 10 + 43, lines[i])
            XCTAssertEqual(lines[i + 1].count, 43)
        }
        XCTAssertTrue(lines[5].hasPrefix("--- ") && lines[5].count == 47)
        // Without a key, inspect says only that it is encrypted and for how many recipients.
        let inspect = try TestSupport.dataport("inspect", encrypted)
        XCTAssertEqual(inspect.code, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("encrypted (age) for 2 recipients (2 X25519)"), inspect.stdout)
        XCTAssertFalse(inspect.stdout.contains("Ana") || inspect.stdout.contains("dataset"), inspect.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(try TestSupport.dataport("inspect", "--json", encrypted).stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["encrypted"] as? Bool, true)
        XCTAssertEqual(json["recipients"] as? Int, 2)
        XCTAssertEqual(json["x25519"] as? Int, 2)
        XCTAssertEqual(Set(json.keys), ["bundle", "encrypted", "encryption", "recipients", "x25519", "scrypt", "other"])
        // With a key, it shows the bundle.
        let opened = try TestSupport.dataport("inspect", encrypted, "--identity", b.identity)
        XCTAssertEqual(opened.code, 0, opened.stderr)
        XCTAssertTrue(opened.stdout.contains("encrypted (age)") && opened.stdout.contains("datasets:"), opened.stdout)
    }

    func testVerifyInspectConvertImportReadWhatAgeEncrypts() throws {
        let dir = try TestSupport.tempDir(self)
        let key = try keygen(dir, "key.txt")
        let other = try keygen(dir, "other.txt")
        let plain = try TestSupport.exportSample(dir, name: "plain.zip")
        let encrypted = dir.appendingPathComponent("ana.zip.age").path
        XCTAssertEqual(try TestSupport.run("/usr/bin/age", ["-r", key.recipient, "-o", encrypted, plain]).code, 0)
        let verify = try TestSupport.dataport("verify", encrypted, "--identity", key.identity, "--json")
        XCTAssertEqual(verify.code, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains("\"valid\": true") && verify.stdout.contains(encrypted), verify.stdout)
        // convert: decrypted in, re-encrypted out to another recipient, which age opens.
        let converted = dir.appendingPathComponent("ana-csv.zip").path
        let convert = try TestSupport.dataport("convert", encrypted, "--identity", key.identity, "--format", "csv", "--output", converted,
                                               "--encrypt-to", other.recipient)
        XCTAssertEqual(convert.code, 0, convert.stderr)
        let back = dir.appendingPathComponent("back.zip").path
        XCTAssertEqual(try TestSupport.run("/usr/bin/age", ["-d", "-i", other.identity, "-o", back, converted + ".age"]).code, 0)
        XCTAssertEqual(try TestSupport.dataport("verify", back).code, 0)
        // convert to a plain bundle.
        let plainConverted = dir.appendingPathComponent("plain-csv.zip").path
        XCTAssertEqual(try TestSupport.dataport("convert", encrypted, "--identity", key.identity, "--format", "csv", "--output", plainConverted).code, 0)
        XCTAssertEqual(try TestSupport.dataport("verify", plainConverted).code, 0)
        // import into an empty store, with a report naming the bundle given.
        let target = try TestSupport.emptySampleStore(in: dir)
        let imported = try TestSupport.dataport("import", encrypted, "--identity", key.identity, "--config", target.config, "--json")
        XCTAssertEqual(imported.code, 0, imported.stderr + imported.stdout)
        XCTAssertTrue(imported.stdout.contains(encrypted) && !imported.stdout.contains("/proc/"), imported.stdout)
        XCTAssertEqual(try TestSupport.run("/usr/bin/sqlite3", [target.db, "SELECT count(*) FROM invoices"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "2")
    }

    // MARK: scrypt passphrases, both ways, with age under a pseudo-terminal

    func testPassphrasesRoundTripThroughAge() throws {
        let dir = try TestSupport.tempDir(self)
        let passphraseFile = dir.appendingPathComponent("pass.txt")
        try "correct horse battery\n".write(to: passphraseFile, atomically: true, encoding: .utf8)
        // DataPort encrypts (tar.gz), age decrypts.
        let plain = try TestSupport.exportSample(dir, extra: ["--archive", "tar.gz"], name: "plain.tar.gz")
        let out = dir.appendingPathComponent("ana.tar.gz").path
        let r = try TestSupport.dataport(["export", "--config", TestSupport.sampleConfig, "--subject", "email=\(ana)", "--archive", "tar.gz",
                                          "--generated-at", "2026-01-31T12:00:00Z", "--output", out, "--passphrase-file", passphraseFile.path])
        XCTAssertEqual(r.code, 0, r.stderr)
        let header = String(decoding: try [UInt8](Data(contentsOf: URL(fileURLWithPath: out + ".age"))).prefix(60), as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("age-encryption.org/v1\n-> scrypt ") && header.contains(" 18\n"), header)
        let decrypted = dir.appendingPathComponent("decrypted.tar.gz").path
        let age = try ageWithTerminal("correct horse battery", ["-d", "-o", decrypted, out + ".age"], in: dir)
        XCTAssertEqual(age.code, 0, age.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: decrypted)), try Data(contentsOf: URL(fileURLWithPath: plain)))
        // age encrypts, DataPort reads.
        let byAge = dir.appendingPathComponent("by-age.tar.gz.age").path
        let enc = try ageWithTerminal("correct horse battery", ["-p", "-o", byAge, plain], in: dir)
        XCTAssertEqual(enc.code, 0, enc.stderr)
        let verify = try TestSupport.dataport("verify", byAge, "--passphrase-file", passphraseFile.path)
        XCTAssertEqual(verify.code, 0, verify.stderr)
        let inspect = try TestSupport.dataport("inspect", byAge)
        XCTAssertTrue(inspect.stdout.contains("encrypted (age) with a passphrase (scrypt)"), inspect.stdout)
        // A wrong passphrase: 12, one line, no output.
        let wrong = dir.appendingPathComponent("wrong.txt")
        try "correct horse\n".write(to: wrong, atomically: true, encoding: .utf8)
        let before = try files(in: dir)
        let refused = try TestSupport.dataport("convert", byAge, "--passphrase-file", wrong.path, "--format", "csv", "--output", dir.appendingPathComponent("x.zip").path)
        XCTAssertEqual(refused.code, 12, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("wrong passphrase"), refused.stderr)
        XCTAssertFalse(refused.stderr.contains("correct"), "the passphrase never reaches stderr")
        XCTAssertEqual(try files(in: dir), before)
    }

    // MARK: failures: the right code, one line, nothing left behind

    func testBrokenEncryptedBundlesFailCleanly() throws {
        let dir = try TestSupport.tempDir(self)
        let key = try keygen(dir, "key.txt"), stranger = try keygen(dir, "stranger.txt")
        _ = try TestSupport.exportSample(dir, extra: ["--encrypt-to", key.recipient], name: "ana.zip")
        let good = dir.appendingPathComponent("ana.zip.age")
        let bytes = try [UInt8](Data(contentsOf: good))
        func variant(_ name: String, _ transform: ([UInt8]) -> [UInt8]) throws -> String {
            let url = dir.appendingPathComponent(name)
            try Data(transform(bytes)).write(to: url)
            return url.path
        }
        let flipped = try variant("flipped.zip.age") { var b = $0; b[b.count / 2] ^= 0x01; return b }
        let truncated = try variant("truncated.zip.age") { Array($0.prefix($0.count - 100)) }
        let headerFlipped = try variant("mac.zip.age") { b in
            var b = b
            let macLine = b.indices.first { b[$0] == UInt8(ascii: "-") && b[$0 + 1] == UInt8(ascii: "-") && b[$0 + 2] == UInt8(ascii: "-") }!
            b[macLine + 5] = b[macLine + 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            return b
        }
        let notAge = try variant("v2.zip.age") { _ in Array("age-encryption.org/v2\n-> X25519 abc\n\n--- x\n".utf8) }
        let malformed = try variant("malformed.zip.age") { _ in Array("age-encryption.org/v1\n-> X25519\n--- \n".utf8) }
        let heavy = try variant("heavy.zip.age") { _ in
            Array("age-encryption.org/v1\n-> scrypt \(String(repeating: "A", count: 22)) 30\n\(String(repeating: "A", count: 43))\n--- \(String(repeating: "A", count: 43))\n".utf8) + [UInt8](repeating: 0, count: 40)
        }
        let pass = dir.appendingPathComponent("pass.txt")
        try "secret\n".write(to: pass, atomically: true, encoding: .utf8)
        let cases: [(String, [String], Int32)] = [
            ("no key", [good.path], 12),
            ("wrong key", [good.path, "--identity", stranger.identity], 12),
            ("flipped payload byte", [flipped, "--identity", key.identity], 6),
            ("truncated", [truncated, "--identity", key.identity], 6),
            ("modified MAC", [headerFlipped, "--identity", key.identity], 6),
            ("other age version", [notAge, "--identity", key.identity], 5),
            ("malformed header", [malformed, "--identity", key.identity], 5),
            ("work factor above the cap", [heavy, "--passphrase-file", pass.path], 9),
        ]
        let target = try TestSupport.emptySampleStore(in: dir)
        for (why, args, code) in cases {
            let before = try files(in: dir)
            for command in ["verify", "inspect", "convert", "import"] {
                var full = [command] + args
                if command == "convert" { full += ["--format", "csv", "--output", dir.appendingPathComponent("out.zip").path] }
                if command == "import" { full += ["--config", target.config] }
                if command == "inspect", why == "no key" { continue } // inspect without a key summarises (tested above)
                let r = try TestSupport.dataport(full)
                XCTAssertEqual(r.code, code, "\(command), \(why): \(r.stderr)")
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(command), \(why): one line: \(r.stderr)")
                XCTAssertTrue(r.stdout.isEmpty, "\(command), \(why): no partial result: \(r.stdout)")
                XCTAssertFalse(r.stderr.contains("/proc/"), r.stderr)
            }
            XCTAssertEqual(try files(in: dir), before, "\(why): nothing left behind")
        }
        XCTAssertEqual(try TestSupport.run("/usr/bin/sqlite3", [target.db, "SELECT count(*) FROM invoices"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    func testEncryptionOptionsAreCheckedAndNameNoValue() throws {
        let dir = try TestSupport.tempDir(self)
        let out = dir.appendingPathComponent("x.zip").path
        let base = ["export", "--config", TestSupport.sampleConfig, "--subject", "email=\(ana)", "--output", out]
        let bad = try TestSupport.dataport(base + ["--encrypt-to", "age1notarecipientatall"])
        XCTAssertEqual(bad.code, 2)
        XCTAssertFalse(bad.stderr.contains("notarecipient"), bad.stderr)
        let key = try keygen(dir, "key.txt")
        let pass = dir.appendingPathComponent("pass.txt")
        try "secret\n".write(to: pass, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TestSupport.dataport(base + ["--encrypt-to", key.recipient, "--passphrase-file", pass.path]).code, 2)
        // An identity file is not a recipients file, and its secret is not echoed.
        let wrongFile = try TestSupport.dataport(base + ["--recipients-file", key.identity])
        XCTAssertEqual(wrongFile.code, 2)
        XCTAssertFalse(wrongFile.stderr.contains("AGE-SECRET-KEY"), wrongFile.stderr)
        XCTAssertEqual(try files(in: dir), ["key.txt", "pass.txt"])
        // An output already named .age keeps its name.
        let named = dir.appendingPathComponent("y.zip.age").path
        XCTAssertEqual(try TestSupport.dataport(["export", "--config", TestSupport.sampleConfig, "--subject", "email=\(ana)", "--output", named, "--encrypt-to", key.recipient]).code, 0)
        XCTAssertEqual(try files(in: dir), ["key.txt", "pass.txt", "y.zip.age"])
    }
}
