import Foundation
import XCTest

/// Reading a bundle from stdin (`-`), `/dev/stdin` or a FIFO (issue 20, item 2, the reading side):
/// spooled to a private copy first, so a pipe is never a false "tampered" verdict nor a hang.
final class StreamInputTests: XCTestCase {
    func sh(_ command: String) throws -> TestSupport.Run {
        try TestSupport.run("/bin/sh", ["-c", command], environment: ["DP": TestSupport.binary])
    }

    func testBundlesArriveThroughPipesAndFIFOs() throws {
        let dir = try TestSupport.tempDir(self)
        let zip = try TestSupport.exportSample(dir, name: "ana.zip")
        let tgz = try TestSupport.exportSample(dir, extra: ["--archive", "tar.gz"], name: "ana.tar.gz")
        for bundle in [zip, tgz] {
            for name in ["-", "/dev/stdin"] {
                let r = try sh("cat '\(bundle)' | \"$DP\" verify \(name)")
                XCTAssertEqual(r.code, 0, "\(bundle) as \(name): \(r.stderr)")
            }
            XCTAssertTrue(try sh("cat '\(bundle)' | \"$DP\" inspect -").stdout.contains("datasets:"))
        }
        // Encrypted, through a pipe.
        XCTAssertEqual(try TestSupport.run("/usr/bin/age-keygen", ["-o", dir.appendingPathComponent("key.txt").path]).code, 0)
        let recipient = try TestSupport.run("/usr/bin/age-keygen", ["-y", dir.appendingPathComponent("key.txt").path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let sealed = try sh("age -r \(recipient) '\(tgz)' | \"$DP\" verify - --identity '\(dir.path)/key.txt'")
        XCTAssertEqual(sealed.code, 0, sealed.stderr)
        XCTAssertTrue(try sh("age -r \(recipient) '\(tgz)' | \"$DP\" inspect -").stdout.contains("encrypted (age) for 1 recipient"))
        // A truncated stream is a true verdict: damaged (6), at once.
        let cut = try sh("head -c 3000 '\(tgz)' | \"$DP\" verify -")
        XCTAssertEqual(cut.code, 6, cut.stderr)
        // A FIFO: read to its end, then verified; no hang.
        let fifo = dir.appendingPathComponent("in.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let start = Date()
        let viaFIFO = try sh("cat '\(zip)' > '\(fifo)' & timeout 20 \"$DP\" verify '\(fifo)'; s=$?; wait; exit $s")
        XCTAssertEqual(viaFIFO.code, 0, viaFIFO.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        // import from a pipe.
        let target = try TestSupport.emptySampleStore(in: dir)
        let imported = try sh("cat '\(zip)' | \"$DP\" import - --config '\(target.config)' --json")
        XCTAssertEqual(imported.code, 0, imported.stderr)
        XCTAssertFalse(imported.stdout.contains("/proc/"), imported.stdout)
        // Nothing is left in the folder but what the test made.
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)),
                       ["ana.zip", "ana.tar.gz", "key.txt", "in.fifo", "warmup.zip", "target.db", "target.json"])
    }
}
