import Foundation
import DataPort

/// The exit codes of `dataport`: an API for scripts. This list is the source; the README's table
/// is written from it by hand and `CLITests.testReadmeExitCodeTableMatches` keeps the two equal.
/// Never renumber. Finer distinctions than a code are `DataPortError.Code`s (formats/cli-output.md).
enum ExitCode: Int32, CaseIterable, Sendable {
    case success = 0
    case `internal` = 1
    case usage = 2
    case invalidConfig = 3
    case store = 4
    case invalidBundle = 5
    case tamperedBundle = 6
    case subjectNotFound = 7
    case output = 8
    case limitExceeded = 9
    case reconciliation = 10
    case partialFailure = 11
    case cannotDecrypt = 12

    init(_ kind: DataPortError.Kind) {
        switch kind {
        case .usage: self = .usage
        case .invalidConfig: self = .invalidConfig
        case .store: self = .store
        case .subjectNotFound: self = .subjectNotFound
        case .invalidBundle: self = .invalidBundle
        case .tamperedBundle: self = .tamperedBundle
        case .limitExceeded: self = .limitExceeded
        case .output: self = .output
        case .reconciliation: self = .reconciliation
        case .partialFailure: self = .partialFailure
        case .cannotDecrypt: self = .cannotDecrypt
        case .internal: self = .internal
        }
    }

    /// What the code means, for the README and `--help`.
    var meaning: String {
        switch self {
        case .success: "success"
        case .internal: "internal error (a bug; please report it)"
        case .usage: "usage error: unknown command or option, missing or bad argument"
        case .invalidConfig: "invalid stores config: unreadable, unknown key, wrong type, missing table or column; check found errors; audit found the subject outside the config; erase: a dataset has no erasure policy"
        case .store: "a store could not be opened, read or written (missing file, unreachable server, locked); erase: a store failed and was rolled back, the others' erasures stand"
        case .invalidBundle: "invalid bundle: not a bundle, unsafe entry, malformed file, unknown version"
        case .tamperedBundle: "damaged or tampered bundle: a size, CRC-32 or SHA-256 does not match"
        case .subjectNotFound: "no store holds any record about the given identities"
        case .output: "the output could not be written, or is not a new path or a regular file"
        case .limitExceeded: "a safety limit was exceeded (archive size, entry count, compression ratio, nesting, identity resolution)"
        case .reconciliation: "import refused and rolled back: the target changed a value, or a key belongs to someone else's row; erase: the proof found rows of the subject left"
        case .partialFailure: "some subjects of a batch failed"
        case .cannotDecrypt: "cannot decrypt: the bundle is encrypted (age) and no key given opens it"
        }
    }
}
