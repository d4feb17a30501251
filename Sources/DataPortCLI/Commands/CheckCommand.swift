import DataPort

/// `dataport check`: every problem of a stores config and its stores, in one run.
enum CheckCommand {
    static let command = Command(
        name: "check",
        summary: "Check a stores config against its stores and report every problem at once.",
        usage: "dataport check --config FILE [--strict] [--json] [--quiet]",
        options: [
            CommonOptions.config(),
            OptionSpec(name: "strict", value: nil, help: "Treat what the person must be told but is missing (purposes, recipients, retention) and unmarked secrets as errors."),
            CommonOptions.json,
            CommonOptions.quiet,
        ],
        examples: [
            "dataport check --config Samples/stores.json",
            "dataport check --config stores.json --strict --json | jq '.problems[] | select(.level == \"error\")'",
            "dataport check --config stores.json --quiet; echo $?   # 0: no errors (warnings allowed), 3: errors",
        ],
        notes: StoreRegistry.standard.optionsHelp(),
        run: { args, console in
            let report = ConfigCheck.run(configPath: try args.required("config"), strict: args.flag("strict"))
            let errors = report.count(.error)
            if args.flag("json") {
                console.out(ResultJSON.check(report).serialized())
            } else if !args.flag("quiet") || errors > 0 {
                for p in report.problems where !args.flag("quiet") || p.level == .error {
                    console.out("\(p.level.rawValue): \(p.code): \(p.message)")
                }
                if !args.flag("quiet") {
                    console.out("\(counted(errors, "error")), \(counted(report.count(.warning), "warning")), \(counted(report.count(.info), "note")) (\(counted(report.stores.count, "store")))")
                }
            }
            if errors > 0 { throw ReportedFailure(code: .invalidConfig, message: "the config has \(errors) error\(errors == 1 ? "" : "s")") }
        })
}

/// A command that printed its result and ends with a non-zero exit code (check found errors,
/// audit found uncovered data): one line on stderr, no error document after the result.
struct ReportedFailure: Error {
    var code: ExitCode
    var message: String
}
