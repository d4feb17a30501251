@testable import DataPortArchive
@testable import DataPortBundle
import DataPortIO
import DataPortModel
import Foundation
import XCTest

/// The block-parallel deflater: the same bytes whatever the thread count and write sizes, a
/// standard stream that outside readers accept, and bundles that do not depend on the threads.
final class DeflateTests: XCTestCase {
    /// Text that compresses like the benchmark's rows (repeats, with variation), several blocks long.
    func rows(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        for i in 0..<count {
            out += Array("{\"id\":\(i),\"ip\":\"203.0.113.\(i % 250)\",\"path\":\"/products/\(i % 5000)?page=\(i % 7)\",\"ms\":\(i * 7919 % 60000)}\n".utf8)
        }
        return out
    }

    func deflate(_ input: [UInt8], threads: Int, chunk: Int, framing: DeflateFraming) throws -> (bytes: [UInt8], crc: UInt32) {
        let sink = MemorySink()
        let deflater = DeflateSink(sink, framing: framing, threads: threads, blockSize: 1 << 16)
        var i = 0
        while i < input.count {
            let end = min(i + chunk, input.count)
            try input[i..<end].withUnsafeBytes { try deflater.write($0) }
            i = end
        }
        try deflater.finish()
        XCTAssertEqual(deflater.count, Int64(input.count))
        return (sink.bytes, deflater.crc)
    }

