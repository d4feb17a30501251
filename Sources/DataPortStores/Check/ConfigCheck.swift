import DataPortModel
import Foundation

/// One problem `dataport check` found. Names tables, columns, datasets and fields, never a value.
public struct ConfigProblem: Sendable, Hashable {
    public enum Level: String, Sendable, Comparable, CaseIterable {
        case error, warning, info
        private var rank: Int { self == .error ? 0 : self == .warning ? 1 : 2 }
        public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
    }
    public var level: Level
    /// A stable name scripts can rely on (`references.notUnique`, `secret.unmarked`, ...; listed in
    /// formats/cli-output.md).
    public var code: String
    public var store: String?
    public var dataset: String?
    public var field: String?
    public var message: String
    /// The statement that would fix it (the index for `match.scan`).
    public var fix: String?

    public init(_ level: Level, _ code: String, store: String? = nil, dataset: String? = nil, field: String? = nil, _ message: String, fix: String? = nil) {
        self.level = level; self.code = code; self.store = store; self.dataset = dataset; self.field = field
        self.message = message; self.fix = fix
    }
}

/// What the rules of a check see: the config and, for each store that could be opened, its
/// introspector and its tables or files.
public final class CheckContext {
    public let config: StoresConfig
    /// `--strict`: the advisory findings about what the person is told (Art. 15(1)) and unmarked
    /// secrets are errors.
    public let strict: Bool
    public private(set) var introspectors: [String: any StoreIntrospector] = [:]
    public private(set) var objects: [String: [StoreObject]] = [:]

    init(config: StoresConfig, strict: Bool) { self.config = config; self.strict = strict }

    /// The level of a finding that `--strict` makes an error.
    public var advisory: ConfigProblem.Level { strict ? .error : .warning }

    /// The store's introspector, when the store was opened and has one.
    public func introspector(_ store: String) -> (any StoreIntrospector)? { introspectors[store] }

    public func store(of d: DatasetConfig) -> StoreConfig? { config.stores.first { $0.name == d.store } }

    /// Whether the table of `d` is known to exist (false for a missing table: rules that ask the
    /// store about it skip it, `table.missing` already says so). Queries and files: true.
    public func tableExists(_ d: DatasetConfig) -> Bool {
        guard case .table(let t) = d.source, let objects = objects[d.store], let i = introspectors[d.store] else { return true }
        return objects.contains { $0.name == i.canonical(t) }
    }

    fileprivate func add(_ store: String, _ i: any StoreIntrospector, objects: [StoreObject]?) {
        introspectors[store] = i
        if let objects { self.objects[store] = objects }
    }

    fileprivate func closeAll() { for i in introspectors.values { i.close() }; introspectors = [:] }
}

/// One rule of `dataport check`: a small, independent test of the config (and the stores) that
/// returns its problems. To add a rule, append one to `ConfigCheck.standardRules` and document
/// its codes in formats/cli-output.md; a rule that throws is reported as `check.failed`, the
/// other rules still run.
public struct CheckRule: Sendable {
    public var name: String
    public var run: @Sendable (CheckContext) throws -> [ConfigProblem]
    public init(name: String, run: @escaping @Sendable (CheckContext) throws -> [ConfigProblem]) { self.name = name; self.run = run }
}

/// The outcome of `dataport check`.
public struct CheckReport: Sendable {
    public struct StoreState: Sendable, Hashable {
        public var name: String
        public var type: String
        /// `checked`, or `unreachable` (could not be opened: its datasets were checked against the config only).
        public var status: String
    }
    public var problems: [ConfigProblem]
    public var stores: [StoreState]
    public func count(_ level: ConfigProblem.Level) -> Int { problems.filter { $0.level == level }.count }
}

/// `dataport check`: every problem of a config and its stores in one run (never the first only).
public enum ConfigCheck {
    /// Loads the config and checks it; a config that does not load is one `config.invalid` error.
    public static func run(configPath: String, strict: Bool, registry: StoreRegistry = .standard,
                           introspectors: IntrospectorRegistry = .standard, rules: [CheckRule] = standardRules) -> CheckReport {
        do {
            let config = try StoresConfig.load(path: configPath)
            return run(config: config, strict: strict, registry: registry, introspectors: introspectors, rules: rules)
        } catch let e as DataPortError {
            return CheckReport(problems: [ConfigProblem(.error, "config.invalid", e.description)], stores: [])
        } catch {
            return CheckReport(problems: [ConfigProblem(.error, "config.invalid", "the config cannot be read")], stores: [])
        }
    }

