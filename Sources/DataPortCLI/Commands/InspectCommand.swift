import DataPort
import DataPortAge
import DataPortBundle
import DataPortIO
import DataPortModel

/// `dataport inspect`: what a bundle holds.
enum InspectCommand {
    static let command = Command(
        name: "inspect",
        summary: "Show what a bundle holds: subject, stores, datasets, counts, sizes.",
        usage: "dataport inspect BUNDLE [--identity FILE | --passphrase-file FILE] [--json]",
        options: [OptionSpec(name: "json", value: nil, help: "Print the whole manifest as JSON.")] + CommonOptions.limits + EncryptionOptions.reading,
        examples: ["dataport inspect ana.zip", "dataport inspect --json ana.zip | jq '.datasets[].recordCount'"],
        run: { args, console in
            let path = try args.onePositional("bundle path")
            let input = try BundleInput(path: path, decryption: try EncryptionOptions.decryption(args), limits: try CommonOptions.archiveLimits(args),
                                        summarizeWithoutKey: true)
            if let summary = input.keylessSummary {
                // Without a key an encrypted bundle says only that it is one, and for how many keys.
                if args.flag("json") {
                    let counts: KeyValuePairs<String, JSONValue?> = [
                        "bundle": .string(path), "encrypted": .bool(true), "encryption": .string("age"),
                        "recipients": .integer(summary.recipients), "x25519": .integer(summary.x25519),
                        "scrypt": .integer(summary.scrypt), "other": .integer(summary.other),
                    ]
                    console.out(JSONValue.object(counts).serialized())
                } else {
                    let n = summary.recipients
                    var what = "for \(n) recipient\(n == 1 ? "" : "s") (\(summary.x25519) X25519"
                    what += summary.other > 0 ? ", \(summary.other) other)" : ")"
                    if summary.scrypt > 0 { what = "with a passphrase (scrypt)" }
                    console.out("Bundle \(path)\n  encrypted (age) \(what)\n  give --identity FILE or --passphrase-file FILE to see what it holds\n")
                }
                return
            }
            let m = try input.read { try BundleReader(path: $0, limits: try CommonOptions.archiveLimits(args)).manifest }
            if args.flag("json") {
                console.out(m.json().serialized())
                return
            }
            var s = "Bundle \(path)\n"
            if input.encrypted { s += "  encrypted (age), opened with the key given\n" }
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
