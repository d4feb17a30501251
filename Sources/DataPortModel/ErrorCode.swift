import Foundation

extension DataPortError {
    /// A stable machine name for one failure (`DOMAIN.name`): what scripts and library callers
    /// branch on instead of message text. Declared here only, as data: `all` is the list
    /// formats/cli-output.md documents (a test keeps the two equal). Never rename one; add new ones.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // The general code of each kind, for a site that has nothing more specific.
        public static let usage = Code("usage.invalid")
        public static let invalidConfig = Code("config.invalid")
        public static let store = Code("store.failed")
        public static let subjectNotFound = Code("subject.notFound")
        public static let invalidBundle = Code("bundle.invalid")
        public static let tamperedBundle = Code("bundle.tampered")
        public static let limitExceeded = Code("limit.exceeded")
        public static let output = Code("output.failed")
        public static let reconciliation = Code("import.mismatch")
        public static let partialFailure = Code("batch.partialFailure")
        public static let cannotDecrypt = Code("decrypt.failed")
        public static let `internal` = Code("internal.bug")

        // Command line.
        public static let unknownCommand = Code("usage.unknownCommand")
        public static let unknownCommandOption = Code("usage.unknownOption")
        public static let missingCommandOption = Code("usage.missingOption")
        public static let unexpectedArgument = Code("usage.unexpectedArgument")

        // Stores config.
        public static let unknownOption = Code("config.unknownOption")
        public static let missingOption = Code("config.missingOption")
        public static let unknownKey = Code("config.unknownKey")
        public static let missingTable = Code("config.missingTable")
        public static let missingColumn = Code("config.missingColumn")
        public static let missingFile = Code("config.missingFile")

        // Stores.
        public static let malformedLine = Code("store.malformedLine")
        public static let malformedCell = Code("store.malformedCell")
        public static let lockTimeout = Code("store.lockTimeout")
        public static let storeUnreachable = Code("store.unreachable")

        // Bundles.
        public static let checksumMismatch = Code("bundle.checksumMismatch")
        public static let sizeMismatch = Code("bundle.sizeMismatch")
        public static let recordCountMismatch = Code("bundle.recordCountMismatch")
        public static let truncated = Code("bundle.truncated")
        public static let unsafePath = Code("bundle.unsafePath")
        public static let unknownVersion = Code("bundle.unknownVersion")

        // Limits.
        public static let tooManyEntries = Code("limit.entries")
        public static let tooManyBytes = Code("limit.bytes")
        public static let compressionRatio = Code("limit.ratio")
        public static let valueTooLarge = Code("limit.valueSize")
        public static let tooManyIdentities = Code("limit.identities")

        // Output.
        public static let unsafeOutput = Code("output.refused")

        // Import.
        public static let foreignKey = Code("import.foreignRow")

        // Encryption.
        public static let noKey = Code("decrypt.noKey")
        public static let wrongKey = Code("decrypt.wrongKey")

        /// Every code, in the order formats/cli-output.md lists them.
        public static let all: [Code] = [
            usage, unknownCommand, unknownCommandOption, missingCommandOption, unexpectedArgument,
            invalidConfig, unknownOption, missingOption, unknownKey, missingTable, missingColumn, missingFile,
            store, malformedLine, malformedCell, lockTimeout, storeUnreachable,
            subjectNotFound,
            invalidBundle, tamperedBundle, checksumMismatch, sizeMismatch, recordCountMismatch, truncated, unsafePath, unknownVersion,
            limitExceeded, tooManyEntries, tooManyBytes, compressionRatio, valueTooLarge, tooManyIdentities,
            output, unsafeOutput,
            reconciliation, foreignKey,
            partialFailure,
            cannotDecrypt, noKey, wrongKey,
            `internal`,
        ]

        /// The code of a kind's failures when the site gives none.
        public static func general(_ kind: Kind) -> Code {
            switch kind {
            case .usage: usage
            case .invalidConfig: invalidConfig
            case .store: store
            case .subjectNotFound: subjectNotFound
            case .invalidBundle: invalidBundle
            case .tamperedBundle: tamperedBundle
            case .limitExceeded: limitExceeded
            case .output: output
            case .reconciliation: reconciliation
            case .partialFailure: partialFailure
            case .cannotDecrypt: cannotDecrypt
            case .internal: `internal`
            }
        }
    }
}
