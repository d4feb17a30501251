import DataPortIO
import DataPortModel

/// `index.html`: the page a person opens by double-clicking, the entry to the bundle's small site:
/// an overview, a table of contents, who holds the data, the datasets (each linking to its pages
/// under `pages/`, `DatasetPages`), what was left out and why, the person's rights, and how to open
/// the files. Plain HTML and CSS: no script, no external request, every value escaped. In the
/// language of `manifest.presentation`; a function of the manifest alone.
public enum IndexPage {
    /// Escapes text for HTML element content and attribute values.
    public static func escape(_ s: String) -> String { HTMLText.escape(s) }

    /// The formats the "How to open these files" section explains, in the order it does.
    static let explainedFormats = ["xlsx", "csv", "json", "xml"]

    public static func render(_ m: Manifest) -> String {
        let t = Messages(m.presentation)
        let formats = explainedFormats.filter { f in m.datasets.contains { $0.files.contains { $0.format == f } } }
        var h = introduction(m, t, formats: formats)
        h += tableOfContents(m, t)
        h += controllerSection(m, t)
        h += personSection(m, t)
        h += dataSection(m, t)
        h += leftOutSection(m, t)
        h += rightsSection(m, t)
        h += openingSection(formats, t)
        h += technicalSection(m, t)
        return h
    }

    /// The stores that could not be read completely.
    static func failedStores(_ m: Manifest) -> [ManifestStore] { m.stores.filter { $0.status != "complete" } }

    /// The head, the heading, who holds the data since when, the scope, a warning when stores
    /// failed, and the spreadsheet hint when there are workbooks.
    static func introduction(_ m: Manifest, _ t: Messages, formats: [String]) -> String {
        let e = escape
        let failed = failedStores(m)
        var h = SitePage.head(language: t.language, title: t("index.title", m.controller.name))
        h += "<h1>\(e(t("index.heading")))</h1>\n"
        h += "<p class=\"meta\">\(t.html("index.held", "<strong>\(e(m.controller.name))</strong>", e(t.dateTime(m.generatedAt)), e(t.timeZoneName)))\n"
        h += e(t(m.scope == .access ? "index.scope.access" : "index.scope.portability")) + "</p>\n"
        if !failed.isEmpty {
            h += "<p class=\"card warning\"><strong>\(e(t("index.partial.heading")))</strong> "
            h += e(t.plural("index.partial", Int64(failed.count), failed.map(\.name).joined(separator: ", "))) + "</p>\n"
        }
        if formats.contains("xlsx") {
            h += "<p class=\"spreadsheets\">\(t.html("open.xlsx.recommend", "<strong>xlsx</strong>"))</p>\n"
        }
        return h
    }

    static func tableOfContents(_ m: Manifest, _ t: Messages) -> String {
        let e = escape
        var h = "\n<nav aria-labelledby=\"contents\">\n<h2 id=\"contents\">\(e(t("toc.heading")))</h2>\n<ol>\n"
        h += "<li><a href=\"#controller\">\(e(t("controller.heading")))</a></li>\n"
        h += "<li><a href=\"#you\">\(e(t("you.heading")))</a></li>\n"
        h += "<li><a href=\"#data\">\(e(t("data.heading")))</a>\n<ul>\n"
        for d in m.datasets { h += "<li><a href=\"#\(e(d.dataset.name))\">\(e(d.dataset.title))</a> <span class=\"meta\">(\(e(t.plural("records", d.recordCount))))</span></li>\n" }
        h += "</ul></li>\n"
        if !m.excluded.isEmpty { h += "<li><a href=\"#left-out\">\(e(t("excluded.heading")))</a></li>\n" }
        h += "<li><a href=\"#rights\">\(e(t("rights.heading")))</a></li>\n"
        h += "<li><a href=\"#open\">\(e(t("open.heading")))</a></li>\n"
        h += "<li><a href=\"#technical\">\(e(t("technical.heading")))</a></li>\n</ol>\n</nav>\n"
        return h
    }

