import DataPort
import DataPortBundle
import DataPortFormats
import DataPortIO
import DataPortModel
import DataPortStores

/// `dataport export`: gathers one subject from the stores into a bundle.
enum ExportCommand {
    static let command = Command(
        name: "export",
        summary: "Gather one subject's data from the stores into a verifiable bundle.",
        usage: "dataport export --config FILE --subject KIND=VALUE [--subject ...] --output FILE [options]",
        options: [
            OptionSpec(name: "config", value: "FILE", help: "The stores config (JSON)."),
            OptionSpec(name: "subject", value: "KIND=VALUE", help: "An identity of the subject: email=..., user_id=..., ip=..., cookie_id=...", repeatable: true),
            OptionSpec(name: "output", value: "FILE", help: "Where to write the bundle (.zip)."),
            OptionSpec(name: "format", value: "LIST", help: "Formats of the data files, comma-separated (default json). See 'dataport formats'."),
            OptionSpec(name: "scope", value: "SCOPE", help: "portability (Art. 20, default) or access (Art. 15, everything held)."),
            OptionSpec(name: "generated-at", value: "TIME", help: "Pin the bundle's time (ISO 8601) for a byte-identical, reproducible bundle."),
            OptionSpec(name: "allow-partial", value: nil, help: "Write the bundle even if a store fails, recording the failure."),
            OptionSpec(name: "json", value: nil, help: "Print the result as one JSON document."),
        ],
        examples: [
            "dataport export --config Samples/stores.json --subject email=ana@example.com --output ana.zip",
            "dataport export --config stores.json --subject email=bo@example.org --subject ip=203.0.113.7 --format json,csv --scope access --output bo.zip",
        ],
        run: { args, console in
            guard args.positionals.isEmpty else { throw DataPortError(.usage, "unexpected argument \(args.positionals[0])") }
            let configPath = try args.required("config")
            let output = try args.required("output")
            let rawSubjects = args.all("subject")
            guard !rawSubjects.isEmpty else { throw DataPortError(.usage, "missing required option --subject KIND=VALUE") }
            let identities = try rawSubjects.map(parseIdentity)
            var options = ExportOptions()
            options.formats = try FormatRegistry.standard.adapters(forList: args.value("format") ?? "json")
            if let s = args.value("scope") {
                guard let scope = Scope(rawValue: s) else { throw DataPortError(.usage, "--scope must be portability or access") }
                options.scope = scope
            }
            if let t = args.value("generated-at") {
                guard let ts = Timestamp(t) else { throw DataPortError(.usage, "--generated-at must be an ISO 8601 time such as 2026-01-31T12:00:00Z") }
                options.generatedAt = ts
            }
            options.allowPartial = args.flag("allow-partial")
            let config = try StoresConfig.load(path: configPath)
            let result = try Exporter.export(config: config, identities: identities, output: output, options: options)
            if args.flag("json") {
                console.out(ResultJSON.export(result).serialized())
            } else {
                console.out("wrote \(output): \(result.manifest.datasets.count) datasets, \(result.records) records, \(result.bytes) bytes")
                for s in result.manifest.stores where s.status != "complete" {
                    console.out("store \(s.name): \(s.status)\(s.reason.map { " (\($0))" } ?? "")")
                }
            }
        })

    /// Parses `kind=value`.
    static func parseIdentity(_ raw: String) throws -> Identity {
        guard let eq = raw.firstIndex(of: "="), eq != raw.startIndex else {
            throw DataPortError(.usage, "--subject must be KIND=VALUE, e.g. email=ana@example.com")
        }
        let kind = String(raw[..<eq])
        let value = String(raw[raw.index(after: eq)...])
        guard Dataset.isValidName(kind), !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DataPortError(.usage, "--subject must be KIND=VALUE with a kind such as email, user_id, ip, cookie_id")
        }
        return Identity(kind: IdentityKind(kind), value: value, foundIn: ["request"])
    }
}

import Foundation
