import DataPortIO
import DataPortModel

/// An order-independent checksum of a multiset of records: the sum, modulo 2^64, of the first
/// eight bytes of each record's SHA-256 over its canonical encoding. Two sides agree when they
/// hold the same records, whatever the order.
public struct RecordChecksum: Sendable, Equatable {
    public private(set) var sum: UInt64 = 0
    public private(set) var count: Int64 = 0

    public init() {}

    public static func == (a: Self, b: Self) -> Bool { a.sum == b.sum && a.count == b.count }

    /// Adds a record (values in a fixed field order): each value is its type tag, its byte
    /// length and its canonical text, so no two different records encode alike.
    public mutating func add(_ values: [Value]) {
        scratch.bytes.removeAll(keepingCapacity: true)
        for v in values {
            guard let type = v.type, let text = v.canonicalText else { scratch.bytes.append(UInt8(ascii: "n")); scratch.bytes.append(UInt8(ascii: ":")); continue }
            scratch.bytes.append(contentsOf: type.rawValue.utf8.prefix(2))
            scratch.bytes.append(contentsOf: String(text.utf8.count).utf8)
            scratch.bytes.append(UInt8(ascii: ":"))
            scratch.bytes.append(contentsOf: text.utf8)
        }
        scratch.sha.reset()
        scratch.bytes.withUnsafeBytes { scratch.sha.write($0) }
        sum &+= scratch.sha.finalizePrefix64()
        count += 1
    }

    /// One hashing context and buffer, reused for every record of this checksum (used from one thread).
    private final class Scratch: @unchecked Sendable {
        let sha = SHA256()
        var bytes: [UInt8] = []
    }

    private let scratch = Scratch()

    /// The checksum as 16 hex digits.
    public var hex: String {
        let h = String(sum, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h
    }
}

/// What an import did to one dataset.
public struct DatasetReconciliation: Sendable {
    public var dataset: String
    public var table: String
    public var inBundle: Int64 = 0
    public var inserted: Int64 = 0
    public var updated: Int64 = 0
    public var unchanged: Int64 = 0
    public var skipped: Int64 = 0
    /// Over the bundle's records, projected onto the mapped fields.
    public var bundleChecksum = RecordChecksum()
    /// Over the same records read back from the target after writing (keys mapped back to bundle keys).
    public var importedChecksum = RecordChecksum()
    public var agrees: Bool { bundleChecksum == importedChecksum && inBundle == inserted + updated + unchanged + skipped }
}

/// The whole import's report.
public struct ImportReport: Sendable {
    public var bundle: String
    public var store: String
    public var dryRun: Bool
    public var datasets: [DatasetReconciliation]
    /// Bundle datasets the target config does not map, with why.
    public var skippedDatasets: [(name: String, reason: String)]
    public var agrees: Bool { datasets.allSatisfy(\.agrees) }

    public func json() -> JSONValue {
        .object([
            "bundle": .string(bundle), "store": .string(store), "dryRun": .bool(dryRun), "agrees": .bool(agrees),
            "datasets": .array(datasets.map { d in
                .object([
                    "name": .string(d.dataset), "table": .string(d.table), "inBundle": .integer(d.inBundle),
                    "inserted": .integer(d.inserted), "updated": .integer(d.updated), "unchanged": .integer(d.unchanged),
                    "skipped": .integer(d.skipped), "bundleChecksum": .string(d.bundleChecksum.hex),
                    "importedChecksum": .string(d.importedChecksum.hex), "agrees": .bool(d.agrees),
                ])
            }),
            "skippedDatasets": .array(skippedDatasets.map { .object(["name": .string($0.name), "reason": .string($0.reason)]) }),
        ])
    }

    public var text: String {
        var s = "\(dryRun ? "Dry run: would import" : "Imported") \(bundle) into store \(store)\n"
        s += "  " + ["dataset", "bundle", "inserted", "updated", "unchanged", "skipped", "checksum"].map { $0.padding(toLength: $0 == "dataset" ? 28 : 10, withPad: " ", startingAt: 0) }.joined() + "\n"
        for d in datasets {
            let cols = [d.inBundle, d.inserted, d.updated, d.unchanged, d.skipped].map { String($0).padding(toLength: 10, withPad: " ", startingAt: 0) }
            s += "  " + d.dataset.padding(toLength: 28, withPad: " ", startingAt: 0) + cols.joined() + (d.agrees ? "ok" : "MISMATCH") + "\n"
        }
        for k in skippedDatasets { s += "  skipped dataset \(k.name): \(k.reason)\n" }
        return s
    }
}

import Foundation
