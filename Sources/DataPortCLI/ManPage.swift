import Foundation
import DataPort

/// `dataport help --man`: the man page (roff, man(7) macros), made from the same command and option
/// specs as `--help` and the completions; `formats/dataport.1` is this text (a test keeps it so).
enum ManPage {
    /// Text made safe for roff: backslashes and dashes escaped, no line starting as a request.
    static func escaped(_ text: String) -> String {
        let body = text.replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "-", with: "\\-")
        return body.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix(".") || line.hasPrefix("'") ? "\\&" + line : String(line)
        }.joined(separator: "\n")
    }

    static var text: String {
        var s = """
        .TH DATAPORT 1 "" "dataport \(dataportVersion)" "User Commands"
        .SH NAME
        dataport \\- answer GDPR requests: access, rectification, erasure, portability, objection
        .SH SYNOPSIS
        .B dataport
        .I COMMAND
        .RI [ OPTIONS ]
        .br
        .B dataport help
        .RI [ COMMAND " | " \\-\\-man ]
        .SH DESCRIPTION
        DataPort gathers one data subject from a controller's stores (SQLite, PostgreSQL, MySQL/MariaDB,
        CSV and JSON Lines files, access logs) into a verifiable bundle, and reads bundles back
        (verify, inspect, convert, import). Every failure is one line on standard error and an exit
        code; with \\fB\\-\\-json\\fR, a document on standard output that carries a stable error code
        (formats/cli-output.md).
        .SH COMMANDS

        """
        for c in CLI.commands {
            s += ".SS \(escaped(c.name))\n\(escaped(c.summary))\n.PP\n.B Usage:\n\(escaped(c.usage))\n"
            let required = Set(c.options.filter(\.required).map(\.name))
            for o in c.options {
                s += ".TP\n.B \\-\\-\(escaped(o.name))" + (o.value.map { " \\fI\(escaped($0))\\fR" } ?? "") + "\n"
                var help = o.help
                if required.contains(o.name) { help += " Required." }
                if o.repeatable { help += " Repeatable." }
                if !o.choices.isEmpty { help += " Values: \(o.choices.joined(separator: ", "))." }
                s += escaped(help) + "\n"
            }
            if !c.examples.isEmpty {
                s += ".PP\n.B Examples:\n.RS\n.nf\n" + c.examples.map(escaped).joined(separator: "\n") + "\n.fi\n.RE\n"
            }
        }
        s += ".SH EXIT STATUS\n"
        for code in ExitCode.allCases { s += ".TP\n.B \(code.rawValue)\n\(escaped(code.meaning))\n" }
        s += ".TP\n.B 129, 130, 143\nended by SIGHUP, SIGINT, SIGTERM (128 + signal); the partial bundle is removed\n"
        s += """
        .SH FILES
        The formats, the stores config and the JSON documents are described in the \\fIformats/\\fR
        folder of the source: bundle.md, stores-config.md, cli-output.md (every error code), import.md,
        receipt.md, encryption.md.
        .SH SEE ALSO
        .BR age (1),
        .BR bagit (1)

        """
        return s
    }
}
