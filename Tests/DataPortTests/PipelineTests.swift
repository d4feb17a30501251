import Foundation
import Synchronization
import XCTest
@testable import DataPort
import DataPortArchive
import DataPortIO

/// The one concurrency primitive (`HandOff`, `WorkerThread`) and what is built on it: order, the
/// bound, the end and failure in both directions, and convert's format lanes.
final class PipelineTests: XCTestCase {
    struct Boom: Error, Equatable { var n: Int }

    /// A count several threads touch.
    final class Counter: Sendable {
        private let value = Atomic(0)
        @discardableResult func add() -> Int { value.add(1, ordering: .sequentiallyConsistent).newValue }
        var count: Int { value.load(ordering: .sequentiallyConsistent) }
    }

    func testElementsArriveInOrderAndTheSenderNeverRunsMoreThanCapacityAhead() throws {
        let q = HandOff<Int>(capacity: 3)
        let sent = Counter()
        let producer = WorkerThread("test.producer", lending: {
            for i in 0..<2000 {
                try q.send(i)
                sent.add()
            }
            q.finish()
        })
        var received: [Int] = []
        var maxAhead = 0
        while let i = try q.receive() {
            received.append(i)
            if received.count % 97 == 0 { usleep(200) }   // a slow consumer: the producer must wait
            maxAhead = max(maxAhead, sent.count - received.count)
        }
        try producer.join()
        XCTAssertEqual(received, Array(0..<2000))
        XCTAssertLessThanOrEqual(maxAhead, 3)
        XCTAssertNil(try q.receive(), "a finished hand-off stays finished")
    }

    func testAFinishingErrorComesAfterTheElementsAndStays() throws {
        let q = HandOff<Int>(capacity: 4)
        try q.send(1)
        try q.send(2)
        q.finish(throwing: Boom(n: 7))
        q.finish()   // ignored: the first end wins
        XCTAssertEqual(try q.receive(), 1)
        XCTAssertEqual(try q.receive(), 2)
        XCTAssertThrowsError(try q.receive()) { XCTAssertEqual($0 as? Boom, Boom(n: 7)) }
        XCTAssertThrowsError(try q.receive()) { XCTAssertEqual($0 as? Boom, Boom(n: 7)) }
    }

    func testCancellingWakesASenderBlockedOnAFullQueueWithTheError() throws {
        let q = HandOff<Int>(capacity: 1)
        try q.send(0)
        let blocked = WorkerThread("test.blocked", lending: { try q.send(1) })
        usleep(50_000)
        q.cancel(throwing: Boom(n: 3))
        XCTAssertThrowsError(try blocked.join()) { XCTAssertEqual($0 as? Boom, Boom(n: 3)) }
        XCTAssertThrowsError(try q.send(2)) { XCTAssertEqual($0 as? Boom, Boom(n: 3)) }
        XCTAssertThrowsError(try q.receive(), "what waited is dropped") { XCTAssertEqual($0 as? Boom, Boom(n: 3)) }
    }

    func testCancellingWakesEveryBlockedReceiver() throws {
        let q = HandOff<Int>(capacity: 2)
        let receivers = (0..<3).map { i in WorkerThread("test.receiver.\(i)", lending: { try q.receive() }) }
        usleep(50_000)
        q.cancel()
        for r in receivers {
            XCTAssertThrowsError(try r.join()) { XCTAssertTrue($0 is HandOff<Int>.Cancelled) }
        }
    }

    func testSeveralSendersAndReceiversShareOneQueue() throws {
        // The shape a block-parallel compressor takes: workers pulling from one queue.
        let q = HandOff<Int>(capacity: 4)
        let senders = (0..<3).map { s in
            WorkerThread("test.sender.\(s)", lending: { for i in 0..<500 { try q.send(s * 1000 + i) } })
        }
        let receivers = (0..<3).map { r in
            WorkerThread("test.pool.\(r)", lending: { () throws -> [Int] in
                var got: [Int] = []
                while let i = try q.receive() { got.append(i) }
                return got
            })
        }
        for s in senders { try s.join() }
        q.finish()
        let all = try receivers.flatMap { try $0.join() }
        XCTAssertEqual(all.sorted(), (0..<3).flatMap { s in (0..<500).map { s * 1000 + $0 } })
    }

