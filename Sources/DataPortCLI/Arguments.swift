import Foundation
import DataPort
#if canImport(Glibc)
import Glibc
#endif

/// The options a command accepts: the one source of parsing, `--help`, the man page and the
/// shell completions.
struct OptionSpec: Sendable {
    var name: String
    /// The value's placeholder (`FILE`), or `nil` for a flag.
    var value: String?
    var help: String
    var repeatable = false
    /// Always required (a command whose needs depend on other options says so in `Command.requires`).
    var required = false
    /// The values it takes, when they are a fixed list (completed by the shells).
    var choices: [String] = []

    /// What a shell completes the value with, decided once for every shell.
    enum Completion: Equatable { case none, files, folders, words([String]), list([String]) }

    var completion: Completion {
        guard let value else { return .none }
        if !choices.isEmpty { return value == "LIST" ? .list(choices) : .words(choices) }
        if value == "DIR" { return .folders }
        return value.hasSuffix("FILE") ? .files : .none
    }
}

/// Parsed command-line arguments: option values, flags, positionals. Unknown options are usage errors.
struct Arguments {
    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positionals: [String] = []
    /// Where each positional stood among the command's arguments (1-based), for errors that
    /// describe it instead of printing it.
    private(set) var positionalNumbers: [Int] = []

    init(_ args: [String], options: [OptionSpec]) throws {
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("--") || arg == "-" {
                if arg.hasPrefix("-") && arg != "-" && !onlyPositionals {
                    throw DataPortError(.usage, "unknown option (argument \(i)): options start with --; run with --help", code: .unknownCommandOption)
                }
                positionals.append(arg)
                positionalNumbers.append(i)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            var name = String(arg.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let spec = options.first(where: { $0.name == name }) else {
                // Echo what has the shape of an option name; anything else may be a value. The
                // suggestion is one of the command's own names, never the argument.
                guard ValueShape.isNameShaped(name) else {
                    throw DataPortError(.usage, "unknown option (argument \(i)); run with --help", code: .unknownCommandOption)
                }
                let guess = Suggestion.closest(to: name, among: options.map(\.name) + ["help"]).map { "; did you mean --\($0)?" } ?? "; run with --help"
                throw DataPortError(.usage, "unknown option --\(name)" + guess, code: .unknownCommandOption)
            }
            if spec.value == nil {
                guard inline == nil else { throw DataPortError(.usage, "option --\(name) takes no value", code: .unexpectedArgument) }
                flags.insert(name)
            } else {
                let v: String
                if let inline { v = inline } else {
                    guard i < args.count else { throw DataPortError(.usage, "option --\(name) needs a value (\(spec.value!))", code: .missingCommandOption) }
                    v = args[i]
                    i += 1
                }
                if !spec.repeatable, values[name] != nil { throw DataPortError(.usage, "option --\(name) is given twice") }
                values[name, default: []].append(v)
            }
        }
    }

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func flag(_ name: String) -> Bool { flags.contains(name) }

    func required(_ name: String) throws -> String {
        guard let v = value(name) else { throw DataPortError(.usage, "missing required option --\(name)", code: .missingCommandOption) }
        return v
    }

    /// Every missing one of `names` (and the positional `what`, when given and absent), in one
    /// error: a run reports all that is missing, not one thing per run.
    func requireAll(_ names: [String], positional what: String? = nil, specs: [OptionSpec]) throws {
        let missing = names.filter { values[$0] == nil && !flags.contains($0) }.map { name in
            "--\(name)" + (specs.first { $0.name == name }?.value.map { " \($0)" } ?? "")
        }
        let noPositional = what != nil && positionals.isEmpty
        guard !missing.isEmpty || noPositional else { return }
        var parts: [String] = []
        if noPositional, let what { parts.append("the \(what)") }
        if !missing.isEmpty { parts.append((missing.count == 1 ? "required option " : "required options ") + missing.joined(separator: ", ")) }
        throw DataPortError(.usage, "missing " + parts.joined(separator: " and "), code: .missingCommandOption)
    }

    /// The error for an argument the command does not take: described, never printed.
    func unexpectedPositional(_ index: Int = 0) -> DataPortError {
        DataPortError(.usage, "unexpected argument \(positionalNumbers[index]), " + ValueShape.describe(positionals[index]), code: .unexpectedArgument)
    }

    /// The single positional argument, named `what` in the error.
    func onePositional(_ what: String) throws -> String {
        guard positionals.count == 1 else {
            throw DataPortError(.usage, positionals.isEmpty ? "missing \(what)" : "expected one \(what), got \(positionals.count) arguments",
                                code: positionals.isEmpty ? .missingCommandOption : .unexpectedArgument)
        }
        return positionals[0]
    }
}

/// "Did you mean": the known name closest to a mistyped one, as git and cargo suggest.
enum Suggestion {
    /// The candidate within a small edit distance (one or two typos, transpositions counted as
    /// one), or `nil` when none is close enough to be a likely intent.
    static func closest(to typed: String, among candidates: [String]) -> String? {
        let limit = max(1, min(2, typed.count / 3))
        let scored = candidates.map { ($0, distance(typed, $0)) }.filter { $0.1 <= limit }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// Optimal string alignment distance (Levenshtein with adjacent transpositions).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}

/// What a command-line value looks like, for errors that must not print it: any argument may be
/// personal data (an e-mail address typed without `--subject`).
enum ValueShape {
    /// Lower-case letters, digits and dashes, starting with a letter: an option or command name.
    static func isNameShaped(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, ("a"..."z").contains(first), s.utf8.count <= 40 else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    /// "which looks like an e-mail address: did you mean --subject email=...?" and the like.
    static func describe(_ v: String) -> String {
        if let eq = v.firstIndex(of: "="), isNameShaped(String(v[..<eq])) {
            return "which looks like an identity: did you mean --subject \(v[..<eq])=...?"
        }
        if let at = v.firstIndex(of: "@"), v[v.index(after: at)...].contains("."), !v.contains("/") {
            return "which looks like an e-mail address: did you mean --subject email=...?"
        }
        if isIPAddress(v) { return "which looks like an IP address: did you mean --subject ip=...?" }
        if !v.isEmpty, v.allSatisfy(\.isASCII), v.allSatisfy(\.isNumber) {
            return "which looks like a number: did you mean --subject user_id=...?"
        }
        if v.hasSuffix(".zip") || v.hasSuffix(".tar.gz") { return "which looks like a bundle path: did you mean --output?" }
        if v.hasSuffix(".json") { return "which looks like a config path: did you mean --config?" }
        return "which this command does not take (run with --help)"
    }

    static func isIPAddress(_ v: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, v, &buffer) == 1 || inet_pton(AF_INET6, v, &buffer) == 1
    }
}
