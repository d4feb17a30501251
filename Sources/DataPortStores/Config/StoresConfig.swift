import DataPortIO
import DataPortModel
import Foundation

/// How far identity resolution may go before it fails (`resolution` in the config): it runs to a
/// fixed point, and reaching a limit first is an error naming it (exit 9), never a silent cut.
public struct ResolutionLimits: Sendable, Hashable {
    /// The most identity values one subject may resolve to.
    public var maxIdentities: Int
    /// The most rounds of following `yields` (a chain of N links needs N+1 rounds).
    public var maxRounds: Int
    public static let `default` = ResolutionLimits(maxIdentities: 10_000, maxRounds: 1_000)
    public init(maxIdentities: Int, maxRounds: Int) { self.maxIdentities = maxIdentities; self.maxRounds = maxRounds }
}

/// The stores config: who the controller is, which stores hold what, and how it links to a subject.
/// Documented in `formats/stores-config.md` and `formats/stores-config.schema.json`; read by
/// `ConfigParsing.swift`, `StoreParsing.swift` and `DatasetParsing.swift`, checked as a whole by
/// `ConfigConsistency.swift`.
public struct StoresConfig: Sendable {
    public var controller: Controller
    /// The dataset field whose value names the subject (for the index page), if any.
    public var subjectName: (dataset: String, field: String)?
    public var stores: [StoreConfig]
    public var file: String
    /// The normal form of kinds the config declares (`identityKinds.KIND.form`); others use their default.
    public var identityForms: [IdentityKind: IdentityForm] = [:]
    /// The strength of kinds the config declares (`identityKinds.KIND.strength`); others use their default.
    public var identityStrengths: [IdentityKind: IdentityStrength] = [:]
    public func strength(_ kind: IdentityKind) -> IdentityStrength { identityStrengths[kind] ?? kind.defaultStrength }
    public func form(_ kind: IdentityKind) -> IdentityForm { identityForms[kind] ?? kind.defaultForm }
    public var resolution: ResolutionLimits = .default
    /// The pages' language and time zone (`language`, `timeZone`).
    public var presentation: Presentation = .default
    /// Categories the config defines besides the published ones, with title and definition by language.
    public var categories: [(category: Category, title: LocalizedText, definition: LocalizedText)] = []

    /// The defined categories among `used`, in `language` (for the manifest).
    public func categoryDefinitions(used: [Category], language: String) -> [CategoryDefinition] {
        categories.filter { used.contains($0.category) }.map { CategoryDefinition(category: $0.category, title: $0.title.text(language), definition: $0.definition.text(language)) }
    }
    /// What `dataport object` writes, per purpose (`objections`).
    public var objections: [String: [ObjectionRule]] = [:]

    /// The identity kinds some dataset matches on: the kinds a request can use.
    public var matchedKinds: [IdentityKind] {
        Set(datasets.flatMap { $0.matches.compactMap { if case .identity(let k, _) = $0 { k } else { nil } } }).sorted()
    }

    public var datasets: [DatasetConfig] { stores.flatMap(\.datasets) }

    public func dataset(named name: String) -> DatasetConfig? { datasets.first { $0.name == name } }

    /// Loads and checks a config file. Errors are `invalidConfig` and name the culprit.
    public static func load(path: String, registry: StoreRegistry = .standard) throws -> StoresConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataPortError(.invalidConfig, "cannot read the config file", at: path)
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse([UInt8](data), file: path, baseDirectory: base, registry: registry)
    }

    /// Parses and checks config text. The problems that do not stop the reading (required keys
    /// left out, store options against their type's declaration in `registry`) are reported
    /// together, in one `invalidConfig` error.
    public static func parse(_ bytes: [UInt8], file: String, baseDirectory: String, registry: StoreRegistry = .standard) throws -> StoresConfig {
        let problems = ProblemList()
        let root = try JSONObjectReader(JSONValue.parse(bytes, name: file, errorKind: .invalidConfig), path: "", file: file,
                                        errorKind: .invalidConfig, collecting: problems)
        let config: StoresConfig
        do {
            config = try parseDocument(root, file: file, baseDirectory: baseDirectory, registry: registry, problems: problems)
        } catch let e as DataPortError where !problems.messages.isEmpty {
            // What stopped the reading may follow from a key left out: name those first.
            throw ConfigProblems.error(problems.messages + [e.message], file: file, code: ConfigProblemCode.shared(problems.codes + [e.code]))
        }
        if !problems.messages.isEmpty { throw ConfigProblems.error(problems.messages, file: file, code: problems.sharedCode) }
        try config.check()
        return config
    }

    /// Checks a language and a time zone (from the config or the command line).
    public static func parsePresentation(language: String?, timeZone: String?, fail: (String) -> DataPortError) throws -> Presentation {
        var p = Presentation.default
        if let l = language {
            guard Presentation.languages.contains(l) else { throw fail("language must be one of \(Presentation.languages.joined(separator: ", "))") }
            p.language = l
        }
        if let z = timeZone {
            guard z == "UTC" || (z.contains("/") && TimeZone(identifier: z) != nil) else {
                throw fail("timeZone must be an IANA time zone name such as Europe/Vilnius, or UTC")
            }
            p.timeZone = z
        }
        return p
    }
}

/// Problems of a config reported together: one line, each naming its culprit (keys, options,
/// stores, datasets), never a value.
enum ConfigProblems {
    /// One problem as it is; several counted and joined.
    static func sentence(_ problems: [String]) -> String {
        problems.count == 1 ? problems[0] : "\(problems.count) problems: " + problems.joined(separator: "; ")
    }

    static func error(_ problems: [String], file: String, code: DataPortError.Code? = nil) -> DataPortError {
        DataPortError(.invalidConfig, sentence(problems), at: file, code: code)
    }
}
