import DataPortBundle
import DataPortFormats
import DataPortIO
import DataPortModel
import DataPortStores
import Foundation

/// The receipt of an erasure: a bundle like an export's (zip or tar.gz, BagIt, manifest with
/// SHA-256) whose manifest has scope `erasure` and no datasets, holding `receipt.json`, its schema
/// and `index.html`. It holds no erased personal data: identities only as SHA-256 of their normal
/// form, datasets only as counts. Specified in `formats/receipt.md`.
public enum ErasureReceipt {
    public static let formatName = "dataport-erasure-receipt"
    public static let formatVersion = "1.0"
    public static let fileName = "data/receipt.json"
    /// Said on every receipt, because it is how the stores are changed.
    public static let storesNote = "Each store is erased as its own unit, in one transaction: a store that failed was rolled back and is listed as failed; the other stores' erasures stand."

    /// The receipt document.
    public static func json(_ r: ErasureResult) -> JSONValue {
        let c = r.controller
        return .object([
            "format": .string(formatName),
            "formatVersion": .string(formatVersion),
            "request": .string(r.request),
            "purpose": r.purpose.map(JSONValue.string),
            "requestedAt": .string(r.requestedAt.text),
            "dryRun": .bool(r.dryRun),
            "controller": .object([
                "name": .string(c.name), "contact": .string(c.contact),
                "address": c.address.map(JSONValue.string), "dpo": c.dpoContact.map(JSONValue.string),
            ]),
            "identities": .array(r.identities.map { .object(["kind": .string($0.kind.rawValue), "sha256": .string($0.sha256)]) }),
            "datasets": .array(r.datasets.map { d in
                .object([
                    "name": .string(d.name), "title": .string(d.title), "category": .string(d.category.rawValue),
                    "store": .string(d.store), "action": .string(d.action.rawValue),
                    "before": .integer(Int64(d.before)), "erased": .integer(Int64(d.erased)),
                    "anonymized": .integer(Int64(d.anonymized)), "retained": .integer(Int64(d.retained)),
                    "remaining": d.remaining.map { .integer(Int64($0)) } ?? .null,
                    "sharedLeft": .integer(Int64(d.sharedLeft)),
                    "fields": d.action == .update ? .array(d.fields.map(JSONValue.string)) : nil,
                    "retention": d.action != .retain ? JSONValue.null : .object([
                        "ground": .string(d.ground?.rawValue ?? ""), "reason": .string(d.reason ?? ""),
                        "until": d.retainedUntil.map { .object(["first": .string($0.first.text), "last": .string($0.last.text)]) } ?? .null,
                    ]),
                ])
            }),
            "stores": .array(r.stores.map { s in
                .object(["name": .string(s.name), "type": .string(s.type), "status": .string(s.status.rawValue), "reason": s.reason.map(JSONValue.string)])
            }),
            "storesNote": .string(storesNote),
            "proof": .object([
                "checked": .bool(!r.dryRun),
                "failedDatasets": .array(r.proofFailures.map(JSONValue.string)),
            ]),
        ])
    }

    /// Writes the receipt bundle to `path` (a new path or a regular file it replaces).
    static func write(_ r: ErasureResult, to path: String, archive: ArchiveKind) throws {
        let writer = try BundleWriter(output: path, kind: archive, generatedAt: r.requestedAt)
        var files: [ManifestFile] = []
        func add(_ name: String, _ media: String, _ bytes: [UInt8]) throws {
            let entry = try writer.addFile(name) { try $0.write(bytes) }
            files.append(ManifestFile(path: name, format: nil, mediaType: media, size: entry.size, sha256: entry.sha256))
        }
        do {
            try add(fileName, "application/json", Array(json(r).serialized(pretty: true).utf8) + [0x0A])
            try add("schemas/receipt.schema.json", "application/schema+json", Array((ReceiptSchema.text + "\n").utf8))
            try add("schemas/manifest.schema.json", "application/schema+json", Array(PublishedSchemas.manifest.utf8))
            try add("index.html", "text/html", Array(ReceiptPage.render(r).utf8))
            let failed = Set(r.stores.filter { $0.status == .failed }.map(\.name))
            let manifest = Manifest(
                toolVersion: dataportVersion, generatedAt: r.requestedAt, scope: .erasure, controller: r.controller,
                subject: Subject(displayName: nil, identities: []),
                stores: r.stores.map { ManifestStore(name: $0.name, type: $0.type, status: failed.contains($0.name) ? "failed" : "complete",
                                                     reason: $0.reason, readAt: r.requestedAt) },
                datasets: [], excluded: [], otherFiles: files)
            try writer.commit(manifest: manifest)
        } catch {
            writer.discard()
            throw error
        }
    }
}

