import Foundation

/// The type of a field: what kind of `Value` its records hold (besides `null`).
public enum FieldType: String, Sendable, Hashable, CaseIterable, Codable {
    case string, integer, decimal, boolean, timestamp, date, binary
}

/// One typed cell of a record.
///
/// Every format writes and reads each case losslessly; `canonicalText` is the one textual form
/// shared by the text-based formats, the stores and the checksums.
public enum Value: Sendable, Hashable {
    case null
    case string(String)
    case integer(Int64)
    /// An exact decimal (money): never binary floating point.
    case decimal(ExactDecimal)
    case boolean(Bool)
    /// An instant in UTC.
    case timestamp(Timestamp)
    /// A calendar date without time or zone.
    case date(CalendarDate)
    case binary([UInt8])

    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The type of a non-null value; `nil` for `null`.
    public var type: FieldType? {
        switch self {
        case .null: nil
        case .string: .string
        case .integer: .integer
        case .decimal: .decimal
        case .boolean: .boolean
        case .timestamp: .timestamp
        case .date: .date
        case .binary: .binary
        }
    }

    /// The canonical text of a non-null value (base64 for binary); `nil` for `null`.
    public var canonicalText: String? {
        switch self {
        case .null: nil
        case .string(let s): s
        case .integer(let i): String(i)
        case .decimal(let d): d.text
        case .boolean(let b): b ? "true" : "false"
        case .timestamp(let t): t.text
        case .date(let d): d.text
        case .binary(let b): Data(b).base64EncodedString()
        }
    }

    /// Parses the canonical text of a value of `type`. Returns `nil` when the text is not valid for it.
    public static func parse(canonical text: String, as type: FieldType) -> Value? {
        switch type {
        case .string: return .string(text)
        case .integer:
            guard let i = Int64(text), String(i) == text else { return nil }
            return .integer(i)
        case .decimal: return ExactDecimal(text).map(Value.decimal)
        case .boolean:
            switch text {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: return nil
            }
        case .timestamp: return Timestamp(text).map(Value.timestamp)
        case .date: return CalendarDate(text).map(Value.date)
        case .binary:
            guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
            return .binary([UInt8](data))
        }
    }
}

/// An exact decimal number kept as its normalised decimal text, e.g. `-1234.50`.
///
/// Scale is significant (`12.50` stays `12.50`); leading zeros and `+` are dropped, exponents
/// are expanded, and negative zero becomes zero. No precision limit.
public struct ExactDecimal: Sendable, Hashable, CustomStringConvertible {
    /// The normalised text: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`.
    public let text: String

    /// Whether `input` is already in normal form (the common case: no copy needed).
    static func isNormal(_ input: String) -> Bool {
        var u = input.utf8.makeIterator()
        guard var b = u.next() else { return false }
        var negative = false
        if b == UInt8(ascii: "-") { negative = true; guard let n = u.next() else { return false }; b = n }
        guard b >= 48, b <= 57 else { return false }
        let leadingZero = b == 48
        var intCount = 1, fracCount = 0, allZero = leadingZero, inFraction = false
        while let c = u.next() {
            if c == UInt8(ascii: ".") {
                guard !inFraction else { return false }
                inFraction = true
                continue
            }
            guard c >= 48, c <= 57 else { return false }
            if c != 48 { allZero = false }
            if inFraction { fracCount += 1 } else { intCount += 1 }
        }
        if inFraction && fracCount == 0 { return false }
        if leadingZero && intCount > 1 { return false }
        if negative && allZero { return false }
        return true
    }

