import Foundation

/// A column of plain-text output as wide as its longest entry (at least `minimum`), so that no
/// name is ever cut (`padding(toLength:)` truncates what is longer).
package struct TextColumn: Sendable {
    package let width: Int

    package init(_ entries: [String], minimum: Int) {
        width = max(minimum, entries.map(\.count).max() ?? 0)
    }

    /// `text` followed by spaces up to the column's width.
    package func pad(_ text: String) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
}

package extension String {
    /// Spaces before the text up to `width` (numbers right-aligned); a longer text is kept whole.
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// "1 record", "2 records": a count with its noun in the right number (`plural` for irregular ones).
package func counted(_ n: some BinaryInteger, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
}
