import DataPort
import DataPortBundle
import DataPortIO

/// The `--json` documents of commands that write a bundle (shape in `formats/cli-output.md`).
enum ResultJSON {
    static func export(_ r: ExportResult) -> JSONValue {
        let m = r.manifest
        return .object([
            "output": .string(r.output),
            "bytes": .integer(r.bytes),
            "generatedAt": .string(m.generatedAt.text),
            "scope": .string(m.scope.rawValue),
            "records": .integer(r.records),
            "stores": .array(m.stores.map { .object(["name": .string($0.name), "type": .string($0.type), "status": .string($0.status), "reason": $0.reason.map(JSONValue.string)]) }),
            "datasets": .array(m.datasets.map { d in
                .object(["name": .string(d.dataset.name), "category": .string(d.dataset.category.rawValue), "records": .integer(d.recordCount),
                         "files": .array(d.files.map { .object(["path": .string($0.path), "format": $0.format.map(JSONValue.string), "size": .integer($0.size), "sha256": .string($0.sha256)]) })])
            }),
            "excluded": .array(m.excluded.map { .object(["name": .string($0.name), "reason": .string($0.reason)]) }),
        ])
    }
}
