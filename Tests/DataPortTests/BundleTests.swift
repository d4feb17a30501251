import DataPortBundle
import DataPortFormats
import Foundation
import XCTest

final class BundleTests: XCTestCase {
    func testBundleOpensInStandardZipToolsAndVerifies() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir)
        if TestSupport.has("unzip") {
            let t = try TestSupport.shell("unzip -t '\(bundle)'")
            XCTAssertEqual(t.code, 0, t.stdout)
            XCTAssertTrue(t.stdout.contains("No errors detected"))
        }
        let py = try TestSupport.shell("python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))' '\(bundle)'")
        XCTAssertEqual(py.code, 0, py.stderr)
        let v = try TestSupport.dataport("verify", bundle)
        XCTAssertEqual(v.code, 0, v.stderr)
        XCTAssertTrue(v.stdout.contains("OK"))
    }

    func testExportsWithTheSameTimeAreByteIdentical() throws {
        let dir = try TestSupport.tempDir(self)
        let a = try TestSupport.exportSample(dir, name: "a.zip")
        let b = try TestSupport.exportSample(dir, name: "b.zip")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)))
        // Nothing else is left behind (no temporary files).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["a.zip", "b.zip"])
    }

    /// Flips one byte inside the compressed data of `entry` (or of the manifest).
    func flipByte(in bundle: String, entrySuffix: String) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bundle)))
        // Find the local header of the entry by name and flip a byte in the middle of its data.
        let name = Array(entrySuffix.utf8)
        var i = 0
        while i + 30 < bytes.count {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 3, bytes[i + 3] == 4 {
                let nameLength = Int(bytes[i + 26]) | Int(bytes[i + 27]) << 8
                let entryName = Array(bytes[(i + 30)..<(i + 30 + nameLength)])
                if entryName.count >= name.count, Array(entryName.suffix(name.count)) == name {
                    let dataStart = i + 30 + nameLength
                    bytes[dataStart + 5] ^= 0x01
                    let out = bundle + ".flipped.zip"
                    try Data(bytes).write(to: URL(fileURLWithPath: out))
                    return out
                }
            }
            i += 1
        }
        XCTFail("entry \(entrySuffix) not found")
        return bundle
    }

    func testOneFlippedByteInADataFileFailsVerify() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir)
        let bad = try flipByte(in: bundle, entrySuffix: "data/json/quotation_requests.json")
        let v = try TestSupport.dataport("verify", bad)
        XCTAssertEqual(v.code, 6, v.stderr)
        XCTAssertTrue(v.stderr.hasPrefix("dataport: error: "), v.stderr)
        XCTAssertEqual(v.stderr.split(separator: "\n").count, 1, "one line on stderr")
    }

    func testOneFlippedByteInTheManifestFailsVerify() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir)
        let bad = try flipByte(in: bundle, entrySuffix: "manifest.json")
        let v = try TestSupport.dataport("verify", bad)
        XCTAssertTrue([5, 6].contains(v.code), "exit \(v.code): \(v.stderr)")
        XCTAssertNotEqual(v.code, 0)
    }

    func testAChangedFileWithAValidCRCIsCaughtBySHA256() throws {
        // Rewrite one data file consistently at the zip level (new CRC) with Python: only the manifest's SHA-256 catches it.
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir)
        let out = dir.appendingPathComponent("rezipped.zip").path
        let script = """
        import sys, zipfile
        src, dst = sys.argv[1], sys.argv[2]
        with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as b:
            for info in a.infolist():
                data = a.read(info)
                if info.filename.endswith('data/json/invoices.json'):
                    data = data.replace(b'12500.00', b'12500.01')
                b.writestr(info, data)
        """
        let py = try TestSupport.run("/usr/bin/env", ["python3", "-c", script, bundle, out])
        XCTAssertEqual(py.code, 0, py.stderr)
        let v = try TestSupport.dataport("verify", out)
        XCTAssertEqual(v.code, 6, v.stderr)
        XCTAssertTrue(v.stderr.contains("SHA-256"), v.stderr)
    }

    func testBundleFilesValidateAgainstThePublishedJSONSchemas() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"])
        let x = dir.appendingPathComponent("x")
        try TestSupport.unzip(bundle, into: x)
        let formats = TestSupport.root.appendingPathComponent("formats").path
        let script = """
        import glob, json, sys, jsonschema
        fmt, root = sys.argv[1], sys.argv[2]
        manifest = json.load(open(fmt + '/manifest.schema.json'))
        dataset = json.load(open(fmt + '/dataport-dataset.schema.json'))
        jsonschema.Draft202012Validator.check_schema(manifest)
        jsonschema.validate(json.load(open(glob.glob(root + '/*/manifest.json')[0])), manifest, cls=jsonschema.Draft202012Validator)
        files = glob.glob(root + '/*/data/json/*.json')
        assert files
        for f in files:
            jsonschema.validate(json.load(open(f)), dataset, cls=jsonschema.Draft202012Validator)
        print(len(files))
        """
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", script, formats, x.path])
        XCTAssertEqual(r.code, 0, r.stderr)
    }

    func testPublishedSchemasInFormatsEqualTheEmbeddedCopies() throws {
        let formats = TestSupport.root.appendingPathComponent("formats")
        XCTAssertEqual(try String(contentsOf: formats.appendingPathComponent("manifest.schema.json"), encoding: .utf8), Manifest.schema)
        XCTAssertEqual(try String(contentsOf: formats.appendingPathComponent("dataport-dataset.schema.json"), encoding: .utf8), PublishedSchemas.jsonDataset)
        for adapter in FormatRegistry.standard.adapters {
            for schema in adapter.schemaFiles {
                XCTAssertEqual(try String(contentsOf: formats.appendingPathComponent(schema.name), encoding: .utf8), schema.contents, schema.name)
            }
        }
    }

    func testAnInterruptedExportLeavesNothingAtTheDestination() throws {
        // An export that fails (unknown subject) after opening the output writes nothing.
        let dir = try TestSupport.tempDir(self)
        let out = dir.appendingPathComponent("nobody.zip").path
        let r = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "email=nobody@example.com", "--output", out)
        XCTAssertEqual(r.code, 7, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    /// The committed sample bundle is a golden file: the same export today gives the same bytes.
    func testSampleBundleIsCurrentAndVerifies() throws {
        let sample = TestSupport.samples.appendingPathComponent("ana-example.zip").path
        XCTAssertEqual(try TestSupport.dataport("verify", sample).code, 0)
        let dir = try TestSupport.tempDir(self)
        let fresh = try TestSupport.exportSample(dir, formats: "json,csv,xml", extra: ["--scope", "access"])
        XCTAssertTrue(try Data(contentsOf: URL(fileURLWithPath: fresh)) == Data(contentsOf: URL(fileURLWithPath: sample)),
                      "Samples/ana-example.zip is out of date: re-export it with the command in the README")
    }
}