/// The receipt's `index.html`: what was erased, what was kept and why, in plain words. Plain HTML
/// and CSS, every text escaped (`IndexPage.escape`).
enum ReceiptPage {
    static func render(_ r: ErasureResult) -> String {
        let e = IndexPage.escape
        func rows(_ n: Int) -> String { n == 1 ? "1 record" : "\(n) records" }
        let titles: (page: String, plan: String, heading: String, intro: String) = switch r.request {
        case "objection": ("Objection receipt", "Objection plan", "Receipt of your objection",
                           "You objected to the processing of your personal data for \(e(r.purpose ?? "a purpose")) (GDPR Art. 21). That processing has stopped: the records below were marked so.")
        case "rectification": ("Rectification receipt", "Rectification plan", "Receipt of your rectification request",
                               "You asked us to correct personal data we hold about you (GDPR Art. 16). The fields named below were corrected.")
        default: ("Erasure receipt", "Erasure plan", "Receipt of your erasure request", "You asked us to erase your personal data (GDPR Art. 17).")
        }
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(titles.page)</title>
        <style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
        table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
        th{background:#f2f2f2}.failed{color:#a00}.meta{color:#555}</style></head><body>
        <h1>\(r.dryRun ? "\(titles.plan) (nothing was changed)" : titles.heading)</h1>
        <p class="meta">From \(e(r.controller.name)) (\(e(r.controller.contact))), request of \(e(r.requestedAt.text)).</p>
        <p>\(titles.intro) This receipt lists, for each kind of data we held about you, what \(r.dryRun ? "would happen" : "happened"). It holds none of your data itself.</p>
        <h2>What we did</h2>
        <table><tr><th>Data</th><th>Category</th><th>Action</th><th>Before</th><th>Erased</th><th>\(r.request == "erasure" ? "Anonymised" : "Changed")</th><th>Kept</th><th>Left afterwards</th></tr>

        """
        for d in r.datasets {
            h += "<tr><td>\(e(d.title))</td><td>\(e(d.category.rawValue))</td><td>\(e(d.action.rawValue))</td><td>\(d.before)</td><td>\(d.erased)</td><td>\(d.anonymized)</td><td>\(d.retained)</td><td>\(d.remaining.map(String.init) ?? "not checked")</td></tr>\n"
        }
        h += "</table>\n"
        for d in r.datasets where d.action == .update && !d.fields.isEmpty {
            h += "<p>\(e(d.title)): \(rows(d.anonymized)) changed, fields \(e(d.fields.joined(separator: ", "))).</p>\n"
        }
        let kept = r.datasets.filter { $0.action == .retain && $0.retained > 0 }
        if !kept.isEmpty {
            h += "<h2>What we kept, and why</h2>\n<ul>\n"
            for d in kept {
                var s = "<li><strong>\(e(d.title))</strong>: \(rows(d.retained)) kept on the ground of \(e(d.ground?.words ?? "")). \(e(d.reason ?? ""))."
                if let u = d.retainedUntil {
                    s += u.first == u.last ? " They will be erased on \(u.first.text)." : " They will be erased between \(u.first.text) and \(u.last.text)."
                }
                h += s + "</li>\n"
            }
            h += "</ul>\n"
        }
        let shared = r.datasets.filter { $0.sharedLeft > 0 }
        if !shared.isEmpty {
            h += "<p>\(shared.reduce(0) { $0 + $1.sharedLeft }) records were found only through an identifier (such as an IP address) that another person shares too; they were not changed, since they may not be yours.</p>\n"
        }
        let failed = r.stores.filter { $0.status == .failed }
        if !failed.isEmpty {
            h += "<h2 class=\"failed\">Not done</h2>\n<ul>\n"
            for s in failed { h += "<li class=\"failed\">Store \(e(s.name)) could not be changed: nothing in it was erased. \(e(s.reason ?? ""))</li>\n" }
            h += "</ul>\n"
        }
        if !r.proofFailures.isEmpty {
            h += "<p class=\"failed\">Our check afterwards still found data about you in: \(e(r.proofFailures.joined(separator: ", "))).</p>\n"
        }
        h += "<p class=\"meta\">\(e(ErasureReceipt.storesNote)) After the erasure the search that finds your data was run again; the last column is what it found.</p>\n"
        h += "<p class=\"meta\">To show which request this receipt answers, it holds the SHA-256 of each identifier we used to find you, not the identifiers: \(r.identities.map { "\(e($0.kind.rawValue)) <code>\($0.sha256)</code>" }.joined(separator: ", ")).</p>\n"
        h += "</body></html>\n"
        return h
    }
}