    public static func run(config: StoresConfig, strict: Bool, registry: StoreRegistry = .standard,
                           introspectors: IntrospectorRegistry = .standard, rules: [CheckRule] = standardRules) -> CheckReport {
        let context = CheckContext(config: config, strict: strict)
        defer { context.closeAll() }
        var problems: [ConfigProblem] = []
        var stores: [CheckReport.StoreState] = []
        for s in config.stores {
            let (found, reachable) = open(s, registry: registry, introspectors: introspectors, into: context)
            problems += found
            stores.append(.init(name: s.name, type: s.type, status: reachable ? "checked" : "unreachable"))
        }
        for rule in rules {
            do { problems += try rule.run(context) } catch let e as DataPortError {
                problems.append(ConfigProblem(.error, "check.failed", "rule \(rule.name) could not finish: \(e.description)"))
            } catch {
                problems.append(ConfigProblem(.error, "check.failed", "rule \(rule.name) could not finish"))
            }
        }
        // Errors first, then by store and dataset, each rule's order kept.
        let ordered = problems.enumerated().sorted { a, b in
            (a.element.level, a.offset) < (b.element.level, b.offset)
        }.map(\.element)
        return CheckReport(problems: ordered, stores: stores)
    }

    /// Opens a store as export does, then checks its tables and columns against the store; returns
    /// the problems and whether the store could be opened.
    static func open(_ s: StoreConfig, registry: StoreRegistry, introspectors: IntrospectorRegistry,
                     into context: CheckContext) -> ([ConfigProblem], Bool) {
        var problems: [ConfigProblem] = []
        func fail(_ e: DataPortError, _ code: String) -> ConfigProblem { ConfigProblem(.error, code, store: s.name, e.description) }
        let connector: any StoreConnector
        do { connector = try registry.connector(for: s) } catch let e as DataPortError {
            return ([fail(e, e.kind == .store ? "store.unreachable" : "store.invalid")], false)
        } catch { return ([ConfigProblem(.error, "store.unreachable", store: s.name, "the store cannot be opened")], false) }
        defer { connector.close() }
        var objectsKnown = false
        do {
            if let i = try introspectors.introspector(for: s) {
                let objects = s.type == "sqlite" || s.type == "postgresql" || s.type == "mysql" ? try i.objects() : nil
                context.add(s.name, i, objects: objects)
                if let objects {
                    objectsKnown = true
                    let byName = Dictionary(objects.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                    for d in s.datasets {
                        guard case .table(let t) = d.source else { continue }
                        guard let table = byName[i.canonical(t)] else {
                            problems.append(ConfigProblem(.error, "table.missing", store: s.name, dataset: d.name,
                                                          "dataset \(d.name): table \(t) does not exist in the store"))
                            continue
                        }
                        let columns = Set(table.columns.map(\.name))
                        for f in d.fields where !columns.contains(f.column) {
                            problems.append(ConfigProblem(.error, "column.missing", store: s.name, dataset: d.name, field: f.name,
                                                          "dataset \(d.name), field \(f.name): column \(f.column) does not exist in table \(t)"))
                        }
                    }
                }
            }
        } catch let e as DataPortError {
            problems.append(fail(e, e.kind == .store ? "store.unreachable" : "store.invalid"))
            return (problems, false)
        } catch {}
        // The connector's own validation covers what the catalog does not (queries, files, headers);
        // after table and column problems it would only repeat the first of them.
        if problems.isEmpty || !objectsKnown {
            do { try connector.validate() } catch let e as DataPortError {
                problems.append(fail(e, e.kind == .store ? "store.unreachable" : "store.invalid"))
            } catch {}
        }
        return (problems, true)
    }

    /// The rules `dataport check` runs, in order.
    public static let standardRules: [CheckRule] = [
        CheckRule(name: "references", run: references),
        CheckRule(name: "identities", run: identities),
        CheckRule(name: "reachability", run: reachability),
        CheckRule(name: "secrets", run: secrets),
        CheckRule(name: "art15", run: art15),
        CheckRule(name: "indexes", run: indexes),
    ]

    // MARK: - Rules

    /// A `references` match must name a column that is unique in the target (primary key or unique
    /// constraint): otherwise a row of someone else that shares the value is the subject's too.
    @Sendable static func references(_ c: CheckContext) throws -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        for d in c.config.datasets {
            for case .reference(let field, let target, let key) in d.matches {
                guard let t = c.config.dataset(named: target), let kf = t.field(named: key) else { continue }
                let label = "dataset \(d.name), field \(field): references \(target).\(key)"
                guard case .table(let table) = t.source else {
                    out.append(ConfigProblem(.info, "references.unchecked", store: d.store, dataset: d.name, field: field,
                                             "\(label); \(target) is a query, so the store cannot tell whether \(key) is unique"))
                    continue
                }
                guard let i = c.introspector(t.store), c.tableExists(t), c.tableExists(d) else { continue }
                guard let sets = try i.uniqueColumnSets(of: table) else {
                    out.append(ConfigProblem(.info, "references.unchecked", store: d.store, dataset: d.name, field: field,
                                             "\(label); this store cannot tell whether it is unique"))
                    continue
                }
                if !sets.contains([kf.column]) {
                    out.append(ConfigProblem(.error, "references.notUnique", store: d.store, dataset: d.name, field: field,
                                             "\(label), but column \(kf.column) of table \(table) is neither the primary key nor unique: rows of other people sharing a value would be exported too"))
                }
            }
        }
        return out
    }

