import DataPortIO

/// HTML escaping on UTF-8 bytes: the one definition `IndexPage.escape` and the dataset pages' rows
/// share. `&`, `<`, `>`, `"` and `'` become entities; control characters other than tab and newline
/// (C0, DEL and C1), which cannot appear in HTML text, become U+FFFD; every other character is
/// copied. It maps character by character, so the escape of a concatenation is the concatenation
/// of the escapes: a page can escape its constant pieces once and append them.
enum HTMLText {
    /// What each byte needs: 0 copy, 1 an entity, 2 U+FFFD, 3 a lead byte 0xC2 (C1 control next or not).
    private static let action: [UInt8] = (0..<256).map { b in
        switch b {
        case 0x26, 0x3C, 0x3E, 0x22, 0x27: 1
        case 0x09, 0x0A: 0
        case 0..<0x20, 0x7F: 2
        case 0xC2: 3
        default: 0
        }
    }
    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// Appends `s` escaped to `out`.
    static func append(_ s: String, to out: inout [UInt8]) {
        s.withUTF8Bytes { append(bytes: $0, to: &out) }
    }

    /// Appends the UTF-8 text `bytes` (valid UTF-8, as a Swift string's) escaped to `out`.
    static func append(bytes p: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        action.withUnsafeBufferPointer { act in
            var copied = 0, i = 0
            let n = p.count
            while true {
                while i < n && act[Int(p[i])] == 0 { i += 1 }
                if i > copied { out.append(contentsOf: UnsafeBufferPointer(rebasing: p[copied..<i])) }
                guard i < n else { return }
                let b = p[i]
                switch act[Int(b)] {
                case 1:
                    switch b {
                    case 0x26: out.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])  // &amp;
                    case 0x3C: out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])  // &lt;
                    case 0x3E: out.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])  // &gt;
                    case 0x22: out.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])  // &quot;
                    default: out.append(contentsOf: [0x26, 0x23, 0x33, 0x39, 0x3B])  // &#39;
                    }
                    i += 1
                case 2:
                    out.append(contentsOf: replacement)
                    i += 1
                default:
                    // U+0080...U+009F are 0xC2 0x80...0x9F; any other 0xC2 sequence is copied.
                    if i + 1 < n, p[i + 1] < 0xA0 {
                        out.append(contentsOf: replacement)
                        i += 2
                    } else {
                        copied = i
                        i += 2
                        continue
                    }
                }
                copied = i
            }
        }
    }

    /// `s` escaped, as a string (the string itself when nothing needs escaping).
    static func escape(_ s: String) -> String {
        return s.withUTF8Bytes { p in
            guard p.contains(where: { action[Int($0)] != 0 }) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(p.count + 16)
            append(bytes: p, to: &out)
            return String(decoding: out, as: UTF8.self)
        } ?? s
    }

    /// `s` escaped, as bytes.
    static func bytes(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        append(s, to: &out)
        return out
    }

    /// Appends ASCII `digits` grouped by thousands with `separator` when there are more than four
    /// (Spanish and Lithuanian style guides leave four-digit numbers ungrouped; so do we, for all).
    static func appendGrouped(_ digits: UnsafeBufferPointer<UInt8>, separator: [UInt8], to out: inout [UInt8]) {
        let n = digits.count
        guard n > 4 else { out.append(contentsOf: digits); return }
        var i = 0
        var run = n % 3 == 0 ? 3 : n % 3
        while i < n {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<i + run]))
            i += run
            run = 3
            if i < n { out.append(contentsOf: separator) }
        }
    }
}
