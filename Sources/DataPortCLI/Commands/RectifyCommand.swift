import DataPort
import Foundation

/// `dataport object`: an objection (Art. 21) to a purpose, as the config's `objections` say.
enum ObjectCommand {
    static let command = Command(
        name: "object",
        summary: "Apply an objection to a purpose (direct marketing) as the config declares it, with a receipt.",
        usage: "dataport object --config FILE --subject KIND=VALUE ... --purpose PURPOSE [--dry-run] [--receipt FILE] [--language LANG] [--json]",
        options: [
            CommonOptions.config("The stores config; objections.PURPOSE says what an objection writes (formats/stores-config.md, Objections)."),
            CommonOptions.subject("An identity of the subject."),
            OptionSpec(name: "purpose", value: "PURPOSE", help: "The purpose objected to, as the config names it (e.g. marketing).", required: true),
        ] + EraseCommand.shared,
        examples: ["dataport object --config Samples/stores.json --subject email=ana.nunez@example.com --purpose marketing --receipt ana-objection.zip"],
        run: { args, console in
            let (config, identities) = try EraseCommand.request(args)
            let purpose = try args.required("purpose")
            guard Dataset.isValidName(purpose) else { throw DataPortError(.usage, "--purpose must be a name such as marketing") }
            let result = try Rectifier.object(config: config, identities: identities, purpose: purpose, options: try EraseCommand.options(args))
            try EraseCommand.report(result, changes: nil, args: args, console: console)
        })
}

/// `dataport rectify`: corrects fields of the subject's rows (Art. 16).
enum RectifyCommand {
    static let command = Command(
        name: "rectify",
        summary: "Correct fields of the subject's rows (typed, checked, one transaction per store), with a receipt.",
        usage: "dataport rectify --config FILE --subject KIND=VALUE ... (--set DATASET.FIELD=VALUE --where DATASET.KEY=K)... | --changes FILE [--dry-run] [--receipt FILE] [--language LANG] [--json]",
        options: [
            CommonOptions.config("The stores config."),
            CommonOptions.subject("An identity of the subject."),
            OptionSpec(name: "set", value: "DATASET.FIELD=VALUE", help: "A new value (the field's canonical text, formats/bundle.md); paired with the --where of the same position.", repeatable: true),
            OptionSpec(name: "where", value: "DATASET.KEY=K", help: "The subject's row to change, by the dataset's key.", repeatable: true),
            OptionSpec(name: "changes", value: "FILE", help: "A JSON list of {dataset, key, field, value} (values typed as in JSON data files) instead of --set/--where."),
        ] + EraseCommand.shared,
        examples: [
            "dataport rectify --config Samples/stores.json --subject email=ana.nunez@example.com --set contact_details.city=Lisboa --where contact_details.id=1 --json",
        ],
        run: { args, console in
            let (config, identities) = try EraseCommand.request(args)
            let changes = try parseChanges(args, config: config)
            let (result, applied) = try Rectifier.rectify(config: config, identities: identities, changes: changes, options: try EraseCommand.options(args))
            try EraseCommand.report(result, changes: applied, args: args, console: console)
        })

    /// The changes asked for; errors name the option or the change by number, never a value.
    static func parseChanges(_ args: Arguments, config: StoresConfig) throws -> [FieldChange] {
        func field(_ dataset: String, _ name: String, _ at: String) throws -> FieldConfig {
            guard let d = config.dataset(named: dataset), let f = d.field(named: name) else {
                throw DataPortError(.usage, "\(at) names an unknown dataset field")
            }
            return f
        }
        if let file = args.value("changes") {
            guard args.all("set").isEmpty, args.all("where").isEmpty else { throw DataPortError(.usage, "--changes cannot be combined with --set or --where") }
            guard let data = FileManager.default.contents(atPath: file) else { throw DataPortError(.usage, "cannot read --changes", at: file) }
            guard case .array(let items) = try JSONValue.parse([UInt8](data), name: file, errorKind: .usage), !items.isEmpty else {
                throw DataPortError(.usage, "--changes must hold a non-empty JSON list of {dataset, key, field, value}", at: file)
            }
            return try items.enumerated().map { i, item in
                let at = "change number \(i + 1)"
                let o = try JSONObjectReader(item, path: at, file: file, errorKind: .usage)
                let dataset = try o.string("dataset"), name = try o.string("field")
                let key: String
                switch o.value("key") {
                case .string(let s)?: key = s
                case .number(let n)?: key = n
                default: throw DataPortError(.usage, "\(at): key must be a string or a number", at: file)
                }
                let f = try field(dataset, name, at)
                guard let raw = o.value("value"), let value = ErasurePolicy.typedValue(raw, as: f.type) else {
                    throw DataPortError(.usage, "\(at): value is missing or not a valid \(f.type.rawValue)", at: file)
                }
                try o.finish()
                return FieldChange(dataset: dataset, key: key, field: name, value: value)
            }
        }
        let sets = args.all("set"), wheres = args.all("where")
        guard !sets.isEmpty else { throw DataPortError(.usage, "give --set DATASET.FIELD=VALUE with --where DATASET.KEY=K, or --changes FILE") }
        guard sets.count == wheres.count else { throw DataPortError(.usage, "each --set needs its --where (\(sets.count) --set, \(wheres.count) --where)") }
        return try zip(sets, wheres).enumerated().map { i, pair in
            let at = "--set number \(i + 1)"
            func split(_ s: String, _ what: String) throws -> (String, String, String) {
                guard let eq = s.firstIndex(of: "="), let dot = s[..<eq].firstIndex(of: ".") else {
                    throw DataPortError(.usage, "\(what) number \(i + 1) must be DATASET.FIELD=VALUE")
                }
                return (String(s[..<dot]), String(s[s.index(after: dot)..<eq]), String(s[s.index(after: eq)...]))
            }
            let (dataset, name, text) = try split(pair.0, "--set")
            let (wd, wk, key) = try split(pair.1, "--where")
            guard wd == dataset else { throw DataPortError(.usage, "\(at): its --where names another dataset") }
            guard config.dataset(named: dataset)?.key == wk else { throw DataPortError(.usage, "\(at): --where must name the dataset's key") }
            let f = try field(dataset, name, at)
            guard let value = Value.parse(canonical: text, as: f.type) else { throw DataPortError(.usage, "\(at): the value is not a valid \(f.type.rawValue)") }
            return FieldChange(dataset: dataset, key: key, field: name, value: value)
        }
    }
}
