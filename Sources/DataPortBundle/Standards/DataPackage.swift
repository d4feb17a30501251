import DataPortIO
import DataPortModel

/// `datapackage.json`: a Frictionless Data Package describing every CSV data file as a tabular
/// resource with a Table Schema (field types, primary key, foreign keys), so tools that speak the
/// standard load the CSV files. See formats/datapackage.md.
public enum DataPackage {
    public static let fileName = "datapackage.json"

    static func type(_ t: FieldType) -> [JSONValue.Member] {
        switch t {
        case .string: [.init("type", .string("string"))]
        case .integer: [.init("type", .string("integer"))]
        case .decimal: [.init("type", .string("number"))]
        case .boolean: [.init("type", .string("boolean")), .init("trueValues", .array([.string("true")])), .init("falseValues", .array([.string("false")]))]
        case .timestamp: [.init("type", .string("datetime")), .init("format", .string("any"))]
        case .date: [.init("type", .string("date"))]
        case .binary: [.init("type", .string("string")), .init("format", .string("binary"))]
        }
    }

    /// The descriptor, or `nil` when the bundle has no CSV files.
    public static func descriptor(_ m: Manifest) -> JSONValue? {
        let csv = m.datasets.compactMap { d in d.files.first { $0.format == "csv" }.map { (d, $0) } }
        guard !csv.isEmpty else { return nil }
        let present = Set(csv.map { $0.0.dataset.name })
        let resources: [JSONValue] = csv.map { d, file in
            let ds = d.dataset
            var schema: [JSONValue.Member] = [
                .init("fields", .array(ds.fields.map { f in
                    .object([.init("name", .string(f.name))] + type(f.type) + (f.description.map { [.init("description", .string($0))] } ?? []))
                })),
                .init("missingValues", .array([.string("")])),
            ]
            if let key = ds.key { schema.append(.init("primaryKey", .array([.string(key)]))) }
            let fks = ds.references.filter { present.contains($0.dataset) }
            if !fks.isEmpty {
                schema.append(.init("foreignKeys", .array(fks.map { fk in
                    .object(["fields": .array([.string(fk.field)]),
                             "reference": .object(["resource": .string(fk.dataset), "fields": .array([.string(fk.key)])])])
                })))
            }
            // A file written with --csv-formula-guard says so, and how to undo it (formats/csv.md).
            let guarded = file.encoding["formulaEscape"] == "apostrophe"
            let note = guarded ? " String values starting with = + - @ TAB CR NUL or ' carry one added leading ' (formulaEscape: apostrophe); remove it to get the data." : ""
            let resource = JSONValue.object([
                "name": .string(ds.name), "title": .string(ds.title), "description": .string(ds.description + note),
                "path": .string(file.path), "profile": .string("tabular-data-resource"), "format": .string("csv"),
                "mediatype": .string("text/csv"), "encoding": .string("utf-8"), "bytes": .integer(file.size),
                "hash": .string("sha256:\(file.sha256)"),
                "dialect": .object(["delimiter": .string(","), "lineTerminator": .string("\r\n"), "quoteChar": .string("\""),
                                    "doubleQuote": .bool(true), "header": .bool(true)]),
                "schema": .object(schema),
            ])
            guard guarded, case .object(let members) = resource else { return resource }
            return .object(members + [.init("formulaEscape", .string("apostrophe"))])
        }
        return .object([
            "profile": .string("tabular-data-package"),
            "name": .string("dataport-personal-data"),
            "title": .string("Personal data held by \(m.controller.name)"),
            "created": .string(m.generatedAt.text),
            "contributors": .array([.object(["title": .string(m.controller.name), "email": .string(m.controller.contact), "role": .string("publisher")])]),
            "resources": .array(resources),
        ])
    }
}
