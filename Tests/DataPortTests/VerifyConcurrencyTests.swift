@testable import DataPortBundle
import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation
import XCTest

/// `verify` on several threads: a JSON data file cut between records parses to the same count as
/// read whole, a cut that would change what the file means never checks out, and the CLI says the
/// same (exit code and message) with one thread or two, for intact and damaged bundles.
final class VerifyConcurrencyTests: XCTestCase {
    let dataset = CSVTests.dataset("visits", [("id", .integer), ("path", .string), ("at", .timestamp), ("amount", .decimal)])

    /// A JSON data file of `count` records as the writer writes it (about 90 bytes a record).
    func file(_ count: Int) throws -> [UInt8] {
        let sink = MemorySink()
        let w = try JSONFormat().makeWriter(for: dataset, to: sink)
        for i in 0..<count {
            try w.write(Record([.integer(Int64(i)), i % 11 == 0 ? .null : .string("/products/\(i % 5000)?page=\(i % 7)&q=\\\"},\n{\\\""),
                                .timestamp(Timestamp("2024-03-01T10:00:00Z")!), .decimal(ExactDecimal("\(i).25")!)]))
        }
        try w.finish()
        return sink.bytes
    }

    func segments(_ bytes: [UInt8], size: Int = JSONSegmentation.segmentBytes) throws -> [JSONSegment] {
        var out: [JSONSegment] = []
        try JSONSegmentation.cut(TrickleSource(bytes, step: min(size, 1 << 16)), segmentBytes: size) { out.append($0) }
        return out
    }

    /// The record count read whole, or `nil` when the reader refuses the file.
    func wholeCount(_ bytes: [UInt8]) -> Int64? {
        guard let reader = try? JSONFormat().makeReader(for: dataset, from: MemorySource(bytes)) else { return nil }
        var n: Int64 = 0
        do { while try reader.next() != nil { n += 1 } } catch { return nil }
        return n
    }

    /// The sum of the segments' counts, or `nil` when one of them does not parse.
    func segmentedCount(_ bytes: [UInt8], size: Int = JSONSegmentation.segmentBytes) throws -> Int64? {
        let cut = try XCTUnwrap(JSONSegmentation(adapter: JSONFormat(), dataset: dataset))
        var total: Int64 = 0
        for s in try segments(bytes, size: size) {
            guard let n = try? cut.count(s, adapter: JSONFormat(), dataset: dataset) else { return nil }
            total += n
        }
        return total
    }

    func testSegmentsJoinToTheFileAndCountItsRecords() throws {
        let bytes = try file(40_000)
        let parts = try segments(bytes)
        XCTAssertGreaterThanOrEqual(parts.count, 3, "the file must be cut")
        XCTAssertEqual(Array(parts.map(\.bytes).joined(separator: [UInt8(ascii: ",")])), bytes)
        XCTAssertTrue(parts.first!.isFirst && parts.last!.isLast && parts.dropFirst().dropLast().allSatisfy { !$0.isFirst && !$0.isLast })
        XCTAssertEqual(try segmentedCount(bytes), 40_000)
        // A file under one segment is one segment, read as it is.
        let small = try file(10)
        XCTAssertEqual(try segments(small).map(\.bytes), [small])
        XCTAssertEqual(try segmentedCount(small), 10)
        XCTAssertEqual(try segmentedCount(try file(0)), 0)
    }

    /// Damage near the cuts: whenever every segment parses, the whole file parses to the same count.
    func testASegmentedCountIsNeverOneTheWholeFileWouldNotGive() throws {
        let bytes = try file(30_000)
        let parts = try segments(bytes)
        let cut = parts[0].bytes.count   // the `,` between the first two segments
        let edits: [(String, (inout [UInt8]) -> Void)] = [
            ("trailing comma at a cut", { $0.insert(UInt8(ascii: ","), at: cut + 1) }),
            ("record split across a cut", { $0.replaceSubrange(cut - 1..<cut - 1, with: Array(",\"x\":[{}".utf8)) }),
            ("nested records at a cut", { $0.replaceSubrange(cut + 2..<cut + 2, with: Array("\"n\":[{},\n{}],".utf8)) }),
            ("records array closed early", { $0.replaceSubrange(cut..<cut, with: Array("]}".utf8)) }),
            ("missing end", { $0.removeLast(3) }),
            ("data after the end", { $0 += Array("{}".utf8) }),
            ("a second header at a cut", { $0.replaceSubrange(cut + 1..<cut + 2, with: Array("\n".utf8) + (try! self.file(0)).dropLast(3) + Array("\n".utf8)) }),
        ]
        for (name, edit) in edits {
            var damaged = bytes
            edit(&damaged)
            XCTAssertNil(wholeCount(damaged), "\(name): the whole file must be refused")
            XCTAssertNil(try segmentedCount(damaged), "\(name): refused whole, so it must not check out in segments")
        }
    }

