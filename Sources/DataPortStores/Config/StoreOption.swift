import DataPortIO
import DataPortModel
import Foundation

/// One option a store type accepts, declared as data next to its connector (`static let options`).
/// The one check of a store's options (`StoreOption.problems`), the options tables of
/// `formats/stores-config.md` and `dataport check --help` all come from these declarations.
public struct StoreOption: Sendable, Hashable {
    /// What a value must look like. Values are JSON strings (a number or `true`/`false` is taken
    /// as its text).
    public enum Kind: Sendable, Hashable {
        /// Any text.
        case text
        /// A file or folder, relative to the config file's folder.
        case path
        /// One of these words.
        case oneOf([String])
        /// One ASCII character other than a quote or a line break, or `tab` (also `\t`).
        case delimiter

        /// The kind in words, for the docs and `--help`.
        public var label: String {
            switch self {
            case .text: "text"
            case .path: "path"
            case .oneOf(let words): "one of " + words.map { "`\($0)`" }.joined(separator: ", ")
            case .delimiter: "character"
            }
        }
    }

    public var name: String
    public var kind: Kind
    public var required: Bool
    /// The value an absent option has (`nil`: none; the help says what absence means).
    public var defaultValue: String?
    public var help: String

    public init(_ name: String, _ kind: Kind, required: Bool = false, default defaultValue: String? = nil, help: String) {
        self.name = name; self.kind = kind; self.required = required; self.defaultValue = defaultValue; self.help = help
    }

    /// The byte a `delimiter` option's text stands for, or `nil` if it is not one.
    static func delimiter(_ text: String) -> UInt8? {
        let t = text == "tab" || text == "\\t" ? "\t" : text
        guard t.utf8.count == 1, let byte = t.utf8.first, CSVParser.isValidDelimiter(byte) else { return nil }
        return byte
    }

    /// Why `value` does not fit this option's kind, naming the option, never the value; `nil` if it fits.
    func problem(with value: String) -> String? {
        switch kind {
        case .text, .path: nil
        case .oneOf(let words): words.contains(value) ? nil : "options.\(name) must be one of \(words.joined(separator: ", "))"
        case .delimiter: Self.delimiter(value) != nil ? nil
            : "options.\(name) must be one ASCII character other than a quote or a line break (or \"tab\")"
        }
    }

    /// "a sqlite store", "an accesslog store".
    static func aStore(_ type: String) -> String {
        (type.first.map { "aeiou".contains($0) } == true ? "an " : "a ") + type + " store"
    }

    /// Every problem of a store's `options` against the options its type declares, in one list:
    /// unknown options (with the nearest declared name, for a typo), values of the wrong kind,
    /// required options left out. `notText` are options the config gave as a list or an object.
    /// Messages name options and the type, never a value.
    static func problems(_ options: [String: String], declared: [StoreOption], type: String, notText: Set<String> = []) -> [(message: String, code: DataPortError.Code?)] {
        var found: [(message: String, code: DataPortError.Code?)] = []
        let names = declared.map(\.name)
        for unknown in Set(options.keys).union(notText).sorted() where !names.contains(unknown) {
            let hint = Spelling.nearest(to: unknown, among: names).map { "did you mean \($0)?" } ?? "known: \(names.joined(separator: ", "))"
            found.append(("unknown option \(unknown) for \(aStore(type)) (\(hint))", .unknownOption))
        }
        for option in declared {
            if notText.contains(option.name) {
                found.append(("options.\(option.name) must be a string", nil))
            } else if let value = options[option.name] {
                if let p = option.problem(with: value) { found.append((p, nil)) }
            } else if option.required {
                found.append(("\(aStore(type)) needs options.\(option.name)", .missingOption))
            }
        }
        return found
    }
}

/// A store's options checked against its type's declaration: what a connector reads them through,
/// with the declared defaults filled in.
struct StoreOptionValues {
    let config: StoreConfig
    let declared: [StoreOption]

    /// Checks `config.options`; every problem in one `invalidConfig` error at the store.
    init(_ config: StoreConfig, _ declared: [StoreOption]) throws {
        let problems = StoreOption.problems(config.options, declared: declared, type: config.type)
        guard problems.isEmpty else {
            throw DataPortError(.invalidConfig, ConfigProblems.sentence(problems.map(\.message)), at: "store \(config.name)",
                                code: ConfigProblemCode.shared(problems.map(\.code)))
        }
        self.config = config; self.declared = declared
    }

    /// The option's text, else its default.
    func text(_ name: String) -> String? {
        config.options[name] ?? declared.first { $0.name == name }?.defaultValue
    }

    /// A path option resolved against the config's folder.
    func path(_ name: String) -> String? { config.path(name) }

    /// A required path option (the check has made sure it is there).
    func requiredPath(_ name: String) throws -> String {
        guard let p = config.path(name) else {
            throw DataPortError(.invalidConfig, "\(StoreOption.aStore(config.type)) needs options.\(name)", at: "store \(config.name)", code: .missingOption)
        }
        return p
    }
}
