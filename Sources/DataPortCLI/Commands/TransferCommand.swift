import DataPort

/// `dataport transfer`: one subject from one controller's stores into another's (Art. 20(2)), in one process.
enum TransferCommand {
    static let command = Command(
        name: "transfer",
        summary: "Export a subject and import it into another system in one step, verified and reconciled.",
        usage: "dataport transfer --from SOURCE.json --subject KIND=VALUE ... --to TARGET.json [--store NAME] [--drop-field DATASET.FIELD]... [--dry-run] [--json]",
        options: [
            OptionSpec(name: "from", value: "FILE", help: "The source's stores config (as export --config).", required: true),
            CommonOptions.subject("An identity of the subject (as export --subject)."),
            OptionSpec(name: "to", value: "FILE", help: "The target's stores config (as import --config).", required: true),
            OptionSpec(name: "store", value: "NAME", help: "The target store (needed when the target config has several)."),
            CommonOptions.scope,
            OptionSpec(name: "drop-field", value: "DATASET.FIELD",
                       help: "Allow this field to be left out (the target does not map it); repeatable. Without it such a field refuses the transfer (exit 3).",
                       repeatable: true),
            OptionSpec(name: "strict", value: nil, help: "Refuse when the target config does not map every exported dataset."),
            OptionSpec(name: "dry-run", value: nil, help: "Export, verify and plan the import without writing to the target."),
        ] + CommonOptions.longRunning,
        examples: [
            "dataport transfer --from Samples/stores.json --subject email=ana.nunez@example.com --scope access \\\n" +
                "    --to Samples/migration/crm-stores.json --drop-field account.status --drop-field account.birth_date \\\n" +
                "    --drop-field newsletter_subscriptions.id --drop-field newsletter_subscriptions.unsubscribed_at --json",
        ],
        run: { args, console in
            let source = try StoresConfig.load(path: try args.required("from"))
            let rawSubjects = args.all("subject")
            let identities = try rawSubjects.map(ExportCommand.parseIdentity)
            let target = try StoresConfig.load(path: try args.required("to"))
            var export = ExportOptions()
            if let s = args.value("scope") {
                guard let scope = Scope(rawValue: s), scope != .erasure else { throw DataPortError(.usage, "--scope must be portability or access") }
                export.scope = scope
            }
            var options = ImportOptions(store: args.value("store"), dryRun: args.flag("dry-run"), strict: args.flag("strict"),
                                        dropFields: args.all("drop-field"))
            let result = try Transfer.run(from: source, identities: identities, to: target, export: export, import: options,
                                          progress: try CommonOptions.progressObserver(args, console: console))
            if args.flag("json") {
                console.out(JSONValue.object([
                    "exported": ResultJSON.export(result.exported),
                    "imported": result.imported.json(),
                    "agrees": .bool(result.imported.agrees),
                ]).serialized())
            } else if !args.flag("quiet") {
                let e = result.exported
                console.out("exported \(counted(e.manifest.datasets.count, "dataset")), \(counted(e.records, "record")) (\(counted(e.bytes, "byte")), verified)\n" + result.imported.text)
            }
            if let mismatch = result.imported.mismatchError { throw mismatch }
        })
}
