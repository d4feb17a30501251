import DataPortIO
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
