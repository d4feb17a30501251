/// The one error type DataPort throws: what went wrong, where, and which kind of failure it is.
///
/// The kind decides the CLI's exit code (see `ExitCode` in DataPortCLI); the `code` is a stable
/// machine name a caller branches on (`bundle.checksumMismatch`); the message is written for a
/// person, may change, and never contains personal data (identity values or field values).
public struct DataPortError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The classes of failure a caller can branch on.
    public enum Kind: String, Sendable, CaseIterable {
        /// The command line was wrong.
        case usage
        /// The stores config is unreadable or inconsistent with the stores.
        case invalidConfig = "invalid-config"
        /// A store could not be opened, read or written.
        case store
        /// No store holds anything about the given identities.
        case subjectNotFound = "subject-not-found"
        /// A bundle is malformed, unsafe or of an unknown version.
        case invalidBundle = "invalid-bundle"
        /// A bundle's bytes do not match its checksums (damaged or tampered with).
        case tamperedBundle = "tampered-bundle"
        /// A bundle exceeds a safety limit (size, entries, compression ratio, depth).
        case limitExceeded = "limit-exceeded"
        /// The output could not be written.
        case output
        /// An import's reconciliation disagrees with the bundle.
        case reconciliation
        /// Some requests of a batch failed.
        case partialFailure = "partial-failure"
        /// An encrypted bundle could not be opened: no key given, or none of the keys opens it.
        case cannotDecrypt = "cannot-decrypt"
        /// A bug: something that should not happen.
        case `internal`
    }

    public var kind: Kind
    /// What went wrong, for a person.
    public var message: String
    /// Where: a file, a dataset, a line and column, a store. Never a value.
    public var location: String?
    /// The code the throwing site gave, if it gave one.
    private var specificCode: Code?

    /// The stable machine name of the failure: the site's own, else the kind's general code (so a
    /// reclassified error without a code of its own takes its new kind's).
    public var code: Code { specificCode ?? Code.general(kind) }

    public init(_ kind: Kind, _ message: String, at location: String? = nil, code: Code? = nil) {
        self.kind = kind
        self.message = message
        self.location = location
        self.specificCode = code
    }

    public var description: String {
        location.map { "\(message) (\($0))" } ?? message
    }

    /// The same error re-classified (e.g. a malformed CSV line is a store failure when the CSV is a store).
    public func reclassified(as kind: Kind, location prefix: String? = nil) -> DataPortError {
        var copy = self
        copy.kind = kind
        if let prefix { copy.location = location.map { "\(prefix): \($0)" } ?? prefix }
        return copy
    }
}
