import DataPort
import DataPortFormats
import DataPortModel

/// `dataport convert`: re-encodes a bundle into other formats.
enum ConvertCommand {
    static let command = Command(
        name: "convert",
        summary: "Re-encode a bundle's datasets into other formats (no stores needed).",
        usage: "dataport convert BUNDLE --format LIST --output FILE [--json]",
        options: [
            OptionSpec(name: "format", value: "LIST", help: "Formats of the new bundle, comma-separated."),
            OptionSpec(name: "output", value: "FILE", help: "Where to write the new bundle."),
            CommonOptions.csvFormulaGuard,
            CommonOptions.archive,
        ] + CommonOptions.longRunning + CommonOptions.limits,
        examples: ["dataport convert ana.zip --format csv --output ana-csv.zip", "dataport convert ana.zip --format json,csv,xml --output ana-all.zip"],
        run: { args, console in
            let input = try args.onePositional("bundle path")
            let formats = try CommonOptions.formats(try args.required("format"), args)
            let output = try args.required("output")
            let result = try Converter.convert(input: input, output: output, formats: formats, archive: try CommonOptions.archiveKind(args), limits: try CommonOptions.archiveLimits(args),
                                               progress: try CommonOptions.progressObserver(args, console: console))
            if args.flag("json") {
                console.out(ResultJSON.export(result).serialized())
            } else if !args.flag("quiet") {
                console.out("wrote \(output): \(result.manifest.datasets.count) datasets, \(result.records) records, \(result.bytes) bytes")
            }
        })
}
