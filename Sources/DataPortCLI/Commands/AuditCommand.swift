import DataPort

/// `dataport audit`: where the subject's identities occur in tables and files the config does not cover.
enum AuditCommand {
    static let command = Command(
        name: "audit",
        summary: "Search the tables and files the config does not cover for a subject's identities.",
        usage: "dataport audit --config FILE --subject KIND=VALUE ... [--tables LIST] [--json] [--quiet] [--progress MODE]",
        options: [
            CommonOptions.config(),
            CommonOptions.subject("An identity of the subject, as for export; resolved as export resolves it."),
            OptionSpec(name: "tables", value: "LIST", help: "Search only these uncovered tables or files (comma-separated; TABLE, FILE or STORE.TABLE)."),
        ] + CommonOptions.longRunning,
        examples: [
            "dataport audit --config Samples/stores.json --subject email=ana.nunez@example.com",
            "dataport audit --config stores.json --subject email=bo@example.org --tables legacy_users,support.tickets --json",
            "dataport audit --config stores.json --subject email=bo@example.org --quiet; echo $?   # 0: nothing outside the config, 3: found, 4: something could not be searched (it scans: see README)",
        ],
        run: { args, console in
            let config = try StoresConfig.load(path: try args.required("config"))
            let raw = args.all("subject")
            let identities = try raw.map(ExportCommand.parseIdentity)
            try ExportCommand.checkKinds(identities, config: config, what: "--subject")
            let tables = args.value("tables").map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            let report = try CoverageAudit.run(config: config, request: identities, tables: tables,
                                               progress: try CommonOptions.progressObserver(args, console: console))
            if args.flag("json") {
                console.out(ResultJSON.audit(report).serialized())
            } else if !args.flag("quiet") {
                for f in report.found {
                    console.out("found: store \(f.store), \(f.type == "csv" || f.type == "jsonl" || f.type == "accesslog" ? "file" : "table") \(f.object), column \(f.column): \(counted(f.rows, "row")) \(f.rows == 1 ? "holds" : "hold") the subject's \(f.kind.rawValue)")
                }
                for s in report.skipped { console.out("not searched: store \(s.store), \(s.object): \(s.reason)") }
                let n = report.found.count
                console.out("\(n) \(n == 1 ? "place" : "places") outside the config \(n == 1 ? "holds" : "hold") the subject's identities (\(report.searched.count) uncovered tables and files searched, \(report.covered) covered by the config)")
            }
            if !report.found.isEmpty {
                throw ReportedFailure(code: .invalidConfig, message: "the config does not cover \(report.found.count == 1 ? "1 place that holds" : "\(report.found.count) places that hold") the subject's identities")
            }
            if !report.skipped.isEmpty {
                throw ReportedFailure(code: .store, message: "\(report.skipped.count) uncovered tables or files could not be searched: the search is incomplete")
            }
        })
}
