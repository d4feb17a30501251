import DataPort

/// The options that encrypt a bundle being written and open an encrypted one (formats/encryption.md).
enum EncryptionOptions {
    static let encryptTo = OptionSpec(name: "encrypt-to", value: "RECIPIENT",
                                      help: "Encrypt the bundle (age) to this X25519 recipient (age1..., as age-keygen prints it); repeatable. \".age\" is appended to the output name.",
                                      repeatable: true)
    static let recipientsFile = OptionSpec(name: "recipients-file", value: "FILE",
                                           help: "Encrypt to every recipient in FILE: one age1... per line, # comments (as age -R); repeatable.", repeatable: true)
    /// One option, three meanings: it encrypts (export), opens (verify, inspect, import), or both (convert).
    static let passphraseFile = OptionSpec(name: "passphrase-file", value: "FILE",
                                           help: "Encrypt with the passphrase on FILE's first line instead (age scrypt, 2^18).")
    static let passphraseFileToOpen = OptionSpec(name: "passphrase-file", value: "FILE",
                                                 help: "Open a passphrase-encrypted (.age) bundle with the passphrase on FILE's first line.")
    static let passphraseFileForConvert = OptionSpec(name: "passphrase-file", value: "FILE",
                                                     help: "The passphrase on FILE's first line: opens a passphrase-encrypted input, and encrypts the output unless recipients are given.")
    static let identity = OptionSpec(name: "identity", value: "FILE",
                                     help: "Open an encrypted (.age) bundle with an age identity file (age-keygen's output); repeatable.", repeatable: true)

    /// For commands that write a bundle.
    static let writing = [encryptTo, recipientsFile, passphraseFile]
    /// For commands that read one.
    static let reading = [identity, passphraseFileToOpen]
    /// For `convert`, which does both.
    static let converting = [identity, encryptTo, recipientsFile, passphraseFileForConvert]

    /// The recipients given, or nil.
    static func recipients(_ args: Arguments) throws -> [X25519Recipient]? {
        var list: [X25519Recipient] = []
        for text in args.all("encrypt-to") {
            do { list.append(try X25519Recipient(text)) } catch let e as DataPortError { throw DataPortError(e.kind, "--encrypt-to: \(e.message)", code: e.code) }
        }
        for path in args.all("recipients-file") { list += try AgeKeyFiles.recipients(path: path) }
        return list.isEmpty ? nil : list
    }

    /// How `export` encrypts: recipients or a passphrase (age does not mix the two), or nil.
    static func encryption(_ args: Arguments) throws -> AgeEncryption? {
        let recipients = try recipients(args)
        let passphrase = try args.value("passphrase-file").map(AgeKeyFiles.passphrase(path:))
        switch (recipients, passphrase) {
        case (nil, nil): return nil
        case (let r?, nil): return try AgeEncryption(recipients: r)
        case (nil, let p?): return try AgeEncryption(passphrase: p)
        case (_?, _?): throw DataPortError(.usage, "--passphrase-file cannot be combined with --encrypt-to or --recipients-file (age keeps passphrases alone)")
        }
    }

    /// How `convert` encrypts its output: to the recipients given, else with the passphrase (which
    /// also opens a passphrase-encrypted input), else not at all.
    static func outputEncryption(_ args: Arguments) throws -> AgeEncryption? {
        if let r = try recipients(args) { return try AgeEncryption(recipients: r) }
        return try args.value("passphrase-file").map { try AgeEncryption(passphrase: AgeKeyFiles.passphrase(path: $0)) }
    }

    /// The keys given to open an encrypted bundle, or nil.
    static func decryption(_ args: Arguments) throws -> AgeDecryption? {
        let identities = try args.all("identity").flatMap { try AgeKeyFiles.identities(path: $0) }
        let passphrase = try args.value("passphrase-file").map(AgeKeyFiles.passphrase(path:))
        return identities.isEmpty && passphrase == nil ? nil : AgeDecryption(identities: identities, passphrase: passphrase)
    }

    /// The bundle at `path`, decrypted first if it is an age file.
    static func input(_ path: String, _ args: Arguments) throws -> BundleInput {
        try BundleInput(path: path, decryption: try decryption(args), limits: try CommonOptions.archiveLimits(args))
    }
}
