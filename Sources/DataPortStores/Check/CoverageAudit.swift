import DataPortIO
import DataPortModel
import Foundation

/// The outcome of `dataport audit`: where the subject's identity values occur outside what the
/// config covers. Names and counts only, never a value.
public struct AuditReport: Sendable {
    public struct Finding: Sendable, Hashable {
        public var store: String
        public var type: String
        public var object: String
        public var column: String
        public var kind: IdentityKind
        public var rows: Int
    }
    public struct Searched: Sendable, Hashable {
        public var store: String
        public var object: String
        /// The text-like columns searched (a file's columns are found while it is read: 0).
        public var columns: Int
    }
    public struct Skipped: Sendable, Hashable {
        public var store: String
        public var object: String
        /// Why it could not be searched (a malformed file, invalid UTF-8): position, no value.
        public var reason: String
    }
    /// The subject's resolved identities, counted by kind.
    public var identities: [IdentityKind: Int]
    public var searched: [Searched]
    public var found: [Finding]
    public var skipped: [Skipped]
    /// Tables and files the config covers (never searched), by store.
    public var covered: Int
    /// Nothing found and nothing left unsearched.
    public var complete: Bool { found.isEmpty && skipped.isEmpty }
}

/// `dataport audit`: resolves the subject's identities as `export` does (`Gathering`), then asks
/// every store's introspector for the tables and files its datasets do not cover (`Coverage`) and
/// searches their text-like columns for those values in normal form (`StoreIntrospector.occurrences`).
///
/// Cost: every uncovered table is read once per text column and identity kind (SQLite: a scan
/// through `dataport_norm_*`; PostgreSQL: the candidate-key expression, a scan without an
/// expression index; MySQL: a `LIKE` scan of the column per value, then the row count); every
/// uncovered file is read once. `tables` narrows the search.
public enum CoverageAudit {
    public static func run(config: StoresConfig, request: [Identity], tables: [String]? = nil,
                           registry: StoreRegistry = .standard, introspectors: IntrospectorRegistry = .standard,
                           progress: (any ProgressObserver)? = nil) throws -> AuditReport {
        let gathering = try Gathering(config: config, registry: registry, request: request)
        let subject = gathering.subjectQuery
        var identities: [IdentityKind: Int] = [:]
        for id in gathering.identities { identities[id.kind, default: 0] += 1 }
        gathering.close()

        let counter = ProgressCounter(phase: "audit", observer: progress)
        var report = AuditReport(identities: identities, searched: [], found: [], skipped: [], covered: 0)
        var used = Set<Int>()
        var places = Set<String>()
        for store in config.stores {
            // Stores over one place are searched once, and cover it together.
            let place = Coverage.place(of: store)
            guard places.insert(place).inserted, let i = try introspectors.introspector(for: store) else { continue }
            defer { i.close() }
            let coverage = Coverage(stores: config.stores.filter { Coverage.place(of: $0) == place }, canonical: { i.canonical($0) })
            for (n, object) in try i.objects().enumerated() {
                // A file name with an @ may be someone's address (`export-ana@example.com.csv`): not shown.
                let shown = object.name.contains("@") ? "(file \(n + 1) of the folder, name withheld)" : object.name
                if coverage.covers(object.name) { report.covered += 1; continue }
                if let tables {
                    guard let n = tables.firstIndex(where: { $0 == object.name || $0 == "\(store.name).\(object.name)" }) else { continue }
                    used.insert(n)
                }
                let isFile = ["csv", "jsonl", "accesslog"].contains(store.type)
                let textColumns = object.columns.filter(\.isText).count
                guard isFile || textColumns > 0 else { continue }
                counter.begin("\(store.name).\(shown)")
                do {
                    let found = try i.occurrences(in: object, of: subject)
                    report.found += found.map { .init(store: store.name, type: store.type, object: shown, column: $0.column, kind: $0.kind, rows: $0.rows) }
                    report.searched.append(.init(store: store.name, object: shown, columns: textColumns))
                } catch let e as DataPortError where e.kind == .store || (isFile && (e.kind == .invalidConfig || e.kind == .limitExceeded)) {
                    // A file that is not what its name says (a ragged CSV, a JSON line that does not
                    // parse), a column holding bytes that are not UTF-8: listed as not searched
                    // (the search is then incomplete), the others still are.
                    report.skipped.append(.init(store: store.name, object: shown, reason: e.message.replacingOccurrences(of: object.name, with: shown)))
                }
                counter.record()
            }
        }
        counter.finish()
        if let tables, let unused = tables.indices.first(where: { !used.contains($0) }) {
            throw DataPortError(.usage, "--tables entry number \(unused + 1) names no table or file the config does not cover")
        }
        return report
    }
}
