import Foundation

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
