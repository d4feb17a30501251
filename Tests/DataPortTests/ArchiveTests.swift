import DataPort
@testable import DataPortArchive
import DataPortBundle
import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation
import XCTest

/// The containers: tar.gz (writer, reader, refusals, external readers) and zip64.
final class ArchiveTests: XCTestCase {
    let date = Timestamp("2026-01-31T12:00:00Z")!

    // MARK: Helpers

    /// Deterministic, poorly compressible bytes.
    func noise(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
    }

    func writeTarGz(_ entries: [(String, [UInt8])], to path: String, date: Timestamp? = nil,
                    memoryThreshold: Int = 4 << 20) throws -> [WrittenEntry] {
        let file = try FileSink(path: path)
        let writer = TarGzWriter(sink: file, date: date ?? self.date, memoryThreshold: memoryThreshold)
        var written: [WrittenEntry] = []
        for (name, bytes) in entries {
            // Several writes per entry, as a format writer would.
            written.append(try writer.addEntry(path: name) { sink in
                var i = 0
                while i < bytes.count {
                    let end = min(i + 100_000, bytes.count)
                    try sink.write(Array(bytes[i..<end]))
                    i = end
                }
            })
        }
        try writer.finish()
        try file.close()
        return written
    }

    func readAll(_ source: any ByteSource) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 7_000)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { return out }
            out += buffer[0..<n]
        }
    }

    /// Runs a Python script with arguments; fails the test when it fails.
    @discardableResult
    func python(_ script: String, _ args: [String], in dir: URL) throws -> TestSupport.Run {
        let file = dir.appendingPathComponent("script-\(UUID().uuidString).py")
        try script.write(to: file, atomically: true, encoding: .utf8)
        let quoted = args.map { "'\($0)'" }.joined(separator: " ")
        let r = try TestSupport.shell("python3 '\(file.path)' \(quoted)")
        XCTAssertEqual(r.code, 0, r.stderr)
        return r
    }

    /// As below, for a refusal with a code of its own: known by the code, not the message.
    func assertRefused(_ path: String, _ kind: DataPortError.Kind, code: DataPortError.Code, limits: ArchiveLimits = .default,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TarGzReader(path: path, limits: limits), file: file, line: line) { error in
            guard let e = error as? DataPortError else { return XCTFail("unexpected error \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(URL(fileURLWithPath: path).lastPathComponent): \(e)", file: file, line: line)
            XCTAssertEqual(e.code, code, "\(URL(fileURLWithPath: path).lastPathComponent): \(e)", file: file, line: line)
        }
    }

    func assertRefused(_ path: String, _ kind: DataPortError.Kind, _ fragment: String, limits: ArchiveLimits = .default,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TarGzReader(path: path, limits: limits), file: file, line: line) { error in
            guard let e = error as? DataPortError else { return XCTFail("unexpected error \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(URL(fileURLWithPath: path).lastPathComponent): \(e)", file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "\(URL(fileURLWithPath: path).lastPathComponent): \(e)", file: file, line: line)
        }
    }

    /// Names that exercise every header layout: short, ustar prefix, pax path (long, and non-ASCII).
    var sampleEntries: [(String, [UInt8])] {
        let prefixName = "top/" + String(repeating: "d", count: 60) + "/" + String(repeating: "e", count: 60) + "/file.json"
        let paxName = "top/" + String(repeating: "x", count: 150) + ".csv"
        return [
            ("top/a.txt", Array("hello\n".utf8)),
            ("top/empty", []),
            ("top/exact-block", noise(512, seed: 2)),
            (prefixName, Array("{\"long\": true}\n".utf8)),
            (paxName, noise(1000, seed: 3)),
            ("top/ünïcödé/ñame.json", Array("[]\n".utf8)),
            ("top/big.bin", noise(3_000_001, seed: 4)),
        ]
    }

    // MARK: tar.gz

    func testTarGzRoundTripWithSpooling() throws {
        let dir = try TestSupport.tempDir(self)
        let path = dir.appendingPathComponent("a.tar.gz").path
        let entries = sampleEntries
        // A small threshold sends the big entry through the temporary file.
        let written = try writeTarGz(entries, to: path, memoryThreshold: 64 << 10)
        for (w, (name, bytes)) in zip(written, entries) {
            XCTAssertEqual(w.path, name)
            XCTAssertEqual(w.size, Int64(bytes.count))
            XCTAssertEqual(w.sha256, SHA256.hex(of: bytes))
        }
        let reader = try TarGzReader(path: path)
        XCTAssertEqual(reader.entryNames, entries.map(\.0))
        // In order, out of order, and again: each open gives exactly the entry's bytes.
        for (name, bytes) in entries + entries.reversed() + entries {
            XCTAssertEqual(try readAll(reader.open(name)), bytes, name)
        }
        // Two entries open at once.
        let a = try reader.open("top/big.bin"), b = try reader.open("top/a.txt")
        XCTAssertEqual(try readAll(b), Array("hello\n".utf8))
        XCTAssertEqual(try readAll(a), entries[6].1)
        XCTAssertThrowsError(try reader.open("top/missing"))
        // Nothing is left in the spool directory.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["a.tar.gz"])
    }

    func testTarGzWriterRefusesBadNamesAndForgetsFailedEntries() throws {
        let sink = MemorySink()
        let writer = TarGzWriter(sink: sink, date: date)
        _ = try writer.addEntry(path: "top/a") { try $0.write("a") }
        for bad in ["../x", "/abs", "top/a", "top/A", "top//b", "top/dir/"] {
            XCTAssertThrowsError(try writer.addEntry(path: bad) { try $0.write("x") }, bad)
        }
        struct Failure: Error {}
        XCTAssertThrowsError(try writer.addEntry(path: "top/failed") { try $0.write("partial"); throw Failure() })
        _ = try writer.addEntry(path: "top/b") { try $0.write("b") }
        try writer.finish()
        let dir = try TestSupport.tempDir(self)
        let path = dir.appendingPathComponent("a.tar.gz").path
        try Data(sink.bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try TarGzReader(path: path).entryNames, ["top/a", "top/b"])
    }

    func testTarGzIsDeterministic() throws {
        let dir = try TestSupport.tempDir(self)
        let a = dir.appendingPathComponent("a.tar.gz").path, b = dir.appendingPathComponent("b.tar.gz").path
        let c = dir.appendingPathComponent("c.tar.gz").path
        _ = try writeTarGz(sampleEntries, to: a)
        _ = try writeTarGz(sampleEntries, to: b, memoryThreshold: 1000)
        _ = try writeTarGz(sampleEntries, to: c, date: Timestamp("2026-02-01T00:00:00Z")!)
        let bytesA = try Data(contentsOf: URL(fileURLWithPath: a))
        XCTAssertEqual(bytesA, try Data(contentsOf: URL(fileURLWithPath: b)))
        XCTAssertNotEqual(bytesA, try Data(contentsOf: URL(fileURLWithPath: c)))
        XCTAssertEqual(Array(bytesA.prefix(2)), [0x1F, 0x8B])
    }

    func testTarGzReadByTarAndPython() throws {
        let dir = try TestSupport.tempDir(self)
        let path = dir.appendingPathComponent("a.tar.gz").path
        let entries = sampleEntries
        _ = try writeTarGz(entries, to: path)
        if TestSupport.has("tar") {
            let t = try TestSupport.shell("tar -tzf '\(path)'")
            XCTAssertEqual(t.code, 0, t.stderr)
            XCTAssertEqual(t.stdout.split(separator: "\n").map(String.init), entries.map(\.0))
            XCTAssertEqual(t.stderr, "")
            let x = try TestSupport.shell("mkdir -p out && tar -xzf '\(path)' -C out && cat out/top/a.txt", cwd: dir)
            XCTAssertEqual(x.code, 0, x.stderr)
            XCTAssertEqual(x.stdout, "hello\n")
        }
        let script = """
        import sys, tarfile, hashlib, json
        with tarfile.open(sys.argv[1], 'r:gz') as t:
            out = []
            for m in t.getmembers():
                assert m.isreg(), m.name
                assert (m.mtime, m.uid, m.gid, m.mode) == (int(sys.argv[2]), 0, 0, 0o644), (m.name, m.mtime, m.uid, m.gid, m.mode)
                out.append([m.name, m.size, hashlib.sha256(t.extractfile(m).read()).hexdigest()])
        print(json.dumps(out))
        """
        let r = try python(script, [path, String(date.seconds)], in: dir)
        let listed = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[Any]] ?? []
        XCTAssertEqual(listed.count, entries.count)
        for (row, (name, bytes)) in zip(listed, entries) {
            XCTAssertEqual(row[0] as? String, name)
            XCTAssertEqual(row[1] as? Int, bytes.count)
            XCTAssertEqual(row[2] as? String, SHA256.hex(of: bytes))
        }
    }

    func testTarGzBundleThroughBundleReaderAndCLI() throws {
        let dir = try TestSupport.tempDir(self)
        let zipBundle = try TestSupport.exportSample(dir)
        let json = try XCTUnwrap(FormatRegistry.standard.adapter(named: "json"))
        let tgz = dir.appendingPathComponent("bundle.tar.gz").path
        _ = try Converter.convert(input: zipBundle, output: tgz, formats: [json], archive: .tarGz)
        let reader = try BundleReader(path: tgz)
        XCTAssertEqual(reader.kind, .tarGz)
        let report = try reader.verify()
        XCTAssertGreaterThan(report.records, 0)
        XCTAssertEqual(report.records, try BundleReader(path: zipBundle).verify().records)
        // And back to zip: the same records.
        let back = dir.appendingPathComponent("back.zip").path
        _ = try Converter.convert(input: tgz, output: back, formats: [json], archive: .zip)
        XCTAssertEqual(try BundleReader(path: back).verify().records, report.records)
        // The CLI verifies it too.
        let v = try TestSupport.dataport("verify", tgz)
        XCTAssertEqual(v.code, 0, v.stdout + v.stderr)
    }

    func testHeadersForLongNamesAndLargeSizes() throws {
        // Below 8 GiB: one ustar header; at 8 GiB: a pax header carries the size.
        XCTAssertEqual(TarHeader.blocks(name: "top/a", size: TarHeader.octalLimit - 1, mtime: 0).count, 512)
        let big: Int64 = 9 << 30
        let blocks = TarHeader.blocks(name: "top/huge.bin", size: big, mtime: date.seconds)
        XCTAssertEqual(blocks.count, 3 * 512)
        XCTAssertTrue(String(decoding: blocks[512..<1024], as: UTF8.self).hasPrefix("19 size=9663676416\n"))
        // The length counts its own digits: 98 bytes of record make 100, which needs a third digit.
        XCTAssertEqual(TarHeader.paxRecord("path", String(repeating: "a", count: 90)), Array(("99 path=" + String(repeating: "a", count: 90) + "\n").utf8))
        XCTAssertEqual(TarHeader.paxRecord("path", String(repeating: "a", count: 91)), Array(("101 path=" + String(repeating: "a", count: 91) + "\n").utf8))

        // Python reads the pax size from the headers alone.
        let dir = try TestSupport.tempDir(self)
        let raw = dir.appendingPathComponent("headers.tar").path
        try Data(blocks).write(to: URL(fileURLWithPath: raw))
        let r = try python("""
        import sys, tarfile
        t = tarfile.open(sys.argv[1], 'r|')
        m = t.next()
        print(m.name, m.size, m.mtime)
        """, [raw], in: dir)
        XCTAssertEqual(r.stdout, "top/huge.bin \(big) \(date.seconds)\n")

        // Our reader reads the same size: it is over the limit, or the data is missing.
        let sink = MemorySink()
        let gz = DeflateSink(sink, framing: .gzip)
        try gz.write(blocks)
        try gz.finish()
        let path = dir.appendingPathComponent("headers.tar.gz").path
        try Data(sink.bytes).write(to: URL(fileURLWithPath: path))
        var limits = ArchiveLimits()
        limits.maxTotalBytes = 8 << 30
        assertRefused(path, .limitExceeded, code: .tooManyBytes, limits: limits)
        assertRefused(path, .invalidBundle, "truncated")
    }

    /// Opt-in (DATAPORT_LARGE_TESTS=1): a real entry over 8 GiB, through the spool file and a pax header.
    func testTarGzEntryOver8GiB() throws {
        guard ProcessInfo.processInfo.environment["DATAPORT_LARGE_TESTS"] == "1" else {
            throw XCTSkip("set DATAPORT_LARGE_TESTS=1 to write an 8 GiB tar entry")
        }
        let dir = try TestSupport.tempDir(self)
        let path = dir.appendingPathComponent("huge.tar.gz").path
        let size: Int64 = (8 << 30) + 3
        let file = try FileSink(path: path)
        let writer = TarGzWriter(sink: file, date: date, spoolDirectory: dir.path)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let w = try writer.addEntry(path: "top/huge.bin") { sink in
            var left = size
            while left > 0 {
                let n = Int(min(left, Int64(zeros.count)))
                try zeros[0..<n].withUnsafeBytes { try sink.write($0) }
                left -= Int64(n)
            }
        }
        _ = try writer.addEntry(path: "top/after.txt") { try $0.write("after\n") }
        try writer.finish()
        try file.close()
        XCTAssertEqual(w.size, size)
        var limits = ArchiveLimits()
        limits.maxRatio = 1 << 40
        let reader = try TarGzReader(path: path, limits: limits)
        XCTAssertEqual(reader.entries.map(\.size), [size, 6])
        XCTAssertEqual(try readAll(reader.open("top/after.txt")), Array("after\n".utf8))
        let r = try python("""
        import sys, tarfile
        t = tarfile.open(sys.argv[1], 'r|gz')
        print([(m.name, m.size) for m in t])
        """, [path], in: dir)
        XCTAssertEqual(r.stdout, "[('top/huge.bin', \(size)), ('top/after.txt', 6)]\n")
    }

    /// Crafted archives, one per refusal, built with Python's tarfile and gzip modules.
    func testTarGzRefusals() throws {
        let dir = try TestSupport.tempDir(self)
        let script = #"""
        import sys, os, io, tarfile, gzip
        d = sys.argv[1]
        def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode='w', format=fmt) as t:
                for info, data in members:
                    t.addfile(info, io.BytesIO(data) if data is not None else None)
            return buf.getvalue()
        def save(name, raw):
            with open(os.path.join(d, name + '.tar.gz'), 'wb') as f:
                f.write(raw)
        def mk(name, members, fmt=tarfile.PAX_FORMAT):
            save(name, gzip.compress(tar_bytes(members, fmt), mtime=0))
        def reg(n, data=b'x', pax=None):
            i = tarfile.TarInfo(n); i.size = len(data)
            if pax: i.pax_headers = pax
            return (i, data)
        def typ(n, t, link=''):
            i = tarfile.TarInfo(n); i.type = t; i.linkname = link; return (i, None)
        ok = [reg('top/a.txt', b'hello'), reg('top/b.txt', b'x' * 10000), typ('top/dir/', tarfile.DIRTYPE)]
        mk('ok', ok)
        mk('ok-gnu', ok, tarfile.GNU_FORMAT)
        mk('symlink', [reg('top/a.txt'), typ('top/l', tarfile.SYMTYPE, '/etc/passwd')])
        mk('hardlink', [reg('top/a.txt'), typ('top/h', tarfile.LNKTYPE, 'top/a.txt')])
        mk('chardev', [typ('top/c', tarfile.CHRTYPE)])
        mk('blockdev', [typ('top/b', tarfile.BLKTYPE)])
        mk('fifo', [typ('top/f', tarfile.FIFOTYPE)])
        mk('gnu-longname', [reg('top/' + 'n' * 200)], tarfile.GNU_FORMAT)
        mk('sparse', [reg('top/s', b'x', {'GNU.sparse.major': '1', 'GNU.sparse.minor': '0'})])
        mk('dotdot', [reg('top/../../etc/passwd')])
        mk('absolute', [reg('/etc/passwd')])
        mk('backslash', [reg('top\\a.txt')])
        mk('control', [reg('top/a\x01.txt')])
        mk('duplicate', [reg('top/a.txt'), reg('top/a.txt')])
        mk('case-collision', [reg('top/A.txt'), reg('top/a.txt')])
        mk('nfc-collision', [reg('top/e\u0301.txt'), reg('top/\u00e9.txt')])
        mk('many', [reg('top/%d' % i) for i in range(5)])
        mk('zeros', [reg('top/zeros', b'\0' * (16 << 20))])
        raw = bytearray(tar_bytes(ok))
        raw[5] ^= 1
        save('bad-checksum', gzip.compress(bytes(raw), mtime=0))
        raw = tar_bytes([reg('top/a.txt', b'y' * 10000)])
        save('truncated-tar', gzip.compress(raw[:2048], mtime=0))
        save('no-end-marker', gzip.compress(raw[:512 + 10240], mtime=0))
        save('after-end', gzip.compress(raw + b'garbage', mtime=0))
        save('zero-padded', gzip.compress(raw + b'\0' * 10240, mtime=0))
        good = gzip.compress(tar_bytes(ok), mtime=0)
        save('trailing-zeros', good + b'\0' * 100)
        save('trailing-garbage', good + b'junk')
        save('second-member', good + gzip.compress(b'more'))
        big = gzip.compress(tar_bytes([reg('top/r', os.urandom(200000))]), mtime=0)
        save('truncated-gzip', big[:len(big) // 2])
        save('cut-trailer', big[:-4])
        crc = bytearray(big); crc[-8] ^= 1
        save('bad-crc', bytes(crc))
        mid = bytearray(big); mid[len(big) // 2] ^= 0x55
        save('corrupt-middle', bytes(mid))
        """#
        try python(script, [dir.path], in: dir)
        func p(_ name: String) -> String { dir.appendingPathComponent(name + ".tar.gz").path }

        // Accepted: plain, GNU magic, zero padding inside and after the gzip stream.
        for name in ["ok", "ok-gnu"] {
            let r = try TarGzReader(path: p(name))
            XCTAssertEqual(r.entryNames, ["top/a.txt", "top/b.txt", "top/dir/"], name)
            XCTAssertEqual(try readAll(r.open("top/b.txt")), [UInt8](repeating: UInt8(ascii: "x"), count: 10000))
            XCTAssertEqual(try readAll(r.open("top/dir/")), [])
        }
        XCTAssertEqual(try TarGzReader(path: p("trailing-zeros")).entryNames.count, 3)
        XCTAssertEqual(try TarGzReader(path: p("zero-padded")).entryNames, ["top/a.txt"])

        // Entry types.
        assertRefused(p("symlink"), .invalidBundle, code: .unsafePath)
        assertRefused(p("hardlink"), .invalidBundle, code: .unsafePath)
        assertRefused(p("chardev"), .invalidBundle, "device")
        assertRefused(p("blockdev"), .invalidBundle, "device")
        assertRefused(p("fifo"), .invalidBundle, "FIFO")
        assertRefused(p("gnu-longname"), .invalidBundle, "unsupported type 'L'")
        assertRefused(p("sparse"), .invalidBundle, "sparse")
        // Names.
        for name in ["dotdot", "absolute", "backslash", "control"] {
            assertRefused(p(name), .invalidBundle, code: .unsafePath)
        }
        for name in ["duplicate", "case-collision", "nfc-collision"] {
            assertRefused(p(name), .invalidBundle, "duplicate entry")
        }
        // Structure.
        assertRefused(p("bad-checksum"), .invalidBundle, "checksum")
        assertRefused(p("truncated-tar"), .invalidBundle, "truncated tar archive")
        assertRefused(p("no-end-marker"), .invalidBundle, "end-of-archive marker")
        assertRefused(p("after-end"), .invalidBundle, "after the end of the tar archive")
        assertRefused(p("trailing-garbage"), .invalidBundle, "after the end of the gzip stream")
        assertRefused(p("second-member"), .invalidBundle, "after the end of the gzip stream")
        // The gzip stream itself.
        assertRefused(p("truncated-gzip"), .tamperedBundle, code: .truncated)
        assertRefused(p("cut-trailer"), .tamperedBundle, code: .truncated)
        assertRefused(p("bad-crc"), .tamperedBundle, "corrupt")
        XCTAssertThrowsError(try TarGzReader(path: p("corrupt-middle"))) { error in
            XCTAssertTrue([.tamperedBundle, .invalidBundle].contains((error as? DataPortError)?.kind), "\(error)")
        }
        // Limits.
        var limits = ArchiveLimits()
        limits.maxEntries = 4
        assertRefused(p("many"), .limitExceeded, code: .tooManyEntries, limits: limits)
        XCTAssertEqual(try TarGzReader(path: p("many"), limits: ArchiveLimits()).entryNames.count, 5)
        limits = ArchiveLimits()
        limits.maxTotalBytes = 5_000
        assertRefused(p("ok"), .limitExceeded, code: .tooManyBytes, limits: limits)
        limits = ArchiveLimits()
        limits.maxRatio = 100
        limits.ratioFloor = 1 << 20 // 16 MiB of zeros: below the default floor the ratio is not checked
        assertRefused(p("zeros"), .limitExceeded, code: .compressionRatio, limits: limits)
        limits.maxRatio = 100_000
        XCTAssertEqual(try TarGzReader(path: p("zeros"), limits: limits).entries.first?.size, 16 << 20)
        // BundleReader recognises gzip and passes the refusal on.
        XCTAssertThrowsError(try BundleReader(path: p("symlink"))) { error in
            XCTAssertEqual((error as? DataPortError)?.kind, .invalidBundle)
            XCTAssertTrue("\(error)".contains("symbolic link"), "\(error)")
        }
    }

    // MARK: zip64

    func testZip64ManyEntries() throws {
        let dir = try TestSupport.tempDir(self)
        let path = dir.appendingPathComponent("many.zip").path
        let count = 70_000
        let file = try FileSink(path: path)
        let writer = ZipWriter(sink: file, date: date)
        for i in 0..<count {
            _ = try writer.addEntry(path: "top/\(i).txt") { try $0.write(String(i)) }
        }
        try writer.finish()
        try file.close()

        let reader = try ZipReader(path: path)
        XCTAssertEqual(reader.entries.count, count)
        for i in [0, 65_535, 65_536, count - 1] {
            XCTAssertEqual(try readAll(reader.open("top/\(i).txt")), Array(String(i).utf8))
        }
        let r = try python("""
        import sys, zipfile
        z = zipfile.ZipFile(sys.argv[1])
        assert z.testzip() is None
        names = z.namelist()
        print(len(names), z.read(names[-1]).decode())
        """, [path], in: dir)
        XCTAssertEqual(r.stdout, "\(count) \(count - 1)\n")
    }

    func testZip64EntryOver4GiB() throws {
        let dir = try TestSupport.tempDir(self)
        let path = dir.appendingPathComponent("large.zip").path
        let size: Int64 = (4 << 30) + 12_345
        let start = Date()
        let file = try FileSink(path: path)
        let writer = ZipWriter(sink: file, date: date)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let w = try writer.addEntry(path: "top/zeros.bin") { sink in
            var left = size
            while left > 0 {
                let n = Int(min(left, Int64(zeros.count)))
                try zeros[0..<n].withUnsafeBytes { try sink.write($0) }
                left -= Int64(n)
            }
        }
        _ = try writer.addEntry(path: "top/after.txt") { try $0.write("after\n") }
        try writer.finish()
        try file.close()
        XCTAssertEqual(w.size, size)
        let written = Date()

        var limits = ArchiveLimits()
        limits.maxRatio = 1 << 40   // zeros compress far beyond the default ratio
        let reader = try ZipReader(path: path, limits: limits)
        XCTAssertEqual(reader.entries.map(\.size), [size, 6])
        // Reading to the end checks size and CRC-32.
        let source = try reader.open("top/zeros.bin")
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        var firstChunk: [UInt8] = []
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            // Inspecting every byte in a debug build would take minutes; the CRC-32 check covers them.
            if firstChunk.isEmpty { firstChunk = Array(buffer[0..<n]) }
            total += Int64(n)
        }
        XCTAssertEqual(total, size)
        XCTAssertFalse(firstChunk.isEmpty)
        XCTAssertEqual(firstChunk, [UInt8](repeating: 0, count: firstChunk.count))
        XCTAssertEqual(try readAll(reader.open("top/after.txt")), Array("after\n".utf8))
        let r = try python("""
        import sys, zipfile
        print([(i.filename, i.file_size) for i in zipfile.ZipFile(sys.argv[1]).infolist()])
        """, [path], in: dir)
        XCTAssertEqual(r.stdout, "[('top/zeros.bin', \(size)), ('top/after.txt', 6)]\n")
        print("zip64 4 GiB entry: written in \(written.timeIntervalSince(start)) s, read in \(Date().timeIntervalSince(written)) s")
    }
}
