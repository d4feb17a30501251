import DataPortIO
import DataPortModel
import DataPortStores

/// Applies one dataset's records set-based, on a session that can (`BulkWritingSession`): all
/// records are staged in one stream, checked (repeated keys, other people's rows), moved into the
/// target by a few statements and read back by a join. Into an empty table with a unique key they
/// are loaded into the table itself instead and checked by one digest of each side, falling back
/// to the staged path (under a savepoint) if anything differs; a second import of a dataset the
/// target holds exactly ends after the staging, by the same digest. The guarantees are those of
/// `RecordUpsert`, which writes row by row where this cannot: keys the target generates, foreign
/// keys rewritten through the id map, a session without bulk writes (SQLite, whose row path is
/// as fast).
struct BulkUpsert {
    let session: any BulkWritingSession
    let m: DatasetMapping
    let ownership: SubjectOwnership

    /// The bulk session to write `m` through, if it can be written set-based.
    static func session(for m: DatasetMapping, _ session: any SQLSession) -> (any BulkWritingSession)? {
        guard let bulk = session as? any BulkWritingSession, !m.keyGenerated, m.columns.allSatisfy({ $0.mapsThrough == nil }),
              bulk.stages(target(m)) else { return nil }
        return bulk
    }

    private static func target(_ m: DatasetMapping) -> BulkTarget {
        var path: [String] = []
        if case .table(let t) = m.target.source { path = t.split(separator: ".").map(String.init) }
        return BulkTarget(table: m.table, path: path, columns: m.columns.map { .init(name: $0.field.column, type: $0.field.type) }, key: m.keyPosition)
    }

    /// What the importer keeps of a dataset's records as they stream to the store.
    private struct Seen {
        /// Each record's digest over the imported fields, by record number - 1: the target agrees
        /// when it holds every record as loaded, and the few rows it does not are replaced.
        var digests: [UInt64] = []
        var keys: [String] = []
        var yielded: [[String]]
    }

    /// Writes the dataset's records (`ahead`); returns the reading whose checksums are the dataset's:
    /// `ahead`, or a second one from `reopen` where the fast path into an empty table fell back.
    func write(_ ahead: ReadAheadRecords, reopen: () throws -> ReadAheadRecords, counter: ProgressCounter,
               _ r: inout DatasetReconciliation) throws -> ReadAheadRecords {
        // Also the first statement on the table: a missing one fails here, named in the message.
        let empty = try session.isEmpty(m.table)
        guard empty, m.keyPosition != nil else {
            try stageAndUpsert(ahead, counter: counter, targetEmpty: empty, &r)
            return ahead
        }
        // Into an empty table the rows go straight in, checked by one digest; whatever goes wrong
        // there (a key twice, a value refused or changed) is rolled back to the savepoint and the
        // dataset read again and staged, the path that finds, reports or fails exactly as before.
        try session.runUnprepared("SAVEPOINT dataport_load")
        var seen = Seen(yielded: yields.map { _ in [] })
        let loaded: (count: Int64, exact: Bool)?
        do {
            loaded = try session.loadEmpty(target, rows: { add in try feed(ahead, &seen, counter: counter, add) })
        } catch {
            try fallBack(after: error)
            return try again(ahead, reopen, &r)
        }
        guard let loaded else {
            try session.runUnprepared("RELEASE SAVEPOINT dataport_load")
            try stageAndUpsert(ahead, counter: counter, targetEmpty: true, &r)
            return ahead
        }
        guard loaded.exact else {
            try fallBack(after: nil)
            return try again(ahead, reopen, &r)
        }
        try session.runUnprepared("RELEASE SAVEPOINT dataport_load")
        r.inBundle += loaded.count
        r.inserted += loaded.count
        for d in seen.digests { r.importedChecksum.add(digest: d) }
        own(seen)
        return ahead
    }

    /// Takes back the fast path's rows; if even that fails, the first error is the one to report.
    private func fallBack(after error: (any Error)?) throws {
        do {
            try session.runUnprepared("ROLLBACK TO SAVEPOINT dataport_load")
            try session.runUnprepared("RELEASE SAVEPOINT dataport_load")
        } catch let rollback {
            throw error ?? rollback
        }
    }

    /// The dataset read a second time and staged (progress counted once, by the first reading).
    private func again(_ first: ReadAheadRecords, _ reopen: () throws -> ReadAheadRecords, _ r: inout DatasetReconciliation) throws -> ReadAheadRecords {
        first.stop()
        let second = try reopen()
        try stageAndUpsert(second, counter: nil, targetEmpty: true, &r)
        return second
    }

    private var target: BulkTarget { Self.target(m) }
    private var yields: [(column: Int, kind: IdentityKind)] {
        m.keyPosition == nil ? [] : m.target.yields.compactMap { y in m.columns.firstIndex { $0.field.name == y.field }.map { (column: $0, kind: y.kind) } }
    }
    private var tracked: Bool { m.keyPosition != nil && ownership.tracks(m.name) }

