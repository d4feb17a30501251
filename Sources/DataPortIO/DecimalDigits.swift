/// Decimal digits of integers written straight into byte buffers, with no `String` made: what the
/// dataset pages and the XML writer append for every integer value.
package enum DecimalDigits {
    /// Appends the decimal digits of `n` (`-` first when negative).
    package static func append(_ n: Int64, to out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        let m = n.magnitude
        guard m >= 10 else { out.append(UInt8(ascii: "0") + UInt8(m)); return }
        with(m) { out.append(contentsOf: $0) }
    }

    /// Calls `body` with the decimal digits of `m`, made on the stack.
    package static func with(_ m: UInt64, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var m = m
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var i = 20
            repeat {
                i -= 1
                buf[i] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
            } while m > 0
            body(UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }
}
