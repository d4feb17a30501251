/// The published category vocabulary (`formats/categories.md`): what kind of personal data a dataset holds.
public enum Category: String, Sendable, Hashable, CaseIterable {
    case account = "account"
    case contact = "contact"
    case quotations = "quotations"
    case subscriptions = "subscriptions"
    case consents = "consents"
    case communications = "communications"
    case billing = "billing"
    case websiteUsage = "website-usage"
    case cookiesAndDevices = "cookies-devices"
    case content = "content"
    case orders = "orders"
    case profiling = "profiling"

    /// A short title for people.
    public var title: String {
        switch self {
        case .account: "Account and registration"
        case .contact: "Contact details"
        case .quotations: "Quotation requests"
        case .subscriptions: "Newsletter and notification subscriptions"
        case .consents: "Consents and marketing preferences"
        case .communications: "Communications"
        case .billing: "Billing"
        case .websiteUsage: "Website usage"
        case .cookiesAndDevices: "Cookies and device data"
        case .content: "Content you published"
        case .orders: "Orders and purchases"
        case .profiling: "Profiling, scores and segments"
        }
    }

    /// The one-sentence definition published in `formats/categories.md`.
    public var definition: String {
        switch self {
        case .account: "The account you registered: login name, registration date and details, account status."
        case .contact: "How to reach you: names, e-mail addresses, telephone numbers, postal addresses."
        case .quotations: "Quotation requests you sent and the quotes made in answer."
        case .subscriptions: "Newsletters and notifications you subscribed to, and when."
        case .consents: "Consents you gave or withdrew, and your marketing preferences and opt-outs."
        case .communications: "Messages exchanged with you: enquiries, complaints, support requests."
        case .billing: "Invoices issued to you and payments you made."
        case .websiteUsage: "Your visits to the website: pages viewed, navigation, referrers, times."
        case .cookiesAndDevices: "Cookies set in your browser and data about your device: IP address, browser, operating system."
        case .content: "What you wrote or uploaded for others to see: posts, comments, reviews, photos."
        case .orders: "Orders you placed and purchases you made: items, quantities, prices, delivery and returns."
        case .profiling: "What we inferred or computed about you: scores, segments, predictions and the profiles they form."
        }
    }
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
