import DataPortModel

/// `index.html`: the page a person opens by double-clicking. Plain HTML and CSS: no script, no
/// external request, every value escaped.
public enum IndexPage {
    /// How many rows of each dataset the page shows.
    public static let previewRows = 20

    /// Escapes text for HTML element content and attribute values.
    public static func escape(_ s: String) -> String {
        // Plain printable ASCII is its own escape.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x26 && $0 != 0x3C && $0 != 0x3E && $0 != 0x22 && $0 != 0x27 }) { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab and newline cannot appear in HTML text.
                if u.value < 0x20 && u != "\t" && u != "\n" || u.value == 0x7F || (0x80..<0xA0).contains(u.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }

    static let style = """
    body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
    h1{font-size:1.8rem;margin-bottom:.2rem}h2{margin-top:2.5rem;border-bottom:2px solid #ddd}h3{margin-bottom:.3rem}
    .meta{color:#555}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
    table{border-collapse:collapse;display:block;overflow-x:auto;font-size:.85rem;margin:.5rem 0}
    th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top;white-space:pre-wrap;max-width:28rem}
    th{background:#f2f2f2}.null{color:#999;font-style:italic}.card{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
    .excluded{color:#555}footer{margin-top:3rem;color:#666;font-size:.85rem}
    """

    /// The page for `manifest`, with up to `previewRows` records per dataset from `previews` (by dataset name).
    public static func render(_ m: Manifest, previews: [String: [Record]]) -> String {
        let e = escape
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'">
        <meta name="referrer" content="no-referrer">
        <title>Your personal data held by \(e(m.controller.name))</title>
        <style>\(style)</style>
        </head>
        <body>
        <h1>Your personal data</h1>
        <p class="meta">Held by <strong>\(e(m.controller.name))</strong>, prepared on \(e(m.generatedAt.text)).
        This is \(m.scope == .access ? "a copy of all personal data held about you (GDPR Art. 15)" : "the personal data you provided or that was observed about you, processed on your consent or under a contract, in a machine-readable form you may take to another service (GDPR Art. 20)").</p>

        <h2>Who holds your data</h2>
        <dl>
        <dt>Controller</dt><dd>\(e(m.controller.name))</dd>
        <dt>Contact</dt><dd>\(e(m.controller.contact))</dd>

        """
        if let a = m.controller.address { h += "<dt>Address</dt><dd>\(e(a))</dd>\n" }
        if let d = m.controller.dpoContact { h += "<dt>Data protection officer</dt><dd>\(e(d))</dd>\n" }
        h += "</dl>\n\n<h2>About you</h2>\n<dl>\n"
        if let n = m.subject.displayName { h += "<dt>Name</dt><dd>\(e(n))</dd>\n" }
        for i in m.subject.identities {
            let shared = i.shared ? "; also used by another person" : ""
            h += "<dt>\(e(i.kind.rawValue))</dt><dd>\(e(i.value)) <span class=\"meta\">(found in \(e(i.foundIn.joined(separator: ", ")))\(shared))</span></dd>\n"
        }
        let sharedIDs = m.subject.identities.filter(\.shared)
        if !sharedIDs.isEmpty {
            let kinds = Set(sharedIDs.map(\.kind.rawValue)).sorted().joined(separator: ", ")
            let withheld = m.datasets.filter { $0.sharedWithheld > 0 }, included = m.datasets.filter { $0.sharedIncluded > 0 }
            func list(_ ds: [ManifestDataset], _ n: (ManifestDataset) -> Int64) -> String {
                ds.map { "\($0.dataset.title): \(n($0))" }.joined(separator: "; ")
            }
            h += "</dl>\n<p class=\"card\">\(sharedIDs.count) \(sharedIDs.count == 1 ? "identifier" : "identifiers") (\(e(kinds))) \(sharedIDs.count == 1 ? "was" : "were") also used by another person. "
            if !withheld.isEmpty {
                h += "Records matched only through \(sharedIDs.count == 1 ? "it" : "them") were withheld to protect that person (\(e(list(withheld) { $0.sharedWithheld }))). "
            }
            if !included.isEmpty {
                h += "Records matched only through \(sharedIDs.count == 1 ? "it" : "them") are included on request and may be about that person (\(e(list(included) { $0.sharedIncluded })))."
            }
            h += "</p>\n<dl>\n"
        }
        h += "</dl>\n"
        if m.datasets.contains(where: { $0.files.contains { $0.format == "xlsx" } }) {
            h += "\n<p class=\"spreadsheets\">To open your data in a spreadsheet (Excel, LibreOffice, Numbers), use the <strong>xlsx</strong> files: "
                + "they open by double-click, with every value intact. The other files are for moving your data to another service.</p>\n"
        }
        h += "\n<h2>What we hold, by category</h2>\n"
        if m.datasets.allSatisfy({ $0.recordCount == 0 && $0.sharedWithheld == 0 }) {
            let read = m.stores.filter { $0.status == "complete" }.map(\.name)
            let failed = m.stores.filter { $0.status != "complete" }.map(\.name)
            h += "<p class=\"card\"><strong>We hold no personal data about you</strong> under the identities above: "
            h += "the stores \(e(read.joined(separator: ", "))) were searched on \(e(m.generatedAt.text)) and hold no record about them.</p>\n"
            if !failed.isEmpty { h += "<p class=\"card\">The stores \(e(failed.joined(separator: ", "))) could not be read, so this cannot be confirmed for them.</p>\n" }
        }
        let categories = Category.allCases.filter { c in m.datasets.contains { $0.dataset.category == c } }
        for c in categories {
            h += "<h3>\(e(c.title))</h3>\n<p class=\"meta\">\(e(c.definition))</p>\n"
            for d in m.datasets where d.dataset.category == c {
                h += dataset(d, preview: previews[d.dataset.name] ?? [])
            }
        }
        if !m.excluded.isEmpty {
            h += "<h2>Not included in this copy</h2>\n<ul class=\"excluded\">\n"
            for x in m.excluded { h += "<li><strong>\(e(x.title))</strong> (\(e(x.category.title))): \(e(x.reason))</li>\n" }
            h += "</ul>\n<p>You can ask for them with a request for access under Art. 15.</p>\n"
        }
        h += """

        <h2>Your rights</h2>
        <ul>
        <li><strong>Access</strong> (Art. 15): you may ask what data we hold about you, why, where it came from, who receives it and how long we keep it.</li>
        <li><strong>Rectification</strong> (Art. 16): you may have inaccurate data corrected and incomplete data completed.</li>
        <li><strong>Erasure</strong> (Art. 17): you may ask us to delete your data where there is no longer a reason to keep it.</li>
        <li><strong>Restriction</strong> (Art. 18): you may ask us to restrict processing while a dispute is resolved.</li>
        <li><strong>Portability</strong> (Art. 20): you may receive the data you provided in a machine-readable form (the files in this bundle) and have it sent to another service.</li>
        <li><strong>Objection</strong> (Art. 21): you may object to processing based on legitimate interests, and to direct marketing at any time.</li>
        <li><strong>Withdrawing consent</strong> (Art. 7(3)): you may withdraw consent at any time, without affecting earlier processing.</li>
        <li><strong>Complaint</strong> (Art. 77): you may complain to a data protection supervisory authority.</li>
        </ul>
        <p>To exercise them, contact \(e(m.controller.contact)).</p>

        <footer>
        <p>The files of this bundle are listed with their SHA-256 checksums in <a href="manifest.json">manifest.json</a>; the formats are described by the schemas in <a href="schemas/">schemas/</a>. Made by DataPort \(e(m.toolVersion)).</p>
        </footer>
        </body>
        </html>

        """
        return h
    }

    static func dataset(_ d: ManifestDataset, preview: [Record]) -> String {
        let e = escape
        let ds = d.dataset
        var h = "<div class=\"card\" id=\"\(e(ds.name))\">\n<h4>\(e(ds.title))</h4>\n<p>\(e(ds.description))</p>\n<dl>\n"
        h += "<dt>Purposes</dt><dd>\(e(ds.purposes.joined(separator: "; ")))</dd>\n"
        h += "<dt>Legal basis</dt><dd>\(e(ds.legalBasis.title))</dd>\n"
        h += "<dt>Origin</dt><dd>\(e(ds.origin.rawValue))</dd>\n"
        h += "<dt>Source</dt><dd>\(e(ds.source.store)) (\(e(ds.source.connector)): \(e(ds.source.object)))</dd>\n"
        if !ds.recipients.isEmpty { h += "<dt>Recipients</dt><dd>\(e(ds.recipients.joined(separator: "; ")))</dd>\n" }
        if let r = ds.retention { h += "<dt>Kept for</dt><dd>\(e(r))</dd>\n" }
        if !ds.withheld.isEmpty { h += "<dt>Held but not copied</dt><dd>\(e(ds.withheld.joined(separator: ", "))) (security secrets)</dd>\n" }
        h += "<dt>Records</dt><dd>\(d.recordCount)</dd>\n"
        if let n = d.skippedLines {
            h += "<dt>Not searched</dt><dd>\(n) \(n == 1 ? "line" : "lines") of this log could not be read, so could not be searched for your data</dd>\n"
        }
        h += "<dt>Files</dt><dd>\(d.files.map { "<a href=\"\(e($0.path))\">\(e($0.format ?? $0.path))</a>" }.joined(separator: " · "))</dd>\n</dl>\n"
        if !preview.isEmpty {
            h += "<table>\n<thead><tr>\(ds.fields.map { "<th>\(e($0.name))</th>" }.joined())</tr></thead>\n<tbody>\n"
            for r in preview.prefix(previewRows) {
                h += "<tr>" + r.values.map { v in
                    guard let t = v.canonicalText else { return "<td class=\"null\">none</td>" }
                    if case .binary(let b) = v { return "<td>\(b.count) bytes</td>" }
                    return "<td>\(e(t.count > 300 ? String(t.prefix(300)) + "…" : t))</td>"
                }.joined() + "</tr>\n"
            }
            h += "</tbody>\n</table>\n"
            if d.recordCount > Int64(previewRows) { h += "<p class=\"meta\">First \(previewRows) of \(d.recordCount) records; all are in the files above.</p>\n" }
        }
        return h + "</div>\n"
    }
}
