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
    /// Said on every receipt, because it is how the stores are changed (in English in `receipt.json`,
    /// like the manifest's reasons; the page says it in the person's language).
    public static var storesNote: String { Messages(.default)("receipt.stores.note") }

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
            try add("schemas/manifest.schema.json", "application/schema+json", Array(Manifest.schema.utf8))
            try add("index.html", "text/html", Array(ReceiptPage.render(r).utf8))
            let failed = Set(r.stores.filter { $0.status == .failed }.map(\.name))
            var manifest = Manifest(
                toolVersion: dataportVersion, generatedAt: r.requestedAt, scope: .erasure, controller: r.controller,
                subject: Subject(displayName: nil, identities: []),
                stores: r.stores.map { ManifestStore(name: $0.name, type: $0.type, status: failed.contains($0.name) ? "failed" : "complete",
                                                     reason: $0.reason, readAt: r.requestedAt) },
                datasets: [], excluded: [], otherFiles: files)
            manifest.presentation = r.presentation
            manifest.categories = r.categories
            try writer.commit(manifest: manifest)
        } catch {
            writer.discard()
            throw error
        }
    }
}

/// The receipt's `index.html`: what was erased, what was kept and why, in plain words, in the
/// language of `result.presentation` (the site's catalogues, `Messages`). The site's head and style,
/// every text escaped.
enum ReceiptPage {
    static func render(_ r: ErasureResult) -> String {
        let t = Messages(r.presentation), e = IndexPage.escape
        let request = ["erasure", "objection", "rectification"].contains(r.request) ? r.request : "erasure"
        let heading = r.dryRun ? t("receipt.plan.unchanged", t("receipt.\(request).plan")) : t("receipt.\(request).heading")
        let intro = request == "objection" ? t("receipt.objection.intro", r.purpose ?? "") : t("receipt.\(request).intro")
        var h = SitePage.head(language: t.language, title: t(r.dryRun ? "receipt.\(request).plan" : "receipt.\(request).title"))
        h += "<h1>\(e(heading))</h1>\n"
        h += "<p class=\"meta\">\(e(t("receipt.from", r.controller.name, r.controller.contact, t.dateTime(r.requestedAt), t.timeZoneName)))</p>\n"
        h += "<p>\(e(intro)) \(e(t(r.dryRun ? "receipt.lists.plan" : "receipt.lists")))</p>\n"
        h += "<h2>\(e(t(r.dryRun ? "receipt.plan.heading" : "receipt.done.heading")))</h2>\n<div class=\"scroll\"><table>\n<thead><tr>"
        let columns = ["data", "category", "action", "before", "erased", request == "erasure" ? "anonymized" : "changed", "kept", "after"]
        h += columns.map { "<th>\(e(t("receipt.column.\($0)")))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for d in r.datasets {
            let category = r.categories.first { $0.category == d.category }?.title ?? t("category.\(d.category.rawValue).title")
            let cells = [d.title, category, t("receipt.action.\(d.action.rawValue)"), t.number(Int64(d.before)), t.number(Int64(d.erased)),
                         t.number(Int64(d.anonymized)), t.number(Int64(d.retained)), d.remaining.map { t.number(Int64($0)) } ?? t("receipt.not-checked")]
            h += "<tr>" + cells.map { "<td>\(e($0))</td>" }.joined() + "</tr>\n"
        }
        h += "</tbody></table></div>\n"
        for d in r.datasets where d.action == .update && !d.fields.isEmpty {
            h += "<p>\(e(t.plural("receipt.changed", Int64(d.anonymized), d.title, d.fields.joined(separator: ", "))))</p>\n"
        }
        let kept = r.datasets.filter { $0.action == .retain && $0.retained > 0 }
        if !kept.isEmpty {
            h += "<h2>\(e(t("receipt.kept.heading")))</h2>\n<ul>\n"
            for d in kept {
                var s = "<li><strong>\(e(d.title))</strong>: \(e(t.plural("receipt.kept", Int64(d.retained))))"
                if let g = d.ground { s += " " + e(t("receipt.kept.why", t("receipt.ground.\(g.rawValue)"))) }
                if let reason = d.reason, !reason.isEmpty { s += " " + e(reason) + (reason.hasSuffix(".") ? "" : ".") }
                if let u = d.retainedUntil {
                    s += " " + e(u.first == u.last ? t("receipt.until.day", t.date(u.first)) : t("receipt.until.range", t.date(u.first), t.date(u.last)))
                }
                h += s + "</li>\n"
            }
            h += "</ul>\n"
        }
        let shared = r.datasets.reduce(0) { $0 + $1.sharedLeft }
        if shared > 0 { h += "<p>\(e(t.plural("receipt.shared", Int64(shared))))</p>\n" }
        let failed = r.stores.filter { $0.status == .failed }
        if !failed.isEmpty {
            h += "<div class=\"card warning\"><h2>\(e(t("receipt.failed.heading")))</h2>\n<ul>\n"
            for s in failed { h += "<li>\(e(t("receipt.failed.store", s.name)))\(s.reason.map { " " + e($0) } ?? "")</li>\n" }
            h += "</ul></div>\n"
        }
        if !r.proofFailures.isEmpty {
            h += "<p class=\"card warning\">\(e(t("receipt.proof.failed", r.proofFailures.joined(separator: ", "))))</p>\n"
        }
        h += "<p class=\"meta\">\(e(t("receipt.stores.note")))\(r.dryRun ? "" : " " + e(t("receipt.proof.note")))</p>\n"
        let ids = r.identities.map { "\(e($0.kind.rawValue)) <code>\($0.sha256)</code>" }.joined(separator: ", ")
        h += "<p class=\"meta\">\(t.html("receipt.identities", ids))</p>\n"
        h += "<footer>\(e(t("footer", dataportVersion)))</footer>\n</body>\n</html>\n"
        return h
    }
}
