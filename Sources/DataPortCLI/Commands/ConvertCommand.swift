import DataPort

/// `dataport convert`: re-encodes a bundle into other formats.
enum ConvertCommand {
    static let command = Command(
        name: "convert",
        summary: "Re-encode a bundle's datasets into other formats (no stores needed).",
        usage: "dataport convert BUNDLE --format LIST --output FILE [--identity FILE] [--encrypt-to RECIPIENT ...] [--passphrase-file FILE] [--json]",
        options: [
            CommonOptions.format("Formats of the new bundle, comma-separated.", required: true),
            OptionSpec(name: "output", value: "FILE", help: "Where to write the new bundle: a new path or a regular file (mode 0600), or - for stdout (never a terminal; the summary and --json then go to stderr); not the input, a folder, FIFO, device, socket or link (\".age\" is appended to a file's name when it is encrypted).", required: true),
            CommonOptions.csvFormulaGuard,
            CommonOptions.csvBOM,
            CommonOptions.archive,
        ] + CommonOptions.longRunning + CommonOptions.limits + EncryptionOptions.converting,
        examples: ["dataport convert ana.zip --format csv --output ana-csv.zip", "dataport convert ana.zip --format json,csv,xml --output ana-all.zip"],
        positional: "bundle path",
        run: { args, console in
            let input = try args.onePositional("bundle path")
            let formats = try CommonOptions.formats(try args.required("format"), args)
            let encryption = try EncryptionOptions.outputEncryption(args)
            let output = CommonOptions.outputName(try args.required("output"), encrypted: encryption != nil)
            let opened = try EncryptionOptions.input(input, args)
            let result = try opened.read { try Converter.convert(input: $0, output: output, formats: formats, archive: try CommonOptions.archiveKind(args),
                                                                  limits: try CommonOptions.archiveLimits(args), encryption: encryption,
                                                                  progress: try CommonOptions.progressObserver(args, console: console)) }
            if args.flag("json") {
                console.out(ResultJSON.export(result).serialized())
            } else if !args.flag("quiet") {
                console.out("wrote \(CommonOptions.shownOutput(output)): \(counted(result.manifest.datasets.count, "dataset")), \(counted(result.records, "record")), \(counted(result.bytes, "byte"))")
            }
        })
}