    func testAWorkerThreadsOutcomeIsTheSameOnEveryJoin() throws {
        let ok = WorkerThread("test.ok", lending: { 42 })
        XCTAssertEqual(try ok.join(), 42)
        XCTAssertEqual(try ok.join(), 42)
        let failed = WorkerThread<Int>("test.failed", lending: { throw Boom(n: 1) })
        XCTAssertThrowsError(try failed.join()) { XCTAssertEqual($0 as? Boom, Boom(n: 1)) }
        XCTAssertThrowsError(try failed.join()) { XCTAssertEqual($0 as? Boom, Boom(n: 1)) }
    }

    /// A stage's failure reaches the writer at its next chunk or at `finish()`, never lost.
    func testAPipelinedSinksStageFailureReachesTheCaller() throws {
        let seen = Counter()
        let sink = PipelinedSink(chunkSize: 16, depth: 2) { _ in
            if seen.add() == 3 { throw Boom(n: 9) }
        }
        let chunk = [UInt8](repeating: 1, count: 16)
        var thrown: (any Error)?
        do {
            for _ in 0..<100 { try sink.write(chunk) }
            try sink.finish()
        } catch { thrown = error }
        XCTAssertEqual(thrown as? Boom, Boom(n: 9))
        XCTAssertLessThan(seen.count, 100, "the stage stops at its failure")
    }

    /// Dropping a read-ahead half-way stops its thread: the inner source is not read on.
    func testDroppingAReadAheadSourceStopsItsThread() throws {
        final class Endless: ByteSource {
            let reads = Counter()
            func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
                reads.add()
                out.initializeMemory(as: UInt8.self, repeating: 0)
                return out.count
            }
        }
        let inner = Endless()
        do {
            let ahead = ReadAheadSource(inner, chunkSize: 64, depth: 2)
            var buffer = [UInt8](repeating: 0, count: 10)
            XCTAssertEqual(try buffer.withUnsafeMutableBytes { try ahead.read(into: $0) }, 10)
        }
        let after = inner.reads.count
        usleep(50_000)
        XCTAssertEqual(inner.reads.count, after, "the thread was stopped and joined when the source went")
        XCTAssertLessThanOrEqual(after, 4)
    }

    // MARK: Convert through format lanes

    func testConvertingABundleIntoTheFormatsItHoldsGivesItBackByteForByte() throws {
        // Convert reads each dataset once and encodes every format in parallel (the lanes export
        // uses): the files must be the bytes one format after another would have been.
        let dir = try TestSupport.tempDir(self)
        let exported = try TestSupport.exportSample(dir, formats: "json,csv,xml")
        let converted = dir.appendingPathComponent("converted.zip").path
        let r = try TestSupport.dataport("convert", exported, "--format", "json,csv,xml", "--output", converted)
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: converted)), try Data(contentsOf: URL(fileURLWithPath: exported)))
        // And the same through a tar.gz, where every format is written in a pass of its own.
        let tgz = dir.appendingPathComponent("converted.tar.gz").path
        XCTAssertEqual(try TestSupport.dataport("convert", exported, "--format", "json,csv,xml", "--archive", "tar.gz", "--output", tgz).code, 0)
        let back = dir.appendingPathComponent("back.zip").path
        XCTAssertEqual(try TestSupport.dataport("convert", tgz, "--format", "json,csv,xml", "--output", back).code, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: back)), try Data(contentsOf: URL(fileURLWithPath: exported)))
    }

    func testATamperedDataFileStopsAMultiFormatConvertAndLeavesNoOutput() throws {
        let dir = try TestSupport.tempDir(self)
        let exported = try TestSupport.exportSample(dir, formats: "json")
        let tampered = dir.appendingPathComponent("tampered.zip").path
        // The JSON data file changed after the manifest was written: still valid JSON, wrong checksum.
        let edit = try TestSupport.run("/usr/bin/env", ["python3", "-c", """
            import sys, zipfile
            src, dst = sys.argv[1], sys.argv[2]
            with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as zout:
                done = False
                for info in zin.infolist():
                    data = zin.read(info)
                    if not done and '/data/json/' in info.filename and b'Website' in data:
                        data = data.replace(b'Website', b'Webs1te', 1)
                        done = True
                    zout.writestr(info, data)
                assert done
            """, exported, tampered])
        XCTAssertEqual(edit.code, 0, edit.stderr)
        let out = dir.appendingPathComponent("out.zip").path
        let r = try TestSupport.dataport("convert", tampered, "--format", "json,csv,xml", "--output", out)
        XCTAssertEqual(r.code, 6, r.stderr)
        XCTAssertTrue(r.stderr.contains("does not match its SHA-256 checksum"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("out") || $0.hasPrefix(".out") }
        XCTAssertEqual(leftovers, [])
    }
}