    func testSameBytesWhateverTheThreadsAndWritesAndAStandardStream() throws {
        let input = rows(8_000)   // ~600 KB: 9 blocks of 64 KiB
        XCTAssertGreaterThan(input.count, 8 << 16)
        let crc = input.withUnsafeBytes { crc32(0, $0) }
        let dir = try TestSupport.tempDir(self)
        for framing in [DeflateFraming.raw, .gzip] {
            let one = try deflate(input, threads: 1, chunk: 100_000, framing: framing)
            for (threads, chunk) in [(2, 1_000), (5, 333_333)] {
                let many = try deflate(input, threads: threads, chunk: chunk, framing: framing)
                XCTAssertTrue(one.bytes == many.bytes, "\(threads) threads wrote other bytes than one")
                XCTAssertEqual(many.crc, crc)
            }
            XCTAssertEqual(one.crc, crc)
            XCTAssertLessThan(one.bytes.count, input.count / 4)
            // Our inflater reads it back whole.
            let back = InflateSource(MemorySource(one.bytes), framing: framing, limit: 1 << 30, name: "test")
            var out: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try back.read(into: $0) }
                if n == 0 { break }
                out += buffer[0..<n]
            }
            XCTAssertTrue(out == input)
            XCTAssertTrue(back.isComplete)
            if framing == .gzip {
                // gzip -d (which checks the CRC-32 and length of the trailer) gives the input back.
                let gz = dir.appendingPathComponent("rows.gz")
                try Data(one.bytes).write(to: gz)
                let unpacked = try TestSupport.shell("gzip -dc '\(gz.path)' > '\(dir.path)/rows.txt'")
                XCTAssertEqual(unpacked.code, 0, unpacked.stderr)
                XCTAssertTrue(try Data(contentsOf: dir.appendingPathComponent("rows.txt")) == Data(input))
            }
        }
    }

    func testEmptyAndTinyStreams() throws {
        for input in [[], [UInt8(65)], rows(3)] {
            let one = try deflate(input, threads: 1, chunk: 10, framing: .raw)
            let two = try deflate(input, threads: 2, chunk: 10, framing: .raw)
            XCTAssertEqual(one.bytes, two.bytes)
            let back = InflateSource(MemorySource(one.bytes), framing: .raw, limit: 1 << 20, name: "test")
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = try buffer.withUnsafeMutableBytes { try back.read(into: $0) }
            XCTAssertEqual(Array(buffer[0..<n]), input)
        }
    }

    /// A store whose subject spans many deflate blocks (`visits` rows), and its config.
    /// With `longPath`, the first visit's path is that many bytes long.
    static func bigStore(in dir: URL, visits: Int = 12_000, longPath: Int = 0) throws -> String {
        let db = dir.appendingPathComponent("big.db").path
        let sql = """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
        CREATE TABLE visits (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, path TEXT, ms INTEGER);
        INSERT INTO users VALUES (1, 'big@example.com');
        INSERT INTO visits (user_id, path, ms) SELECT 1, '/products/' || (value % 5000) || '?page=' || (value % 7), value * 7919 % 60000
          FROM generate_series(1, \(visits));
        UPDATE visits SET path = substr(replace(hex(zeroblob(\(longPath))), '0', 'p'), 1, \(longPath)) WHERE id = 1 AND \(longPath) > 0;
        """
        let r = try TestSupport.run("/usr/bin/sqlite3", [db, sql])
        XCTAssertEqual(r.code, 0, r.stderr)
        let config = """
        {"version": "1", "controller": {"name": "Test Ltd", "contact": "privacy@test.example"},
         "stores": [{"name": "app", "type": "sqlite", "options": {"path": "\(db)"}, "datasets": [
           {"name": "account", "table": "users", "category": "account", "description": "Account", "purposes": ["service"],
            "legalBasis": "contract", "origin": "provided", "key": "id",
            "match": [{"field": "email", "identity": "email"}], "yields": [{"identity": "user_id", "field": "id"}],
            "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]},
           {"name": "visits", "table": "visits", "category": "website-usage", "description": "Visits", "purposes": ["analytics"],
            "legalBasis": "consent", "origin": "observed", "key": "id",
            "match": [{"field": "user_id", "identity": "user_id"}],
            "fields": [{"name": "id", "type": "integer"}, {"name": "user_id", "type": "integer"},
                       {"name": "path", "type": "string"}, {"name": "ms", "type": "integer"}]}]}]}
        """
        let path = dir.appendingPathComponent("big.json").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The same export in 120 processes writes one bundle, byte for byte. Each process maps its
    /// memory elsewhere, and ISA-L's levels 1 and 2 wrote some entry differently in about 1.5% of
    /// processes (a shorter match, still a valid stream), so at level 1 this test fails about 5
    /// times in 6; at `DeflateLevel.standard` the bytes do not depend on the process.
    func testTheSameExportInManyProcessesWritesOneBundle() throws {
        let dir = try TestSupport.tempDir(self)
        let runs = 120
        let written = Locked<[Int: Data]>([:])
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            for i in stride(from: lane, to: runs, by: 2) {
                let out = dir.appendingPathComponent("p\(i).zip").path
                guard let r = try? TestSupport.dataport(["export", "--config", TestSupport.sampleConfig, "--subject", "user_id=3",
                                                         "--format", "json,csv,xml", "--generated-at", "2026-01-31T12:00:00Z",
                                                         "--output", out, "--quiet"]),
                      r.code == 0, let bytes = FileManager.default.contents(atPath: out) else { continue }
                written.withLock { $0[i] = bytes }
            }
        }
        let bundles = written.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value)
        XCTAssertEqual(bundles.count, runs, "every export succeeds")
        let first = try XCTUnwrap(bundles.first)
        let differing = bundles.indices.filter { bundles[$0] != first }
        XCTAssertEqual(differing, [], "\(differing.count) of \(runs) processes wrote other bytes")
    }

    /// ISA-L's level-1 match finder hashes one byte of each new stream from a register that holds
    /// the stream's address (CISAL's shim.h). 500 compressors alive at once, so each at its own
    /// address, compress the same 100 inputs to the same bytes. With streams where malloc puts
    /// them, about one address in a hundred gives other bytes.
    func testCompressorsAtManyAddressesWriteTheSameBytes() throws {
        let words = ["id,", "visit", "_id", ",viewed_at", "path\r\n", "\"name\": ", "2026-01-31T12:00:00Z",
                     "<td>", "</td>\n", "ana@example.org", ", ", "{", "}\n"].map { Array($0.utf8) }
        var random = SplitMix(seed: 7)
        let inputs: [[UInt8]] = (0..<100).map { _ in
            let n = 20 + Int(random.next() % 4000)
            var input: [UInt8] = []
            while input.count < n { input += words[Int(random.next() % UInt64(words.count))] }
            return Array(input.prefix(n))
        }
        let compressors = try (0..<500).map { _ in try ISALBlockCompressor(level: DeflateLevel.standard) }
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        func outputs(_ compressor: ISALBlockCompressor) throws -> [[UInt8]] {
            try inputs.map { input in
                var out: [UInt8] = []
                try input.withUnsafeBytes { try compressor.compress($0, dictionary: none, last: true, into: &out) }
                return out
            }
        }
        let first = try outputs(compressors[0])
        var differing = 0
        for compressor in compressors.dropFirst() where try outputs(compressor) != first { differing += 1 }
        XCTAssertEqual(differing, 0, "\(differing) of \(compressors.count - 1) stream addresses gave other bytes")
    }

    /// A small deterministic generator (SplitMix64), so the inputs are the same in every run.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    /// DATAPORT_DEFLATE_THREADS=1 is the single-threaded reference: 3 threads write the same
    /// bundle, zip and tar.gz, one format and three; unzip, Python's zipfile and gzip read them.
    func testBundlesAreByteIdenticalWithOneOrManyDeflateThreads() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try Self.bigStore(in: dir)
        for (archive, formats) in [("zip", "json,csv,xml"), ("tar.gz", "json")] {
            var bundles: [Data] = []
            for threads in [1, 3] {
                let out = dir.appendingPathComponent("t\(threads).\(archive)").path
                let r = try TestSupport.run(TestSupport.binary, ["export", "--config", config, "--subject", "email=big@example.com",
                                                                "--format", formats, "--archive", archive, "--generated-at", "2026-01-31T12:00:00Z",
                                                                "--output", out, "--quiet"],
                                            environment: ["DATAPORT_DEFLATE_THREADS": String(threads)])
                XCTAssertEqual(r.code, 0, r.stderr)
                bundles.append(try Data(contentsOf: URL(fileURLWithPath: out)))
            }
            XCTAssertGreaterThan(bundles[0].count, 100_000, "the data files must span several blocks")
            XCTAssertTrue(bundles[0] == bundles[1], "\(archive): the bundle depends on the thread count")
            let path = dir.appendingPathComponent("t3.\(archive)").path
            if archive == "zip" {
                let t = try TestSupport.shell("unzip -tq '\(path)'")
                XCTAssertEqual(t.code, 0, t.stdout + t.stderr)
                let p = try TestSupport.shell("python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(sum(len(z.read(n)) for n in z.namelist()) > 1000000)' '\(path)'")
                XCTAssertEqual(p.stdout, "True\n", p.stderr)
            } else {
                let g = try TestSupport.shell("gzip -dc '\(path)' | tar -t | grep -c 'data/json/visits.json$'")
                XCTAssertEqual(g.code, 0, g.stderr)
                XCTAssertEqual(g.stdout, "1\n")
            }
            XCTAssertEqual(try TestSupport.dataport("verify", "--quiet", path).code, 0)
        }
    }

    /// A large dataset's pages are deflated while the records stream, then spliced between a head
    /// and a tail compressed at the end (the head names the page count). What a zip holds is what
    /// a tar.gz (compressed the one way) holds, page for page, for pages of one block and of
    /// several (a 700 KB row); unzip, Python's zipfile and verify accept the zip, and the thread
    /// count changes no byte of it.
    func testPagesDeflatedAheadHoldWhatATarGzHolds() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try Self.bigStore(in: dir, visits: 3_500, longPath: 700_000)
        var zips: [Data] = []
        for (archive, threads) in [("tar.gz", 3), ("zip", 1), ("zip", 3)] {
            let out = dir.appendingPathComponent("b\(threads).\(archive)").path
            let r = try TestSupport.run(TestSupport.binary, ["export", "--config", config, "--subject", "email=big@example.com",
                                                            "--archive", archive, "--generated-at", "2026-01-31T12:00:00Z", "--output", out, "--quiet"],
                                        environment: ["DATAPORT_DEFLATE_THREADS": String(threads)])
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertEqual(try TestSupport.dataport("verify", "--quiet", out).code, 0)
            if archive == "zip" { zips.append(try Data(contentsOf: URL(fileURLWithPath: out))) }
        }
        XCTAssertTrue(zips[0] == zips[1], "the zip depends on the thread count")
        let zip = dir.appendingPathComponent("b3.zip").path
        let t = try TestSupport.shell("unzip -tq '\(zip)'")
        XCTAssertEqual(t.code, 0, t.stdout + t.stderr)
        let g = dir.appendingPathComponent("g")
        try FileManager.default.createDirectory(at: g, withIntermediateDirectories: true)
        XCTAssertEqual(try TestSupport.shell("cd '\(g.path)' && tar -xzf '\(dir.appendingPathComponent("b3.tar.gz").path)'").code, 0)
        let compare = try TestSupport.shell("""
        python3 - '\(zip)' '\(g.path)' <<'EOF'
        import os, sys, zipfile
        z = zipfile.ZipFile(sys.argv[1])
        assert z.testzip() is None
        pages = [n for n in z.namelist() if '/pages/' in n]
        for n in pages:
            with open(os.path.join(sys.argv[2], n), 'rb') as f:
                assert z.read(n) == f.read(), n
        big = max(z.getinfo(n).file_size for n in pages)
        print(len(pages), big > 700000)
        EOF
        """)
        XCTAssertEqual(compare.stdout, "5 True\n", compare.stdout + compare.stderr)
    }
}
