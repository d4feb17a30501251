import Foundation

/// The tab-separated text that PostgreSQL's `COPY ... FROM STDIN` (text format) and MySQL's
/// `LOAD DATA` (default format) read: a tab between fields, a newline after each row, `\N` for
/// NULL, and backslash, tab, newline and carriage return escaped with a backslash. The two differ
/// on NUL: MySQL reads `\0`, PostgreSQL text cannot hold one (`nul: .cut` ends the value there and
/// notes where, as a bound parameter would be cut).
struct TabSeparatedText {
    enum NUL { case cut, escape }
    private let nul: NUL
    private(set) var bytes: [UInt8] = []
    /// Where a value was cut at a NUL (`nul: .cut`), in the order written.
    private(set) var altered: [(record: Int64, column: Int)] = []

    init(nul: NUL, capacity: Int = 1 << 20) {
        self.nul = nul
        bytes.reserveCapacity(capacity + 4096)
    }

    mutating func separate() { bytes.append(9) }
    mutating func endRow() { bytes.append(10) }
    mutating func null() { bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "N")) }

    mutating func integer(_ n: Int64) { Self.appendDecimal(n, to: &bytes) }

    /// `n` in decimal digits (a leading `-` if negative), spelt on the stack and appended at once.
    static func appendDecimal(_ n: Int64, to bytes: inout [UInt8]) {
        var m = n.magnitude
        if n >= 0 && m < 10 { bytes.append(UInt8(48 + m)); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = 20
            repeat { i -= 1; digits[i] = UInt8(48 + m % 10); m /= 10 } while m > 0
            if n < 0 { i -= 1; digits[i] = UInt8(ascii: "-") }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }

    /// A text value, escaped.
    mutating func field(_ s: String, record: Int64, column: Int) {
        s.withUTF8Bytes { field(bytes: $0, record: record, column: column) }
    }

    /// A value's bytes, escaped.
    mutating func field(bytes u: UnsafeBufferPointer<UInt8>, record: Int64, column: Int) {
        var start = 0
        for i in 0..<u.count {
            let escaped: UInt8
            switch u[i] {
            case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
            case 9: escaped = UInt8(ascii: "t")
            case 10: escaped = UInt8(ascii: "n")
            case 13: escaped = UInt8(ascii: "r")
            case 0:
                if nul == .cut {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i]))
                    altered.append((record, column))
                    return
                }
                escaped = UInt8(ascii: "0")
            default: continue
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i]))
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(escaped)
            start = i + 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<u.count]))
    }

    /// Hands the bytes so far to `send` and starts again.
    mutating func flush(_ send: (UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { try send($0) }
        bytes.removeAll(keepingCapacity: true)
    }
}
