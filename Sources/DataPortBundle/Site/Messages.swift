import DataPortIO
import DataPortModel
import Foundation

/// The words of the bundle's pages in one language, and how that language writes dates and numbers.
///
/// The catalogues are `formats/messages/<language>.json` (English is the source); they are embedded
/// in `Catalogues.swift` (made by `scripts/generate-messages.py`) so an installed binary needs no
/// resource files, and a test proves the files and the embedded copy agree.
public struct Messages: Sendable {
    public let language: String
    let table: [String: String]
    let english: [String: String]
    let zone: TimeZone
    public let timeZoneName: String
    /// UTC itself, whose offset is 0 at every instant: no zone lookup per value.
    let isUTC: Bool
    /// The date and time patterns compiled once (nil when a catalogue's text could not be
    /// compiled safely; then every value takes the placeholder path, which gives the same text).
    let style: DateStyle?
    /// `number.group` and `number.decimal`, looked up once (every row number and decimal uses them).
    let groupSeparator: String, decimalMark: String

    /// The catalogue of `presentation.language` (English when unknown) with times in its time zone.
    /// Made once per presentation and process (a batch makes pages for every subject).
    public init(_ presentation: Presentation) {
        if let known = Self.made.withLock({ $0[presentation] }) {
            self = known
            return
        }
        self.init(making: presentation)
        let made = self
        Self.made.withLock { if $0.count < 64 { $0[presentation] = made } }
    }

    private static let made = Locked<[Presentation: Messages]>([:])

    private init(making presentation: Presentation) {
        language = Catalogues.all[presentation.language] == nil ? "en" : presentation.language
        english = Catalogues.all["en"] ?? [:]
        table = Catalogues.all[language] ?? english
        timeZoneName = presentation.timeZone
        zone = TimeZone(identifier: presentation.timeZone) ?? TimeZone(secondsFromGMT: 0)!
        isUTC = ["UTC", "GMT", "Etc/UTC", "Etc/GMT"].contains(zone.identifier)
        let t = table, en = english
        func text(_ key: String) -> String { t[key] ?? en[key] ?? key }
        groupSeparator = text("number.group")
        decimalMark = text("number.decimal")
        style = DateStyle(months: text("date.months"), date: text("date.format"), dateTime: text("datetime.format"), decimal: text("number.decimal"))
    }

    /// Whether `name` is a time zone this build knows (checked when a config or option names one).
    public static func isKnownTimeZone(_ name: String) -> Bool { TimeZone(identifier: name) != nil }

    /// The message `key`, with `{1}`, `{2}`... replaced by `args` (already escaped where they go into HTML).
    public func callAsFunction(_ key: String, _ args: String...) -> String { fill(text(key), args) }

    /// The message `key` escaped for HTML, with `args` (HTML already) put in.
    public func html(_ key: String, _ args: String...) -> String { fill(IndexPage.escape(text(key)), args) }

    func text(_ key: String) -> String { table[key] ?? english[key] ?? key }

    func fill(_ template: String, _ args: [String]) -> String {
        // The bytes, not `contains("{")`: that overload is Foundation's, which bridges to NSString
        // (about 8,000 instructions a call; 9% of a small subject's export, callgrind, issue 18).
        // And in place: `utf8.contains` walks the view a byte at a time (1% of a small subject's).
        guard template.withUTF8Bytes({ $0.contains(UInt8(ascii: "{")) }) else { return template }
        var out = template
        for (i, a) in args.enumerated() { out = out.replacingPlaceholder("{\(i + 1)}", with: a) }
        return out
    }

    /// The plural form of `key` for `n` (`key.one`, `key.few`, `key.other`), `{n}` replaced by the number.
    public func plural(_ key: String, _ n: Int64, _ args: String...) -> String {
        let form = Self.pluralForm(language, n)
        let template = table["\(key).\(form)"] ?? table["\(key).other"] ?? english["\(key).\(form == "few" ? "other" : form)"] ?? key
        return fill(template.replacingPlaceholder("{n}", with: number(n)), args)
    }

    /// The CLDR plural category of an integer in `language`: the forms its catalogue must give.
    static func pluralForm(_ language: String, _ n: Int64) -> String {
        let a = n.magnitude
        switch language {
        case "lt":
            if a % 10 == 1 && a % 100 != 11 { return "one" }
            if (2...9).contains(a % 10) && !(11...19).contains(a % 100) { return "few" }
            return "other"
        case "fr": return a <= 1 ? "one" : "other"
        default: return a == 1 ? "one" : "other"
        }
    }

    /// The plural forms each language's catalogue gives for every plural message.
    static func pluralForms(_ language: String) -> [String] { language == "lt" ? ["one", "few", "other"] : ["one", "other"] }

    // MARK: Numbers, dates, times

