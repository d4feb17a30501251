import Foundation

/// An instant in UTC, written `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (ISO 8601 / RFC 3339).
///
/// Fractions keep up to 9 digits, trailing zeros dropped. Offsets given on input are
/// converted to UTC; input without a zone is taken as UTC.
public struct Timestamp: Sendable, Hashable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64
    /// The fraction digits after the point, without trailing zeros ("" for none).
    public let fraction: String
    /// The canonical text, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, computed once.
    public let text: String

    public static func == (a: Self, b: Self) -> Bool { a.seconds == b.seconds && a.fraction == b.fraction }
    public func hash(into h: inout Hasher) { h.combine(seconds); h.combine(fraction) }

    public init?(seconds: Int64, fraction: String = "") {
        self.init(seconds: seconds, fraction: fraction, canonical: nil)
    }

    private init?(seconds: Int64, fraction: String, canonical: String?) {
        let days = Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let (y, m, d) = civilFromDays(days)
        guard (1...9999).contains(y), fraction.count <= 9, fraction.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        self.seconds = seconds
        var f = fraction
        while f.hasSuffix("0") { f.removeLast() }
        self.fraction = f
        if let canonical {
            text = canonical
        } else {
            text = Self.canonicalText(y, m, d, secondOfDay: Int(seconds - Int64(days) * 86400), fraction: f)
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, written byte by byte: SQL servers send timestamps in
    /// another form (`2024-05-01 10:00:00+00`), so the read path builds this text once per row.
    private static func canonicalText(_ y: Int, _ m: Int, _ d: Int, secondOfDay s: Int, fraction: String) -> String {
        let f = fraction.utf8
        let count = 20 + (f.isEmpty ? 0 : 1 + f.count)
        return String(unsafeUninitializedCapacity: count) { out in
            func digits(_ v: Int, _ width: Int, at i: Int) {
                var v = v
                for k in stride(from: width - 1, through: 0, by: -1) { out[i + k] = UInt8(48 + v % 10); v /= 10 }
            }
            digits(y, 4, at: 0); out[4] = UInt8(ascii: "-"); digits(m, 2, at: 5); out[7] = UInt8(ascii: "-"); digits(d, 2, at: 8)
            out[10] = UInt8(ascii: "T"); digits(s / 3600, 2, at: 11); out[13] = UInt8(ascii: ":")
            digits(s / 60 % 60, 2, at: 14); out[16] = UInt8(ascii: ":"); digits(s % 60, 2, at: 17)
            var i = 19
            if !f.isEmpty {
                out[i] = UInt8(ascii: "."); i += 1
                for b in f { out[i] = b; i += 1 }
            }
            out[i] = UInt8(ascii: "Z")
            return count
        }
    }

    /// Parses `YYYY-MM-DD[T| ]HH:MM[:SS[.f]][Z|±HH[:MM]]`.
    public init?(_ text: String) {
        var utf8 = text
        guard let (seconds, fraction, keep) = utf8.withUTF8({ Self.parse($0) }) else { return nil }
        self.init(seconds: seconds, fraction: fraction, canonical: keep ? text : nil)
    }

    /// The instant `bytes` spell, its fraction digits, and whether the text is already canonical
    /// (T, seconds, no trailing zero in a fraction, Z) and can be kept as it is.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> (Int64, String, Bool)? {
        var c = DigitCursor(bytes: bytes)
        guard let y = c.number(4), c.expect("-"), let mo = c.number(2), c.expect("-"), let d = c.number(2),
              let date = CalendarDate(year: y, month: mo, day: d) else { return nil }
        guard c.expect("T") || c.expect(" ") || c.expect("t") else { return nil }
        guard let h = c.number(2), h < 24, c.expect(":"), let mi = c.number(2), mi < 60 else { return nil }
        var s = 0
        var fraction = ""
        if c.expect(":") {
            guard let sec = c.number(2), sec < 60 else { return nil }
            s = sec
            if c.expect(".") {
                let start = c.index
                while let p = c.peek, p >= 48, p <= 57 { c.index += 1 }
                var end = c.index
                guard end > start else { return nil }
                while end > start && bytes[end - 1] == UInt8(ascii: "0") { end -= 1 }
                guard end - start <= 9 else { return nil }
                fraction = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            }
        }
        var offset = 0
        if c.expect("Z") || c.expect("z") {
        } else if let sign = c.peek, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            c.index += 1
            guard let oh = c.number(2), oh <= 23 else { return nil }
            var om = 0
            if c.expect(":") { guard let m = c.number(2) else { return nil }; om = m }
            else if !c.atEnd { guard let m = c.number(2) else { return nil }; om = m }
            guard om < 60 else { return nil }
            offset = (oh * 3600 + om * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        }
        guard c.atEnd else { return nil }
        let local = Int64(daysFromCivil(date.year, date.month, date.day)) * 86400 + Int64(h * 3600 + mi * 60 + s)
        let n = bytes.count
        let keep = n >= 20 && bytes[10] == UInt8(ascii: "T") && bytes[n - 1] == UInt8(ascii: "Z")
            && (n == 20 || (bytes[19] == UInt8(ascii: ".") && bytes[n - 2] != UInt8(ascii: "0")))
        return (local - Int64(offset), fraction, keep)
    }

    public var description: String { text }

    /// The current time, to the second.
    public static func now() -> Timestamp {
        Timestamp(seconds: Int64(Date().timeIntervalSince1970))!
    }
}
