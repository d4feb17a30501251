import DataPortIO
import DataPortModel
import Foundation

/// XML data files: one `<dp:dataset>` per dataset in the namespace `urn:dataport:dataset:1`, holding
/// its field list and one `<record>` per record with one element per field. Specified in
/// `formats/xml.md`, `formats/dataport-dataset.xsd` and, per dataset, the bundle's `schemas/xml/<dataset>.xsd`.
///
/// Written and read with libxml2, streaming. The reader refuses any DTD, never substitutes entities
/// or loads external resources, and accepts only the documented structure.
public struct XMLFormat: FormatAdapter {
    public init() {}
    public var name: String { "xml" }
    public var fileExtension: String { "xml" }
    public var mediaType: String { "application/xml" }
    public var summary: String { "XML 1.0 (namespace urn:dataport:dataset:1): one element per field, typed by the published XSD" }
    public var schemaFiles: [SchemaFile] {
        [SchemaFile(name: "dataport-value-types.xsd", contents: PublishedSchemas.xmlValueTypes),
         SchemaFile(name: "dataport-dataset.xsd", contents: PublishedSchemas.xmlDataset)]
    }

    public func schemaFile(for dataset: Dataset) -> SchemaFile? {
        SchemaFile(name: XMLDatasetSchema.name(of: dataset), contents: XMLDatasetSchema.text(for: dataset))
    }

    /// The namespace of the root element and of the `xsi:type` value types.
    public static let namespace = "urn:dataport:dataset:1"
    /// The XML Schema instance namespace (`xsi:type`, `xsi:nil`).
    public static let schemaInstanceNamespace = "http://www.w3.org/2001/XMLSchema-instance"
    /// The version of the XML data file layout; readers accept the same major version. 1.1 drops
    /// the `xsi:type` of every value (1.0 had it; readers take it when present): the per-dataset
    /// schema types each field, and files are a third smaller.
    public static let version = "1.1"
    /// The largest character data of one value, in UTF-8 bytes: libxml2's own text-node limit without
    /// `XML_PARSE_HUGE`. The writer refuses larger values, so it never writes a file the reader refuses.
    public static let maxValueBytes = 10_000_000

    public func makeWriter(for dataset: Dataset, to sink: any ByteSink) throws -> any RecordWriter {
        try XMLRecordWriter(dataset: dataset, sink: sink)
    }

    public func makeReader(for dataset: Dataset, from source: any ByteSource) throws -> any RecordReader {
        try XMLRecordReader(dataset: dataset, source: source)
    }

    /// How a string is written as character data.
    enum TextForm {
        /// As it is: nothing in it needs escaping.
        case plain
        /// Escaped by libxml2: it holds `&`, `<`, `>`, `"` or CR (written as the reference `&#13;`,
        /// which XML's line-end normalisation leaves alone).
        case escaped
        /// Base64 (`encoding="base64"`): it holds a character XML 1.0 cannot carry (U+0000..U+001F
        /// other than tab, LF and CR; U+FFFE; U+FFFF).
        case base64
    }

    /// The form a string takes, found in one pass over its UTF-8.
    static func form(of s: String) -> TextForm {
        return s.withUTF8Bytes { p in
            var prev1: UInt8 = 0, prev2: UInt8 = 0
            var escape = false
            for b in p {
                if b < 0x20 {
                    if b != 0x09 && b != 0x0A && b != 0x0D { return .base64 }
                    if b == 0x0D { escape = true }
                } else if b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 {
                    escape = true
                } else if (b == 0xBE || b == 0xBF) && prev1 == 0xBF && prev2 == 0xEF {
                    return .base64  // EF BF BE / EF BF BF: U+FFFE / U+FFFF
                }
                prev2 = prev1; prev1 = b
            }
            return escape ? .escaped : .plain
        }
    }

}

final class XMLRecordWriter: RecordWriter {
    private let xml: XMLNodeWriter
    private let dataset: Dataset
    /// Per field: `<name>`, `</name>`, and the empty element for NULL, as ranges of `tags.bytes`.
    private let tags: ByteSlices
    private let openTags: [Range<Int>], closeTags: [Range<Int>], nullTags: [Range<Int>]
    private let types: [FieldType]
    /// Records laid out here and handed to libxml2 in large raw writes; a value that needs escaping
    /// or base64 goes through libxml2's own calls after what is pending. (One thread writes.)
    @exclusivity(unchecked) private var pending: [UInt8] = []
    private var count = 0

