@testable import DataPortBundle
import DataPortModel
import Foundation
import XCTest

/// The bundle's small offline site (index.html + pages/) and its languages.
final class SiteTests: XCTestCase {
    /// Every catalogue file parses, has exactly the English keys (with its language's plural forms),
    /// the same placeholders, no markup; and the embedded copy the binary uses equals the file.
    func testCataloguesAreCompleteAndTheEmbeddedCopiesEqualTheFiles() throws {
        let dir = TestSupport.root.appendingPathComponent("formats/messages")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files, Presentation.languages.sorted().map { "\($0).json" })
        XCTAssertEqual(Set(Catalogues.files.keys), Set(Presentation.languages))
        func table(_ language: String) throws -> [String: String] {
            let data = try Data(contentsOf: dir.appendingPathComponent("\(language).json"))
            XCTAssertEqual(String(decoding: data, as: UTF8.self), Catalogues.files[language],
                           "\(language).json differs from Catalogues.swift: run scripts/generate-messages.py")
            return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: String], "\(language).json is not a flat object of strings")
        }
        let english = try table("en")
        let plurals = Set(english.keys.filter { $0.hasSuffix(".other") }.map { String($0.dropLast(".other".count)) })
        func placeholders(_ s: String) -> Set<String> {
            Set(s.matches(of: /\{[a-z0-9]+\}/).map { String($0.output) })
        }
        for language in Presentation.languages {
            let t = try table(language)
            func pluralBase(_ k: String) -> String? { plurals.first { p in ["one", "few", "other"].contains { k == "\(p).\($0)" } } }
            var expected = Set(english.keys.filter { pluralBase($0) == nil })
            for p in plurals { for form in Messages.pluralForms(language) { expected.insert("\(p).\(form)") } }
            XCTAssertEqual(Set(t.keys).subtracting(expected).sorted(), [], "\(language) has keys English does not")
            XCTAssertEqual(expected.subtracting(t.keys).sorted(), [], "\(language) lacks keys")
            for (k, v) in t {
                XCTAssertFalse(v.contains("<") || v.contains("&"), "\(language) \(k): markup in a message")
                // A plural form may leave out its number ("One of our systems").
                if let base = pluralBase(k) {
                    XCTAssertEqual(placeholders(v).subtracting(["{n}"]), placeholders(english["\(base).other"] ?? "").subtracting(["{n}"]), "\(language) \(k)")
                } else {
                    XCTAssertEqual(placeholders(v), placeholders(english[k] ?? ""), "\(language) \(k): placeholders differ from English")
                }
            }
            XCTAssertEqual(t["date.months"]?.split(separator: "|").count, 12, language)
            XCTAssertEqual(Catalogues.all[language]?.count, t.count)
        }
        // The English catalogue words the published categories as categories.md and the model do.
        for c in Category.allCases {
            XCTAssertEqual(english["category.\(c.rawValue).title"], c.title)
            XCTAssertEqual(english["category.\(c.rawValue).definition"], c.definition)
        }
    }

    /// The legal terms as the GDPR's official language versions word them.
    func testRightOfAccessIsNamedAsTheGDPRWordsItInEachLanguage() {
        let official = ["en": "Right of access", "lt": "Teisė susipažinti su duomenimis", "de": "Auskunftsrecht",
                        "fr": "Droit d'accès", "es": "Derecho de acceso"]
        for (language, term) in official {
            XCTAssertEqual(Messages(Presentation(language: language, timeZone: "UTC"))("rights.access.name"), term)
        }
    }

    /// The compiled date patterns (`DateStyle`) against the placeholder path and against Foundation's
    /// own formatter (ICU), in every language, over zones with DST, half-hour and 45-minute offsets,
    /// at each offset change of 2024-2026 (a second before, at, after) and at 2,000 spread instants.
    func testCompiledDateTimesEqualThePlaceholdersAndFoundationInEveryLanguageAndZone() throws {
        let patterns = ["en": "d MMMM y, HH:mm:ss", "de": "d. MMMM y, HH:mm:ss", "fr": "d MMMM y 'à' HH:mm:ss",
                        "es": "d 'de' MMMM 'de' y, HH:mm:ss", "lt": "y 'm'. MMMM d 'd'. HH:mm:ss"]
        XCTAssertEqual(Set(Catalogues.all.keys), Set(patterns.keys), "a new language needs its pattern here")
        let zones = ["UTC", "Europe/Vilnius", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham"]
        for zoneName in zones {
            let zone = try XCTUnwrap(TimeZone(identifier: zoneName))
            var instants: [Int64] = (0..<2_000).map { Int64(-2_208_988_800) + Int64($0) * 2_147_483 + Int64($0 % 7) * 3_599 }
            var edge = Date(timeIntervalSince1970: 1_704_067_200)
            while let next = zone.nextDaylightSavingTimeTransition(after: edge), next.timeIntervalSince1970 < 1_798_761_600 {
                let s = Int64(next.timeIntervalSince1970)
                instants += [s - 1, s, s + 1]
                edge = next
            }
            for (language, pattern) in patterns {
                let m = Messages(Presentation(language: language, timeZone: zoneName))
                XCTAssertNotNil(m.style, "\(language) compiles")
                let icu = DateFormatter()
                icu.locale = Locale(identifier: language)
                icu.timeZone = zone
                icu.dateFormat = pattern
                for (i, s) in instants.enumerated() {
                    let t = try XCTUnwrap(Timestamp(seconds: s, fraction: i % 3 == 0 ? "25" : ""))
                    let fast = m.dateTime(t)
                    XCTAssertEqual(fast, m.placeholderDateTime(t), "\(language) \(zoneName) \(s)")
                    if i % 3 != 0 { XCTAssertEqual(fast, icu.string(from: Date(timeIntervalSince1970: TimeInterval(s))), "\(language) \(zoneName) \(s)") }
                }
                for (y, mo, d) in [(1988, 2, 29), (2026, 12, 31), (1, 1, 1), (9999, 7, 4)] {
                    XCTAssertEqual(m.date(year: y, month: mo, day: d), m.placeholderDate(year: y, month: mo, day: d))
                }
            }
        }
        XCTAssertNil(DateStyle(months: "a|b", date: "{day} {{month}}", dateTime: "{date} {time}", decimal: "."), "a brace outside a placeholder: placeholder path")
        XCTAssertNil(DateStyle(months: "{year}", date: "{day} {month}", dateTime: "{date} {time}", decimal: "."), "a brace in a month name: placeholder path")
        let odd = try XCTUnwrap(DateStyle(months: "a|b", date: "{year}/{month}/{day}{day}", dateTime: "{time} {date}", decimal: ","))
        var out: [UInt8] = []
        odd.appendDateTime(local: 86_400 * 31 + 3_723, fraction: "5", to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "01:02:03,5 1970/2/11", "fewer than twelve names: the month's number; a slot used twice")
    }

    /// The escaping of the pages is the definition: every character mapped as the scalar-by-scalar
    /// rule below says (C0, DEL and C1 controls to U+FFFD), whatever surrounds it.
    func testHTMLEscapingOnBytesEqualsTheScalarRule() {
        func reference(_ s: String) -> String {
            var out = ""
            for u in s.unicodeScalars {
                switch u {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&quot;"
                case "'": out += "&#39;"
                default:
                    if u.value < 0x20 && u != "\t" && u != "\n" || u.value == 0x7F || (0x80..<0xA0).contains(u.value) {
                        out += "\u{FFFD}"
                    } else {
                        out.unicodeScalars.append(u)
                    }
                }
            }
            return out
        }
        let pieces = ["a", "Ž", "€", "\u{80}", "\u{9F}", "\u{A0}", "\u{C2}", "\u{1F600}", "&", "<", ">", "\"", "'", "\t", "\n", "\r",
                      "\u{0}", "\u{7F}", "e\u{301}", " ", "ą", "\u{FFFD}", "\u{85}x"]
        var rng = SystemRandomNumberGenerator()
        var cases = pieces + ["", "plain ASCII stays itself", "<b>Ana & \"Bo\"</b>"]
        for _ in 0..<3_000 { cases.append((0..<Int.random(in: 1...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()) }
        for s in cases {
            XCTAssertEqual(IndexPage.escape(s), reference(s), s.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " "))
            XCTAssertEqual(String(decoding: HTMLText.bytes(s), as: UTF8.self), reference(s))
        }
    }

    /// A page row written on bytes holds what the language's own string functions give, escaped.
    func testPageRowsEqualTheMessagesEscaped() throws {
        let values: [Value] = [.null, .string("Ana <b>&</b> \u{85}"), .integer(-1_234_567), .integer(0), .decimal(try XCTUnwrap(ExactDecimal("-12345678.05"))),
                               .decimal(try XCTUnwrap(ExactDecimal("1234.5"))), .boolean(true), .boolean(false),
                               .timestamp(try XCTUnwrap(Timestamp("2026-03-29T00:59:59.5Z"))), .date(try XCTUnwrap(CalendarDate("2024-02-29"))), .binary([1, 2, 3])]
        for language in ["en", "lt", "de", "fr", "es"] {
            for zone in ["UTC", "Europe/Vilnius", "Asia/Kathmandu"] {
                let m = Messages(Presentation(language: language, timeZone: zone))
                let e = IndexPage.escape
                var expected = "<tr><th scope=\"row\">\(m.number(1_234_567))"
                for v in values {
                    switch v {
                    case .null: expected += "<td class=\"null\">\(e(m("value.none")))"
                    case .string(let s): expected += "<td>\(e(s))"
                    case .integer(let i): expected += "<td>\(i)"
                    case .decimal(let d): expected += "<td>\(e(m.decimal(d)))"
                    case .boolean(let b): expected += "<td>\(e(m(b ? "value.yes" : "value.no")))"
                    case .timestamp(let t): expected += "<td>\(e(m.placeholderDateTime(t)))"
                    case .date(let d): expected += "<td>\(e(m.placeholderDate(year: d.year, month: d.month, day: d.day)))"
                    case .binary(let b): expected += "<td class=\"null\">\(e(m("value.binary", m.size(Int64(b.count)))))"
                    }
                }
                // Only the last cell ends with its tag: HTML's optional end tags, then the row's.
                expected += "</td></tr>\n"
                var out: [UInt8] = []
                PageRows(m).append(1_234_567, values, to: &out)
                XCTAssertEqual(String(decoding: out, as: UTF8.self), expected, "\(language) \(zone)")
            }
        }
    }

    func testDatesNumbersAndPluralsFollowTheLanguage() throws {
        let t = try XCTUnwrap(Timestamp("2026-01-31T22:30:05Z"))
        let lt = Messages(Presentation(language: "lt", timeZone: "Europe/Vilnius"))
        XCTAssertEqual(lt.dateTime(t), "2026 m. vasario 1 d. 00:30:05", "UTC+2 in winter moves the date")
        XCTAssertEqual(Messages(Presentation(language: "de", timeZone: "Europe/Berlin")).dateTime(try XCTUnwrap(Timestamp("2026-07-01T10:00:00.25Z"))),
                       "1. Juli 2026, 12:00:00,25", "summer time, and the decimal comma in the fraction")
        XCTAssertEqual(Messages(.default).dateTime(t), "31 January 2026, 22:30:05")
        XCTAssertEqual(Messages(Presentation(language: "es", timeZone: "UTC")).date(try XCTUnwrap(CalendarDate("1988-02-29"))), "29 de febrero de 1988")
        XCTAssertEqual(lt.decimal(try XCTUnwrap(ExactDecimal("-1234567.890"))), "-1\u{A0}234\u{A0}567,890", "every digit kept")
        XCTAssertEqual(Messages(.default).decimal(try XCTUnwrap(ExactDecimal("1234.5"))), "1234.5")
        XCTAssertEqual([1, 2, 5, 11, 21, 22, 100].map { lt.plural("records", Int64($0)) },
                       ["1 įrašas", "2 įrašai", "5 įrašai", "11 įrašų", "21 įrašas", "22 įrašai", "100 įrašų"])
        XCTAssertEqual(Messages(Presentation(language: "fr", timeZone: "UTC")).plural("records", 0), "0 enregistrement")
        XCTAssertEqual(Messages(.default).size(1536), "1.5\u{A0}KB")
    }

    // MARK: The site in a real browser

    /// A subject with 2,500 records in one dataset (timestamps, NULLs, booleans, long text, binary).
    func makeStore(_ dir: URL, language: String) throws -> String {
        let db = dir.appendingPathComponent("events.db").path
        if !FileManager.default.fileExists(atPath: db) {
            let sql = """
            CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
            INSERT INTO users VALUES (1, 'ana@example.com'), (2, 'bo@example.com');
            CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, at TEXT, note TEXT, done INTEGER, amount TEXT, blob BLOB);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2600)
            INSERT INTO events SELECT i, CASE WHEN i <= 2500 THEN 1 ELSE 2 END, '2026-01-31T22:30:05Z',
              CASE WHEN i % 7 = 0 THEN NULL WHEN i % 5 = 0 THEN 'Šiandien ' || replace(hex(zeroblob(80)), '00', 'ilgas_žodis_be_tarpų') ELSE 'Ana María Núñez #' || i END,
              i % 2, '1234.50', x'00ff10' FROM n;
            """
            let r = try TestSupport.shell("sqlite3 '\(db)' <<'EOF'\n\(sql)\nEOF")
            XCTAssertEqual(r.code, 0, r.stderr)
        }
        let config = """
        {"version": "1", "language": "\(language)", "timeZone": "Europe/Vilnius",
         "controller": {"name": "UAB Pavyzdys", "contact": "privatumas@pavyzdys.example", "address": "Gedimino pr. 1, LT-01103 Vilnius"},
         "stores": [{"name": "app", "type": "sqlite", "options": {"path": "events.db"}, "datasets": [
           {"name": "account", "table": "users", "category": "account", "description": "Your account", "purposes": ["Service"],
            "legalBasis": "contract", "origin": "provided", "key": "id", "match": [{"field": "email", "identity": "email"}],
            "yields": [{"identity": "user_id", "field": "id"}],
            "fields": [{"name": "id", "type": "integer"}, {"name": "email", "type": "string"}]},
           {"name": "events", "table": "events", "title": {"en": "Events", "lt": "Įvykiai"}, "category": "website-usage",
            "description": {"en": "What you did", "lt": "Ką darėte"}, "purposes": ["Security"], "legalBasis": "legitimate-interests",
            "origin": "observed", "key": "id", "match": [{"field": "user_id", "identity": "user_id"}],
            "fields": [{"name": "id", "type": "integer", "title": {"en": "Event number", "lt": "Įvykio numeris"}},
                       {"name": "user_id", "type": "integer"},
                       {"name": "at", "type": "timestamp", "title": {"en": "When", "lt": "Kada"}, "description": {"en": "When it happened", "lt": "Kada tai įvyko"}},
                       {"name": "note", "type": "string", "description": "A note"},
                       {"name": "done", "type": "boolean"}, {"name": "amount", "type": "decimal"}, {"name": "blob", "type": "binary"}]}]}]}
        """
        let path = dir.appendingPathComponent("stores-\(language).json").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Loads each page of `pages` in an iframe `width` px wide of a test-only wrapper page (the
    /// bundle's pages allow no script; the wrapper is ours and is not under their CSP) and returns,
    /// per page, its document's scrollWidth and clientWidth and its table's well-formed body rows
    /// (as many cells as the header, no cell ending in a newline), read from the DOM Chromium dumps
    /// after every frame has loaded.
    func measure(_ browser: String, _ pages: [URL], width: Int, in dir: URL) throws -> [String: (scroll: Int, client: Int, rows: Int)] {
        var frames = ""
        for (i, p) in pages.enumerated() {
            frames += "<iframe id=\"f\(i)\" data-name=\"\(p.lastPathComponent)\" src=\"\(p.absoluteString)\" style=\"width:\(width)px;height:600px;border:0\"></iframe>\n"
        }
        let wrapper = dir.appendingPathComponent("measure-\(width).html")
        try """
        <!DOCTYPE html><html><body style="margin:0">\(frames)<pre id="out"></pre>
        <script>
        window.addEventListener('load', function () {
          var out = [];
          document.querySelectorAll('iframe').forEach(function (f) {
            var d = f.contentDocument.documentElement;
            // Rows as the parser built them (the pages omit optional end tags): as many cells as
            // the header, none with the newline between rows in its text.
            var head = f.contentDocument.querySelector('thead tr');
            var rows = Array.from(f.contentDocument.querySelectorAll('tbody tr')).filter(function (r) {
              return head && r.cells.length === head.cells.length && Array.from(r.cells).every(function (c) { return !/\\n$/.test(c.textContent); });
            });
            out.push(f.dataset.name + ' ' + d.scrollWidth + ' ' + d.clientWidth + ' ' + rows.length);
          });
          document.getElementById('out').textContent = 'RESULT\\n' + out.join('\\n') + '\\nEND';
        });
        </script></body></html>
        """.write(to: wrapper, atomically: true, encoding: .utf8)
        let flags = "--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync --allow-file-access-from-files"
        let r = try TestSupport.shell("timeout 90 \(browser) \(flags) --user-data-dir='\(dir.path)/profile' --window-size=\(width + 40),800 --dump-dom '\(wrapper.absoluteString)' 2>/dev/null")
        XCTAssertEqual(r.code, 0)
        guard let body = r.stdout.components(separatedBy: "RESULT\n").dropFirst().first?.components(separatedBy: "\nEND").first else {
            XCTFail("the wrapper reported nothing: \(r.stdout.suffix(500))")
            return [:]
        }
        var result: [String: (Int, Int, Int)] = [:]
        for line in body.split(separator: "\n") {
            let p = line.split(separator: " ")
            if p.count == 4, let s = Int(p[1]), let c = Int(p[2]), let n = Int(p[3]) { result[String(p[0])] = (s, c, n) }
        }
        return result
    }

    func screenshot(_ browser: String, _ page: URL, width: Int, in dir: URL) throws -> Data {
        let shot = dir.appendingPathComponent("\(page.deletingPathExtension().lastPathComponent)-\(width).png")
        let flags = "--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync"
        let r = try TestSupport.shell("timeout 60 \(browser) \(flags) --user-data-dir='\(dir.path)/profile' --window-size=\(width),2000 --screenshot='\(shot.path)' '\(page.absoluteString)' 2>/dev/null")
        XCTAssertEqual(r.code, 0)
        return try Data(contentsOf: shot)
    }

    /// 2,500 records in one dataset: all on its pages (1,000 a page, linked), in English and in
    /// Lithuanian, rendered by headless Chromium at 1280 and 390 px with no horizontal page overflow.
    func testEveryRecordIsOnThePagesWithoutOverflowInEnglishAndLithuanian() throws {
        guard let browser = ["chromium", "chromium-browser"].first(where: TestSupport.has) else {
            return XCTFail("chromium is not installed (.ci/run installs it)")
        }
        let dir = try TestSupport.tempDir(self)
        // The overflow check can fail: a page wider than the frame is caught.
        let control = dir.appendingPathComponent("control.html")
        try "<!DOCTYPE html><meta name=\"viewport\" content=\"width=device-width\"><div style=\"width:3000px\">wide</div>".write(to: control, atomically: true, encoding: .utf8)
        for language in ["en", "lt"] {
            let config = try makeStore(dir, language: language)
            let bundle = dir.appendingPathComponent("\(language).zip").path
            let r = try TestSupport.dataport("export", "--config", config, "--subject", "email=ana@example.com", "--format", "json,csv",
                                             "--scope", "access", "--generated-at", "2026-01-31T12:00:00Z", "--output", bundle)
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertEqual(try TestSupport.dataport("verify", bundle).code, 0, "the pages are checked like every file")
            let x = dir.appendingPathComponent("x-\(language)")
            try TestSupport.unzip(bundle, into: x)
            let top = try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil)[0]
            let pages = ["events.html", "events-2.html", "events-3.html"].map { top.appendingPathComponent("pages/\($0)") }
            XCTAssertFalse(FileManager.default.fileExists(atPath: top.appendingPathComponent("pages/events-4.html").path))
            let manifest = try String(contentsOf: top.appendingPathComponent("manifest.json"), encoding: .utf8)
            let tags = try String(contentsOf: top.appendingPathComponent("tagmanifest-sha256.txt"), encoding: .utf8)
            for p in ["events.html", "events-2.html", "events-3.html", "account.html"] {
                XCTAssertTrue(manifest.contains("\"pages/\(p)\""), p)
                XCTAssertTrue(tags.contains(" pages/\(p)\n"), p)
            }
            let index = top.appendingPathComponent("index.html")
            let indexHTML = try String(contentsOf: index, encoding: .utf8)
            XCTAssertTrue(indexHTML.contains("<html lang=\"\(language)\">"))
            XCTAssertTrue(indexHTML.contains("href=\"pages/events-3.html\""))
            let first = try String(contentsOf: pages[0], encoding: .utf8), second = try String(contentsOf: pages[1], encoding: .utf8)
            XCTAssertTrue(first.contains("<html lang=\"\(language)\">"))
            XCTAssertFalse(first.lowercased().contains("<script"))
            XCTAssertTrue(first.contains("default-src 'none'"))
            XCTAssertTrue(second.contains("href=\"events.html\" rel=\"prev\"") && second.contains("href=\"events-3.html\" rel=\"next\""))
            XCTAssertTrue(first.contains("<caption><span>") && first.contains("<th scope=\"col\">") && first.contains("<th scope=\"row\">"))
            if language == "lt" {
                XCTAssertTrue(indexHTML.contains("Teisė susipažinti su duomenimis"))
                XCTAssertTrue(first.contains("Įvykio numeris<br><small class=\"canon\">id</small>"))
                XCTAssertTrue(first.contains("<td>2026 m. vasario 1 d. 00:30:05<"), "Vilnius time, Lithuanian date")
                XCTAssertTrue(first.contains("<td class=\"null\">nėra<") && first.contains("<td>taip<") && first.contains("<td>1234,50<"))
                XCTAssertTrue(first.contains("dvejetainiai duomenys, 3 baitai"))
            } else {
                XCTAssertTrue(first.contains("Event number<br><small class=\"canon\">id</small>"))
                XCTAssertTrue(first.contains("<td>1 February 2026, 00:30:05<") && first.contains("<td class=\"null\">none<"))
                XCTAssertTrue(first.contains("<td>yes<") && first.contains("binary data, 3 bytes"))
            }
            XCTAssertFalse(first.contains("bo@example.com"), "another person's data never enters the pages")
            for width in [390, 1280] {
                let m = try measure(browser, pages + [index, control], width: width, in: dir)
                XCTAssertEqual(m["events.html"]?.rows, 1000)
                XCTAssertEqual(m["events-2.html"]?.rows, 1000)
                XCTAssertEqual(m["events-3.html"]?.rows, 500)
                XCTAssertEqual((m["events.html"]?.rows ?? 0) + (m["events-2.html"]?.rows ?? 0) + (m["events-3.html"]?.rows ?? 0), 2500, "every record is on a page")
                for name in ["events.html", "events-2.html", "events-3.html", "index.html"] {
                    let v = try XCTUnwrap(m[name], name)
                    XCTAssertLessThanOrEqual(v.scroll, v.client, "\(language) \(name) overflows at \(width) px")
                }
                let c = try XCTUnwrap(m["control.html"])
                XCTAssertGreaterThan(c.scroll, c.client, "the overflow check must catch a wide page")
                let png = try screenshot(browser, pages[0], width: width, in: dir)
                XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
                XCTAssertGreaterThan(png.count, 10_000, "a real rendering")
            }
        }
    }
}

/// What Art. 15 says the person must be told, from the config, and the honest wording of a partial copy.
final class Art15PageTests: XCTestCase {
    func page(_ bundle: String, _ dir: URL, _ name: String = "index.html") throws -> String {
        let x = dir.appendingPathComponent("x-\(URL(fileURLWithPath: bundle).lastPathComponent)")
        try TestSupport.unzip(bundle, into: x)
        let top = try FileManager.default.contentsOfDirectory(at: x, includingPropertiesForKeys: nil)[0]
        return try String(contentsOf: top.appendingPathComponent(name), encoding: .utf8)
    }

    func testSupervisoryAuthorityAutomatedDecisionsTransfersAndSourceAreShown() throws {
        let dir = try TestSupport.tempDir(self)
        let html = try page(try TestSupport.exportSample(dir, extra: ["--scope", "access", "--language", "fr"]), dir)
        XCTAssertTrue(html.contains("<html lang=\"fr\">"))
        XCTAssertTrue(html.contains("<dt>Autorité de contrôle</dt><dd>Berliner Beauftragte für Datenschutz und Informationsfreiheit<br>Alt-Moabit 59-61"))
        XCTAssertTrue(html.contains("L&#39;autorité de contrôle compétente à notre égard est Berliner Beauftragte"))
        XCTAssertFalse(html.contains("href=\"https://www.datenschutz-berlin.de"), "shown as text: the page links nowhere outside the bundle")
        XCTAssertTrue(html.contains("Prise de décision automatisée, y compris le profilage (article 22 du RGPD)</dt><dd>Logique sous-jacente : A score from your order history"))
        XCTAssertTrue(html.contains("Transferts vers des pays tiers (article 15, paragraphe 2, du RGPD)</dt><dd>United States (mailing service provider) ; garanties appropriées : EU Standard Contractual Clauses"))
        XCTAssertTrue(html.contains("Source des données (article 15, paragraphe 1, point g), du RGPD)</dt><dd>Computed by us"))
        XCTAssertTrue(html.contains("Nous les avons déduites ou calculées à votre sujet"), "origin in plain words")
        XCTAssertTrue(html.contains("Nos intérêts légitimes (article 6, paragraphe 1, point f), du RGPD)"), "legal basis in plain words with its article")
        XCTAssertTrue(html.contains("Droit d&#39;accès"))
        // A portability copy says what it leaves out and how to get everything.
        let portability = try page(try TestSupport.exportSample(dir, name: "p.zip"), dir)
        XCTAssertTrue(portability.contains("right to data portability, Art. 20 GDPR"))
        XCTAssertTrue(portability.contains("data we derived about you is not covered by the right to data portability"))
        XCTAssertTrue(portability.contains("with a request for access (Art. 15 GDPR)"))
    }

    /// `--language` and `--time-zone` choose the pages' words and clock; a bad value is refused without being echoed.
    func testLanguageAndTimeZoneOptions() throws {
        let dir = try TestSupport.tempDir(self)
        let bundle = try TestSupport.exportSample(dir, extra: ["--language", "de", "--time-zone", "Europe/Vilnius"])
        let account = try page(bundle, dir, "pages/account.html")
        XCTAssertTrue(account.contains("<html lang=\"de\">"))
        XCTAssertTrue(account.contains("<td>4. März 2021, 11:15:00<"), "09:15 UTC is 11:15 in Vilnius")
        XCTAssertTrue(try page(bundle, dir, "manifest.json").contains("\"timeZone\": \"Europe/Vilnius\""))
        for (option, value) in [("--language", "zz-secret-value"), ("--time-zone", "Mars/secret-value")] {
            let r = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com",
                                             option, value, "--output", dir.appendingPathComponent("bad.zip").path)
            XCTAssertEqual(r.code, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains(option), r.stderr)
            XCTAssertFalse(r.stderr.contains("secret-value"), r.stderr)
        }
    }

    /// A category the config defines is shown with its title and definition in the page's language,
    /// carried by the manifest (so convert keeps it); an undefined one is refused.
    func testConfigDefinedCategoriesAreShownLikeThePublishedOnes() throws {
        let dir = try TestSupport.tempDir(self)
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.sampleConfig))) as! [String: Any]
        var stores = config["stores"] as! [[String: Any]]
        let sqlite = stores[0]["options"] as! [String: String]
        stores[0]["options"] = sqlite.mapValues { TestSupport.samples.appendingPathComponent($0).path }
        var datasets = stores[0]["datasets"] as! [[String: Any]]
        let i = datasets.firstIndex { $0["name"] as? String == "customer_segments" }!
        datasets[i]["category"] = "loyalty"
        stores[0]["datasets"] = datasets
        config["stores"] = stores
        config["$schema"] = nil
        let path = dir.appendingPathComponent("stores.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        let out = dir.appendingPathComponent("c.zip").path
        let refused = try TestSupport.dataport("export", "--config", path, "--subject", "email=ana.nunez@example.com", "--output", out)
        XCTAssertEqual(refused.code, 3, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("category loyalty is neither published"), refused.stderr)
        config["categories"] = ["loyalty": ["title": ["en": "Loyalty programme", "lt": "Lojalumo programa"],
                                            "definition": ["en": "Your points and rewards.", "lt": "Jūsų taškai ir prizai."]]]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        let r = try TestSupport.dataport("export", "--config", path, "--subject", "email=ana.nunez@example.com", "--scope", "access",
                                         "--language", "lt", "--generated-at", "2026-01-31T12:00:00Z", "--output", out)
        XCTAssertEqual(r.code, 0, r.stderr)
        let html = try page(out, dir)
        XCTAssertTrue(html.contains("<h3>Lojalumo programa</h3>\n<p class=\"meta\">Jūsų taškai ir prizai.</p>"))
        XCTAssertTrue(try page(out, dir, "manifest.json").contains("\"title\": \"Lojalumo programa\""))
        // convert keeps it: the same pages from the manifest alone.
        let converted = dir.appendingPathComponent("converted.zip").path
        XCTAssertEqual(try TestSupport.dataport("convert", out, "--format", "json", "--output", converted).code, 0)
        XCTAssertEqual(try page(converted, dir), html)
        XCTAssertEqual(try TestSupport.dataport("verify", converted).code, 0)
    }

    /// A store that cannot be read: the page says the copy is incomplete and which system, in plain
    /// words; neither the page nor the manifest names the environment variable of its connection.
    func testAPartialCopySaysItIsIncompleteInPlainWords() throws {
        let dir = try TestSupport.tempDir(self)
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.sampleConfig))) as! [String: Any]
        var stores = config["stores"] as! [[String: Any]]
        let sqlite = stores[0]["options"] as! [String: String]
        stores[0]["options"] = sqlite.mapValues { TestSupport.samples.appendingPathComponent($0).path }
        stores.append(["name": "billing", "type": "postgresql", "options": ["url": "env:DATAPORT_SITE_TEST_UNSET_URL"], "datasets": [[
            "name": "billing_invoices", "table": "invoices", "category": "billing", "description": "Invoices", "purposes": ["Billing"],
            "legalBasis": "contract", "origin": "provided", "match": [["field": "email", "identity": "email"]],
            "fields": [["name": "id", "type": "integer"], ["name": "email", "type": "string"]]]]])
        config["stores"] = stores
        config["$schema"] = nil
        let path = dir.appendingPathComponent("stores.json").path
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        let out = dir.appendingPathComponent("partial.zip").path
        let r = try TestSupport.dataport("export", "--config", path, "--subject", "email=ana.nunez@example.com", "--scope", "access",
                                         "--allow-partial", "--language", "lt", "--output", out)
        XCTAssertEqual(r.code, 0, r.stderr)
        let html = try page(out, dir)
        XCTAssertTrue(html.contains("<strong>Ši kopija nepilna.</strong> 1 mūsų sistemos (billing) nepavyko perskaityti"), html)
        XCTAssertTrue(html.contains("<li><strong>billing_invoices</strong> (Sąskaitos ir mokėjimai): sistemos, kurioje jie saugomi, nepavyko perskaityti"))
        let manifest = try page(out, dir, "manifest.json")
        XCTAssertFalse(manifest.contains("DATAPORT_SITE_TEST_UNSET_URL") || html.contains("DATAPORT_SITE_TEST_UNSET_URL"))
        XCTAssertTrue(manifest.contains("\"status\": \"failed\""))
        // A complete copy does not say so.
        XCTAssertFalse(try page(try TestSupport.exportSample(dir, extra: ["--language", "lt"], name: "c.zip"), dir).contains("Ši kopija nepilna"))
    }
}

