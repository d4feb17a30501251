import DataPort
import DataPortIO
import DataPortModel
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where a command writes: results to stdout, errors to stderr.
public final class Console: Sendable {
    public init() {}
    /// Set when stdout carries a bundle (`--output -`): results (the summary, `--json`, an error's
    /// JSON) go to stderr instead, so that nothing but the bundle reaches the stream.
    public var stdoutCarriesBundle: Bool {
        get { carriesBundle.load(ordering: .relaxed) }
        set { carriesBundle.store(newValue, ordering: .relaxed) }
    }
    // Its one piece of state: set before a command runs, read by whichever batch job prints.
    private let carriesBundle = Atomic(false)
    public func out(_ text: String) { emit(text, fd: stdoutCarriesBundle ? 2 : 1) }
    public func err(_ text: String) { emit(text, fd: 2) }
    /// Writes to stderr without adding a newline (for a progress line redrawn in place).
    public func errRaw(_ text: String) { emit(text, fd: 2, newline: false) }

    private func emit(_ text: String, fd: Int32, newline: Bool = true) {
        let bytes = Array((text.hasSuffix("\n") || !newline ? text : text + "\n").utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }
}

/// One `dataport` command: its name, help and behaviour.
public struct Command: Sendable {
    public var name: String
    public var summary: String
    public var usage: String
    public var options: [OptionSpec]
    public var examples: [String]
    /// Printed after the examples (`check` lists the store options).
    public var notes: String = ""
    public var run: @Sendable (Arguments, Console) throws -> Void

    /// `--help` text.
    public var help: String {
        var s = "\(summary)\n\nUsage: \(usage)\n\nOptions:\n"
        let all = options + [OptionSpec(name: "help", value: nil, help: "Show this help.")]
        for o in all {
            let left = "  --\(o.name)" + (o.value.map { " \($0)" } ?? "")
            s += left.padding(toLength: max(28, left.count + 2), withPad: " ", startingAt: 0) + o.help + "\n"
        }
        s += "\nExamples:\n" + examples.map { "  \($0)" }.joined(separator: "\n") + "\n"
        if !notes.isEmpty { s += "\n" + notes }
        return s
    }
}

/// The `dataport` command line.
public enum CLI {
    /// Every command, in the order `--help` lists them.
    public static let commands: [Command] = [
        ExportCommand.command,
        VerifyCommand.command,
        InspectCommand.command,
        ConvertCommand.command,
        ImportCommand.command,
        TransferCommand.command,
        CheckCommand.command,
        AuditCommand.command,
        EraseCommand.command,
        RectifyCommand.command,
        ObjectCommand.command,
        FormatsCommand.command,
        CompletionsCommand.command,
    ]

    public static var help: String {
        var s = """
        dataport \(dataportVersion): answers GDPR requests: access (Art. 15), rectification (16), erasure (17), portability (20), objection (21).

        Usage: dataport COMMAND [OPTIONS]

        Commands:

        """
        for c in commands {
            s += "  " + c.name.padding(toLength: 13, withPad: " ", startingAt: 0) + c.summary + "\n"
        }
        s += """

        Example:
          dataport export --config Samples/stores.json --subject email=ana@example.com --output ana.zip

        Run 'dataport COMMAND --help' for a command's options. Exit codes:

        """
        for code in ExitCode.allCases { s += "  \(code.rawValue)".padding(toLength: 6, withPad: " ", startingAt: 0) + code.meaning + "\n" }
        s += "  129, 130, 143: ended by SIGHUP, SIGINT, SIGTERM (128 + signal); the partial bundle is removed\n"
        return s
    }

    /// Runs the command line `args` (without the program name) and returns the exit code.
    public static func run(_ args: [String], console: Console = Console()) -> Int32 {
        guard let name = args.first else {
            console.err(help)
            return ExitCode.usage.rawValue
        }
        if name == "--help" || name == "-h" || name == "help" { console.out(help); return 0 }
        if name == "--version" { console.out("dataport \(dataportVersion)"); return 0 }
        guard let command = commands.first(where: { $0.name == name }) else {
            let shown = ValueShape.isNameShaped(name) ? "unknown command '\(name)'" : "unknown command (the first argument)"
            return fail(DataPortError(.usage, "\(shown); run 'dataport --help'"), json: false, console: console)
        }
        let rest = Array(args.dropFirst())
        if rest.contains("--help") || rest.contains("-h") { console.out(command.help); return 0 }
        let json = rest.contains("--json")
        // Decided before the options are parsed, so that even a usage error's JSON stays off the stream.
        if rest.contains("--output=-") || zip(rest, rest.dropFirst()).contains(where: { $0 == "--output" && $1 == "-" }) {
            console.stdoutCarriesBundle = true
        }
        do {
            let parsed = try Arguments(rest, options: command.options)
            try command.run(parsed, console)
            return 0
        } catch let e as DataPortError {
            return fail(e, json: json, console: console)
        } catch let e as ReportedFailure {
            console.err("dataport: \(e.message)")
            return e.code.rawValue
        } catch let e as BatchFailed {
            console.err("dataport: error: \(e.failed) subjects of the batch failed")
            return ExitCode.partialFailure.rawValue
        } catch {
            return fail(DataPortError(.internal, "unexpected error: \(error)"), json: json, console: console)
        }
    }

    /// Reports an error in the one shape every command uses and returns its exit code.
    static func fail(_ e: DataPortError, json: Bool, console: Console) -> Int32 {
        let code = ExitCode(e.kind)
        console.err("dataport: error: \(e.description)")
        if json {
            console.out(JSONValue.object([
                "error": .object([
                    "kind": .string(e.kind.rawValue), "message": .string(e.message),
                    "location": e.location.map(JSONValue.string), "exitCode": .integer(Int(code.rawValue)),
                ]),
            ]).serialized())
        }
        return code.rawValue
    }
}