    /// Random damage to a file cut every few records (bytes around the cuts inserted, removed,
    /// changed): a segmented count, when there is one, is always the whole file's.
    func testRandomDamageNeverChecksOutInSegmentsAlone() throws {
        let bytes = try file(60)
        let alphabet = Array("{}[],:\"\n 0a".utf8)
        var rng = SystemRandomNumberGenerator()
        var refusedWhole = 0
        for _ in 0..<3_000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<damaged.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: damaged.insert(alphabet.randomElement(using: &rng)!, at: at)
                case 1: damaged.remove(at: at)
                default: damaged[at] = alphabet.randomElement(using: &rng)!
                }
            }
            let whole = wholeCount(damaged)
            if whole == nil { refusedWhole += 1 }
            if let segmented = try segmentedCount(damaged, size: 200) {
                XCTAssertEqual(whole, segmented, String(decoding: damaged, as: UTF8.self))
            }
        }
        XCTAssertGreaterThan(refusedWhole, 1_000)
        XCTAssertGreaterThan(try segments(bytes, size: 200).count, 10)
        XCTAssertEqual(try segmentedCount(bytes, size: 200), 60)
    }

    /// A record larger than a segment may grow: the file is read whole, and checks out.
    func testARecordLargerThanASegmentIsReadWhole() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try DeflateTests.bigStore(in: dir, visits: 30_000, longPath: JSONSegmentation.maxSegmentBytes + 1000)
        let bundle = dir.appendingPathComponent("long.zip").path
        let r = try TestSupport.run(TestSupport.binary, ["export", "--config", config, "--subject", "email=big@example.com", "--output", bundle, "--quiet"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let v = try TestSupport.run(TestSupport.binary, ["verify", "--json", bundle], environment: ["DATAPORT_VERIFY_THREADS": "2"])
        XCTAssertEqual(v.code, 0, v.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(report?["records"] as? Int, 30_001, v.stdout)
        var parts = 0
        XCTAssertThrowsError(try JSONSegmentation.cut(MemorySource(Array(repeating: UInt8(ascii: " "), count: JSONSegmentation.maxSegmentBytes + (1 << 19)))) { _ in parts += 1 })
        XCTAssertEqual(parts, 0)
    }

    /// The CLI with one verify thread (the files one by one) and with two: same exit code, same output.
    func testOneThreadAndTwoSayTheSameOfIntactAndDamagedBundles() throws {
        let dir = try TestSupport.tempDir(self)
        let config = try DeflateTests.bigStore(in: dir, visits: 40_000)
        let bundle = dir.appendingPathComponent("big.zip").path
        let r = try TestSupport.run(TestSupport.binary, ["export", "--config", config, "--subject", "email=big@example.com",
                                                        "--output", bundle, "--quiet"])
        XCTAssertEqual(r.code, 0, r.stderr)
        // Rewrites the data file's bytes with Python's zipfile: checksums in the manifest unchanged.
        func damaged(_ name: String, _ python: String) throws -> String {
            let out = dir.appendingPathComponent("\(name).zip").path
            let script = """
            import sys, zipfile
            src, dst = zipfile.ZipFile(sys.argv[1]), zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED)
            for i in src.infolist():
                d = src.read(i)
                if i.filename.endswith('data/json/visits.json'):
            \(python.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
                dst.writestr(i, d, zipfile.ZIP_DEFLATED)
            dst.close()
            """
            let p = try TestSupport.run("/usr/bin/python3", ["-c", script, bundle, out])
            XCTAssertEqual(p.code, 0, p.stderr)
            return out
        }
        let cases = [
            bundle,
            try damaged("late-record", "k = d.rindex(b'},\\n{', 0, len(d) * 3 // 4); d = d[:k] + b'}},\\n{' + d[k + 4:]"),
            try damaged("same-length", "k = len(d) * 2 // 3; d = d[:k] + (b'0' if d[k:k + 1] != b'0' else b'1') + d[k + 1:]"),
            try damaged("cut-short", "d = d[:len(d) // 2]"),
        ]
        for path in cases {
            var outcomes: [String] = []
            for threads in ["1", "2"] {
                let v = try TestSupport.run(TestSupport.binary, ["verify", path], environment: ["DATAPORT_VERIFY_THREADS": threads])
                outcomes.append("\(v.code) \(v.stdout) \(v.stderr)")
            }
            XCTAssertEqual(outcomes[0], outcomes[1], path)
            XCTAssertEqual(outcomes[0].hasPrefix("0 "), path == bundle, outcomes[0])
        }
    }
}

/// Gives its bytes out at most `step` at a time, as an inflater does with its buffer.
final class TrickleSource: ByteSource {
    private let bytes: [UInt8]
    private let step: Int
    private var offset = 0
    init(_ bytes: [UInt8], step: Int) { self.bytes = bytes; self.step = step }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, step, bytes.count - offset)
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
        offset += n
        return n
    }
}