    /// Digits grouped by thousands as the language writes them (`12,345`; `12 345`; `12.345`).
    public func number(_ n: Int64) -> String {
        var out: [UInt8] = []
        Self.appendNumber(n, separator: Array(groupSeparator.utf8), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// An exact decimal with the language's decimal mark and grouping; no digit is lost or rounded.
    public func decimal(_ d: ExactDecimal) -> String {
        var out: [UInt8] = []
        Self.appendDecimal(d, separator: Array(groupSeparator.utf8), mark: Array(decimalMark.utf8), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `n` with its digits grouped by `separator` (bytes as given: escape them first for HTML).
    static func appendNumber(_ n: Int64, separator: [UInt8], to out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        DecimalDigits.with(n.magnitude) { HTMLText.appendGrouped($0, separator: separator, to: &out) }
    }

    /// `d` with its integer digits grouped by `separator` and `mark` for its point.
    static func appendDecimal(_ d: ExactDecimal, separator: [UInt8], mark: [UInt8], to out: inout [UInt8]) {
        var t = d.text
        t.withUTF8 { p in
            var start = 0
            if p.first == UInt8(ascii: "-") { out.append(UInt8(ascii: "-")); start = 1 }
            let point = p[start...].firstIndex(of: UInt8(ascii: ".")) ?? p.count
            HTMLText.appendGrouped(UnsafeBufferPointer(rebasing: p[start..<point]), separator: separator, to: &out)
            if point < p.count {
                out.append(contentsOf: mark)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[(point + 1)...]))
            }
        }
    }

    /// A calendar date as the language writes it (`2 March 2026`, `2026 m. kovo 2 d.`).
    public func date(_ d: CalendarDate) -> String { date(year: d.year, month: d.month, day: d.day) }

    func date(year: Int, month: Int, day: Int) -> String {
        if let style {
            var out: [UInt8] = []
            style.appendDate(year: year, month: month, day: day, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        return placeholderDate(year: year, month: month, day: day)
    }

    /// The catalogue's pattern filled placeholder by placeholder: the definition `DateStyle` matches.
    func placeholderDate(year: Int, month: Int, day: Int) -> String {
        let months = text("date.months").split(separator: "|").map(String.init)
        let name = months.count == 12 ? months[month - 1] : String(month)
        return text("date.format").replacingPlaceholder("{day}", with: String(day))
            .replacingPlaceholder("{month}", with: name).replacingPlaceholder("{year}", with: String(year))
    }

    /// An instant as the date and 24-hour time in the page's time zone (the zone is named once per page).
    public func dateTime(_ t: Timestamp) -> String {
        guard let style else { return placeholderDateTime(t) }
        var out: [UInt8] = []
        style.appendDateTime(local: local(t), fraction: t.fraction, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `t` as seconds since 1970 on the page's time zone's wall clock.
    func local(_ t: Timestamp) -> Int64 {
        if isUTC { return t.seconds }
        return t.seconds + Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t.seconds))))
    }

    /// `dateTime` through the placeholders: the definition `DateStyle` matches (and the fallback).
    func placeholderDateTime(_ t: Timestamp) -> String {
        let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t.seconds))))
        let local = t.seconds + offset
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let secs = Int(local - Int64(days) * 86_400)
        let (y, m, d) = civilFromDays(days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
        var time = "\(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60))"
        if !t.fraction.isEmpty { time += text("number.decimal") + t.fraction }
        return text("datetime.format").replacingPlaceholder("{date}", with: placeholderDate(year: y, month: m, day: d))
            .replacingPlaceholder("{time}", with: time)
    }

    /// A byte count for people (`512 bytes`, `1.5 KB`, `3.2 MB`), decimal units.
    public func size(_ bytes: Int64) -> String {
        if bytes < 1000 { return plural("size.bytes", bytes) }
        let units = ["KB", "MB", "GB", "TB"]
        var value = Double(bytes) / 1000, unit = 0
        while value >= 999.95 && unit < units.count - 1 { value /= 1000; unit += 1 }
        let tenths = Int64((value * 10).rounded())
        return "\(number(tenths / 10))\(text("number.decimal"))\(tenths % 10)\u{A0}\(units[unit])"
    }
}

/// A language's date and date-time patterns compiled once into literal pieces and slots, so a
/// value is written by appending to one string instead of filling placeholders one after another
/// (a dataset page formats every timestamp of every record; issue 18).
///
/// Gives exactly what the placeholder path gives: it compiles only when no literal piece and no
/// month name holds a brace, so no value can form a placeholder the sequential fill would
/// replace again (`MessagesTests` compares both paths over many instants and every language).
struct DateStyle: Sendable {
    enum Piece: Sendable { case literal([UInt8]), slot(Int) }
    /// Nil when the catalogue does not give twelve names (the month's number is written then).
    let months: [[UInt8]]?
    /// Slots 0 day, 1 month, 2 year.
    let date: [Piece]
    /// Slots 0 date, 1 time.
    let dateTime: [Piece]
    let decimal: [UInt8]

