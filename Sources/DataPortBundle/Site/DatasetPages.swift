import DataPortIO
import DataPortModel

/// What every page of the site shares: the head (same CSP, no script), the style, escaping.
public enum SitePage {
    /// Plain CSS. Text colours meet WCAG AA on their backgrounds (#595959 on white is 7:1); tables
    /// scroll inside their own box, long words wrap, and a caption stays in view and wraps within
    /// the screen while its table scrolls, so nothing is cut off at 390 px.
    static let style = """
    *{box-sizing:border-box}
    body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b;background:#fff;overflow-wrap:anywhere}
    h1{font-size:1.8rem;margin-bottom:.2rem;overflow-wrap:normal}h2{margin-top:2.5rem;border-bottom:2px solid #ddd}h3{margin-bottom:.3rem}h4{margin:.3rem 0}
    a{color:#0645ad}.meta{color:#4a4a4a}small,.canon{color:#4a4a4a;font-size:.8rem;font-weight:400}
    dl{display:grid;grid-template-columns:minmax(7rem,max-content) minmax(0,1fr);gap:.2rem 1rem}dt{font-weight:600}dd{margin:0;min-width:0}
    @media (max-width:36rem){dl{display:block}dd{margin:0 0 .5rem}}
    .scroll{overflow-x:auto;max-width:100%;margin:.5rem 0;border:1px solid #ccc}
    table{border-collapse:collapse;font-size:.85rem}
    caption{text-align:left;font-weight:600;padding:.3rem .5rem}
    caption span{display:inline-block;position:sticky;left:.5rem;max-width:min(calc(100vw - 4rem),68rem)}
    th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
    td{white-space:pre-wrap;min-width:6rem;max-width:30rem;overflow-wrap:anywhere}
    thead th{background:#f2f2f2;min-width:6rem;max-width:20rem;overflow-wrap:normal}tbody th{background:#fafafa;font-weight:400;color:#4a4a4a}
    .null{color:#595959;font-style:italic}.card{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
    .warning{border-color:#b35900;background:#fff8f0}
    nav.pager{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;margin:1rem 0}
    footer{margin-top:3rem;color:#4a4a4a;font-size:.85rem}
    """

