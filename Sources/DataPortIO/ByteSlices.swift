/// Fixed byte strings of a writer (JSON keys, XML tags) kept in one buffer and addressed by range:
/// reading one in a per-value loop retains nothing, where an array per string would be retained
/// and released for every value. Read with `bytes.withUnsafeBufferPointer` and slice by range.
package struct ByteSlices: Sendable {
    package private(set) var bytes: [UInt8] = []

    package init() {}

    /// Appends `text` as UTF-8 and returns where it lies in `bytes`.
    package mutating func add(_ text: String) -> Range<Int> {
        let start = bytes.count
        bytes += Array(text.utf8)
        return start..<bytes.count
    }
}

extension Array where Element == UInt8 {
    /// Appends the bytes of a literal (markup): no array to retain and release per call.
    @inline(__always) package mutating func appendLiteral(_ literal: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}
