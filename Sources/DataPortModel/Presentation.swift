/// How the bundle's pages speak to the person: their language and the time zone times are shown in.
/// Recorded in the manifest, so `convert` makes the same pages again.
public struct Presentation: Sendable, Hashable {
    /// The languages the pages are written in (`formats/messages/<language>.json`).
    public static let languages = ["en", "lt", "de", "fr", "es"]
    public static let `default` = Presentation(language: "en", timeZone: "UTC")

    /// An ISO 639-1 code from `languages`.
    public var language: String
    /// An IANA time zone name (`Europe/Vilnius`) or `UTC`.
    public var timeZone: String

    public init(language: String, timeZone: String) { self.language = language; self.timeZone = timeZone }
}

/// A text given in several languages (`{"en": "...", "lt": "..."}` in the config), or one text for all.
public struct LocalizedText: Sendable, Hashable {
    /// The text for languages not listed.
    public var fallback: String
    public var byLanguage: [String: String]

    public init(_ fallback: String, byLanguage: [String: String] = [:]) { self.fallback = fallback; self.byLanguage = byLanguage }

    /// The text in `language`, else English, else the fallback.
    public func text(_ language: String) -> String { byLanguage[language] ?? byLanguage["en"] ?? fallback }
}