    /// The document's start up to and including `<body>`.
    public static func head(language: String, title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="\(IndexPage.escape(language))">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'">
        <meta name="referrer" content="no-referrer">
        <title>\(IndexPage.escape(title))</title>
        <style>\(style)</style>
        </head>
        <body>

        """
    }

    /// A field's column header: its title, else its description, else its name; the canonical name in small print.
    static func header(_ f: Field) -> String {
        let e = IndexPage.escape
        let label = f.title ?? f.description ?? f.name
        return label == f.name ? "<code>\(e(f.name))</code>" : "\(e(label))<br><small class=\"canon\">\(e(f.name))</small>"
    }
}

/// A dataset page's table rows, written for people straight as UTF-8 bytes: the constant pieces
/// (the words for none, yes and no, separators, the date patterns) are escaped once, so a row is
/// a run of appends into one buffer (a page set formats every value of every record; issue 18).
struct PageRows {
    let messages: Messages
    private let none, yes, no: [UInt8]
    /// The group separator as it is (row numbers) and escaped (decimals), the decimal mark escaped.
    private let group, groupHTML, markHTML: [UInt8]
    private let style: DateStyle?

    init(_ m: Messages) {
        messages = m
        none = Array("<td class=\"null\">".utf8) + HTMLText.bytes(m("value.none"))
        yes = Array("<td>".utf8) + HTMLText.bytes(m("value.yes"))
        no = Array("<td>".utf8) + HTMLText.bytes(m("value.no"))
        group = Array(m.groupSeparator.utf8)
        groupHTML = HTMLText.bytes(m.groupSeparator)
        markHTML = HTMLText.bytes(m.decimalMark)
        style = m.style?.escapedForHTML()
    }

    /// Appends record number `n` with `values` as one table row. The fixed markup is appended
    /// from literals and the values read from the record's buffer: an array property would be
    /// retained and released for every cell (callgrind: a third of the page lane). The switch still
    /// copies each value, a retain per string: the largest cost left here (README, fifth session).
    ///
    /// A cell followed by another omits its end tag, as HTML allows (`</th>`, `</td>`): a sixth of
    /// a large page's bytes, and as much of its rendering, compression and hashing (issue 18). The
    /// last cell keeps `</td>` and the row `</tr>`, so that the newline between rows is not part of
    /// the last cell's text (cells keep their white space).
    func append(_ n: Int64, _ values: [Value], to out: inout [UInt8]) {
        out.appendLiteral("<tr><th scope=\"row\">")
        Messages.appendNumber(n, separator: group, to: &out)
        if values.isEmpty { out.appendLiteral("</th>") }
        values.withUnsafeBufferPointer { cells in
            for i in cells.indices {
                switch cells[i] {
                case .null: out.append(contentsOf: none)
                case .boolean(let b): out.append(contentsOf: b ? yes : no)
                case .binary(let b):
                    out.appendLiteral("<td class=\"null\">")
                    HTMLText.append(messages("value.binary", messages.size(Int64(b.count))), to: &out)
                default:
                    out.appendLiteral("<td>")
                    cellText(cells[i], to: &out)
                }
                if i == cells.count - 1 { out.appendLiteral("</td>") }
            }
        }
        out.appendLiteral("</tr>\n")
    }

    private func cellText(_ v: Value, to out: inout [UInt8]) {
        switch v {
        case .string(let s): HTMLText.append(s, to: &out)
        case .integer(let i): DecimalDigits.append(i, to: &out)
        case .decimal(let d): Messages.appendDecimal(d, separator: groupHTML, mark: markHTML, to: &out)
        case .timestamp(let t):
            if let style { style.appendDateTime(local: messages.local(t), fraction: t.fraction, to: &out) } else { HTMLText.append(messages.dateTime(t), to: &out) }
        case .date(let d):
            if let style { style.appendDate(year: d.year, month: d.month, day: d.day, to: &out) } else { HTMLText.append(messages.date(d), to: &out) }
        default: break
        }
    }
}

/// A dataset's table rows, page after page: in memory up to 64 KiB, then in an unlinked scratch
/// file, so a small dataset costs no file and a large one no memory. What `DatasetPages` renders
/// into, on the caller's thread or on its lane's. With `segments`, each page's rows are also
/// deflated as they come, one segment a page, so that the pages' compression runs while the
/// records stream rather than after them.
final class RowSpool {
    private let cells: PageRows
    private var file: TemporaryFile?
    private var buffer: [UInt8] = []
    /// Bytes already in `file`; the rows go on in `buffer`.
    private var flushed: Int64 = 0
    /// Where each page's rows end.
    private(set) var pageEnds: [Int64] = []
    private var count: Int64 = 0
    /// Where the rows are deflated ahead, if they are; and each page's segment there.
    private(set) var segments: SegmentSpool?
    private(set) var pageSegments: [SegmentSpool.Segment] = []

    init(_ cells: PageRows) {
        self.cells = cells
    }

    /// Deflates the rows ahead from now on; call before the first row.
    func deflateAhead() throws {
        precondition(count == 0, "rows are deflated ahead from the first")
        segments = try SegmentSpool()
    }

    private var size: Int64 { flushed + Int64(buffer.count) }

    func add(_ values: [Value]) throws {
        count += 1
        let start = buffer.count
        cells.append(count, values, to: &buffer)
        let endsPage = count % Int64(DatasetPages.recordsPerPage) == 0
        if let segments {
            try buffer.withUnsafeBytes { try segments.write(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            if endsPage { pageSegments.append(try segments.endSegment()) }
        }
        if endsPage { pageEnds.append(size) }
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Closes the last page.
    func finish() throws {
        if pageEnds.last != size {
            pageEnds.append(size)
            if let segments { pageSegments.append(try segments.endSegment()) }
        }
    }

    /// Writes the rows from `start` to `end` (offsets `pageEnds` gives) to `sink`. Only reads
    /// (the file at explicit offsets): once the rows are finished, several threads may copy at once.
    func copy(from start: Int64, to end: Int64, into sink: any ByteSink) throws {
        if let file, start < flushed { try file.copy(from: start, to: min(end, flushed), into: sink) }
        let from = Int(max(start, flushed) - flushed), to = Int(end - flushed)
        if from < to { try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[from..<to])) } }
    }

    private func flush() throws {
        let f = try file ?? TemporaryFile()
        file = f
        try buffer.withUnsafeBytes { try f.write($0) }
        flushed += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// The pages of one dataset, `pages/<dataset>.html`, `pages/<dataset>-2.html`, ...: every record
/// in a table, at most `recordsPerPage` a page.
///
/// Made while the records stream: each row's HTML goes to a scratch file (`RowSpool`), so memory
/// stays bounded however many records there are; `write(to:)` then adds the pages, each its head
/// (which needs the total) + its rows from the scratch file + its links. A dataset of
/// `laneThreshold` records or more is rendered on a thread of its own, beside the formats (the rows come
/// out the same); a small one on the caller's thread, when the pages are written, with no thread
/// started. The pages are a function of the dataset's metadata, its records, the presentation
/// and the controller's name only.
public final class DatasetPages {
    public static let recordsPerPage = 1000
    /// Records held before the rows get a thread of their own, and sent to it at a time.
    static let laneThreshold = 512

    let dataset: Dataset
    let messages: Messages
    /// Lent to the lane's thread once there is one: touched here again only after `join()`.
    private let spool: RowSpool
    private var pending: [Record] = []
    private var lane: (chunks: HandOff<[Record]>, worker: WorkerThread<Void>)?
    /// The chunks the lane rendered, freed here on the reading thread (see `ReturnQueue`).
    private let done = ReturnQueue<[Record]>()
    public private(set) var count: Int64 = 0

    private let deflateAhead: Bool

    /// - Parameter deflateAhead: a large dataset's rows are deflated on the lane as they come
    ///   (the bundle writer `acceptsSpools`): its pages are then spliced, not compressed at the end.
    public init(dataset: Dataset, presentation: Presentation, deflateAhead: Bool = false) throws {
        self.dataset = dataset
        messages = Messages(presentation)
        spool = RowSpool(PageRows(messages))
        self.deflateAhead = deflateAhead
    }

    /// Stops the lane's thread if the pages are never written (the export failed).
    deinit {
        if let lane {
            lane.chunks.cancel()
            _ = try? lane.worker.join()
        }
    }

    /// The path of page `n` (1-based) of `dataset`. Dataset names have no `-`, so no page name collides.
    public static func path(_ dataset: String, page n: Int) -> String { n == 1 ? "pages/\(dataset).html" : "pages/\(dataset)-\(n).html" }

    /// How many pages `records` records take (none for none).
    public static func pageCount(_ records: Int64) -> Int { Int((records + Int64(recordsPerPage) - 1) / Int64(recordsPerPage)) }

    /// Adds the next record. Throws what the lane's thread failed with (a full disk), if it did.
    public func add(_ r: Record) throws {
        count += 1
        pending.append(r)
        if pending.count == Self.laneThreshold {
            try (lane ?? startLane()).chunks.send(pending)
            pending.removeAll(keepingCapacity: true)
            done.drain()
        }
    }

    private func startLane() throws -> (chunks: HandOff<[Record]>, worker: WorkerThread<Void>) {
        if deflateAhead { try spool.deflateAhead() }
        let chunks = HandOff<[Record]>(capacity: 8), spool = spool, done = done
        let worker = WorkerThread<Void>("dataport.pages", lending: {
            do {
                while let chunk = try chunks.receive() {
                    for r in chunk { try spool.add(r.values) }
                    done.giveBack(chunk)
                }
            } catch {
                chunks.cancel(throwing: error)
                throw error
            }
        })
        lane = (chunks, worker)
        return (chunks, worker)
    }

    /// Renders what is left and waits for the lane: the rows, complete.
    private func finishRows() throws {
        if let lane {
            if !pending.isEmpty { try lane.chunks.send(pending) }
            lane.chunks.finish()
            try lane.worker.join()
        } else {
            for r in pending { try spool.add(r.values) }
        }
        pending = []
        try spool.finish()
    }

    /// One page to write: where it goes, its text around the rows, and where its rows are.
    private struct Page {
        let path: String
        let head: String
        let tail: String
        let rows: Range<Int64>
        let segment: SegmentSpool.Segment?
    }

    /// Adds every page to the bundle; returns them as the manifest lists them.
    public func write(to writer: BundleWriter, controller: String) throws -> [ManifestFile] {
        try finishRows()
        let rows = spool
        let count = spool.pageEnds.count
        var files: [ManifestFile] = []
        func add(_ page: Page, _ entry: WrittenEntry) {
            files.append(ManifestFile(path: page.path, format: nil, mediaType: "text/html", size: entry.size, sha256: entry.sha256))
        }
        guard let segments = rows.segments else {
            for i in 0..<count {
                let page = self.page(i, controller: controller)
                add(page, try writer.addFile(page.path) { sink in
                    try sink.write(page.head)
                    try rows.copy(from: page.rows.lowerBound, to: page.rows.upperBound, into: sink)
                    try sink.write(page.tail)
                })
            }
            return files
        }
        // The rows are compressed already: what is left is hashing each page whole (its head names
        // the page count, known only now). Two threads share it, a window of pages at a time.
        func spliced(_ page: Page) throws -> SplicedEntry {
            try SplicedEntry(head: Array(page.head.utf8), segment: page.segment!,
                             raw: { try rows.copy(from: page.rows.lowerBound, to: page.rows.upperBound, into: $0) },
                             tail: Array(page.tail.utf8))
        }
        var i = 0
        while i < count {
            let window = (i..<min(i + 32, count)).map { page($0, controller: controller) }
            let half = (window.count + 1) / 2
            let second = Array(window[half...])
            // The helper only reads the finished rows, beside this thread (`RowSpool.copy`); a
            // window of one page, or a single deflate thread, needs none.
            let helper = second.isEmpty || DeflateThreads.count == 1 ? nil
                : WorkerThread<[SplicedEntry]>("dataport.pages", lending: { try second.map(spliced) })
            // Both halves are waited for before either's failure is thrown: the helper reads the rows.
            let first = Result { try window[..<half].map(spliced) }
            let rest = Result { try helper?.join() ?? second.map(spliced) }
            for (page, entry) in zip(window, try first.get() + rest.get()) {
                add(page, try writer.addFile(page.path, spliced: entry, of: segments))
            }
            i += window.count
        }
        return files
    }

    /// Page `i` (0-based) of the dataset's pages, as the bundle's controller `controller` presents it.
    private func page(_ i: Int, controller: String) -> Page {
        let pageEnds = spool.pageEnds
        let e = IndexPage.escape, m = messages, ds = dataset
        let pages = pageEnds.count
        let n = i + 1
        let first = Int64(i * Self.recordsPerPage) + 1, last = min(Int64(n * Self.recordsPerPage), count)
        let range = m("pages.range", m.number(first), m.number(last), m.number(count))
        let title = pages > 1 ? m("pages.title.numbered", ds.title, String(n), String(pages)) : ds.title
        var head = SitePage.head(language: m.language, title: "\(title) · \(controller)")
        head += "<p><a href=\"../index.html#\(e(ds.name))\">\(e(m("pages.back")))</a></p>\n"
        head += "<h1>\(e(ds.title))</h1>\n<p>\(e(ds.description))</p>\n"
        head += "<p class=\"meta\">\(e(range))"
        if pages > 1 { head += " · \(e(m("pages.page", String(n), String(pages))))" }
        head += "</p>\n"
        let pager = Self.pager(ds.name, page: n, of: pages, m)
        head += pager
        if ds.fields.contains(where: { $0.title != nil && $0.description != nil }) {
            head += "<details><summary>\(e(m("pages.columns")))</summary>\n<dl>\n"
            for f in ds.fields { head += "<dt>\(e(f.title ?? f.name)) <small class=\"canon\">\(e(f.name))</small></dt><dd>\(e(f.description ?? ""))</dd>\n" }
            head += "</dl>\n</details>\n"
        }
        let zone = ds.fields.contains { $0.type == .timestamp } ? " " + m("pages.zone", m.timeZoneName) : ""
        head += "<div class=\"scroll\">\n<table>\n<caption><span>\(e(ds.title)): \(e(range))\(e(zone))</span></caption>\n"
        head += "<thead><tr><th scope=\"col\">\(e(m("pages.number")))</th>\(ds.fields.map { "<th scope=\"col\">\(SitePage.header($0))</th>" }.joined())</tr></thead>\n<tbody>\n"
        let tail = "</tbody>\n</table>\n</div>\n" + pager + "<footer><p>\(e(m("pages.footer", controller)))</p></footer>\n</body>\n</html>\n"
        return Page(path: Self.path(ds.name, page: n), head: head, tail: tail,
                    rows: (i == 0 ? 0 : pageEnds[i - 1])..<pageEnds[i], segment: spool.segments == nil ? nil : spool.pageSegments[i])
    }

    /// Previous / next links (and the first and last page when far from them).
    static func pager(_ name: String, page n: Int, of pages: Int, _ m: Messages) -> String {
        guard pages > 1 else { return "" }
        let e = IndexPage.escape
        func link(_ p: Int, _ label: String, rel: String? = nil) -> String {
            "<a href=\"\(e(String(path(name, page: p).dropFirst("pages/".count))))\"\(rel.map { " rel=\"\($0)\"" } ?? "")>\(e(label))</a>"
        }
        var items: [String] = []
        if n > 2 { items.append(link(1, m("pages.first"))) }
        if n > 1 { items.append(link(n - 1, m("pages.previous"), rel: "prev")) }
        items.append("<span>\(e(m("pages.page", String(n), String(pages))))</span>")
        if n < pages { items.append(link(n + 1, m("pages.next"), rel: "next")) }
        if n < pages - 1 { items.append(link(pages, m("pages.last"))) }
        return "<nav class=\"pager\" aria-label=\"\(e(m("pages.navigation")))\">\(items.joined(separator: " "))</nav>\n"
    }
}