    init(dataset: Dataset, sink: any ByteSink) throws {
        self.dataset = dataset
        xml = try XMLNodeWriter(sink: sink)
        var tags = ByteSlices()
        openTags = dataset.fields.map { tags.add("<\($0.name)>") }
        closeTags = dataset.fields.map { tags.add("</\($0.name)>") }
        nullTags = dataset.fields.map { tags.add("<\($0.name) xsi:nil=\"true\"/>") }
        self.tags = tags
        types = dataset.fields.map(\.type)
        pending.reserveCapacity(1 << 16)
        try xml.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        try xml.startElement("dp:dataset")
        try xml.attribute("xmlns:dp", XMLFormat.namespace)
        try xml.attribute("xmlns:xsi", XMLFormat.schemaInstanceNamespace)
        // Where the bundle keeps this file's own schema, for XML editors and validators.
        try xml.attribute("xsi:schemaLocation", "\(XMLFormat.namespace) ../../schemas/\(XMLDatasetSchema.name(of: dataset))")
        try xml.attribute("name", dataset.name)
        try xml.attribute("version", XMLFormat.version)
        try xml.raw("\n  ")
        try xml.startElement("fields")
        for field in dataset.fields {
            try xml.raw("\n    ")
            try xml.startElement("field")
            try xml.attribute("name", field.name)
            try xml.attribute("type", field.type.rawValue)
            try xml.endElement()
        }
        try xml.raw("\n  ")
        try xml.fullEndElement()
        try xml.raw("\n  ")
        try xml.startElement("records")
    }

    private func flushPending() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try xml.raw(bytes: $0) }
        pending.removeAll(keepingCapacity: true)
    }

    func write(_ record: Record) throws {
        let fields = dataset.fields
        guard record.values.count == fields.count else {
            throw DataPortError(.internal, "record has \(record.values.count) values for \(fields.count) fields", at: "\(dataset.name).xml")
        }
        pending.appendLiteral("\n    <record>")
        let types = types, openTags = openTags, closeTags = closeTags, nullTags = nullTags
        // Tags sliced from one buffer and values read from the record's buffer: no array per tag.
        // The switch still copies each value, a retain per string (perf; README, fifth session).
        try record.values.withUnsafeBufferPointer { values in
            try self.tags.bytes.withUnsafeBufferPointer { tags in
                for i in values.indices {
                    let open = UnsafeBufferPointer(rebasing: tags[openTags[i]]), close = UnsafeBufferPointer(rebasing: tags[closeTags[i]])
                    // Element tags are fixed per field: written as prepared bytes; text that needs
                    // escaping is escaped by libxml2.
                    switch values[i] {
                    case .null:
                        pending.append(contentsOf: UnsafeBufferPointer(rebasing: tags[nullTags[i]]))
                    case .string(let s):
                        guard types[i] == .string else { throw mismatch(values[i], fields[i]) }
                        switch XMLFormat.form(of: s) {
                        case .plain:
                            try checkSize(s, fields[i])
                            pending.append(contentsOf: open)
                            pending.append(contentsOf: s.utf8)
                            pending.append(contentsOf: close)
                        case .escaped:
                            try checkSize(s, fields[i])
                            pending.append(contentsOf: open)
                            try flushPending()
                            try xml.text(s)
                            pending.append(contentsOf: close)
                        case .base64:
                            try flushPending()
                            let encoded = Data(s.utf8).base64EncodedString()
                            try checkSize(encoded, fields[i])
                            try xml.startElement(fields[i].name)
                            try xml.attribute("encoding", "base64")
                            try xml.text(encoded)
                            try xml.fullEndElement()
                        }
                    case .integer(let n):
                        guard types[i] == .integer else { throw mismatch(values[i], fields[i]) }
                        pending.append(contentsOf: open)
                        DecimalDigits.append(n, to: &pending)
                        pending.append(contentsOf: close)
                    case .timestamp(let t):
                        guard types[i] == .timestamp else { throw mismatch(values[i], fields[i]) }
                        pending.append(contentsOf: open)
                        t.withCanonicalBytes { pending.append(contentsOf: $0) }
                        pending.append(contentsOf: close)
                    default:
                        // Canonical texts of the other types (digits, signs, ISO dates, base64) need no escaping.
                        guard values[i].type == types[i], let text = values[i].canonicalText else { throw mismatch(values[i], fields[i]) }
                        try checkSize(text, fields[i])
                        pending.append(contentsOf: open)
                        pending.append(contentsOf: text.utf8)
                        pending.append(contentsOf: close)
                    }
                }
            }
        }
        pending.appendLiteral("</record>")
        if pending.count >= 1 << 15 { try flushPending() }
        count += 1
    }

    private func checkSize(_ text: String, _ field: Field) throws {
        guard text.utf8.count <= XMLFormat.maxValueBytes else {
            throw DataPortError(.limitExceeded, "a value of field \(field.name) is larger than the XML format's limit of \(XMLFormat.maxValueBytes) bytes",
                                at: "\(dataset.name).xml, record \(count + 1)", code: .valueTooLarge)
        }
    }

    private func mismatch(_ value: Value, _ field: Field) -> DataPortError {
        DataPortError(.internal, "a \(value.type?.rawValue ?? "null") value in field \(field.name) of type \(field.type.rawValue)",
                      at: "\(dataset.name).xml, record \(count + 1)", code: .valueTooLarge)
    }

    func finish() throws {
        try flushPending()
        try xml.raw("\n  ")
        try xml.fullEndElement()  // records
        try xml.raw("\n")
        try xml.fullEndElement()  // dataset
        try xml.raw("\n")
        try xml.flush(close: true)
    }
}

