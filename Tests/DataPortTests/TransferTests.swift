import DataPort
import DataPortBundle
import DataPortImport
import DataPortModel
import DataPortStores
import Foundation
import XCTest

/// `transfer`'s own check, through the public API: the import takes only the bundle the export made.
final class TransferTests: XCTestCase {
    func crm(_ dir: URL) throws -> StoresConfig {
        let crm = dir.appendingPathComponent("crm")
        try FileManager.default.createDirectory(at: crm, withIntermediateDirectories: true)
        for f in ["crm-stores.json", "crm-schema.sql"] {
            try FileManager.default.copyItem(at: TestSupport.samples.appendingPathComponent("migration/\(f)"), to: crm.appendingPathComponent(f))
        }
        return try StoresConfig.load(path: crm.appendingPathComponent("crm-stores.json").path)
    }

    var dropped: [String] { stride(from: 1, to: TestSupport.crmDroppedFields.count, by: 2).map { TestSupport.crmDroppedFields[$0] } }

    func people(_ dir: URL) throws -> String {
        try TestSupport.run("/usr/bin/sqlite3", [dir.appendingPathComponent("crm/crm.db").path, "SELECT count(*) FROM crm_people"]).stdout
    }

    /// A bundle whose manifest says other counts or checksums than the export produced is rolled back (reconciliation).
    func testAnImportOfABundleOtherThanTheOneExportedIsRolledBack() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--scope", "access"], name: "ana.zip")
        let target = try crm(dir)
        let made = try BundleReader(path: bundle).manifest
        let account = try XCTUnwrap(made.datasets.firstIndex { $0.dataset.name == "account" })
        let payments = try XCTUnwrap(made.datasets.firstIndex { $0.dataset.name == "payments" })
        var options = ImportOptions(dropFields: dropped)
        for change in [{ (m: inout Manifest) in m.datasets[payments].recordCount += 1 },
                       { (m: inout Manifest) in m.datasets[account].files[0].sha256 = String(repeating: "0", count: 64) }] {
            var other = made
            change(&other)
            options.producedBy = other
            XCTAssertThrowsError(try Importer.run(bundle: bundle, config: target, options: options)) { error in
                XCTAssertEqual((error as? DataPortError)?.kind, .reconciliation, "\(error)")
            }
            XCTAssertEqual(try people(dir), "1\n", "rolled back: only the CRM's own customer")
        }
        options.producedBy = made
        let report = try Importer.run(bundle: bundle, config: target, options: options)
        XCTAssertTrue(report.agrees)
        XCTAssertEqual(try people(dir), "2\n")
    }

    /// The library call: one result with both sides, the bundle named "(transfer)", no file left.
    func testTransferRunsExportAndImportInOneCall() throws {
        let dir = try TestSupport.tempDir(self)
        _ = try TestSupport.exportSample(dir, name: "warmup.zip")
        let source = try StoresConfig.load(path: TestSupport.sampleConfig)
        var export = ExportOptions()
        export.scope = .access
        let spools = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix(".dataport-spool") }
        let result = try Transfer.run(from: source, identities: [Identity(kind: IdentityKind("email"), value: "ana.nunez@example.com", foundIn: ["request"])],
                                      to: try crm(dir), export: export, import: ImportOptions(dropFields: dropped))
        XCTAssertEqual(result.exported.output, Transfer.name)
        XCTAssertEqual(result.imported.bundle, Transfer.name)
        XCTAssertTrue(result.imported.agrees)
        XCTAssertEqual(result.imported.datasets.map(\.inBundle), result.imported.datasets.map { d in
            result.exported.manifest.datasets.first { $0.dataset.name == d.dataset }!.recordCount })
        XCTAssertEqual(try people(dir), "2\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix(".dataport-spool") }, spools,
                       "the private bundle was unlinked")
    }
}
