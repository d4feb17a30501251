import DataPortBundle
import DataPortIO
import DataPortModel

/// `dataport inspect`: what a bundle holds.
enum InspectCommand {
    static let command = Command(
        name: "inspect",
        summary: "Show what a bundle holds: subject, stores, datasets, counts, sizes.",
        usage: "dataport inspect BUNDLE [--json]",
        options: [OptionSpec(name: "json", value: nil, help: "Print the whole manifest as JSON.")] + CommonOptions.limits,
        examples: ["dataport inspect ana.zip", "dataport inspect --json ana.zip | jq '.datasets[].recordCount'"],
        run: { args, console in
            let path = try args.onePositional("bundle path")
            let m = try BundleReader(path: path, limits: try CommonOptions.archiveLimits(args)).manifest
            if args.flag("json") {
                console.out(m.json().serialized())
                return
            }
            var s = "Bundle \(path)\n"
            s += "  generated \(m.generatedAt.text) by dataport \(m.toolVersion), scope \(m.scope.rawValue)\n"
            s += "  controller: \(m.controller.name) <\(m.controller.contact)>\n"
            s += "  subject: \(m.subject.displayName ?? "(unnamed)"), \(m.subject.identities.count) identities\n"
            for st in m.stores { s += "  store \(st.name) (\(st.type)): \(st.status)\(st.reason.map { ", \($0)" } ?? "")\n" }
            s += "  datasets:\n"
            for d in m.datasets {
                let size = d.files.reduce(0) { $0 + $1.size }
                s += "    \(d.dataset.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(d.dataset.category.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(d.recordCount).leftPad(8)) records \(String(size).leftPad(10)) bytes  \(d.files.compactMap(\.format).joined(separator: ","))\n"
            }
            for e in m.excluded { s += "  left out: \(e.name) (\(e.reason))\n" }
            console.out(s)
        })
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

import Foundation