    static func controllerSection(_ m: Manifest, _ t: Messages) -> String {
        let e = escape
        var h = "\n<h2 id=\"controller\">\(e(t("controller.heading")))</h2>\n<dl>\n"
        h += "<dt>\(e(t("controller.name")))</dt><dd>\(e(m.controller.name))</dd>\n"
        h += "<dt>\(e(t("controller.contact")))</dt><dd>\(e(m.controller.contact))</dd>\n"
        if let a = m.controller.address { h += "<dt>\(e(t("controller.address")))</dt><dd>\(e(a))</dd>\n" }
        if let d = m.controller.dpoContact { h += "<dt>\(e(t("controller.dpo")))</dt><dd>\(e(d))</dd>\n" }
        if let a = m.controller.supervisoryAuthority {
            // The website as text, not a link: the page makes no request and links nowhere outside the bundle.
            let parts = [a.name, a.address, a.website.map { t("controller.authority.website", $0) }].compactMap { $0 }
            h += "<dt>\(e(t("controller.authority")))</dt><dd>\(parts.map(e).joined(separator: "<br>"))</dd>\n"
        }
        return h + "</dl>\n"
    }

    /// The person: name, identities and where each was found, and what shared identities withheld or included.
    static func personSection(_ m: Manifest, _ t: Messages) -> String {
        let e = escape
        var h = "\n<h2 id=\"you\">\(e(t("you.heading")))</h2>\n<dl>\n"
        if let n = m.subject.displayName { h += "<dt>\(e(t("you.name")))</dt><dd>\(e(n))</dd>\n" }
        for i in m.subject.identities {
            let found = t("you.found", i.foundIn.joined(separator: ", ")) + (i.shared ? t("you.shared") : "")
            h += "<dt>\(e(i.kind.rawValue))</dt><dd>\(e(i.value)) <span class=\"meta\">(\(e(found)))</span></dd>\n"
        }
        h += "</dl>\n"
        let sharedIDs = m.subject.identities.filter(\.shared)
        if !sharedIDs.isEmpty {
            let kinds = Set(sharedIDs.map(\.kind.rawValue)).sorted().joined(separator: ", ")
            func list(_ n: (ManifestDataset) -> Int64) -> String {
                m.datasets.filter { n($0) > 0 }.map { "\($0.dataset.title): \(t.number(n($0)))" }.joined(separator: "; ")
            }
            h += "<p class=\"card\">\(e(t.plural("shared.intro", Int64(sharedIDs.count), kinds)))"
            let withheld = list { $0.sharedWithheld }, included = list { $0.sharedIncluded }
            if !withheld.isEmpty { h += " " + e(t("shared.withheld", withheld)) }
            if !included.isEmpty { h += " " + e(t("shared.included", included)) }
            h += "</p>\n"
        }
        return h
    }

    /// The datasets by category; when there are none, the confirmation that nothing is held.
    static func dataSection(_ m: Manifest, _ t: Messages) -> String {
        let e = escape
        var h = "\n<h2 id=\"data\">\(e(t("data.heading")))</h2>\n"
        if m.datasets.allSatisfy({ $0.recordCount == 0 && $0.sharedWithheld == 0 }) {
            let read = m.stores.filter { $0.status == "complete" }.map(\.name)
            let failed = failedStores(m)
            h += "<p class=\"card\"><strong>\(e(t("data.none.heading")))</strong> \(e(t("data.none", read.joined(separator: ", "), t.dateTime(m.generatedAt))))</p>\n"
            if !failed.isEmpty { h += "<p class=\"card warning\">\(e(t("data.none.unconfirmed", failed.map(\.name).joined(separator: ", "))))</p>\n" }
        }
        for c in Category.allCases + m.categories.map(\.category) where m.datasets.contains(where: { $0.dataset.category == c }) {
            h += "<h3>\(e(title(c, m, t)))</h3>\n<p class=\"meta\">\(e(m.definition(of: c)?.definition ?? t("category.\(c.rawValue).definition")))</p>\n"
            for d in m.datasets where d.dataset.category == c { h += dataset(d, t) }
        }
        return h
    }

