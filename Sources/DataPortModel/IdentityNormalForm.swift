import Foundation

/// How values of an identity kind are compared: the one definition every connector matches on
/// (specified in `formats/stores-config.md`, "Identity normal form").
///
/// Every form first trims Unicode `White_Space` (tab, newline, NBSP, U+2028, ideographic space, ...)
/// from both ends and puts the text in NFC. Then:
/// - `caseless` (e-mail): Unicode default case folding (full folding: `ß` = `ss`, `İ` = `i̇`,
///   `RENÉE` = `renée`), then NFC again. Plus-tags and dots are kept: `ana+news@` is another address.
/// - `ip`: an IPv4 or IPv6 address in canonical text (RFC 5952: lower case, no leading zeros, the
///   longest run of zero groups as `::`); an IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is the
///   IPv4 address it maps. Text that is not an address is compared as `exact`.
/// - `exact` (`user_id`, `cookie_id` and every other kind): nothing more; case matters.
///
/// Matching is equality of normal forms, never substring or prefix.
public enum IdentityForm: String, Sendable, CaseIterable {
    case caseless, ip, exact

    /// The normal form of `value`.
    public func normalize(_ value: String) -> String {
        let trimmed = Self.trim(value)
        // Fast path: ASCII text is already NFC, and its case folding is ASCII lower case.
        let ascii = trimmed.utf8.allSatisfy { $0 < 0x80 }
        switch self {
        case .exact:
            return ascii ? trimmed : trimmed.precomposedStringWithCanonicalMapping
        case .caseless:
            if ascii { return trimmed.lowercased() }
            return trimmed.precomposedStringWithCanonicalMapping
                .folding(options: [.caseInsensitive], locale: nil)
                .precomposedStringWithCanonicalMapping
        case .ip:
            return Self.canonicalAddress(trimmed) ?? (ascii ? trimmed : trimmed.precomposedStringWithCanonicalMapping)
        }
    }

    /// The normal form of ASCII text, byte for byte, without building a String (SQLite calls this
    /// once per row when no index serves a match); nil when `bytes` holds a non-ASCII byte or the
    /// form is `ip` (then use `normalize`). For ASCII text it equals `normalize`.
    public func normalizeASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard self != .ip, !bytes.contains(where: { $0 >= 0x80 }) else { return nil }
        // The ASCII White_Space characters: tab, LF, VT, FF, CR, space.
        func space(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        var start = 0, end = bytes.count
        while start < end, space(bytes[start]) { start += 1 }
        while end > start, space(bytes[end - 1]) { end -= 1 }
        var out = Array(bytes[start..<end])
        if self == .caseless {
            for i in out.indices where out[i] >= 0x41 && out[i] <= 0x5A { out[i] += 0x20 }
        }
        return out
    }

    /// The Unicode `White_Space` characters trimmed from both ends of every identity value, in the
    /// order the SQL expressions list them (PostgreSQL's `btrim` set).
    public static let whitespace: [Unicode.Scalar] = [
        "\u{09}", "\u{0A}", "\u{0B}", "\u{0C}", "\u{0D}", "\u{20}", "\u{85}", "\u{A0}", "\u{1680}",
        "\u{2000}", "\u{2001}", "\u{2002}", "\u{2003}", "\u{2004}", "\u{2005}", "\u{2006}", "\u{2007}",
        "\u{2008}", "\u{2009}", "\u{200A}", "\u{2028}", "\u{2029}", "\u{202F}", "\u{205F}", "\u{3000}",
    ]

    /// `value` without leading and trailing Unicode White_Space.
    public static func trim(_ value: String) -> String {
        let scalars = value.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex && scalars.index(after: last) == scalars.endIndex { return value }
        return String(scalars[first...last])
    }

    /// The canonical text of an IP address, or nil when `text` is not one.
    public static func canonicalAddress(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= 64,
              text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x3A) || $0 == 0x2E || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return format(v4) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12..<16].map { String($0) }.joined(separator: ".")
        }
        return format(v6)
    }

    /// The 16 bytes of an IPv6 address in text, or nil.
    public static func ipv6Bytes(_ text: String) -> [UInt8]? {
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        return withUnsafeBytes(of: v6) { Array($0) }
    }

    private static func format(_ a: in_addr) -> String {
        withUnsafeBytes(of: a) { $0.map { String($0) }.joined(separator: ".") }
    }

    private static func format(_ a: in6_addr) -> String {
        var a = a
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        // glibc writes RFC 5952 text: lower case, no leading zeros, the longest zero run (of two or
        // more groups) compressed, IPv4-compatible and mapped forms in dotted notation.
        guard inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count)) != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
