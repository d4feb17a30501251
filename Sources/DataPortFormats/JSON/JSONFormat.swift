import DataPortIO
import DataPortModel
import Foundation

/// JSON data files: one object per dataset holding its field list and an array of record objects,
/// one record per line. Specified in `formats/json.md` and `formats/dataport-dataset.schema.json`.
public struct JSONFormat: FormatAdapter {
    public init() {}
    public var name: String { "json" }
    public var fileExtension: String { "json" }
    public var mediaType: String { "application/json" }
    public var summary: String { "JSON (RFC 8259): one object per dataset, typed values, one record per line" }
    public var schemaFiles: [SchemaFile] { [SchemaFile(name: "dataport-dataset.schema.json", contents: PublishedSchemas.jsonDataset)] }

    /// The `format` member of every JSON data file.
    public static let formatTag = "dataport-dataset"
    /// The version of the JSON data file layout; readers accept the same major version.
    public static let version = "1.0"

    public func makeWriter(for dataset: Dataset, to sink: any ByteSink) throws -> any RecordWriter {
        try JSONRecordWriter(dataset: dataset, sink: sink)
    }

    public func makeReader(for dataset: Dataset, from source: any ByteSource) throws -> any RecordReader {
        try JSONRecordReader(dataset: dataset, source: source)
    }
}

final class JSONRecordWriter: RecordWriter {
    private let out: OutputBuffer
    private let fields: [Field]
    /// `"name":` of every field, pre-encoded: field i's is `keys.bytes[keyRanges[i]]`.
    private let keys: ByteSlices
    private let keyRanges: [Range<Int>]
    private var count = 0
    private let name: String

    init(dataset: Dataset, sink: any ByteSink) throws {
        out = OutputBuffer(sink)
        fields = dataset.fields
        name = dataset.name
        var keys = ByteSlices()
        keyRanges = dataset.fields.map { keys.add(JSONText.quoted($0.name) + ":") }
        self.keys = keys
        let header = JSONValue.object([
            "format": .string(JSONFormat.formatTag),
            "version": .string(JSONFormat.version),
            "dataset": .string(dataset.name),
            "fields": .array(dataset.fields.map { .object(["name": .string($0.name), "type": .string($0.type.rawValue)]) }),
        ]).serialized(pretty: false)
        // Open the header object again to append the records array.
        try out.text(String(header.dropLast()))
        try out.bytes(",\"records\":[")
    }

    func write(_ record: Record) throws {
        try out.bytes(count == 0 ? "\n{" : ",\n{")
        count += 1
        // Keys sliced from one buffer and values read from the record's buffer: no array per key.
        // Passing a value on still copies it, a retain per string (perf; README, fifth session).
        let ranges = keyRanges
        try record.values.withUnsafeBufferPointer { values in
            try keys.bytes.withUnsafeBufferPointer { keys in
                for i in values.indices {
                    if i > 0 { try out.byte(UInt8(ascii: ",")) }
                    try out.bytes(UnsafeBufferPointer(rebasing: keys[ranges[i]]))
                    guard try JSONValueCodec.write(values[i], to: out) else { throw tooLarge(i) }
                }
            }
        }
        try out.byte(UInt8(ascii: "}"))
    }

    /// A value readers would refuse (`ValueLimits`): refused here first, naming dataset and field.
    private func tooLarge(_ i: Int) -> DataPortError {
        DataPortError(.limitExceeded, "a value of field \(fields[i].name) is larger than the JSON and CSV limit of \(ValueLimits.maxValueBytes) bytes",
                      at: "dataset \(name), record \(count)", code: .valueTooLarge)
    }

    func finish() throws {
        try out.bytes(count == 0 ? "]}\n" : "\n]}\n")
        try out.flush()
    }
}

final class JSONRecordReader: RecordReader {
    private let reader: JSONReader
    private let dataset: Dataset
    private let fieldIndex: [String: Int]
    /// Each field's name as UTF-8, when every name is a valid, distinct field name (as a manifest's
    /// are): keys are then matched byte for byte, which for such ASCII names is exactly `String`
    /// equality, and no key becomes a `String`. `nil`: keys are read as strings.
    private let fieldNames: [[UInt8]]?
    /// Which fields the record being read has had (for duplicates, with `fieldNames`).
    @exclusivity(unchecked) private var seenField: [Bool]
    private var done = false