final class XMLRecordReader: RecordReader {
    private let xml: XMLNodeReader
    private let dataset: Dataset
    private let file: String
    private var done = false

    init(dataset: Dataset, source: any ByteSource) throws {
        self.dataset = dataset
        file = "\(dataset.name).xml"
        xml = try XMLNodeReader(source: source, documentName: file)
        try readHeader()
    }

    private func fail(_ message: String, line: Int? = nil) -> DataPortError {
        DataPortError(.invalidBundle, message, at: "\(file), line \(line ?? xml.line)")
    }

    /// A name from the document safe to quote in a message (names are not personal data; junk is not quoted).
    private func quoted(_ name: String) -> String {
        Dataset.isValidName(name) ? "<\(name)>" : "an element"
    }

    /// The next element or end-element node (see `XMLNodeReader.nextStructural()`).
    private func nextStructural() throws -> XMLNodeKind? { try xml.nextStructural() }

    /// Moves to the next element, which must be the unqualified `name`.
    private func expectElement(_ name: String, after: String) throws {
        guard try nextStructural() == .element, xml.namespace == nil, xml.localName == name else {
            throw fail("expected <\(name)> after \(after)")
        }
    }

    private func readHeader() throws {
        guard try nextStructural() == .element else { throw fail("expected the <dataset> element") }
        guard xml.localName == "dataset", xml.namespace == XMLFormat.namespace else {
            throw fail("not a DataPort XML dataset file: the root must be <dataset> in namespace \(XMLFormat.namespace)")
        }
        var name: String?, version: String?
        for a in xml.attributes() {
            switch (a.namespace, a.localName) {
            case (nil, "name"): name = a.value
            case (nil, "version"): version = a.value
            case (XMLFormat.schemaInstanceNamespace?, "schemaLocation"): break
            default: throw fail("unexpected attribute \(Dataset.isValidName(a.localName) ? a.localName : "") on <dataset>")
            }
        }
        guard let version else { throw fail("<dataset> has no version") }
        guard version.split(separator: ".", omittingEmptySubsequences: false).first == XMLFormat.version.split(separator: ".").first else {
            throw fail("unsupported XML data file version \(version.prefix(20))")
        }
        guard name == dataset.name else { throw fail("dataset name differs from the manifest") }
        guard !xml.isEmptyElement else { throw fail("expected <fields> in <dataset>") }

        try expectElement("fields", after: "<dataset>")
        var fields: [Field] = []
        if !xml.isEmptyElement {
            while let kind = try nextStructural(), kind == .element {
                guard xml.namespace == nil, xml.localName == "field" else { throw fail("expected <field> in <fields>") }
                var fieldName: String?, fieldType: FieldType?
                for a in xml.attributes() {
                    switch (a.namespace, a.localName) {
                    case (nil, "name"): fieldName = a.value
                    case (nil, "type"): fieldType = FieldType(rawValue: a.value)
                    default: throw fail("unexpected attribute on <field>")
                    }
                }
                guard let fieldName, let fieldType else { throw fail("<field> needs a name and a known type") }
                fields.append(Field(name: fieldName, type: fieldType))
                if !xml.isEmptyElement {
                    guard try nextStructural() == .endElement else { throw fail("<field> must be empty") }
                }
            }
        }
        let expected = dataset.fields.map { Field(name: $0.name, type: $0.type) }
        guard fields == expected else { throw fail("fields differ from the manifest") }

        try expectElement("records", after: "</fields>")
        if xml.isEmptyElement { try finishDocument() }
    }

