import Foundation

/// An order-independent digest of a table's rows as text, computed the same way by the client
/// (over the text it loads) and by the server (over each stored value rendered as that text): the
/// row count and the sum of the first 64 bits of each row's MD5, the row spelt `v<bytes>:<text>`
/// per value and `n` for NULL. Equal digests mean the table holds the rows loaded, as a multiset,
/// without a join and without reading the rows back. (MD5 because both servers have it built in;
/// the check is against a target that changes what it is given, not against an adversary.)
struct RowDigest {
    /// PostgreSQL sums the 64 bits as `bigint` (signed), MySQL as `UNSIGNED`.
    let signed: Bool
    private var row: [UInt8] = []
    private(set) var count: Int64 = 0
    private var sum: Int128 = 0

    init(signed: Bool) {
        self.signed = signed
        row.reserveCapacity(1024)
    }

    mutating func null() { row.append(UInt8(ascii: "n")) }

    mutating func integer(_ n: Int64) {
        var m = n.magnitude, length: Int64 = n < 0 ? 2 : 1
        while m >= 10 { m /= 10; length += 1 }
        row.append(UInt8(ascii: "v"))
        TabSeparatedText.appendDecimal(length, to: &row)
        row.append(UInt8(ascii: ":"))
        TabSeparatedText.appendDecimal(n, to: &row)
    }

    mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { bytes($0) }
    }

    /// A canonical timestamp (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`) as PostgreSQL prints a
    /// `timestamptz` in UTC with ISO DateStyle (`YYYY-MM-DD HH:MM:SS[.fraction]+00`), which costs
    /// the server far less than rendering the canonical text. Another shape is taken as it is
    /// (and then differs from what the server prints: the caller falls back to the staged path).
    mutating func postgreSQLTimestamp(_ canonical: String) {
        var s = canonical
        s.withUTF8 { u in
            guard u.count >= 20, u[10] == UInt8(ascii: "T"), u[u.count - 1] == UInt8(ascii: "Z"), u[4] == UInt8(ascii: "-"),
                  u[0..<4].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return bytes(u) }
            row.append(UInt8(ascii: "v"))
            TabSeparatedText.appendDecimal(Int64(u.count + 2), to: &row)
            row.append(UInt8(ascii: ":"))
            row.append(contentsOf: UnsafeBufferPointer(rebasing: u[0..<10]))
            row.append(UInt8(ascii: " "))
            row.append(contentsOf: UnsafeBufferPointer(rebasing: u[11..<(u.count - 1)]))
            row.append(contentsOf: [UInt8(ascii: "+"), UInt8(ascii: "0"), UInt8(ascii: "0")])
        }
    }

    mutating func bytes(_ b: UnsafeBufferPointer<UInt8>) {
        row.append(UInt8(ascii: "v"))
        TabSeparatedText.appendDecimal(Int64(b.count), to: &row)
        row.append(UInt8(ascii: ":"))
        row.append(contentsOf: b)
    }

    mutating func endRow() {
        let h = row.withUnsafeBufferPointer { MD5.prefix64($0) }
        sum += signed ? Int128(Int64(bitPattern: h)) : Int128(h)
        count += 1
        row.removeAll(keepingCapacity: true)
    }

    /// `count/sum`, as the servers' digest queries print it.
    var text: String { "\(count)/\(sum)" }
}

/// MD5 (RFC 1321), only as far as `RowDigest` needs it: the first 64 bits, big-endian.
enum MD5 {
    private static let s: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                      5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                      4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                      6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    private static let k: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296)) }

    static func prefix64(_ message: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: (UInt32, UInt32, UInt32, UInt32) = (0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476)
        let whole = message.count / 64
        // The last bytes, a 0x80 byte, zeros and the length in bits: one or two more blocks.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { tail in
            tail.initialize(repeating: 0)
            let rest = message.count - whole * 64
            for i in 0..<rest { tail[i] = message[whole * 64 + i] }
            tail[rest] = 0x80
            let end = rest < 56 ? 64 : 128
            let bits = UInt64(message.count) &* 8
            for i in 0..<8 { tail[end - 8 + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i))) }
            for block in 0..<whole { compress(UnsafeBufferPointer(rebasing: message[(block * 64)...]), &h) }
            for block in 0..<(end / 64) { compress(UnsafeBufferPointer(rebasing: tail[(block * 64)...]), &h) }
        }
        // The digest is h.0, h.1, ... little-endian; its first 8 bytes read big-endian.
        return UInt64(h.0.byteSwapped) << 32 | UInt64(h.1.byteSwapped)
    }

    private static func compress(_ p: UnsafeBufferPointer<UInt8>, _ h: inout (UInt32, UInt32, UInt32, UInt32)) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { m in
            for i in 0..<16 {
                m[i] = UInt32(p[4 * i]) | UInt32(p[4 * i + 1]) << 8 | UInt32(p[4 * i + 2]) << 16 | UInt32(p[4 * i + 3]) << 24
            }
            s.withUnsafeBufferPointer { s in
                k.withUnsafeBufferPointer { k in
                    var (a, b, c, d) = h
                    for i in 0..<64 {
                        var f: UInt32
                        let g: Int
                        switch i {
                        case 0..<16: f = (b & c) | (~b & d); g = i
                        case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) & 15
                        case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) & 15
                        default: f = c ^ (b | ~d); g = (7 * i) & 15
                        }
                        f = f &+ a &+ k[i] &+ m[g]
                        a = d; d = c; c = b
                        b = b &+ (f << s[i] | f >> (32 - s[i]))
                    }
                    h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d)
                }
            }
        }
    }
}
