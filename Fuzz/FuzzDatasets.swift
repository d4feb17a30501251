// Shared by the data-file targets: the datasets a fuzz input may be read as.
import DataPortFormats
import DataPortModel

/// The first input byte picks one of these (modulo their count); the rest is the data file.
/// The first two are the sample bundle's, so the seeds exported from it are read in depth.
let fuzzDatasets: [Dataset] = {
    func dataset(_ name: String, _ fields: [(String, FieldType)]) -> Dataset {
        Dataset(name: name, category: .account, description: "fuzz", purposes: ["fuzz"], legalBasis: .contract, origin: .provided,
                source: Provenance(store: "s", connector: "sqlite", object: "t", matchedBy: ["email"]),
                fields: fields.map { Field(name: $0.0, type: $0.1) })
    }
    return [
        dataset("quotation_requests", [("id", .integer), ("user_id", .integer), ("submitted_at", .timestamp),
                                       ("service", .string), ("message", .string), ("budget", .decimal)]),
        dataset("account", [("id", .integer), ("email", .string), ("full_name", .string), ("registered_at", .timestamp),
                            ("status", .string), ("birth_date", .date)]),
        dataset("sample", [("id", .integer), ("name", .string), ("ok", .boolean), ("amount", .decimal), ("at", .timestamp),
                           ("day", .date), ("blob", .binary)]),
    ]
}()

/// Reads `data` (selector byte, then the file) with `makeReader` until it ends or fails.
func fuzzDataFile(_ data: UnsafePointer<UInt8>, _ size: Int, _ makeReader: (Dataset, [UInt8]) throws -> any RecordReader) {
    guard size > 0 else { return }
    let dataset = fuzzDatasets[Int(data[0]) % fuzzDatasets.count]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    guard let reader = try? makeReader(dataset, bytes) else { return }
    var count = 0
    while count < 1_000_000, let record = try? reader.next() {
        precondition(record.values.count == dataset.fields.count, "a record with the wrong number of values")
        count += 1
    }
}