    init?(months: String, date: String, dateTime: String, decimal: String) {
        let names = months.split(separator: "|").map(String.init)
        guard !names.contains(where: Self.hasBrace),
              let d = Self.compile(date, ["{day}", "{month}", "{year}"]),
              let dt = Self.compile(dateTime, ["{date}", "{time}"]) else { return nil }
        self.months = names.count == 12 ? names.map { Array($0.utf8) } : nil
        self.date = d
        self.dateTime = dt
        self.decimal = Array(decimal.utf8)
    }

    private init(months: [[UInt8]]?, date: [Piece], dateTime: [Piece], decimal: [UInt8]) {
        self.months = months
        self.date = date
        self.dateTime = dateTime
        self.decimal = decimal
    }

    /// The same style writing HTML: every literal piece, month name and the decimal mark escaped
    /// once (escaping maps character by character, and the numbers it adds are ASCII digits).
    func escapedForHTML() -> DateStyle {
        func e(_ b: [UInt8]) -> [UInt8] { HTMLText.bytes(String(decoding: b, as: UTF8.self)) }
        func e(_ pieces: [Piece]) -> [Piece] { pieces.map { if case .literal(let l) = $0 { .literal(e(l)) } else { $0 } } }
        return DateStyle(months: months?.map(e), date: e(date), dateTime: e(dateTime), decimal: e(decimal))
    }

    static func hasBrace(_ s: String) -> Bool { s.utf8.contains { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") } }

    /// `pattern` as pieces, or nil when a literal piece would hold a brace.
    static func compile(_ pattern: String, _ slots: [String]) -> [Piece]? {
        let b = Array(pattern.utf8), tokens = slots.map { Array($0.utf8) }
        var pieces: [Piece] = [], literal: [UInt8] = [], i = 0
        func flush() { if !literal.isEmpty { pieces.append(.literal(literal)); literal = [] } }
        scan: while i < b.count {
            for (k, t) in tokens.enumerated() where b[i...].starts(with: t) {
                flush()
                pieces.append(.slot(k))
                i += t.count
                continue scan
            }
            literal.append(b[i])
            i += 1
        }
        flush()
        return pieces.contains { if case .literal(let l) = $0 { l.contains { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") } } else { false } } ? nil : pieces
    }

    func appendDate(year: Int, month: Int, day: Int, to out: inout [UInt8]) {
        for p in date {
            switch p {
            case .literal(let l): out.append(contentsOf: l)
            case .slot(0): DecimalDigits.append(Int64(day), to: &out)
            case .slot(1):
                if let months { out.append(contentsOf: months[month - 1]) } else { DecimalDigits.append(Int64(month), to: &out) }
            default: DecimalDigits.append(Int64(year), to: &out)
            }
        }
    }

    /// `local`: seconds since 1970 on the zone's wall clock. `fraction` is digits only (`Timestamp`
    /// checks it), so it needs no escaping.
    func appendDateTime(local: Int64, fraction: String, to out: inout [UInt8]) {
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let secs = Int(local - Int64(days) * 86_400)
        for p in dateTime {
            switch p {
            case .literal(let l): out.append(contentsOf: l)
            case .slot(0):
                let (y, m, d) = civilFromDays(days)
                appendDate(year: y, month: m, day: d, to: &out)
            default:
                Self.two(secs / 3600, &out)
                out.append(UInt8(ascii: ":"))
                Self.two(secs / 60 % 60, &out)
                out.append(UInt8(ascii: ":"))
                Self.two(secs % 60, &out)
                if !fraction.isEmpty { out.append(contentsOf: decimal); out.append(contentsOf: fraction.utf8) }
            }
        }
    }

    private static func two(_ n: Int, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "0") + UInt8(n / 10))
        out.append(UInt8(ascii: "0") + UInt8(n % 10))
    }
}

extension Catalogues {
    /// The parsed catalogues, by language: each a flat object of strings (checked by MessagesTests).
    static let all: [String: [String: String]] = files.mapValues { text in
        guard case .object(let members)? = try? JSONValue.parse(Array(text.utf8), name: "messages", errorKind: .internal) else { return [:] }
        var table: [String: String] = [:]
        for m in members { if case .string(let s) = m.value { table[m.key] = s } }
        return table
    }
}

extension String {
    /// `self` with every `token` replaced by `value`, left to right: what Foundation's
    /// `replacingOccurrences(of:with:)` gives for the catalogues' ASCII placeholders (`{date}`,
    /// `{1}`), without bridging to NSString, which cost about 30% of a small subject's export
    /// (callgrind, issue 18: every timestamp on a dataset page went through it twice).
    func replacingPlaceholder(_ token: String, with value: String) -> String {
        let t = Array(token.utf8)
        let bytes = Array(utf8)
        guard let first = t.first, bytes.count >= t.count else { return self }
        var out: [UInt8] = []
        var i = 0, copied = 0
        while i + t.count <= bytes.count {
            if bytes[i] == first && bytes[i..<i + t.count].elementsEqual(t) {
                out += bytes[copied..<i]
                out += value.utf8
                i += t.count
                copied = i
            } else {
                i += 1
            }
        }
        guard copied > 0 else { return self }
        out += bytes[copied...]
        return String(decoding: out, as: UTF8.self)
    }
}
