import DataPortModel

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

    public init(_ args: [String], options: [OptionSpec]) throws {
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("--") || arg == "-" {
                if arg.hasPrefix("-") && arg != "-" && !onlyPositionals {
                    throw DataPortError(.usage, "unknown option \(arg)")
                }
                positionals.append(arg)
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
                throw DataPortError(.usage, "unknown option --\(name)")
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

    /// The single positional argument, named `what` in the error.
    public func onePositional(_ what: String) throws -> String {
        guard positionals.count == 1 else {
            throw DataPortError(.usage, positionals.isEmpty ? "missing \(what)" : "expected one \(what), got \(positionals.count) arguments")
        }
        return positionals[0]
    }
}
