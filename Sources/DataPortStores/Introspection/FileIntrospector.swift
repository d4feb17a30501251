import DataPortIO
import DataPortModel
import Foundation

/// `StoreIntrospector` for the file stores (csv, jsonl, accesslog): the files of the store's folder
/// (its top level and the folders of configured files) whose names end in `.csv`, `.tsv`, `.jsonl`,
/// `.ndjson` or `.log` (rotated logs `.log.1` too; compressed files are not read). Files have no
/// indexes and no constraints, so `check` cannot tell uniqueness or scans. `occurrences` reads a
/// file once: a CSV file by header column, a JSON Lines file by top-level key, any other file
/// (logs) by line, a line counting when one of its tokens (text between blanks, quotes, brackets,
/// `=`, `,`, `;`, `<`, `>`) is one of the subject's values in normal form. Symbolic links, FIFOs
/// and other non-regular files are never opened (as for datasets).
public final class FileIntrospector: StoreIntrospector {
    private let config: StoreConfig
    private let folder: String
    private let delimiter: UInt8

    public init(config: StoreConfig) throws {
        self.config = config
        let options = try StoreOptionValues(config, StoreRegistry.standard.options[config.type] ?? [])
        folder = try options.requiredPath("path")
        delimiter = options.text("delimiter").flatMap(StoreOption.delimiter) ?? UInt8(ascii: ",")
    }

    static func isSearchable(_ name: String) -> Bool {
        let n = name.lowercased()
        if n.hasSuffix(".gz") || n.hasSuffix(".zip") || n.hasSuffix(".bz2") || n.hasSuffix(".xz") || n.hasSuffix(".zst") { return false }
        return [".csv", ".tsv", ".jsonl", ".ndjson", ".log"].contains { n.hasSuffix($0) } || n.contains(".log.")
    }

    public func objects() throws -> [StoreObject] {
        var folders = [""]
        for d in config.datasets {
            if case .file(let f) = d.source, f.contains("/") {
                let dir = f.split(separator: "/").dropLast().joined(separator: "/")
                if !folders.contains(dir) { folders.append(dir) }
            }
        }
        var out: [StoreObject] = []
        for sub in folders {
            let path = sub.isEmpty ? folder : folder + "/" + sub
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { continue }
            for name in names.sorted() where Self.isSearchable(name) && !name.hasPrefix(".") {
                var st = stat()
                guard lstat(path + "/" + name, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
                out.append(StoreObject(name: sub.isEmpty ? name : sub + "/" + name, columns: []))
            }
        }
        return out
    }

    /// A header or key as a column name in a report: only when it looks like a name (a file
    /// without a header row has data in its first line, which must not be shown).
    static func columnLabel(_ text: String, position: Int) -> String {
        let ok = !text.isEmpty && text.utf8.count <= 64 && !text.contains("@") &&
            text.unicodeScalars.allSatisfy { ($0.isASCII && (CharacterSet.alphanumerics.contains($0))) || $0 == "_" || $0 == "-" || $0 == " " || $0 == "." } &&
            text.unicodeScalars.first.map { CharacterSet.letters.contains($0) || $0 == "_" } == true
        return ok ? text : "column \(position)"
    }

    public func occurrences(in object: StoreObject, of subject: SubjectQuery) throws -> [Occurrence] {
        // The subject's values by kind, in the form file connectors compare (`SubjectRowFilter`).
        let wanted: [(IdentityKind, IdentityForm, Set<String>)] = subject.identities.keys.sorted().compactMap { k in
            let form = subject.form(k)
            let values = Set(subject.values(k).compactMap { SubjectRowFilter.key($0, form: form, type: .string) })
            return values.isEmpty ? nil : (k, form, values)
        }
        guard !wanted.isEmpty else { return [] }
        let fd = try FileStore.openRegularFile(object.name, in: folder, dataset: "audit", store: config.name)
        let input = InputBuffer(FileSource(adopting: fd, path: folder + "/" + object.name))
        let name = "store \(config.name): \(object.name)"
        var counts: [String: [IdentityKind: Int]] = [:]
        var order: [String] = []
        func kinds(of text: String) -> [IdentityKind] {
            wanted.compactMap { k, form, values in
                SubjectRowFilter.key(text, form: form, type: .string).map { values.contains($0) ? k : nil } ?? nil
            }
        }
        func count(_ column: String, _ found: Set<IdentityKind>) {
            guard !found.isEmpty else { return }
            if counts[column] == nil { order.append(column) }
            for k in found { counts[column, default: [:]][k, default: 0] += 1 }
        }
        let lower = object.name.lowercased()
        if lower.hasSuffix(".csv") || lower.hasSuffix(".tsv") {
            let d = lower.hasSuffix(".tsv") ? UInt8(ascii: "\t") : delimiter
            let parser = try CSVParser(input, name: name, options: CSVParser.Options(delimiter: d, allowsByteOrderMark: true), errorKind: .store)
            let header = try parser.readHeader().enumerated().map { Self.columnLabel($1, position: $0 + 1) }
            while try parser.nextRecord() {
                var found: [Int: Set<IdentityKind>] = [:]
                for i in 0..<min(parser.fieldCount, header.count) where !parser.isEmpty(i) {
                    for k in kinds(of: parser.text(i)) { found[i, default: []].insert(k) }
                }
                for (i, ks) in found.sorted(by: { $0.key < $1.key }) { count(header[i], ks) }
            }
        } else {
            let json = lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson")
            var line: [UInt8] = []
            var number = 0
            while true {
                line.removeAll(keepingCapacity: true)
                let stop = try input.copy(into: &line, until: { $0 == 0x0A })
                if stop == nil && line.isEmpty { break }
                if stop != nil { _ = try input.next() }
                number += 1
                if json {
                    guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
                    let doc = try JSONValue.parse(line, name: "\(name), line \(number)", errorKind: .store)
                    guard case .object(let members) = doc else { continue }
                    var found: [String: Set<IdentityKind>] = [:]
                    for (i, m) in members.enumerated() {
                        let text: String
                        switch m.value {
                        case .string(let s): text = s
                        case .number(let n): text = n
                        default: continue
                        }
                        for k in kinds(of: text) { found[Self.columnLabel(m.key, position: i + 1), default: []].insert(k) }
                    }
                    for (c, ks) in found.sorted(by: { $0.key < $1.key }) { count(c, ks) }
                } else {
                    guard let text = String(validating: line, as: UTF8.self) else {
                        throw DataPortError(.store, "line \(number) is not valid UTF-8", at: name, code: .malformedLine)
                    }
                    var found = Set<IdentityKind>()
                    for token in text.split(whereSeparator: { " \t\r\"'[]()<>=,;".contains($0) }) {
                        for k in kinds(of: String(token)) { found.insert(k) }
                    }
                    count("line", found)
                }
                if stop == nil { break }
            }
        }
        return order.flatMap { c in
            (counts[c] ?? [:]).sorted { $0.key < $1.key }.map { Occurrence(object: object.name, column: c, kind: $0.key, rows: $0.value) }
        }
    }

    public func close() {}
}
