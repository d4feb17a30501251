import Foundation
import DataPortModel

/// One target table as a bulk import writes it: its columns, in the order rows give their values.
public struct BulkTarget: Sendable {
    public struct Column: Sendable {
        /// The column's name as the store spells it (unquoted).
        public var name: String
        /// The field type its values have.
        public var type: FieldType
        public init(name: String, type: FieldType) { self.name = name; self.type = type }
    }

    /// The table, quoted already (`"schema"."table"`).
    public var table: String
    /// The same name unquoted, in its parts (`["schema", "table"]`).
    public var path: [String]
    public var columns: [Column]
    /// The position in `columns` of the key, if rows are upserted by one; `nil` for keyless rows.
    public var key: Int?

    public init(table: String, path: [String], columns: [Column], key: Int?) {
        self.table = table; self.path = path; self.columns = columns; self.key = key
    }
}

/// A SQL session that writes a dataset set-based: its rows are loaded into a staging table in one
/// stream (PostgreSQL `COPY FROM STDIN`, MySQL `LOAD DATA LOCAL INFILE` from memory), then moved
/// into the target by a few statements, and read back by a join. Everything dialect-specific of a
/// bulk import lives behind this protocol; a session without it is written row by row.
public protocol BulkWritingSession: SQLSession {
    /// Whether `target` can be written set-based (else the importer writes it row by row).
    func stages(_ target: BulkTarget) -> Bool
    /// Creates a staging table for `target` and loads the rows `rows` adds (each `target.columns.count`
    /// values), numbered 1, 2, ... in that order: the record numbers of messages.
    func stage(_ target: BulkTarget, rows: (_ add: ([Value]) throws -> Void) throws -> Void) throws -> any StagedRows
    /// Loads the rows `rows` adds straight into `target`, which holds no row yet (keyed rows; one
    /// `COPY` / `LOAD DATA` into the table itself, no staging table, no statement moving rows), then
    /// compares a `RowDigest` of what the table holds, each value rendered as the text that was
    /// loaded, with the digest of that text. `nil`, having read no row, where the target's column
    /// types have no such rendering. `exact` false or a throw leaves the target to the caller to roll
    /// back (a savepoint taken before) and to stage the rows instead, which finds and reports what
    /// differs or fails as it always did: this is only the fast way to the same outcome.
    func loadEmpty(_ target: BulkTarget, rows: (_ add: ([Value]) throws -> Void) throws -> Void) throws -> (count: Int64, exact: Bool)?
    /// Runs a statement without parameters, unprepared: `SAVEPOINT` and its kin (MySQL prepares few
    /// statements of that kind).
    func runUnprepared(_ sql: String) throws
}

/// Rows loaded into a staging table by `BulkWritingSession.stage`, and the set-based steps on them.
/// Record numbers are the staged rows' (1-based); columns are positions in `BulkTarget.columns`.
public protocol StagedRows: AnyObject {
    /// How many rows were staged.
    var count: Int64 { get }
    /// Values the store cannot hold as given (PostgreSQL text holds no NUL: the value was cut, as
    /// a bound parameter would be): record and column of each, in record order.
    var altered: [(record: Int64, column: Int)] { get }
    /// The first record whose key another staged record has too; `nil` when keys are unique. Where
    /// the target was empty and its unique key refuses a repeated one anyway, a session may leave
    /// the check to `upsert`, which then throws `RepeatedKey`.
    func firstRepeatedKey(targetEmpty: Bool) throws -> Int64?
    /// For the target rows whose key is staged: each distinct combination of `columns` (target
    /// column names, unquoted) as a row of that many cells, with the first record that meets it.
    func existingRows(distinct columns: [String], _ body: (any SQLRow, Int64) throws -> Void) throws
    /// Whether the target, whose key has a unique index of its own, holds exactly the staged rows
    /// and no other, each value rendered as the staged text (a `RowDigest` of each table, after a
    /// count): then no staged key is repeated and there is nothing to update, insert or report,
    /// and a second import of an unchanged dataset ends here (after the ownership check), without
    /// the aggregate over the staged keys or a join.
    func targetHoldsOnlyStaged() throws -> Bool
    /// Keyed rows: updates the target rows whose key is staged and whose values differ, then inserts
    /// the staged rows whose key the target lacks (all of them when `targetEmpty`).
    func upsert(targetEmpty: Bool) throws -> (inserted: Int64, updated: Int64)
    /// Keyless rows: inserts each distinct staged row as often as it is staged beyond the identical
    /// rows the target holds already (the multiset rule), in record order; returns how many.
    func insertMissingCopies() throws -> Int64
    /// The staged records the target does not hold exactly as staged (`targetEmpty`: the target
    /// held none of its rows before, so a comparison of whole tables may stand in for the join
    /// when it finds them equal), in record order: keyed ones
    /// with the stored row (`nil` when no row has the key), keyless ones with the row as the store
    /// converts it, or `nil` when there are fewer identical rows than copies; and the first column
    /// that looks different (`nil` if unknown). The caller decides through the row's typed values.
    func differences(targetEmpty: Bool, _ body: (_ record: Int64, _ row: (any SQLRow)?, _ column: Int?) throws -> Void) throws
    /// Drops the staging table.
    func drop() throws
}

/// Thrown by `StagedRows.upsert` when the target refused a repeated staged key.
public struct RepeatedKey: Error {
    public init() {}
}

/// SQL the staging tables of every dialect share.
enum StagingSQL {
    /// The target's rows whose key a staged row holds, as `columns` (grouped: distinct values) and
    /// the smallest staged record number among them (`dataport_n`), for `existingRows`.
    static func existingRows(distinct columns: [String], target: String, staging: String, keyJoin: String) -> String {
        let list = columns.map { "t.\(SQLQueryBuilder.quote($0))" }
        let group = list.isEmpty ? "" : " GROUP BY \(list.joined(separator: ", "))"
        return "SELECT \((list + ["MIN(s.dataport_n)"]).joined(separator: ", ")) FROM \(target) t JOIN \(staging) s ON \(keyJoin)\(group)"
    }
}
