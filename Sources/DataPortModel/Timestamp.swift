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

    /// The canonical text, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, made when asked for. Not kept: an
    /// instant then holds no string of its own beyond its fraction, so a record's timestamp costs
    /// no allocation, and no retain and release in each lane that reads it (issue 18). Writers
    /// append it with `withCanonicalBytes`, without a string.
    public var text: String {
        String(unsafeUninitializedCapacity: 20 + (fraction.isEmpty ? 0 : 1 + fraction.utf8.count)) { writeCanonical(into: $0) }
    }

    /// Calls `body` with the canonical text's UTF-8 bytes, written on the stack.
    public func withCanonicalBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 30) { buffer in
            let n = writeCanonical(into: buffer)
            return try body(UnsafeBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    public static func == (a: Self, b: Self) -> Bool { a.seconds == b.seconds && a.fraction == b.fraction }
    public func hash(into h: inout Hasher) { h.combine(seconds); h.combine(fraction) }

    public init?(seconds: Int64, fraction: String = "") {
        let days = Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let (y, _, _) = civilFromDays(days)
        guard (1...9999).contains(y), fraction.count <= 9, fraction.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        self.seconds = seconds
        var f = fraction
        while f.hasSuffix("0") { f.removeLast() }
        self.fraction = f
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS[.fraction]Z` byte by byte into `out` (room for 30); returns the count.
    private func writeCanonical(into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let days = Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let (y, m, d) = civilFromDays(days)
        let s = Int(seconds - Int64(days) * 86400)
        func digits(_ v: Int, _ width: Int, at i: Int) {
            var v = v
            for k in stride(from: width - 1, through: 0, by: -1) { out[i + k] = UInt8(48 + v % 10); v /= 10 }
        }
        digits(y, 4, at: 0); out[4] = UInt8(ascii: "-"); digits(m, 2, at: 5); out[7] = UInt8(ascii: "-"); digits(d, 2, at: 8)
        out[10] = UInt8(ascii: "T"); digits(s / 3600, 2, at: 11); out[13] = UInt8(ascii: ":")
        digits(s / 60 % 60, 2, at: 14); out[16] = UInt8(ascii: ":"); digits(s % 60, 2, at: 17)
        var i = 19
        let f = fraction.utf8
        if !f.isEmpty {
            out[i] = UInt8(ascii: "."); i += 1
            for b in f { out[i] = b; i += 1 }
        }
        out[i] = UInt8(ascii: "Z")
        return i + 1
    }

    /// Parses `YYYY-MM-DD[T| ]HH:MM[:SS[.f]][Z|±HH[:MM]]`.
    public init?(_ text: String) {
        var utf8 = text
        guard let (seconds, fraction) = utf8.withUTF8({ Self.parse($0) }) else { return nil }
        self.init(seconds: seconds, fraction: fraction)
    }

    /// The instant `bytes` spell and its fraction digits.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> (Int64, String)? {
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
        return (local - Int64(offset), fraction)
    }

    public var description: String { text }

    /// The current time, to the second.
    public static func now() -> Timestamp {
        Timestamp(seconds: Int64(Date().timeIntervalSince1970))!
    }
}
