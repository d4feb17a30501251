import DataPort

/// `dataport inspect`: what a bundle holds.
enum InspectCommand {
    static let command = Command(
        name: "inspect",
        summary: "Show what a bundle holds: subject, stores, datasets, counts, sizes.",
        usage: "dataport inspect BUNDLE [--identity FILE | --passphrase-file FILE] [--json]",
        options: [OptionSpec(name: "json", value: nil, help: "Print the whole manifest as JSON.")] + CommonOptions.limits + EncryptionOptions.reading,
        examples: ["dataport inspect ana.zip", "dataport inspect --json ana.zip | jq '.datasets[].recordCount'"],
        positional: "bundle path",
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
            let (m, receipt) = try input.read { path in
                let reader = try BundleReader(path: path, limits: try CommonOptions.archiveLimits(args))
                return (reader.manifest, try receiptSummary(reader))
            }
            if let receipt, !args.flag("json") {
                console.out("Bundle \(path)\n  erasure receipt of \(m.generatedAt.text) by dataport \(m.toolVersion)\n  controller: \(m.controller.name) <\(m.controller.contact)>\n" + receipt)
                return
            }
            if args.flag("json") {
                console.out(m.json().serialized())
                return
            }
            var s = "Bundle \(path)\n"
            if input.encrypted { s += "  encrypted (age), opened with the key given\n" }
            s += "  generated \(m.generatedAt.text) by dataport \(m.toolVersion), scope \(m.scope.rawValue)\n"
            s += "  controller: \(m.controller.name) <\(m.controller.contact)>\n"
            s += "  subject: \(m.subject.displayName ?? "(unnamed)"), \(counted(m.subject.identities.count, "identity", "identities"))\n"
            for st in m.stores { s += "  store \(st.name) (\(st.type)): \(st.status)\(st.reason.map { ", \($0)" } ?? "")\n" }
            s += "  datasets:\n"
            // Columns as wide as their longest entry: a long dataset name is never cut.
            let names = TextColumn(m.datasets.map(\.dataset.name), minimum: 22), categories = TextColumn(m.datasets.map(\.dataset.category.rawValue), minimum: 16)
            for d in m.datasets {
                let size = d.files.reduce(0) { $0 + $1.size }
                let records = String(d.recordCount).leftPadded(to: 8) + (d.recordCount == 1 ? " record " : " records")
                s += "    \(names.pad(d.dataset.name)) \(categories.pad(d.dataset.category.rawValue)) \(records) \(String(size).leftPadded(to: 10)) \(size == 1 ? "byte " : "bytes")  \(d.files.compactMap(\.format).joined(separator: ","))\n"
            }
            for e in m.excluded { s += "  left out: \(e.name) (\(e.reason))\n" }
            console.out(s)
        })
}

extension InspectCommand {
    /// The lines `inspect` shows for an erasure receipt (scope `erasure`): per dataset its action
    /// and counts, and the stores that failed; `nil` for any other bundle.
    static func receiptSummary(_ reader: BundleReader) throws -> String? {
        guard reader.manifest.scope == .erasure, let file = reader.manifest.otherFiles.first(where: { $0.path == ErasureReceipt.fileName }) else { return nil }
        let source = try reader.open(file)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= 16 << 20 else { throw DataPortError(.limitExceeded, "receipt.json is larger than 16 MB", at: reader.path) }
        }
        let doc = try JSONValue.parse(bytes, name: file.path, errorKind: .invalidBundle)
        func int(_ v: JSONValue?) -> String { if case .number(let n)? = v { n } else { "-" } }
        var s = doc["dryRun"] == .bool(true) ? "  a dry run: nothing was changed\n" : ""
        s += "  identities: \(doc["identities"].flatMap { if case .array(let a) = $0 { a.count } else { nil } } ?? 0) (as SHA-256)\n  datasets:\n"
        if case .array(let ds)? = doc["datasets"] {
            let names = TextColumn(ds.map { $0["name"]?.stringValue ?? "" }, minimum: 26), actions = TextColumn(ds.map { $0["action"]?.stringValue ?? "" }, minimum: 9)
            for d in ds {
                let name = d["name"]?.stringValue ?? "", action = d["action"]?.stringValue ?? ""
                s += "    \(names.pad(name)) \(actions.pad(action)) before \(int(d["before"])), erased \(int(d["erased"])), anonymized \(int(d["anonymized"])), retained \(int(d["retained"])), after \(int(d["remaining"]))\n"
            }
        }
        if case .array(let st)? = doc["stores"] {
            for x in st where x["status"]?.stringValue == "failed" { s += "  store \(x["name"]?.stringValue ?? ""): failed, rolled back\n" }
        }
        return s
    }
}


import Foundation
