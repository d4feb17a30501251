import DataPort

/// `dataport import`: a bundle into a store, verified first, all-or-nothing, idempotent, reconciled before COMMIT.
enum ImportCommand {
    static let command = Command(
        name: "import",
        summary: "Import a bundle into a store (verified first, all-or-nothing, idempotent).",
        usage: "dataport import BUNDLE --config FILE [--store NAME] [--drop-field DATASET.FIELD]... [--dry-run] [--strict] [--identity FILE | --passphrase-file FILE] [--json]",
        options: [
            CommonOptions.config("The target's stores config: maps datasets and fields to its tables and columns."),
            OptionSpec(name: "store", value: "NAME", help: "The target store (needed when the config has several)."),
            OptionSpec(name: "dry-run", value: nil, help: "Print the plan and the report without writing."),
            OptionSpec(name: "strict", value: nil, help: "Refuse a bundle with datasets the target config does not map."),
            OptionSpec(name: "drop-field", value: "DATASET.FIELD",
                       help: "Allow this bundle field to be left out (the target does not map it, or holds it as a secret); repeatable. Without it such a field refuses the import (exit 3).",
                       repeatable: true),
        ] + CommonOptions.longRunning + CommonOptions.limits + EncryptionOptions.reading,
        examples: [
            "dataport import ana.zip --config Samples/migration/crm-stores.json --drop-field account.status --drop-field account.birth_date \\\n" +
                "    --drop-field newsletter_subscriptions.id --drop-field newsletter_subscriptions.unsubscribed_at",
            "dataport import ana.zip --config target.json --store app --dry-run --json",
        ],
        positional: "bundle path",
        run: { args, console in
            let bundle = try args.onePositional("bundle path")
            let config = try StoresConfig.load(path: try args.required("config"))
            var options = ImportOptions(store: args.value("store"), dryRun: args.flag("dry-run"), strict: args.flag("strict"),
                                        dropFields: args.all("drop-field"))
            options.limits = try CommonOptions.archiveLimits(args)
            let input = try EncryptionOptions.input(bundle, args)
            var report = try input.read { try Importer.run(bundle: $0, config: config, options: options,
                                                           progress: try CommonOptions.progressObserver(args, console: console)) }
            report.bundle = bundle
            if args.flag("json") { console.out(report.json().serialized()) } else if !args.flag("quiet") { console.out(report.text) }
            // A disagreement was rolled back before COMMIT; the report above says where.
            if let mismatch = report.mismatchError { throw mismatch }
        })
}
