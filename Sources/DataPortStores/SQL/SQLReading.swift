import DataPortModel

/// The reading every SQL connector shares once its wrapper has run a query: datasets probed, cells
/// typed by the config into records, cells as identity text. Each connector passes how it runs a
/// query on its own connection (`run`), so every C pointer stays in that library's wrapper file.
extension SQLQueryBuilder {
    /// Prepares every dataset's probe; a table or column the server does not know (the wrapper's
    /// `invalidConfig`) fails naming the dataset and its source, any other failure as it is.
    func validate(_ config: StoreConfig, prepare: (String) throws -> Void) throws {
        for d in config.datasets {
            do {
                try prepare(probe(d))
            } catch let e as DataPortError where e.kind == .invalidConfig {
                throw DataPortError(.invalidConfig, "dataset \(d.name) (\(d.source.label)): \(e.message)", at: "store \(config.name)", code: e.code)
            }
        }
    }

    /// The distinct values of `field` in the subject's rows of `dataset`, as identity text: by
    /// default `StoreCell.identityText` (NULL skipped, bytes that are not UTF-8 an error); a store
    /// whose cells need another reading passes `text`.
    func distinctValues<Row: SQLRow>(of field: String, in dataset: DatasetConfig, for subject: SubjectQuery, limit: Int,
                                     store: String, text: ((StoreCell) throws -> String?)? = nil,
                                     run: (SQLQuery, (Row) throws -> Void) throws -> Void) throws -> [String] {
        let q = selectDistinct(field, in: dataset, for: subject, limit: limit)
        var out: [String] = []
        try run(q) { row in
            let cell = row.cell(0)
            let t = if let text { try text(cell) } else { try cell.identityText(field: field, in: dataset.name, at: "store \(store)") }
            if let t { out.append(t) }
        }
        return out
    }

    /// Reads the subject's rows of `dataset`, each typed by the config into a record for `body`;
    /// returns how many. A cell that does not fit its field fails naming the record's number.
    func read<Row: SQLRow>(_ dataset: DatasetConfig, for subject: SubjectQuery, store: String,
                           run: (SQLQuery, (Row) throws -> Void) throws -> Void,
                           into body: (Record) throws -> Void) throws -> Int {
        let q = selectRows(dataset, for: subject)
        let fields = dataset.exportedFields
        // The types alone, read per cell: iterating the fields would copy each `FieldConfig` (and
        // retain its strings) for every cell of every row.
        let types = fields.map(\.type)
        var count = 0
        // `body` is called only while `run` runs; Swift cannot see that through two closures.
        try withoutActuallyEscaping(body) { body in
            try run(q) { row in
                var values: [Value] = []
                values.reserveCapacity(types.count)
                for i in types.indices {
                    // A cell that does not fit is read again as a cell, for the one error every store gives.
                    guard let v = row.value(i, as: types[i]) else {
                        values.append(try row.cell(i).value(of: fields[i], in: dataset.name, at: "store \(store), record \(count + 1)"))
                        continue
                    }
                    values.append(v)
                }
                try body(Record(values))
                count += 1
            }
        }
        return count
    }
}