    init(dataset: Dataset, source: any ByteSource) throws {
        self.dataset = dataset
        reader = JSONReader(InputBuffer(source), name: "\(dataset.name).json")
        var index: [String: Int] = [:]
        for (i, f) in dataset.fields.enumerated() { index[f.name] = i }
        fieldIndex = index
        let plain = index.count == dataset.fields.count && dataset.fields.allSatisfy { Dataset.isValidName($0.name) }
        fieldNames = plain ? dataset.fields.map { Array($0.name.utf8) } : nil
        seenField = Array(repeating: false, count: dataset.fields.count)
        try readHeader()
    }

    private func expectKey(_ key: String) throws {
        guard case .key(let k) = try reader.next(), k == key else { throw reader.fail("expected member \"\(key)\"") }
    }

    private func expectString() throws -> String {
        guard case .string(let s) = try reader.next() else { throw reader.fail("expected a string") }
        return s
    }

    private func readHeader() throws {
        guard try reader.next() == .beginObject else { throw reader.fail("expected an object") }
        try expectKey("format")
        guard try expectString() == JSONFormat.formatTag else { throw reader.fail("not a DataPort dataset file") }
        try expectKey("version")
        let version = try expectString()
        guard version.split(separator: ".").first == JSONFormat.version.split(separator: ".").first else {
            throw DataPortError(.invalidBundle, "unsupported JSON data file version \(version)", at: "\(dataset.name).json", code: .unknownVersion)
        }
        try expectKey("dataset")
        guard try expectString() == dataset.name else { throw reader.fail("dataset name differs from the manifest") }
        try expectKey("fields")
        let fields = try JSONValue.parse(reader: reader)
        let expected = JSONValue.array(dataset.fields.map { .object(["name": .string($0.name), "type": .string($0.type.rawValue)]) })
        guard fields == expected else { throw reader.fail("fields differ from the manifest") }
        try expectKey("records")
        guard try reader.next() == .beginArray else { throw reader.fail("expected the records array") }
    }

    func next() throws -> Record? {
        if done { return nil }
        let first = try reader.next()
        if first == .endArray {
            guard try reader.next() == .endObject, try reader.next() == .end else { throw reader.fail("unexpected data after the records") }
            done = true
            return nil
        }
        guard first == .beginObject else { throw reader.fail("expected a record object") }
        if let fieldNames { return try record(fieldNames) }
        var values = [Value](repeating: .null, count: dataset.fields.count)
        var seen = 0
        while true {
            let e = try reader.next()
            if e == .endObject { break }
            guard case .key(let k) = e else { throw reader.fail("expected a field name") }
            // Fields come in schema order in files DataPort writes: check that first, hash only otherwise.
            let i: Int
            if seen < dataset.fields.count, dataset.fields[seen].name == k { i = seen } else {
                guard let j = fieldIndex[k] else { throw reader.fail("unknown field in a record") }
                i = j
            }
            values[i] = try JSONValueCodec.value(of: dataset.fields[i], from: try reader.next(), reader: reader)
            seen += 1
        }
        guard seen == dataset.fields.count else { throw reader.fail("record is missing fields") }
        return Record(values)
    }

    /// The members of a record object (its `{` read), keys matched against `names` as bytes.
    private func record(_ names: [[UInt8]]) throws -> Record {
        let fields = dataset.fields
        var values = [Value](repeating: .null, count: fields.count)
        for i in seenField.indices { seenField[i] = false }
        var seen = 0
        while true {
            // Fields come in schema order in files DataPort writes: check that first, search only otherwise.
            let step = try reader.nextKey(likely: seen < names.count ? names[seen] : nil) { key in
                let i: Int
                if seen < names.count, names[seen] == key { i = seen } else {
                    guard let j = names.firstIndex(of: key) else { return nil }
                    i = j
                }
                if seenField[i] { throw reader.fail("duplicate key") }
                seenField[i] = true
                return i
            }
            guard case .key(let index) = step else { break }
            guard let i = index else { throw reader.fail("unknown field in a record") }
            values[i] = try JSONValueCodec.value(of: fields[i], from: try reader.next(), reader: reader)
            seen += 1
        }
        guard seen == fields.count else { throw reader.fail("record is missing fields") }
        return Record(values)
    }
}
