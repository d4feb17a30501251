import Foundation
import DataPort
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where a command writes: results to stdout, errors to stderr.
final class Console: Sendable {
    init() {}
    /// Set when stdout carries a bundle (`--output -`): results (the summary, `--json`, an error's
    /// JSON) go to stderr instead, so that nothing but the bundle reaches the stream.
    var stdoutCarriesBundle: Bool {
        get { carriesBundle.load(ordering: .relaxed) }
        set { carriesBundle.store(newValue, ordering: .relaxed) }
    }
    // Its one piece of state: set before a command runs, read by whichever batch job prints.
    private let carriesBundle = Atomic(false)
    func out(_ text: String) { emit(text, fd: stdoutCarriesBundle ? 2 : 1) }
    func err(_ text: String) { emit(text, fd: 2) }
    /// Writes to stderr without adding a newline (for a progress line redrawn in place).
    func errRaw(_ text: String) { emit(text, fd: 2, newline: false) }

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
struct Command: Sendable {
    var name: String
    var summary: String
    var usage: String
    var options: [OptionSpec]
    var examples: [String]
    /// Printed after the examples (`check` lists the store options).
    var notes: String = ""
    /// What the command takes besides options (`bundle path`), if it takes one; missing, it is
    /// reported with the missing options.
    var positional: String? = nil
    /// The options this run needs, given what else it was given (export: --output with --subject,
    /// --output-dir with --subjects); by default the options marked `required`.
    var requires: (@Sendable (Arguments) -> [String])? = nil
    var run: @Sendable (Arguments, Console) throws -> Void

    /// The names of the options that must be given in this run.
    func required(_ args: Arguments) -> [String] {
        requires?(args) ?? options.filter(\.required).map(\.name)
    }

    /// Refuses, in one error, what the command cannot run without; an argument it does not take
    /// is named first (it is often a misplaced value that answers the rest).
    func checkPresence(_ args: Arguments) throws {
        if positional == nil, !args.positionals.isEmpty { throw args.unexpectedPositional() }
        try args.requireAll(required(args), positional: positional, specs: options)
    }

    /// `--help` text.
    var help: String {
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
package enum CLI {
    /// Every command, in the order `--help` lists them.
    static let commands: [Command] = [
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

    static var help: String {
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

        Run 'dataport COMMAND --help' for a command's options, 'dataport help --man' for the man page,
        'dataport completions bash|zsh|fish' for shell completions. Exit codes:

        """
        for code in ExitCode.allCases { s += "  \(code.rawValue)".padding(toLength: 6, withPad: " ", startingAt: 0) + code.meaning + "\n" }
        s += "  129, 130, 143: ended by SIGHUP, SIGINT, SIGTERM (128 + signal); the partial bundle is removed\n"
        return s
    }

    /// Runs the command line `args` (without the program name) and returns the exit code.
    package static func run(_ args: [String]) -> Int32 { run(args, console: Console()) }

    static func run(_ args: [String], console: Console) -> Int32 {
        guard let name = args.first else {
            console.err(help)
            return ExitCode.usage.rawValue
        }
        if name == "--help" || name == "-h" { console.out(help); return 0 }
        if name == "help" { return helpCommand(Array(args.dropFirst()), console: console) }
        if name == "--version" { console.out("dataport \(dataportVersion)"); return 0 }
        guard let command = commands.first(where: { $0.name == name }) else {
            return fail(unknownCommand(name), json: args.contains("--json"), console: console)
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
            try command.checkPresence(parsed)
            try command.run(parsed, console)
            return 0
        } catch let e as DataPortError {
            return fail(e, json: json, console: console)
        } catch let e as ReportedFailure {
            console.err("dataport: \(e.message)")
            return e.code.rawValue
        } catch let e as BatchFailed {
            console.err("dataport: error: \(counted(e.failed, "subject")) of the batch failed")
            return ExitCode.partialFailure.rawValue
        } catch {
            return fail(DataPortError(.internal, "unexpected error: \(error)"), json: json, console: console)
        }
    }

    /// Reports an error in the one shape every command uses and returns its exit code.
    static func fail(_ e: DataPortError, json: Bool, console: Console) -> Int32 {
        console.err("dataport: error: \(e.description)")
        if json { console.out(JSONValue.object(["error": ResultJSON.error(e)]).serialized()) }
        return ExitCode(e.kind).rawValue
    }

    /// The refusal of a command name that is none: named only when it has a name's shape, with
    /// the closest command when one is a typo away (`exprt`: did you mean export?).
    static func unknownCommand(_ name: String) -> DataPortError {
        guard ValueShape.isNameShaped(name) else {
            return DataPortError(.usage, "unknown command (the first argument); run 'dataport --help'", code: .unknownCommand)
        }
        let guess = Suggestion.closest(to: name, among: commands.map(\.name) + ["help"]).map { "; did you mean '\($0)'?" } ?? "; run 'dataport --help'"
        return DataPortError(.usage, "unknown command '\(name)'" + guess, code: .unknownCommand)
    }

    /// `dataport help`, `dataport help COMMAND`, `dataport help --man` (the man page, formats/dataport.1).
    static func helpCommand(_ args: [String], console: Console) -> Int32 {
        if args.isEmpty {
            console.out(help)
        } else if args == ["--man"] {
            console.out(ManPage.text)
        } else if args.count == 1, !args[0].hasPrefix("-") {
            guard let command = commands.first(where: { $0.name == args[0] }) else { return fail(unknownCommand(args[0]), json: false, console: console) }
            console.out(command.help)
        } else {
            return fail(DataPortError(.usage, "help takes a command name or --man", code: .unexpectedArgument), json: false, console: console)
        }
        return 0
    }
}
