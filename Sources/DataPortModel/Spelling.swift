import Foundation

/// "Did you mean ...?": the known name nearest to a mistyped one (a config's option, a key).
package enum Spelling {
    /// The candidate closest to `word` by edit distance (case ignored, a swap of two neighbours is
    /// one edit), if it is near enough to be a typo: at most 2 edits and less than half the word.
    /// Ties go to the earlier candidate.
    package static func nearest(to word: String, among candidates: [String]) -> String? {
        let w = Array(word.lowercased().unicodeScalars)
        var best: (name: String, distance: Int)?
        for c in candidates where c != word {
            let d = distance(w, Array(c.lowercased().unicodeScalars))
            guard d <= 2, d * 2 < max(w.count, 2), d < best?.distance ?? .max else { continue }
            best = (c, d)
        }
        return best?.name
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { current[j] = min(current[j], before[j - 2] + 1) }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }
}
