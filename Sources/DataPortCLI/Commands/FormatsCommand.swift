import DataPort

/// `dataport formats`: the registered format adapters.
enum FormatsCommand {
    static let command = Command(
        name: "formats",
        summary: "List the format adapters data files can be written in.",
        usage: "dataport formats [--json]",
        options: [OptionSpec(name: "json", value: nil, help: "Print the list as JSON.")],
        examples: ["dataport formats", "dataport formats --json"],
        run: { args, console in
            let adapters = FormatRegistry.standard.adapters
            if args.flag("json") {
                console.out(JSONValue.object([
                    "formats": .array(adapters.map {
                        .object(["name": .string($0.name), "extension": .string($0.fileExtension),
                                 "mediaType": .string($0.mediaType), "summary": .string($0.summary)])
                    }),
                ]).serialized())
            } else {
                // Columns as wide as their longest entry (xlsx's media type is long): nothing is cut.
                let names = adapters.map(\.name.count).max() ?? 0, types = adapters.map(\.mediaType.count).max() ?? 0
                for a in adapters {
                    console.out("\(a.name.padding(toLength: max(names, 6), withPad: " ", startingAt: 0)) \(a.mediaType.padding(toLength: max(types, 18), withPad: " ", startingAt: 0)) \(a.summary)")
                }
            }
        })
}

import Foundation
