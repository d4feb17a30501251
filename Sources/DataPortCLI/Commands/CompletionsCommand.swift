import DataPortModel

/// `dataport completions`: shell completion scripts, generated from the commands' own option lists.
enum CompletionsCommand {
    static let command = Command(
        name: "completions",
        summary: "Print a shell completion script (bash or zsh).",
        usage: "dataport completions bash|zsh",
        options: [],
        examples: ["dataport completions bash > /etc/bash_completion.d/dataport", "dataport completions zsh > \"${fpath[1]}/_dataport\""],
        run: { args, console in
            switch try args.onePositional("shell (bash or zsh)") {
            case "bash": console.out(bash)
            case "zsh": console.out(zsh)
            default: throw DataPortError(.usage, "completions are available for bash and zsh")
            }
        })

    static func options(_ c: Command) -> String {
        (c.options.map { "--\($0.name)" } + ["--help"]).joined(separator: " ")
    }

    static var bash: String {
        let names = CLI.commands.map(\.name).joined(separator: " ")
        var cases = ""
        for c in CLI.commands { cases += "    \(c.name)) opts=\"\(options(c))\" ;;\n" }
        return """
        # bash completion for dataport
        _dataport() {
          local cur="${COMP_WORDS[COMP_CWORD]}" opts
          if [ "$COMP_CWORD" -eq 1 ]; then
            COMPREPLY=($(compgen -W "\(names) --help --version" -- "$cur")); return
          fi
          case "${COMP_WORDS[1]}" in
        \(cases)    *) opts="" ;;
          esac
          if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
        }
        complete -F _dataport dataport
        """
    }

    static var zsh: String {
        var cases = ""
        for c in CLI.commands { cases += "    \(c.name)) _arguments '*:file:_files' \(c.options.map { "'--\($0.name)[\($0.help.replacingOccurrences(of: "'", with: "").replacingOccurrences(of: "[", with: "(").replacingOccurrences(of: "]", with: ")"))]'" }.joined(separator: " ")) ;;\n" }
        return """
        #compdef dataport
        _dataport() {
          if (( CURRENT == 2 )); then
            _values 'command' \(CLI.commands.map { "'\($0.name)[\($0.summary.replacingOccurrences(of: "'", with: ""))]'" }.joined(separator: " "))
            return
          fi
          case "${words[2]}" in
        \(cases)  esac
        }
        _dataport "$@"
        """
    }
}

import Foundation
