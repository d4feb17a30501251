import DataPort

/// `dataport erase`: answers an erasure request (Art. 17) as the config's `erasure` policies say.
enum EraseCommand {
    static let command = Command(
        name: "erase",
        summary: "Erase one subject from the stores by the config's policies, prove it, write a receipt.",
        usage: "dataport erase --config FILE --subject KIND=VALUE ... [--dry-run] [--receipt FILE] [--requested-at TIME] [--language LANG] [--json]",
        options: [
            CommonOptions.config("The stores config; every dataset needs an erasure policy (formats/stores-config.md, Erasure)."),
            CommonOptions.subject("An identity of the subject: email=..., user_id=..., ip=..., cookie_id=..."),
        ] + shared,
        examples: [
            "dataport erase --config Samples/stores.json --subject email=ana.nunez@example.com --dry-run",
            "dataport erase --config stores.json --subject email=bo@example.org --receipt bo-erasure.zip --json",
        ],
        run: { args, console in
            let (config, identities) = try request(args)
            let result = try Eraser.erase(config: config, identities: identities, options: try options(args))
            try report(result, changes: nil, args: args, console: console)
        })

    /// The options every request command shares.
    static let shared = [
        OptionSpec(name: "dry-run", value: nil, help: "Compute the plan (and the receipt) and change nothing."),
        OptionSpec(name: "receipt", value: "FILE", help: "Write the receipt bundle here (zip or tar.gz, BagIt; formats/receipt.md): counts and field names, no personal data."),
        OptionSpec(name: "requested-at", value: "TIME", help: "The request's time (ISO 8601): the receipt's time, $now of an objection, the instant retention holds are measured against (default now)."),
        CommonOptions.language("The language of the receipt's page: en, lt, de, fr or es (default: the config's language, else en)."),
        OptionSpec(name: "time-zone", value: "ZONE", help: "The time zone the receipt's page shows times in, an IANA name such as Europe/Vilnius (default: the config's timeZone, else UTC)."),
        CommonOptions.archive,
        CommonOptions.json,
        CommonOptions.quiet,
    ]

    /// The config and the subject's identities of a request command.
    static func request(_ args: Arguments) throws -> (StoresConfig, [Identity]) {
        let config = try StoresConfig.load(path: try args.required("config"))
        let raw = args.all("subject")
        let identities = try raw.map(ExportCommand.parseIdentity)
        try ExportCommand.checkKinds(identities, config: config, what: "--subject")
        return (config, identities)
    }

    /// The options of `shared`, parsed.
    static func options(_ args: Arguments) throws -> EraseOptions {
        var options = EraseOptions(dryRun: args.flag("dry-run"), receipt: args.value("receipt"))
        if let ts = try CommonOptions.time(args, "requested-at") { options.requestedAt = ts }
        (options.language, options.timeZone) = try CommonOptions.presentation(args)
        options.archive = try CommonOptions.archiveKind(args)
        return options
    }

    /// Prints the result (`--json`: the receipt document; `changes` with old and new values, on
    /// stdout only) and ends with the result's failure, if any.
    static func report(_ result: ErasureResult, changes: [AppliedChange]?, args: Arguments, console: Console) throws {
        if args.flag("json") {
            guard case .object(var members) = ErasureReceipt.json(result) else { return }
            members.insert(.init("receipt", result.receipt.map(JSONValue.string) ?? .null), at: 0)
            if let changes {
                members.append(.init("changes", .array(changes.map { c in
                    .object(["dataset": .string(c.dataset), "key": .string(c.key), "field": .string(c.field),
                             "old": JSONValueCodec.json(c.old), "new": JSONValueCodec.json(c.new)])
                })))
            }
            console.out(JSONValue.object(members).serialized())
        } else if !args.flag("quiet") {
            var s = result.dryRun ? "plan (nothing changed):\n" : ""
            let names = TextColumn(result.datasets.map(\.name), minimum: 26), actions = TextColumn(result.datasets.map(\.action.rawValue), minimum: 9)
            for d in result.datasets {
                s += "  \(names.pad(d.name)) \(actions.pad(d.action.rawValue)) before \(d.before), "
                s += d.action == .update ? "changed \(d.anonymized)" : "erased \(d.erased), anonymized \(d.anonymized), retained \(d.retained)"
                s += d.remaining.map { ", after \($0)\n" } ?? "\n"
            }
            for st in result.stores where st.status == .failed { s += "store \(st.name): failed, rolled back (\(st.reason ?? ""))\n" }
            if let r = result.receipt { s += "wrote receipt \(r)\n" }
            console.out(s)
        }
        if let failure = result.failure { throw failure }
    }
}
