import DataPortModel
#if canImport(Glibc)
import Glibc
#endif

/// The options a command accepts, for parsing and for its help.
public struct OptionSpec: Sendable {
    public var name: String
    /// The value's placeholder (`FILE`), or `nil` for a flag.
    public var value: String?
    public var help: String
    public var repeatable = false
}

/// Parsed command-line arguments: option values, flags, positionals. Unknown options are usage errors.
public struct Arguments {
    public private(set) var values: [String: [String]] = [:]
    public private(set) var flags: Set<String> = []
    public private(set) var positionals: [String] = []
    /// Where each positional stood among the command's arguments (1-based), for errors that
    /// describe it instead of printing it.
    public private(set) var positionalNumbers: [Int] = []

    public init(_ args: [String], options: [OptionSpec]) throws {
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("--") || arg == "-" {
                if arg.hasPrefix("-") && arg != "-" && !onlyPositionals {
                    throw DataPortError(.usage, "unknown option (argument \(i)): options start with --; run with --help")
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
                // Echo what has the shape of an option name; anything else may be a value.
                throw DataPortError(.usage, ValueShape.isNameShaped(name) ? "unknown option --\(name)" : "unknown option (argument \(i)); run with --help")
            }
            if spec.value == nil {
                guard inline == nil else { throw DataPortError(.usage, "option --\(name) takes no value") }
                flags.insert(name)
            } else {
                let v: String
                if let inline { v = inline } else {
                    guard i < args.count else { throw DataPortError(.usage, "option --\(name) needs a value (\(spec.value!))") }
                    v = args[i]
                    i += 1
                }
                if !spec.repeatable, values[name] != nil { throw DataPortError(.usage, "option --\(name) is given twice") }
                values[name, default: []].append(v)
            }
        }
    }

    public func value(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }
    public func flag(_ name: String) -> Bool { flags.contains(name) }

    public func required(_ name: String) throws -> String {
        guard let v = value(name) else { throw DataPortError(.usage, "missing required option --\(name)") }
        return v
    }

    /// The error for an argument the command does not take: described, never printed.
    public func unexpectedPositional(_ index: Int = 0) -> DataPortError {
        DataPortError(.usage, "unexpected argument \(positionalNumbers[index]), " + ValueShape.describe(positionals[index]))
    }

    /// The single positional argument, named `what` in the error.
    public func onePositional(_ what: String) throws -> String {
        guard positionals.count == 1 else {
            throw DataPortError(.usage, positionals.isEmpty ? "missing \(what)" : "expected one \(what), got \(positionals.count) arguments")
        }
        return positionals[0]
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