    /// After `</records>`: the end of `<dataset>`, then nothing but comments and whitespace.
    private func finishDocument() throws {
        guard try nextStructural() == .endElement else { throw fail("unexpected element after <records>") }
        guard try nextStructural() == nil else { throw fail("unexpected content after </dataset>") }
        done = true
    }

    func next() throws -> Record? {
        if done { return nil }
        switch try nextStructural() {
        case .endElement?:
            try finishDocument()
            return nil
        case .element?:
            guard xml.namespace == nil, xml.localName == "record" else { throw fail("expected <record> in <records>, found \(quoted(xml.localName))") }
        default:
            throw fail("the document ends inside <records>")
        }
        let fields = dataset.fields
        if xml.isEmptyElement {
            guard fields.isEmpty else { throw fail("record is missing field \(fields[0].name)") }
            return Record([])
        }
        var values: [Value] = []
        values.reserveCapacity(fields.count)
        for field in fields {
            guard try nextStructural() == .element else { throw fail("record is missing field \(field.name)") }
            guard xml.namespace == nil, xml.localName == field.name else {
                let found = xml.localName
                if xml.namespace == nil, dataset.index(of: found) != nil {
                    throw fail("field \(found) out of order: expected \(field.name)")
                }
                throw fail("unknown field \(quoted(found)) in a record: expected \(field.name)")
            }
            values.append(try readValue(field))
        }
        guard try nextStructural() == .endElement else {
            throw fail("unknown field \(quoted(xml.localName)) in a record: it has more elements than fields")
        }
        return Record(values)
    }

    private func readValue(_ field: Field) throws -> Value {
        let line = xml.line
        var isNil = false, base64 = false
        var xsiType: (namespace: String?, localName: Substring)?
        for a in xml.attributes() {
            switch (a.namespace, a.localName) {
            case (XMLFormat.schemaInstanceNamespace?, "nil"):
                switch a.value.trimmingCharacters(in: .whitespaces) {
                case "true", "1": isNil = true
                case "false", "0": isNil = false
                default: throw fail("xsi:nil of field \(field.name) must be true or false", line: line)
                }
            case (XMLFormat.schemaInstanceNamespace?, "type"):
                let qname = a.value.trimmingCharacters(in: .whitespaces)
                if let colon = qname.firstIndex(of: ":") {
                    xsiType = (xml.namespace(forPrefix: String(qname[..<colon])), qname[qname.index(after: colon)...])
                } else {
                    xsiType = (xml.namespace(forPrefix: nil), qname[...])
                }
            case (nil, "encoding"):
                guard a.value == "base64" else { throw fail("unknown encoding on field \(field.name)", line: line) }
                base64 = true
            default:
                throw fail("unexpected attribute on field \(field.name)", line: line)
            }
        }
        var text = ""
        if !xml.isEmptyElement {
            reading: while try xml.read() {
                switch xml.kind {
                case .text:
                    text += xml.text
                    guard text.utf8.count <= XMLFormat.maxValueBytes else {
                        throw DataPortError(.limitExceeded, "a value of field \(field.name) is larger than the XML format's limit of \(XMLFormat.maxValueBytes) bytes",
                                            at: "\(file), line \(line)", code: .valueTooLarge)
                    }
                case .ignorable: continue
                case .endElement: break reading
                case .element: throw fail("field \(field.name) must not contain elements")
                case .documentType, .entityReference, .other: throw fail("unexpected XML node in field \(field.name)")
                }
            }
        }
        let expectedType = isNil ? "null" : base64 ? "base64String" : field.type.rawValue
        if let xsiType, xsiType.namespace != XMLFormat.namespace || xsiType.localName != expectedType {
            throw fail("xsi:type of field \(field.name) does not match its type \(expectedType)", line: line)
        }
        if isNil {
            guard text.isEmpty, !base64 else { throw fail("field \(field.name) is nil but has content", line: line) }
            return .null
        }
        if base64 {
            guard field.type == .string else { throw fail("encoding=\"base64\" is only for string fields (\(field.name))", line: line) }
            guard let data = Data(base64Encoded: text), let s = String(validating: [UInt8](data), as: UTF8.self) else {
                throw fail("field \(field.name) is not valid base64 of UTF-8 text", line: line)
            }
            return .string(s)
        }
        guard let value = Value.parse(canonical: text, as: field.type) else {
            throw fail("field \(field.name) is not a valid \(field.type.rawValue)", line: line)
        }
        return value
    }
}