    /// Parses decimal text, also with a leading `+`, leading zeros or an exponent (`1.5e-7`).
    public init?(_ input: String) {
        if Self.isNormal(input) { text = input; return }
        var bytes = Array(input.utf8)
        guard !bytes.isEmpty, bytes.count <= 100_000 else { return nil }
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            bytes.removeFirst()
        }
        var intDigits: [UInt8] = []
        var fracDigits: [UInt8] = []
        var i = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { intDigits.append(bytes[i]); i += 1 }
        var sawPoint = false
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            sawPoint = true
            i += 1
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { fracDigits.append(bytes[i]); i += 1 }
        }
        guard !intDigits.isEmpty || !fracDigits.isEmpty else { return nil }
        if sawPoint && fracDigits.isEmpty && intDigits.isEmpty { return nil }
        var exponent = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var expText = ""
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                expText.append(Character(UnicodeScalar(bytes[i]))); i += 1
            }
            let start = i
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { expText.append(Character(UnicodeScalar(bytes[i]))); i += 1 }
            guard i > start, let e = Int(expText), abs(e) <= 10_000 else { return nil }
            exponent = e
        }
        guard i == bytes.count else { return nil }
        // Shift the decimal point by the exponent.
        if exponent > 0 {
            let moved = min(exponent, fracDigits.count)
            intDigits += fracDigits.prefix(moved)
            fracDigits.removeFirst(moved)
            intDigits += [UInt8](repeating: 48, count: exponent - moved)
        } else if exponent < 0 {
            let shift = -exponent
            let moved = min(shift, intDigits.count)
            fracDigits = Array(intDigits.suffix(moved)) + fracDigits
            intDigits.removeLast(moved)
            fracDigits = [UInt8](repeating: 48, count: shift - moved) + fracDigits
        }
        while intDigits.count > 1, intDigits[0] == 48 { intDigits.removeFirst() }
        if intDigits.isEmpty { intDigits = [48] }
        let isZero = intDigits == [48] && fracDigits.allSatisfy { $0 == 48 }
        var out = (negative && !isZero) ? "-" : ""
        out += String(decoding: intDigits, as: UTF8.self)
        if !fracDigits.isEmpty { out += "." + String(decoding: fracDigits, as: UTF8.self) }
        text = out
    }

    public var description: String { text }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
@inlinable func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
    let y = m <= 2 ? y0 - 1 : y0
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
}

/// The civil date of a day count since 1970-01-01.
@inlinable public func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
    let z = z0 + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}

func daysInMonth(_ year: Int, _ month: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}

/// A small cursor over ASCII bytes for the date and time parsers.
struct DigitCursor {
    let bytes: [UInt8]
    var index = 0
    var atEnd: Bool { index >= bytes.count }
    var peek: UInt8? { atEnd ? nil : bytes[index] }
    mutating func number(_ count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var n = 0
        for k in 0..<count {
            let b = bytes[index + k]
            guard b >= 48, b <= 57 else { return nil }
            n = n * 10 + Int(b - 48)
        }
        index += count
        return n
    }
    mutating func expect(_ c: Unicode.Scalar) -> Bool {
        guard let p = peek, UInt32(p) == c.value else { return false }
        index += 1
        return true
    }
}

/// A calendar date `YYYY-MM-DD` (years 0001 to 9999).
public struct CalendarDate: Sendable, Hashable, CustomStringConvertible {
    public let year: Int, month: Int, day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1, day <= daysInMonth(year, month) else { return nil }
        self.year = year; self.month = month; self.day = day
    }

    /// Parses `YYYY-MM-DD` exactly.
    public init?(_ text: String) {
        var c = DigitCursor(bytes: Array(text.utf8))
        guard let y = c.number(4), c.expect("-"), let m = c.number(2), c.expect("-"), let d = c.number(2), c.atEnd else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public var text: String { pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) }
    public var description: String { text }
}

@inline(__always) func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

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
        let bytes = Array(text.utf8)
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
                while let p = c.peek, p >= 48, p <= 57 { fraction.append(Character(UnicodeScalar(p))); c.index += 1 }
                guard !fraction.isEmpty else { return nil }
                while fraction.hasSuffix("0") { fraction.removeLast() }
                guard fraction.count <= 9 else { return nil }
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
        // Already canonical (T, seconds, no trailing zero in a fraction, Z): keep the given text.
        let n = bytes.count
        let keep = n >= 20 && bytes[10] == UInt8(ascii: "T") && bytes[n - 1] == UInt8(ascii: "Z")
            && (n == 20 || (bytes[19] == UInt8(ascii: ".") && bytes[n - 2] != UInt8(ascii: "0")))
        self.init(seconds: local - Int64(offset), fraction: fraction, canonical: keep ? text : nil)
    }

    public var description: String { text }

    /// The current time, to the second.
    public static func now() -> Timestamp {
        Timestamp(seconds: Int64(Date().timeIntervalSince1970))!
    }
}
