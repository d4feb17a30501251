import Foundation
import DataPort

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

    /// The `error` member of the document any failure prints (and of a failed batch line): the
    /// one place its shape is built.
    static func error(_ e: DataPortError) -> JSONValue {
        .object([
            "kind": .string(e.kind.rawValue), "code": .string(e.code.rawValue), "message": .string(e.message),
            "location": e.location.map(JSONValue.string), "exitCode": .integer(Int(ExitCode(e.kind).rawValue)),
        ])
    }

    /// `dataport check --json`.
    static func check(_ r: CheckReport) -> JSONValue {
        .object([
            "problems": .array(r.problems.map { p in
                .object(["level": .string(p.level.rawValue), "code": .string(p.code), "store": p.store.map(JSONValue.string),
                         "dataset": p.dataset.map(JSONValue.string), "field": p.field.map(JSONValue.string),
                         "message": .string(p.message), "fix": p.fix.map(JSONValue.string)])
            }),
            "errors": .integer(r.count(.error)), "warnings": .integer(r.count(.warning)), "notes": .integer(r.count(.info)),
            "stores": .array(r.stores.map { .object(["name": .string($0.name), "type": .string($0.type), "status": .string($0.status)]) }),
        ])
    }

    /// `dataport audit --json`.
    static func audit(_ r: AuditReport) -> JSONValue {
        .object([
            "identities": JSONValue.object(r.identities.sorted { $0.key < $1.key }.map { JSONValue.Member($0.key.rawValue, .integer($0.value)) }),
            "found": .array(r.found.map { f in
                .object(["store": .string(f.store), "type": .string(f.type), "object": .string(f.object), "column": .string(f.column),
                         "kind": .string(f.kind.rawValue), "rows": .integer(f.rows)])
            }),
            "searched": .array(r.searched.map { .object(["store": .string($0.store), "object": .string($0.object), "columns": .integer($0.columns)]) }),
            "skipped": .array(r.skipped.map { .object(["store": .string($0.store), "object": .string($0.object), "reason": .string($0.reason)]) }),
            "covered": .integer(r.covered),
            "complete": .bool(r.complete),
        ])
    }
}
