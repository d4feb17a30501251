import DataPortFormats
import DataPortIO

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
                for a in adapters {
                    console.out("\(a.name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(a.mediaType.padding(toLength: 18, withPad: " ", startingAt: 0)) \(a.summary)")
                }
            }
        })
}

import Foundation