    /// Hands each record's imported values to `add`, keeping what `Seen` keeps.
    private func feed(_ ahead: ReadAheadRecords, _ seen: inout Seen, counter: ProgressCounter?, _ add: ([Value]) throws -> Void) throws {
        let key = m.keyPosition, yields = self.yields, tracked = self.tracked
        // Every field imported, in the bundle's order: the record's values are the row's, as they are.
        let same = m.columns.count == m.bundleFieldCount && m.columns.indices.allSatisfy { m.columns[$0].bundleIndex == $0 }
        while let chunk = try ahead.nextChunk() {
            for (i, record) in chunk.records.enumerated() {
                let values = same ? record.values : m.columns.map { record.values[$0.bundleIndex] }
                if let key {
                    guard !values[key].isNull else {
                        throw DataPortError(.invalidBundle, "dataset \(m.name) has a record without a key")
                    }
                    if tracked, let text = values[key].canonicalText { seen.keys.append(text) }
                }
                for (j, y) in yields.enumerated() { if let t = values[y.column].canonicalText { seen.yielded[j].append(t) } }
                try add(values)
                seen.digests.append(chunk.digests[i])
                counter?.record()
            }
        }
    }

    /// These rows are the subject's now (see `RecordUpsert.write`).
    private func own(_ seen: Seen) {
        if tracked { ownership.add(m.name, keys: seen.keys) }
        for (j, y) in yields.enumerated() { ownership.add(y.kind, identities: seen.yielded[j]) }
    }

    /// All records staged, checked, moved into the target by a few statements and read back.
    private func stageAndUpsert(_ ahead: ReadAheadRecords, counter: ProgressCounter?, targetEmpty empty: Bool, _ r: inout DatasetReconciliation) throws {
        var seen = Seen(yielded: yields.map { _ in [] })
        let staged = try session.stage(target) { add in try feed(ahead, &seen, counter: counter, add) }
        defer { try? staged.drop() }
        r.inBundle += staged.count
        for d in seen.digests { r.importedChecksum.add(digest: d) }
        if m.keyPosition != nil {
            let repeated = DataPortError(.invalidBundle, "dataset \(m.name) holds two records with the same key")
            // A target holding exactly the staged rows under a unique key holds no key twice.
            if !empty, try staged.targetHoldsOnlyStaged() {
                try refuseOtherPeoplesRows(staged)
                r.unchanged += staged.count
                own(seen)
                return
            }
            if try staged.firstRepeatedKey(targetEmpty: empty) != nil { throw repeated }
            if !empty { try refuseOtherPeoplesRows(staged) }
            let written: (inserted: Int64, updated: Int64)
            do { written = try staged.upsert(targetEmpty: empty) } catch is RepeatedKey { throw repeated }
            let (inserted, updated) = written
            r.inserted += inserted
            r.updated += updated
            r.unchanged += staged.count - inserted - updated
        } else {
            let inserted = try staged.insertMissingCopies()
            r.inserted += inserted
            r.unchanged += staged.count - inserted
        }
        try readBack(staged, seen.digests, targetEmpty: empty, &r)
        own(seen)
    }

    /// An existing row with a staged key is overwritten only if it is the subject's: one of the
    /// dataset's match fields ties it to the subject (checked per distinct combination of them).
    private func refuseOtherPeoplesRows(_ staged: any StagedRows) throws {
        let checks: [(column: String, type: FieldType, match: Match)] = m.target.matches.compactMap { match in
            m.target.field(named: match.field).map { ($0.column, $0.type, match) }
        }
        var foreign: Int64?
        try staged.existingRows(distinct: checks.map(\.column)) { row, record in
            let mine = checks.enumerated().contains { j, check in
                row.cell(j).value(as: check.type)?.canonicalText.map { ownership.holds(check.match, $0) } ?? false
            }
            if !mine { foreign = min(foreign ?? record, record) }
        }
        if let record = foreign, let k = m.keyPosition {
            throw DataPortError(.reconciliation, "dataset \(m.name), record \(record): its key \(m.columns[k].field.name) is held in the target by a row that does not belong to the bundle's subject (none of its match fields ties it to the subject); the import was rolled back", code: .foreignKey)
        }
    }

    /// The rows the target does not hold exactly as staged, typed and hashed as stored: each that
    /// differs from its bundle record replaces that record's digest and is reported (the first one,
    /// by record number, is the report's mismatch).
    private func readBack(_ staged: any StagedRows, _ digests: [UInt64], targetEmpty: Bool, _ r: inout DatasetReconciliation) throws {
        let changed = "the target stored another value than the bundle's"
        var problems: [(record: Int64, field: String?, reason: String)] = staged.altered.map { ($0.record, m.columns[$0.column].field.name, changed) }
        var seen = Set<Int64>()
        var digester = RecordDigester()
        try staged.differences(targetEmpty: targetEmpty) { record, row, column in
            guard seen.insert(record).inserted else { return }
            let bundleDigest = digests[Int(record - 1)]
            guard let row else {
                if let k = m.keyPosition {
                    throw DataPortError(.reconciliation, "dataset \(m.name), field \(m.columns[k].field.name), record \(record): the row written is not found again by its key (the target changed it); the import was rolled back")
                }
                r.importedChecksum.remove(digest: bundleDigest)
                problems.append((record, nil, "the target changed the row after it was written"))
                return
            }
            let values = try m.columns.enumerated().map { j, c in try row.cell(j).value(of: c.field, in: m.name, at: "table \(m.table)") }
            let d = digester.digest(m.digestOrder.lazy.map { values[$0] })
            guard d != bundleDigest else { return }
            r.importedChecksum.remove(digest: bundleDigest)
            // A keyless row stored otherwise leaves its record out, as `RecordUpsert` does.
            if m.keyPosition != nil { r.importedChecksum.add(digest: d) }
            problems.append((record, column.map { m.columns[$0].field.name }, changed))
        }
        for p in problems.sorted(by: { $0.record < $1.record }) { r.disagree(record: p.record, field: p.field, p.reason) }
    }
}
