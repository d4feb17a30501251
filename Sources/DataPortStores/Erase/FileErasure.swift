import DataPortIO
import DataPortModel
import Foundation

/// Where the record a file connector is on lies in its file (a class, so a scan can set it on a
/// row it hands out).
final class RecordSpan { var range: Range<Int64> = 0..<0 }

extension FileStore {
    /// Rewrites each dataset's file with its edits, all files ready before any is replaced.
    func rewrite(_ changes: [DatasetChanges], edits: (DatasetChanges) throws -> [FileEdit]) throws {
        var rewrite = FileRewrite(folder: folder, store: name)
        do {
            // Two datasets may read the same file: their edits are one rewrite.
            var byFile: [(String, String, [FileEdit])] = []
            for c in changes where !c.rows.isEmpty {
                let e = try edits(c)
                if let i = byFile.firstIndex(where: { $0.0 == label(c.dataset) }) { byFile[i].2 += e } else { byFile.append((label(c.dataset), c.dataset.name, e)) }
            }
            for (file, dataset, edits) in byFile {
                var sorted = edits.sorted { $0.range.lowerBound < $1.range.lowerBound }
                // The same line changed for two datasets: the first change wins if it deletes.
                var kept: [FileEdit] = []
                for e in sorted where kept.last.map({ $0.range.upperBound <= e.range.lowerBound }) ?? true { kept.append(e) }
                sorted = kept
                try rewrite.prepare(file, dataset: dataset, edits: sorted)
            }
            try rewrite.install()
        } catch {
            rewrite.discard()
            throw error
        }
    }
}

/// A masked value as the text a file holds (`nil`: empty / NULL).
private func maskText(_ v: Value) -> String? { v.canonicalText }

extension CSVFileConnector: ErasableConnector {
    public func erase(_ changes: [DatasetChanges], subject: SubjectQuery, store name: String) throws {
        try store.rewrite(changes) { c in
            return try edits(c, subject: subject, span: { $0.span.range }) { file, planned in
                let masks = planned.masks
                // Header columns of the masked fields, and what each becomes.
                let columns = Dictionary(masks.compactMap { m in
                    c.dataset.fields.firstIndex { $0.name == m.field }.map { (file.columns[$0], m.value) }
                }, uniquingKeysWith: { a, _ in a })
                let delimiter = self.delimiter
                let location = store.location(c.dataset)
                return { bytes in
                    let (body, end) = splitLineEnd(bytes)
                    let parser = try CSVParser(InputBuffer(MemorySource(Array(body))), name: location,
                                               options: CSVParser.Options(delimiter: delimiter, allowsByteOrderMark: false), errorKind: .store)
                    guard try parser.nextRecord() else { return bytes }
                    var out: [UInt8] = []
                    for i in 0..<parser.fieldCount {
                        if i > 0 { out.append(delimiter) }
                        let quoted: Bool, text: String
                        if let v = columns[i] {
                            guard let t = maskText(v) else { continue }
                            text = t
                            quoted = t.isEmpty || t.utf8.contains { $0 == delimiter || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
                        } else {
                            text = parser.text(i)
                            quoted = parser.isQuoted(i)
                        }
                        if quoted {
                            out.append(0x22)
                            for b in text.utf8 { out.append(b); if b == 0x22 { out.append(0x22) } }
                            out.append(0x22)
                        } else {
                            out += text.utf8
                        }
                    }
                    return out + end
                }
            }
        }
    }
}

extension JSONLinesConnector: ErasableConnector {
    public func erase(_ changes: [DatasetChanges], subject: SubjectQuery, store name: String) throws {
        try store.rewrite(changes) { c in
            let location = store.location(c.dataset)
            return try edits(c, subject: subject, span: { $0.range }) { _, planned in
                let masks = planned.masks.compactMap { m in c.dataset.field(named: m.field).map { ($0.column, m.value) } }
                return { bytes in
                    let (body, end) = splitLineEnd(bytes)
                    guard case .object(var members) = try JSONValue.parse(Array(body), name: location, errorKind: .store) else { return bytes }
                    for (column, value) in masks {
                        let json = Self.json(value)
                        if let i = members.firstIndex(where: { $0.key == column }) { members[i].value = json } else { members.append(.init(column, json)) }
                    }
                    return Array(JSONValue.object(members).serialized(pretty: false).utf8) + end
                }
            }
        }
    }

    /// A masking value as JSON, the way `cell` reads it back.
    static func json(_ v: Value) -> JSONValue {
        switch v {
        case .null: .null
        case .integer(let i): .number(String(i))
        case .decimal(let d): .number(d.text)
        case .boolean(let b): .bool(b)
        default: v.canonicalText.map(JSONValue.string) ?? .null
        }
    }
}
