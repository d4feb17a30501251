/// The category of a dataset: one of the published vocabulary (`formats/categories.md`), or one a
/// config defines (`categories` in the stores config) with its own title and definition.
public struct Category: RawRepresentable, Sendable, Hashable, CaseIterable {
    public let rawValue: String
    /// Any name `[a-z][a-z0-9-]*`; whether it is known (built in, or defined by the config or the
    /// manifest) is checked where it is read.
    public init?(rawValue: String) {
        guard let f = rawValue.utf8.first, (97...122).contains(f), rawValue.utf8.count <= 64,
              rawValue.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }) else { return nil }
        self.rawValue = rawValue
    }
    private init(_ name: String) { rawValue = name }

    public static let account = Category("account")
    public static let contact = Category("contact")
    public static let quotations = Category("quotations")
    public static let subscriptions = Category("subscriptions")
    public static let consents = Category("consents")
    public static let communications = Category("communications")
    public static let billing = Category("billing")
    public static let websiteUsage = Category("website-usage")
    public static let cookiesAndDevices = Category("cookies-devices")
    public static let content = Category("content")
    public static let orders = Category("orders")
    public static let profiling = Category("profiling")

    /// The published vocabulary, in the order the index page shows it.
    public static let allCases: [Category] = [.account, .contact, .quotations, .subscriptions, .consents, .communications, .billing,
                                              .websiteUsage, .cookiesAndDevices, .content, .orders, .profiling]

    public var isBuiltIn: Bool { Self.allCases.contains(self) }

    private static let texts: [String: (title: String, definition: String)] = [
        "account": ("Account and registration", "The account you registered: login name, registration date and details, account status."),
        "contact": ("Contact details", "How to reach you: names, e-mail addresses, telephone numbers, postal addresses."),
        "quotations": ("Quotation requests", "Quotation requests you sent and the quotes made in answer."),
        "subscriptions": ("Newsletter and notification subscriptions", "Newsletters and notifications you subscribed to, and when."),
        "consents": ("Consents and marketing preferences", "Consents you gave or withdrew, and your marketing preferences and opt-outs."),
        "communications": ("Communications", "Messages exchanged with you: enquiries, complaints, support requests."),
        "billing": ("Billing", "Invoices issued to you and payments you made."),
        "website-usage": ("Website usage", "Your visits to the website: pages viewed, navigation, referrers, times."),
        "cookies-devices": ("Cookies and device data", "Cookies set in your browser and data about your device: IP address, browser, operating system."),
        "content": ("Content you published", "What you wrote or uploaded for others to see: posts, comments, reviews, photos."),
        "orders": ("Orders and purchases", "Orders you placed and purchases you made: items, quantities, prices, delivery and returns."),
        "profiling": ("Profiling, scores and segments", "What we inferred or computed about you: scores, segments, predictions and the profiles they form."),
    ]

    /// A short title for people (English; the pages take theirs from the catalogues).
    public var title: String { Self.texts[rawValue]?.title ?? rawValue }

    /// The one-sentence definition published in `formats/categories.md`.
    public var definition: String { Self.texts[rawValue]?.definition ?? "" }
}

/// A category a config defines, with its title and definition in the bundle's language.
public struct CategoryDefinition: Sendable, Hashable {
    public var category: Category
    public var title: String
    public var definition: String
    public init(category: Category, title: String, definition: String) { self.category = category; self.title = title; self.definition = definition }
}

/// The legal basis of processing (GDPR Art. 6(1)).
public enum LegalBasis: String, Sendable, Hashable, CaseIterable {
    case consent
    case contract
    case legalObligation = "legal-obligation"
    case vitalInterests = "vital-interests"
    case publicTask = "public-task"
    case legitimateInterests = "legitimate-interests"

    public var title: String {
        switch self {
        case .consent: "Consent (Art. 6(1)(a))"
        case .contract: "Contract (Art. 6(1)(b))"
        case .legalObligation: "Legal obligation (Art. 6(1)(c))"
        case .vitalInterests: "Vital interests (Art. 6(1)(d))"
        case .publicTask: "Public task (Art. 6(1)(e))"
        case .legitimateInterests: "Legitimate interests (Art. 6(1)(f))"
        }
    }
}

/// Where the data came from.
public enum Origin: String, Sendable, Hashable, CaseIterable {
    /// Given by the subject (forms, registration, messages).
    case provided
    /// Observed about the subject (logs, cookies, device data).
    case observed
    /// Inferred or computed by the controller (scores, segments).
    case derived
}

/// How a request is to be answered: what the bundle includes.
public enum Scope: String, Sendable, Hashable, CaseIterable {
    /// Art. 15: everything held.
    case access
    /// Art. 20: data provided or observed, processed on consent or contract.
    case portability
    /// Art. 17: the receipt of an erasure (`dataport erase`): no data files, `receipt.json`.
    case erasure

    /// Why a dataset is left out under this scope, or `nil` if it is included.
    public func exclusionReason(origin: Origin, legalBasis: LegalBasis) -> String? {
        guard self == .portability else { return nil }
        if origin == .derived { return "derived data is not covered by the right to data portability (Art. 20)" }
        if legalBasis != .consent && legalBasis != .contract {
            return "processed on \(legalBasis.rawValue), not consent or contract (Art. 20(1)(a))"
        }
        return nil
    }
}
