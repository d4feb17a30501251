import DataPortIO
import Foundation

/// An order-independent digest of a table's rows as text, computed the same way by the client
/// (over the text it loads) and by the server (over each stored value rendered as that text): the
/// row count and the sum of a 64-bit hash of each row. Equal digests mean the table holds the rows
/// loaded, as a multiset, without a join and without reading the rows back. (The check is against
/// a target that changes what it is given, not against an adversary.)
struct RowDigest {
    /// How a row becomes the 64 bits that are summed.
    enum Kind: Equatable {
        /// The first 64 bits of the MD5 of the row spelt `v<bytes>:<text>` per value and `n` for
        /// NULL (both servers have MD5 built in), summed as `bigint` (signed, PostgreSQL) or
        /// `UNSIGNED` (MySQL).
        case md5(signed: Bool)
        /// PostgreSQL's `hashtextextended` of each value's text, seeded with the hash of the values
        /// before it (0 for the first) xor 1 for NULL (hashed as empty text), summed as `bigint`:
        /// a fifth of the server's time for MD5, which PostgreSQL computes through OpenSSL per call.
        case postgreSQLHash
    }

    let kind: Kind
    /// The row so far (`md5`).
    private var row: [UInt8] = []
    /// The hash of the row's values so far (`postgreSQLHash`).
    private var chain: UInt64 = 0
    /// A value being spelt (integers, timestamps).
    private var scratch: [UInt8] = []
    private(set) var count: Int64 = 0
    private var sum: Int128 = 0

    init(_ kind: Kind) {
        self.kind = kind
        row.reserveCapacity(1024)
        scratch.reserveCapacity(64)
    }

    mutating func null() {
        if kind == .postgreSQLHash {
            chain = PostgreSQLHash.hash(UnsafeBufferPointer(start: nil, count: 0), seed: chain ^ 1)
        } else {
            row.append(UInt8(ascii: "n"))
        }
    }

    mutating func integer(_ n: Int64) {
        scratch.removeAll(keepingCapacity: true)
        TabSeparatedText.appendDecimal(n, to: &scratch)
        scratch.withUnsafeBufferPointer { bytes($0) }
    }

    mutating func text(_ s: String) {
        s.withUTF8Bytes { bytes($0) }
    }

    /// A canonical timestamp (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`) as PostgreSQL prints a
    /// `timestamptz` in UTC with ISO DateStyle (`YYYY-MM-DD HH:MM:SS[.fraction]+00`), which costs
    /// the server far less than rendering the canonical text. Another shape is taken as it is
    /// (and then differs from what the server prints: the caller falls back to the staged path).
    mutating func postgreSQLTimestamp(_ canonical: String) {
        canonical.withUTF8Bytes { u in
            guard u.count >= 20, u[10] == UInt8(ascii: "T"), u[u.count - 1] == UInt8(ascii: "Z"), u[4] == UInt8(ascii: "-"),
                  u[0..<4].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return bytes(u) }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: u[0..<10]))
            scratch.append(UInt8(ascii: " "))
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: u[11..<(u.count - 1)]))
            scratch.append(contentsOf: [UInt8(ascii: "+"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            scratch.withUnsafeBufferPointer { bytes($0) }
        }
    }

    /// A value's text.
    mutating func bytes(_ b: UnsafeBufferPointer<UInt8>) {
        if kind == .postgreSQLHash {
            chain = PostgreSQLHash.hash(b, seed: chain)
            return
        }
        row.append(UInt8(ascii: "v"))
        TabSeparatedText.appendDecimal(Int64(b.count), to: &row)
        row.append(UInt8(ascii: ":"))
        row.append(contentsOf: b)
    }

    mutating func endRow() {
        switch kind {
        case .postgreSQLHash:
            sum += Int128(Int64(bitPattern: chain))
            chain = 0
        case .md5(let signed):
            let h = row.withUnsafeBufferPointer { MD5.prefix64($0) }
            sum += signed ? Int128(Int64(bitPattern: h)) : Int128(h)
            row.removeAll(keepingCapacity: true)
        }
        count += 1
    }

    /// `count/sum`, as the servers' digest queries print it.
    var text: String { "\(count)/\(sum)" }
}
