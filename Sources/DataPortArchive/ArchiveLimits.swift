import DataPortModel
import Foundation

/// Safety limits for reading untrusted archives. Documented in `formats/bundle.md`; the CLI can raise them.
///
/// One definition for both sides: `BundleWriter` refuses (`limitExceeded`) to write a bundle that
/// the defaults would refuse, so every bundle DataPort writes, every reader accepts.
public struct ArchiveLimits: Sendable {
    /// Most entries an archive may hold.
    public var maxEntries: Int = 1_000_000
    /// Most bytes all entries may decompress to, together.
    public var maxTotalBytes: Int64 = 64 << 30
    /// Highest ratio of decompressed to compressed size: of a zip entry, or of a whole tar.gz
    /// stream to the file, once past `ratioFloor`.
    public var maxRatio: Int64 = 1_000
    /// Decompressed size up to which the ratio is not checked. Below it a very compressible file (a
    /// repetitive column deflates up to about 1030:1) is harmless and common; a bomb must go far
    /// past it to do harm, and `maxTotalBytes` bounds it anyway.
    public var ratioFloor: Int64 = 256 << 20

    public init() {}
    public static let `default` = ArchiveLimits()

    /// Whether `decompressed` bytes from `compressed` exceed the ratio limit.
    public func exceedsRatio(decompressed: Int64, compressed: Int64) -> Bool {
        decompressed > ratioFloor && decompressed / max(compressed, 1) > maxRatio
    }
}

/// Entry names that are safe to extract: relative, no `..`, no backslash, drive letter or other colon,
/// NUL, control character or empty segment.
public enum EntryName {
    public static func check(_ name: String, archive: String) throws {
        func bad(_ why: String) -> DataPortError { DataPortError(.invalidBundle, "unsafe entry name: \(why)", at: archive, code: .unsafePath) }
        guard !name.isEmpty else { throw bad("empty name") }
        guard !name.hasPrefix("/") else { throw bad("absolute path") }
        guard !name.contains("\\") else { throw bad("backslash") }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { throw bad("control character") }
        if name.count >= 2, name.dropFirst().first == ":" { throw bad("drive letter") }
        // Anywhere else a colon names an NTFS alternate data stream (`notes.json:hidden`); no bundle file has one.
        guard !name.contains(":") else { throw bad("colon") }
        let segments = name.split(separator: "/", omittingEmptySubsequences: false)
        for (i, s) in segments.enumerated() {
            if s == ".." || s == "." { throw bad("'\(s)' segment") }
            if s.isEmpty && !(i == segments.count - 1 && i > 0) { throw bad("empty segment") }
        }
    }

    /// The key under which two names collide on case-insensitive or normalising file systems:
    /// canonically composed, then fully case-folded (ß and ss, ﬁ and fi, ς and σ are one name).
    public static func collisionKey(_ name: String) -> String {
        name.precomposedStringWithCanonicalMapping.folding(options: [.caseInsensitive], locale: nil).precomposedStringWithCanonicalMapping
    }
}