    static func leftOutSection(_ m: Manifest, _ t: Messages) -> String {
        guard !m.excluded.isEmpty else { return "" }
        let e = escape
        var h = "\n<h2 id=\"left-out\">\(e(t("excluded.heading")))</h2>\n<ul>\n"
        for x in m.excluded {
            h += "<li><strong>\(e(x.title))</strong> (\(e(title(x.category, m, t)))): \(e(reason(x, t)))</li>\n"
        }
        h += "</ul>\n"
        if m.scope == .portability { h += "<p>\(e(t("excluded.portability")))</p>\n" }
        return h
    }

    static func rightsSection(_ m: Manifest, _ t: Messages) -> String {
        memo(["rights", t.language, m.controller.contact, m.controller.supervisoryAuthority?.name ?? "\u{0}"]) { renderRights(m, t) }
    }

    private static func renderRights(_ m: Manifest, _ t: Messages) -> String {
        let e = escape
        var h = "\n<h2 id=\"rights\">\(e(t("rights.heading")))</h2>\n<ul>\n"
        for r in ["access", "rectification", "erasure", "restriction", "portability", "objection", "consent", "complaint"] {
            h += "<li><strong>\(e(t("rights.\(r).name")))</strong> (\(e(t("rights.\(r).article")))): \(e(t("rights.\(r).text")))</li>\n"
        }
        h += "</ul>\n<p>\(e(t("rights.contact", m.controller.contact)))"
        if let a = m.controller.supervisoryAuthority { h += " " + e(t("rights.complaint.authority", a.name)) }
        return h + "</p>\n"
    }

    /// How to open the files of each format the bundle holds, and the dataset pages.
    static func openingSection(_ formats: [String], _ t: Messages) -> String {
        memo(["open", t.language] + formats) { renderOpening(formats, t) }
    }

    private static func renderOpening(_ formats: [String], _ t: Messages) -> String {
        let e = escape
        var h = "\n<h2 id=\"open\">\(e(t("open.heading")))</h2>\n<dl>\n"
        for f in formats { h += "<dt>\(e(t("open.\(f).name")))</dt><dd>\(e(t("open.\(f).text")))</dd>\n" }
        return h + "<dt>\(e(t("open.pages.name")))</dt><dd>\(e(t("open.pages.text")))</dd>\n</dl>\n"
    }

    /// The technical files, in one short section, and the footer.
    static func technicalSection(_ m: Manifest, _ t: Messages) -> String {
        let package = m.otherFiles.contains { $0.path == DataPackage.fileName }
        return memo(["technical", t.language, m.toolVersion, package ? "package" : ""]) { renderTechnical(m, t, package: package) }
    }

