import DataPortImport
import DataPortModel
import DataPortStores

/// `dataport import`: a bundle into a store, verified first, all-or-nothing, idempotent.
enum ImportCommand {
    static let command = Command(
        name: "import",
        summary: "Import a bundle into a store (verified first, all-or-nothing, idempotent).",
        usage: "dataport import BUNDLE --config FILE [--store NAME] [--dry-run] [--strict] [--json]",
        options: [
            OptionSpec(name: "config", value: "FILE", help: "The target's stores config: maps datasets and fields to its tables and columns."),
            OptionSpec(name: "store", value: "NAME", help: "The target store (needed when the config has several)."),
            OptionSpec(name: "dry-run", value: nil, help: "Print the plan and the report without writing."),
            OptionSpec(name: "strict", value: nil, help: "Refuse a bundle with datasets the target config does not map."),
            OptionSpec(name: "json", value: nil, help: "Print the reconciliation report as one JSON document."),
        ],
        examples: [
            "dataport import ana.zip --config Samples/migration/crm-stores.json",
            "dataport import ana.zip --config target.json --store app --dry-run --json",
        ],
        run: { args, console in
            let bundle = try args.onePositional("bundle path")
            let config = try StoresConfig.load(path: try args.required("config"))
            let options = ImportOptions(store: args.value("store"), dryRun: args.flag("dry-run"), strict: args.flag("strict"))
            let report = try Importer.run(bundle: bundle, config: config, options: options)
            if args.flag("json") { console.out(report.json().serialized()) } else { console.out(report.text) }
            guard report.agrees else {
                throw DataPortError(.reconciliation, "the records as imported do not match the bundle's checksums", at: bundle)
            }
        })
}
