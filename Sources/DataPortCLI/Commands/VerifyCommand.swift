import DataPort

/// `dataport verify`: checks a bundle's structure, manifest, checksums and record counts.
enum VerifyCommand {
    static let command = Command(
        name: "verify",
        summary: "Check a bundle: structure, manifest, every checksum and record count.",
        usage: "dataport verify BUNDLE [--identity FILE | --passphrase-file FILE] [--json] [--quiet] [--progress MODE] [limits]",
        options: CommonOptions.longRunning + CommonOptions.limits + EncryptionOptions.reading,
        examples: ["dataport verify ana.zip", "dataport verify ana.zip.age --identity key.txt", "dataport verify --json --progress json received.zip && echo intact"],
        positional: "bundle path",
        run: { args, console in
            let path = try args.onePositional("bundle path")
            let input = try EncryptionOptions.input(path, args)
            let report = try input.read { try BundleReader(path: $0, limits: try CommonOptions.archiveLimits(args))
                .verify(progress: try CommonOptions.progressObserver(args, console: console)) }
            if args.flag("json") {
                console.out(JSONValue.object([
                    "bundle": .string(path), "valid": .bool(true), "formatVersion": .string(Manifest.formatVersion),
                    "files": .integer(report.files), "bytes": .integer(report.bytes), "records": .integer(report.records),
                ]).serialized())
            } else if !args.flag("quiet") {
                console.out("\(path): OK (\(counted(report.files, "file")), \(counted(report.records, "record")), \(counted(report.bytes, "byte")) checked)")
            }
        })
}