    private static func renderTechnical(_ m: Manifest, _ t: Messages, package: Bool) -> String {
        let e = escape
        var h = "\n<h2 id=\"technical\">\(e(t("technical.heading")))</h2>\n"
        h += "<p>\(t.html("technical.text", "<a href=\"manifest.json\">manifest.json</a>", "<code>bagit.txt</code>, <code>bag-info.txt</code>, <code>manifest-sha256.txt</code>, <code>tagmanifest-sha256.txt</code>", "<a href=\"schemas/\">schemas/</a>"))"
        if package {
            h += " " + t.html("technical.datapackage", "<a href=\"\(DataPackage.fileName)\">\(DataPackage.fileName)</a>")
        }
        h += "</p>\n\n<footer>\n<p>\(e(t("footer", m.toolVersion)))</p>\n</footer>\n</body>\n</html>\n"
        return h
    }

    /// The sections that depend on a few values only (the language, the controller's contact, the
    /// formats), rendered once per process for the same values: `key` must hold every value
    /// `render` reads. A batch writes the same ones for every subject.
    private static func memo(_ key: [String], _ render: () -> String) -> String {
        if let known = sections.withLock({ $0[key] }) { return known }
        let page = render()
        sections.withLock { if $0.count < 256 { $0[key] = page } }
        return page
    }

    private static let sections = Locked<[[String]: String]>([:])

    /// A category's title: the catalogue's for the published vocabulary, the manifest's for the config's own.
    static func title(_ c: Category, _ m: Manifest, _ t: Messages) -> String { m.definition(of: c)?.title ?? t("category.\(c.rawValue).title") }

    /// Why a dataset was left out, in the page's language (the manifest keeps the English reason).
    static func reason(_ x: ExcludedDataset, _ t: Messages) -> String {
        if x.reason.hasPrefix("derived data") { return t("excluded.derived") }
        if let basis = LegalBasis.allCases.first(where: { x.reason.hasPrefix("processed on \($0.rawValue),") }) {
            return t("excluded.basis", t("basis.\(basis.rawValue)"))
        }
        if x.reason.hasPrefix("store ") && x.reason.hasSuffix(" could not be read") { return t("excluded.store") }
        return x.reason
    }

    static func dataset(_ d: ManifestDataset, _ t: Messages) -> String {
        let e = escape, ds = d.dataset
        var h = "<div class=\"card\" id=\"\(e(ds.name))\">\n<h4>\(e(ds.title))</h4>\n<p>\(e(ds.description))</p>\n<dl>\n"
        h += "<dt>\(e(t("dataset.purposes")))</dt><dd>\(e(ds.purposes.joined(separator: "; ")))</dd>\n"
        h += "<dt>\(e(t("dataset.basis")))</dt><dd>\(e(t("basis.\(ds.legalBasis.rawValue)")))</dd>\n"
        h += "<dt>\(e(t("dataset.origin")))</dt><dd>\(e(t("origin.\(ds.origin.rawValue)")))</dd>\n"
        h += "<dt>\(e(t("dataset.source")))</dt><dd>\(e(t("dataset.source.text", ds.source.store)))</dd>\n"
        if !ds.recipients.isEmpty { h += "<dt>\(e(t("dataset.recipients")))</dt><dd>\(e(ds.recipients.joined(separator: "; ")))</dd>\n" }
        if let r = ds.retention { h += "<dt>\(e(t("dataset.retention")))</dt><dd>\(e(r))</dd>\n" }
        if let c = ds.collectedFrom { h += "<dt>\(e(t("dataset.collected")))</dt><dd>\(e(c))</dd>\n" }
        if let a = ds.automatedDecisions {
            h += "<dt>\(e(t("dataset.automated")))</dt><dd>\(e(t("dataset.automated.logic", a.logic)))<br>\(e(t("dataset.automated.consequences", a.consequences)))</dd>\n"
        }
        if !ds.transfers.isEmpty {
            h += "<dt>\(e(t("dataset.transfers")))</dt><dd>\(ds.transfers.map { e(t("dataset.transfers.item", $0.country, $0.safeguards)) }.joined(separator: "<br>"))</dd>\n"
        }
        if !ds.withheld.isEmpty { h += "<dt>\(e(t("dataset.withheld")))</dt><dd>\(e(t("dataset.withheld.text", ds.withheld.joined(separator: ", "))))</dd>\n" }
        h += "<dt>\(e(t("dataset.records")))</dt><dd>\(e(t.number(d.recordCount)))</dd>\n"
        if let n = d.skippedLines { h += "<dt>\(e(t("dataset.skipped")))</dt><dd>\(e(t.plural("dataset.skipped.text", n)))</dd>\n" }
        let pages = DatasetPages.pageCount(d.recordCount)
        if pages > 0 {
            let shown = pages <= 50 ? Array(1...pages) : [1, pages]
            let links = shown.map { p -> String in
                let first = Int64(p - 1) * Int64(DatasetPages.recordsPerPage) + 1, last = min(Int64(p * DatasetPages.recordsPerPage), d.recordCount)
                return "<a href=\"\(e(DatasetPages.path(ds.name, page: p)))\">\(e(pages == 1 ? t("dataset.see.all") : t("dataset.see.range", t.number(first), t.number(last))))</a>"
            }
            h += "<dt>\(e(t("dataset.see")))</dt><dd>\(links.joined(separator: " · "))</dd>\n"
        }
        h += "<dt>\(e(t("dataset.files")))</dt><dd>\(d.files.map { "<a href=\"\(e($0.path))\">\(e($0.format ?? $0.path))</a>" }.joined(separator: " · "))</dd>\n</dl>\n"
        return h + "</div>\n"
    }
}
