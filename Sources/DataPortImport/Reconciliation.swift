import Foundation
import DataPortIO
import DataPortModel

/// An order-independent checksum of a multiset of records: the sum, modulo 2^64, of the first
/// eight bytes of each record's SHA-256 over its canonical encoding. Two sides agree when they
/// hold the same records, whatever the order.
public struct RecordChecksum: Sendable, Equatable {
    public private(set) var sum: UInt64 = 0
    public private(set) var count: Int64 = 0

    public init() {}

    /// Adds one record by its digest (`RecordDigester.digest(_:)`).
    public mutating func add(digest: UInt64) {
        sum &+= digest
        count += 1
    }

    /// Takes back a record added before (a bulk import adds every record first, then replaces
    /// those the target holds otherwise).
    mutating func remove(digest: UInt64) {
        sum &-= digest
        count -= 1
    }

    /// The checksum as 16 hex digits.
    public var hex: String {
        let h = String(sum, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h
    }
}

/// Computes record digests for `RecordChecksum`, reusing one buffer (use from one thread).
public struct RecordDigester {
    private var bytes: [UInt8] = []

    public init() {}

    /// The digest of a record's values in a fixed field order: each value is its type tag, its byte
    /// length and its canonical text, so no two different records encode alike.
    public mutating func digest(_ values: some Sequence<Value>) -> UInt64 {
        load(values)
        return bytes.withUnsafeBytes { SHA256.prefix64(of: $0) }
    }

    /// The whole SHA-256 of a record's encoding, as hex: to tell records apart, not to sum them.
    public mutating func hex(_ values: some Sequence<Value>) -> String {
        load(values)
        return SHA256.hex(of: bytes)
    }

    private mutating func load(_ values: some Sequence<Value>) {
        bytes.removeAll(keepingCapacity: true)
        for v in values { Self.encode(v, into: &bytes) }
    }

    /// `<tag><byte length>:<canonical text>`; NULL is `n:`. Written without intermediate strings.
    static func encode(_ v: Value, into out: inout [UInt8]) {
        func digits(_ n: UInt64, _ out: inout [UInt8]) {
            if n >= 10 { digits(n / 10, &out) }
            out.append(UInt8(48 + n % 10))
        }
        func text(_ tag: UInt8, _ s: String, _ out: inout [UInt8]) {
            out.append(tag)
            digits(UInt64(s.utf8.count), &out)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: s.utf8)
        }
        switch v {
        case .null: out.append(UInt8(ascii: "n")); out.append(UInt8(ascii: ":"))
        case .string(let s): text(UInt8(ascii: "s"), s, &out)
        case .decimal(let d): text(UInt8(ascii: "d"), d.text, &out)
        case .timestamp(let t): text(UInt8(ascii: "t"), t.text, &out)
        case .date(let d): text(UInt8(ascii: "D"), d.text, &out)
        case .boolean(let b): text(UInt8(ascii: "b"), b ? "true" : "false", &out)
        case .binary: text(UInt8(ascii: "x"), v.canonicalText!, &out)
        case .integer(let i):
            out.append(UInt8(ascii: "i"))
            let magnitude = i.magnitude
            var length = i < 0 ? 2 : 1
            var rest = magnitude / 10
            while rest > 0 { length += 1; rest /= 10 }
            digits(UInt64(length), &out)
            out.append(UInt8(ascii: ":"))
            if i < 0 { out.append(UInt8(ascii: "-")) }
            digits(magnitude, &out)
        }
    }
}

/// What an import did to one dataset.
public struct DatasetReconciliation: Sendable {
    /// Where the target first disagreed with the bundle: a record (1-based, in bundle order) and,
    /// where it is known, the field. Never a value.
    public struct Mismatch: Sendable, Equatable {
        public var record: Int64
        public var field: String?
        public var reason: String
    }

    public var dataset: String
    public var table: String
    public var inBundle: Int64 = 0
    public var inserted: Int64 = 0
    public var updated: Int64 = 0
    public var unchanged: Int64 = 0
    public var skipped: Int64 = 0
    /// Bundle fields not imported (allowed with `--drop-field`), in bundle order.
    public var droppedFields: [String] = []
    /// Over the bundle's records, all their fields: the bundle's own checksum.
    public var bundleChecksum = RecordChecksum()
    /// Over the bundle's records, the imported fields only (equal to `bundleChecksum` when no field
    /// is dropped): what the target is compared with.
    public var mappedChecksum = RecordChecksum()
    /// Over the same records read back from the target after writing (keys mapped back to bundle
    /// keys), the imported fields in bundle order.
    public var importedChecksum = RecordChecksum()
    /// The first record the target changed, if any.
    public var mismatch: Mismatch?
    public var agrees: Bool {
        mismatch == nil && mappedChecksum == importedChecksum && inBundle == inserted + updated + unchanged + skipped
    }

    /// Notes the first disagreement only: the rest of the dataset is still counted.
    mutating func disagree(record: Int64, field: String?, _ reason: String) {
        if mismatch == nil { mismatch = Mismatch(record: record, field: field, reason: reason) }
    }
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
                    "skipped": .integer(d.skipped), "droppedFields": .array(d.droppedFields.map(JSONValue.string)),
                    "bundleChecksum": .string(d.bundleChecksum.hex), "mappedChecksum": .string(d.mappedChecksum.hex),
                    "importedChecksum": .string(d.importedChecksum.hex), "agrees": .bool(d.agrees),
                    "mismatch": d.mismatch.map { m in
                        .object(["record": .integer(m.record), "field": m.field.map(JSONValue.string) ?? .null, "reason": .string(m.reason)])
                    } ?? .null,
                ])
            }),
            "skippedDatasets": .array(skippedDatasets.map { .object(["name": .string($0.name), "reason": .string($0.reason)]) }),
        ])
    }

    /// The first disagreement, as the error an import that disagrees ends with (exit 10): it was rolled back.
    public var mismatchError: DataPortError? {
        guard let d = datasets.first(where: { !$0.agrees }) else { return nil }
        var what = "dataset \(d.dataset)"
        if let m = d.mismatch {
            what += m.field.map { ", field \($0)" } ?? ""
            what += ", record \(m.record): \(m.reason)"
        } else {
            what += ": the records as imported do not match the bundle's checksums"
        }
        return DataPortError(.reconciliation, "\(what); the import was rolled back", at: bundle, code: .reconciliation)
    }

    public var text: String {
        let verb = !agrees ? "Rolled back (the target disagrees): import of" : dryRun ? "Dry run: would import" : "Imported"
        var s = "\(verb) \(bundle) into store \(store)\n"
        // Columns as wide as their longest entry (and a space): no name or count is cut.
        let name = TextColumn(datasets.map { $0.dataset + " " }, minimum: 28)
        let number = TextColumn(datasets.flatMap { d in [d.inBundle, d.inserted, d.updated, d.unchanged, d.skipped].map { "\($0) " } }, minimum: 10)
        s += "  " + name.pad("dataset") + ["bundle", "inserted", "updated", "unchanged", "skipped"].map(number.pad).joined() + "checksum  \n"
        for d in datasets {
            let cols = [d.inBundle, d.inserted, d.updated, d.unchanged, d.skipped].map { number.pad(String($0)) }
            s += "  " + name.pad(d.dataset) + cols.joined() + (d.agrees ? "ok" : "MISMATCH") + "\n"
        }
        for d in datasets {
            for f in d.droppedFields { s += "  dropped field \(d.dataset).\(f) (--drop-field)\n" }
        }
        for k in skippedDatasets { s += "  skipped dataset \(k.name): \(k.reason)\n" }
        return s
    }
}
