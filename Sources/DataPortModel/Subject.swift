/// A kind of identity a subject can be found by: `email`, `user_id`, `ip`, `cookie_id`, ...
public struct IdentityKind: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ raw: String) { self.rawValue = raw }

    public static let email = IdentityKind("email")
    public static let userID = IdentityKind("user_id")
    public static let ip = IdentityKind("ip")
    public static let cookieID = IdentityKind("cookie_id")

    public var description: String { rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// How values of this kind compare by default: e-mail `caseless`, IP `ip`, every other kind
    /// `exact` (see `IdentityForm`; a config can declare the form of its own kinds).
    public var defaultForm: IdentityForm {
        switch self {
        case .email: .caseless
        case .ip: .ip
        default: .exact
        }
    }

    /// How far a match on this kind is trusted by default: `ip` and `cookie_id` are weak (a café's IP,
    /// a shared browser: they may belong to several people), every other kind strong.
    public var defaultStrength: IdentityStrength {
        self == .ip || self == .cookieID ? .weak : .strong
    }

    /// The normal form of a value of this kind under its default form. Matching is exact on the
    /// normal form (never by substring or prefix).
    public func normalize(_ value: String) -> String { defaultForm.normalize(value) }
}

/// How far an identity kind is trusted. Rows matched only through a weak identity never yield
/// further identities, and a weak value that also belongs to another person is *shared*: rows
/// matched only through it are withheld unless the export includes them on request.
public enum IdentityStrength: String, Sendable, CaseIterable {
    case strong, weak
}

/// One identity value of the subject and where it was found.
public struct Identity: Sendable, Hashable {
    public var kind: IdentityKind
    /// The normalised value.
    public var value: String
    /// Where it came from: `request` (given by the requester) or `store.dataset`.
    public var foundIn: [String]
    /// A weak value that also occurs in rows of another person (see `IdentityStrength`).
    public var shared: Bool

    public init(kind: IdentityKind, value: String, foundIn: [String], shared: Bool = false) {
        self.kind = kind; self.value = kind.normalize(value); self.foundIn = foundIn; self.shared = shared
    }
}

/// The person the data is about.
public struct Subject: Sendable, Hashable {
    public var displayName: String?
    public var identities: [Identity]

    public init(displayName: String? = nil, identities: [Identity]) {
        self.displayName = displayName; self.identities = identities
    }
}

/// Who holds the data (the controller in GDPR terms).
public struct Controller: Sendable, Hashable {
    public var name: String
    public var contact: String
    public var address: String?
    public var dpoContact: String?
    /// The supervisory authority responsible for the controller (Art. 15(1)(f), Art. 77).
    public var supervisoryAuthority: SupervisoryAuthority?

    public init(name: String, contact: String, address: String? = nil, dpoContact: String? = nil) {
        self.name = name; self.contact = contact; self.address = address; self.dpoContact = dpoContact
    }
}

/// A data protection supervisory authority (Art. 51).
public struct SupervisoryAuthority: Sendable, Hashable {
    public var name: String
    public var address: String?
    public var website: String?
    public init(name: String, address: String? = nil, website: String? = nil) { self.name = name; self.address = address; self.website = website }
}

import Foundation