    /// A kind a request cannot carry (its name is no valid `--subject` kind) and no dataset yields
    /// finds nothing; a kind that is yielded but matched nowhere is looked up for nothing.
    @Sendable static func identities(_ c: CheckContext) throws -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        let yielded = Set(c.config.datasets.flatMap { $0.yields.map(\.kind) })
        let matched = Set(c.config.matchedKinds)
        for k in c.config.matchedKinds where !yielded.contains(k) && !Dataset.isValidName(k.rawValue) {
            let users = c.config.datasets.filter { $0.matches.contains { if case .identity(let m, _) = $0 { m == k } else { false } } }
            out.append(ConfigProblem(.error, "identity.unusable", store: users.first?.store, dataset: users.first?.name,
                                     "an identity kind matched by \(users.map(\.name).joined(separator: ", ")) is yielded by no dataset, and its name is not a kind a request can give ([a-z][a-z0-9_]*): these matches never find anything"))
        }
        for d in c.config.datasets {
            for y in d.yields where !matched.contains(y.kind) {
                out.append(ConfigProblem(.warning, "identity.unused", store: d.store, dataset: d.name, field: y.field,
                                         "dataset \(d.name) yields identity kind \(Dataset.isValidName(y.kind.rawValue) ? y.kind.rawValue : "(not a valid kind name)") from field \(y.field), but no dataset matches that kind"))
            }
        }
        return out
    }

    /// Datasets no request can reach: through kinds a request can give and the identities that
    /// rows matched through strong identities yield (as `Gathering` resolves), and references.
    @Sendable static func reachability(_ c: CheckContext) throws -> [ConfigProblem] {
        let datasets = c.config.datasets
        var kinds = Set(c.config.matchedKinds.filter { Dataset.isValidName($0.rawValue) })
        func reach(_ usable: (IdentityKind) -> Bool) -> Set<String> {
            var r = Set(datasets.filter { $0.matches.contains { if case .identity(let k, _) = $0 { usable(k) } else { false } } }.map(\.name))
            var changed = true
            while changed {
                changed = false
                for d in datasets where !r.contains(d.name) &&
                    d.matches.contains(where: { if case .reference(_, let t, _) = $0 { r.contains(t) } else { false } }) {
                    r.insert(d.name); changed = true
                }
            }
            return r
        }
        while true {
            let yielding = reach { kinds.contains($0) && c.config.strength($0) == .strong }
            let more = Set(datasets.filter { yielding.contains($0.name) }.flatMap { $0.yields.map(\.kind) }).subtracting(kinds)
            if more.isEmpty { break }
            kinds.formUnion(more)
        }
        let reached = reach { kinds.contains($0) }
        return datasets.filter { !reached.contains($0.name) }.map { d in
            ConfigProblem(.error, "dataset.unreachable", store: d.store, dataset: d.name,
                          "dataset \(d.name) is reachable from no request: no kind a request can give, or that a dataset matched through a strong identity yields, leads to it")
        }
    }

    /// Words that make a text column look like a secret: `password_hash`, `api_key`, `resetToken`.
    static let secretWords: Set<String> = ["pass", "passwd", "password", "passwords", "passphrase", "passcode", "pwd", "token", "tokens",
                                           "secret", "secrets", "hash", "hashed", "salt", "salted", "otp", "totp", "hotp",
                                           "apikey", "privkey", "privatekey", "secretkey", "accesskey", "pwhash"]
    /// `key` is a secret only after one of these (`api_key`, `private_key`), not as `key`, `sort_key` or `monkey`.
    static let keyQualifiers: Set<String> = ["api", "secret", "private", "priv", "access", "auth", "encryption", "signing", "session",
                                             "recovery", "license", "licence", "ssh", "gpg", "pgp", "master", "client", "app", "crypto",
                                             "aes", "hmac", "shared", "otp", "totp", "mfa"]

    /// The words of a name: split at non-letters, digits and lower-to-upper case changes, lower-cased.
    static func words(_ name: String) -> [String] {
        var out: [String] = [], word = ""
        var previousLower = false
        for ch in name {
            if ch.isLetter {
                if ch.isUppercase && previousLower && !word.isEmpty { out.append(word.lowercased()); word = "" }
                word.append(ch)
                previousLower = ch.isLowercase
            } else {
                if !word.isEmpty { out.append(word.lowercased()); word = "" }
                previousLower = false
            }
        }
        if !word.isEmpty { out.append(word.lowercased()) }
        return out
    }

    /// Whether a column name looks like a secret (formats/stores-config.md, "dataport check"):
    /// one of its words is a secret word, or ends in `password`, `passwd`, `token` or `secret`
    /// (`apitoken`), or is `key` right after a qualifier (`api_key`, `apiKey`).
    public static func looksSecret(_ name: String) -> Bool {
        let w = words(name)
        for (i, word) in w.enumerated() {
            if secretWords.contains(word) { return true }
            if ["password", "passwd", "token", "secret"].contains(where: { word.count > $0.count && word.hasSuffix($0) }) { return true }
            if (word == "key" || word == "keys"), i > 0, keyQualifiers.contains(w[i - 1]) { return true }
        }
        return false
    }

    /// A field that looks secret (only text and binary fields: `password_changed_at` is a time) and
    /// is exported. The key and `yields` fields cannot be secret and are not reported.
    @Sendable static func secrets(_ c: CheckContext) throws -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        for d in c.config.datasets {
            let bound = Set([d.key].compactMap { $0 } + d.yields.map(\.field))
            for f in d.fields where !f.secret && !bound.contains(f.name) && (f.type == .string || f.type == .binary) {
                guard looksSecret(f.name) || looksSecret(f.column) else { continue }
                out.append(ConfigProblem(c.advisory, "secret.unmarked", store: d.store, dataset: d.name, field: f.name,
                                         "dataset \(d.name), field \(f.name) (column \(f.column)) looks like a secret but is exported: mark it \"secret\": true if it is one"))
            }
        }
        return out
    }

    /// What Art. 15 says the person must be told: per dataset purposes (1)(a), recipients (c),
    /// retention (d), the source of data not collected from them (g), automated decisions and
    /// profiling (h); for the controller, the supervisory authority to complain to (f) and the DPO
    /// (Art. 13(1)(b): only where one is designated, so a note, not a warning).
    @Sendable static func art15(_ c: CheckContext) throws -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        if c.config.controller.supervisoryAuthority == nil {
            out.append(ConfigProblem(c.advisory, "authority.missing",
                                     "controller gives no supervisoryAuthority: the person must be told where they can lodge a complaint (Art. 15(1)(f))"))
        }
        if (c.config.controller.dpoContact ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            out.append(ConfigProblem(.info, "dpo.missing",
                                     "controller names no dpo: if a data protection officer is designated (Art. 37), the page should give their contact"))
        }
        for d in c.config.datasets {
            let m = d.metadata
            if m.automatedDecisions == nil && d.automatedDecisions == nil && (m.origin == .derived || m.category == .profiling) {
                out.append(ConfigProblem(c.advisory, "decisions.missing", store: d.store, dataset: d.name,
                                         "dataset \(d.name) is derived or profiling but gives no automatedDecisions: the person must be told of automated decisions and profiling, the logic involved and the consequences (Art. 15(1)(h)), or that there are none"))
            }
            if m.origin == .derived && (d.collectedFrom == nil && (m.collectedFrom ?? "").isEmpty) {
                out.append(ConfigProblem(c.advisory, "source.missing", store: d.store, dataset: d.name,
                                         "dataset \(d.name) is not collected from the person but gives no collectedFrom: the person must be told its source (Art. 15(1)(g))"))
            }
        }
        for d in c.config.datasets {
            let m = d.metadata
            if m.purposes.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                out.append(ConfigProblem(c.advisory, "purposes.missing", store: d.store, dataset: d.name,
                                         "dataset \(d.name) gives no purposes: the person must be told why it is processed (Art. 15(1)(a))"))
            }
            if m.recipients.isEmpty {
                out.append(ConfigProblem(c.advisory, "recipients.missing", store: d.store, dataset: d.name,
                                         "dataset \(d.name) names no recipients: the person must be told who receives it (Art. 15(1)(c)); if no one outside the controller does, say so"))
            }
            if (m.retention ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                out.append(ConfigProblem(c.advisory, "retention.missing", store: d.store, dataset: d.name,
                                         "dataset \(d.name) gives no retention: the person must be told how long it is kept, or the criteria (Art. 15(1)(d))"))
            }
        }
        return out
    }

    /// Matches no index serves: every lookup reads the whole table. Says which index would.
    @Sendable static func indexes(_ c: CheckContext) throws -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        for d in c.config.datasets {
            guard let i = c.introspector(d.store), c.tableExists(d) else { continue }
            if case .file = d.source { continue }
            // A reference's parents are part of its lookup: skip when one of them is missing.
            let parents = d.matches.compactMap { m -> DatasetConfig? in if case .reference(_, let t, _) = m { c.config.dataset(named: t) } else { nil } }
            guard parents.allSatisfy(c.tableExists) else { continue }
            for m in d.matches {
                let what = if case .identity(let k, _) = m { "identity \(Dataset.isValidName(k.rawValue) ? k.rawValue : "kind")" } else { "reference to \(m.label)" }
                let check: IndexCheck
                do { check = try i.indexCheck(m, in: d, forms: c.config.identityForms) } catch let e as DataPortError {
                    out.append(ConfigProblem(.error, "check.failed", store: d.store, dataset: d.name, field: m.field,
                                             "dataset \(d.name), field \(m.field): the lookup cannot be explained: \(e.description)"))
                    continue
                }
                switch check {
                case .indexed: break
                case .scans(let fix):
                    out.append(ConfigProblem(.warning, "match.scan", store: d.store, dataset: d.name, field: m.field,
                                             "dataset \(d.name), field \(m.field): no index serves the match on \(what), so every lookup reads the whole table; create: \(fix)",
                                             fix: fix))
                case .scansColumn(let why):
                    out.append(ConfigProblem(.warning, "match.columnScan", store: d.store, dataset: d.name, field: m.field,
                                             "dataset \(d.name), field \(m.field): the match on \(what) reads the whole column: \(why)"))
                case .unknown(let why):
                    out.append(ConfigProblem(.info, "match.unchecked", store: d.store, dataset: d.name, field: m.field,
                                             "dataset \(d.name), field \(m.field): whether an index serves the match cannot be told (\(why))"))
                }
            }
        }
        return out
    }
}