/// `--csv-bom`: the mark starts every CSV file, the manifest says so, and the bundle reads back.
final class CSVByteOrderMarkTests: XCTestCase {
    func testTheOptionalByteOrderMarkIsRecordedAndReadBack() throws {
        let dir = try TestSupport.tempDir(self)
        let bom = try TestSupport.exportSample(dir, formats: "csv,json", extra: ["--csv-bom"], name: "bom.zip")
        let plain = try TestSupport.exportSample(dir, formats: "csv,json", name: "plain.zip")
        XCTAssertEqual(try TestSupport.dataport("verify", bom).code, 0)
        let py = """
        import sys, zipfile, json, csv, io
        z = zipfile.ZipFile(sys.argv[1])
        names = z.namelist()
        files = [n for n in names if n.endswith('.csv')]
        assert files and all(z.read(n).startswith(b'\\xef\\xbb\\xbf') for n in files)
        m = json.loads(z.read([n for n in names if n.endswith('/manifest.json')][0]))
        notes = [f['encoding'] for d in m['datasets'] for f in d['files'] if f['format'] == 'csv']
        assert all(n.get('byteOrderMark') == 'utf-8' for n in notes)
        rows = list(csv.reader(io.StringIO(z.read([n for n in files if n.endswith('/account.csv')][0]).decode('utf-8-sig'), newline='')))
        assert rows[0][0] == 'id', rows[0]
        p = zipfile.ZipFile(sys.argv[2])
        assert not any(p.read(n).startswith(b'\\xef\\xbb\\xbf') for n in p.namelist() if n.endswith('.csv'))
        assert 'byteOrderMark' not in p.read([n for n in p.namelist() if n.endswith('/manifest.json')][0]).decode()
        """
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", py, bom, plain])
        XCTAssertEqual(r.code, 0, r.stderr)
        // Converted from the CSV files (json dropped), then back to JSON: the same records as the original.
        let csvOnly = dir.appendingPathComponent("csv-only.zip").path
        XCTAssertEqual(try TestSupport.dataport("convert", bom, "--format", "csv", "--csv-bom", "--output", csvOnly).code, 0)
        let json = dir.appendingPathComponent("json.zip").path, original = dir.appendingPathComponent("orig.zip").path
        XCTAssertEqual(try TestSupport.dataport("convert", csvOnly, "--format", "json", "--output", json).code, 0)
        XCTAssertEqual(try TestSupport.dataport("convert", plain, "--format", "json", "--output", original).code, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: json)), try Data(contentsOf: URL(fileURLWithPath: original)))
        let refused = try TestSupport.dataport("export", "--config", TestSupport.sampleConfig, "--subject", "email=ana.nunez@example.com",
                                               "--csv-bom", "--output", dir.appendingPathComponent("x.zip").path)
        XCTAssertEqual(refused.code, 2, refused.stderr)
    }
}
