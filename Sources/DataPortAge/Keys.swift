import DataPortModel
import Foundation

/// An age X25519 recipient: the public key a bundle is encrypted to (`age1...`).
public struct X25519Recipient: Sendable, Equatable {
    public let publicKey: [UInt8]

    /// Parses `age1...`; the error names no value (a recipient string is command-line input).
    public init(_ text: String) throws {
        guard let (hrp, data) = Bech32.decode(text), hrp == "age", data.count == 32, text == text.lowercased() else {
            throw DataPortError(.usage, "not an age X25519 recipient (expected age1... as age-keygen prints it)")
        }
        publicKey = data
    }

    init(publicKey: [UInt8]) { self.publicKey = publicKey }

    public var text: String { Bech32.encode(hrp: "age", publicKey) }
}

/// An age X25519 identity: the secret key that opens bundles encrypted to its recipient.
public struct X25519Identity: Sendable {
    let secret: [UInt8]
    public let recipient: X25519Recipient

    /// Parses `AGE-SECRET-KEY-1...`.
    public init(_ text: String) throws {
        guard let (hrp, data) = Bech32.decode(text), hrp == "age-secret-key-", data.count == 32,
              let share = Primitives.x25519(data) else {
            throw DataPortError(.usage, "not an age X25519 identity (expected AGE-SECRET-KEY-1... as age-keygen writes it)")
        }
        secret = data
        recipient = X25519Recipient(publicKey: share)
    }

    init(secret: [UInt8]) throws {
        guard let share = Primitives.x25519(secret) else { throw DataPortError(.internal, "cannot derive an X25519 public key") }
        self.secret = secret
        recipient = X25519Recipient(publicKey: share)
    }

    /// A new random identity (for tests and `age-keygen`-like uses).
    public static func generate() throws -> X25519Identity { try X25519Identity(secret: Primitives.random(32)) }

    public var text: String { Bech32.encode(hrp: "age-secret-key-", secret).uppercased() }
}

/// Reading keys from files the way age does: one per line, `#` comments and blank lines ignored.
public enum AgeKeyFiles {
    /// The meaningful lines of a key file, with their 1-based numbers. No line's text is ever put
    /// into an error: these files hold secrets.
    static func lines(of path: String, option: String) throws -> [(number: Int, text: String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataPortError(.usage, "\(option): cannot read the file", at: path)
        }
        guard data.count <= 16 << 20, let text = String(data: data, encoding: .utf8) else {
            throw DataPortError(.usage, "\(option): the file is not UTF-8 text of at most 16 MiB", at: path)
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, raw in
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            return line.isEmpty || line.hasPrefix("#") ? nil : (i + 1, line)
        }
    }

    /// Identities from an age identity file (as `age-keygen -o` writes it).
    public static func identities(path: String) throws -> [X25519Identity] {
        let lines = try lines(of: path, option: "--identity")
        guard !lines.isEmpty else { throw DataPortError(.usage, "--identity: the file holds no identity", at: path) }
        return try lines.map { line in
            do { return try X25519Identity(line.text) } catch let e as DataPortError {
                throw DataPortError(e.kind, "--identity: \(e.message)", at: "\(path): line \(line.number)", code: e.code)
            }
        }
    }

    /// Recipients from a recipients file (as `age -R` reads it; X25519 recipients only).
    public static func recipients(path: String) throws -> [X25519Recipient] {
        let lines = try lines(of: path, option: "--recipients-file")
        guard !lines.isEmpty else { throw DataPortError(.usage, "--recipients-file: the file holds no recipient", at: path) }
        return try lines.map { line in
            do { return try X25519Recipient(line.text) } catch let e as DataPortError {
                throw DataPortError(e.kind, "--recipients-file: \(e.message)", at: "\(path): line \(line.number)", code: e.code)
            }
        }
    }

    /// A passphrase: the file's first line, without its line ending.
    public static func passphrase(path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataPortError(.usage, "--passphrase-file: cannot read the file", at: path)
        }
        var line = Array(data.prefix { $0 != 10 })
        if line.last == 13 { line.removeLast() }
        guard !line.isEmpty else { throw DataPortError(.usage, "--passphrase-file: the first line is empty", at: path) }
        return line
    }
}
