import DataPortModel

/// What a store type can do, declared by its connector type (`StoreConnector.capabilities`), like
/// rclone's backend features. The store conformance suite (`Tests/DataPortTests/StoreConformanceTests.swift`)
/// runs each contract a store declares and, for what it does not, checks that the store refuses it
/// properly (an import into a log is `invalidConfig`), so a missing capability is tested too.
public struct StoreCapabilities: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Datasets choose their columns and field types freely (a log has a fixed set of parsed fields).
    public static let namedColumns = StoreCapabilities(rawValue: 1 << 0)
    /// Matches by `references` (the key of a subject's row of another dataset of the store).
    public static let references = StoreCapabilities(rawValue: 1 << 1)
    /// Datasets may be a SQL `query` instead of a table.
    public static let queries = StoreCapabilities(rawValue: 1 << 2)
    /// Every read between `beginSnapshot` and `endSnapshot` sees the store as of one moment, even
    /// while it is written to.
    public static let snapshot = StoreCapabilities(rawValue: 1 << 3)
    /// An import target: the connector is a `WritableStoreConnector`.
    public static let writable = StoreCapabilities(rawValue: 1 << 4)

    /// What the SQL stores do: everything.
    public static let sql: StoreCapabilities = [.namedColumns, .references, .queries, .snapshot, .writable]

    public var description: String {
        let names: [(StoreCapabilities, String)] = [(.namedColumns, "namedColumns"), (.references, "references"),
                                                    (.queries, "queries"), (.snapshot, "snapshot"), (.writable, "writable")]
        return "[" + names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") + "]"
    }
}

/// A file store that writes files its own connector reads back: the conformance suite materialises
/// a file store's fixture through it, so a new file store gets the whole suite from its one file
/// and its registry line. Not used by exports or imports.
package protocol StoreFileWriting: StoreConnector {
    /// The bytes of a file that this connector reads as `rows`, each value under the column of the
    /// same index in `columns` (a column a dataset's field names). A value the format cannot hold
    /// as that value (binary that is not UTF-8 in a text format) is `invalidConfig` naming the column.
    /// Values of another type than the field's (text in an integer field) are written as they are,
    /// so that reading them fails as a bad cell in the store does.
    static func fileContents(columns: [String], rows: [[Value]]) throws -> [UInt8]
}

extension Value {
    /// The text a text file holds for this value: the canonical text, except binary as its UTF-8
    /// text (how the file connectors read a `binary` field). `nil` for NULL; throws for bytes that
    /// are not UTF-8.
    package func fileText(column: String) throws -> String? {
        guard case .binary(let b) = self else { return canonicalText }
        guard let s = String(validating: b, as: UTF8.self) else {
            throw DataPortError(.invalidConfig, "column \(column): a text file cannot hold bytes that are not UTF-8")
        }
        return s
    }
}
