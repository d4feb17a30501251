import DataPortIO
import DataPortModel

/// How a bundle is encrypted: to X25519 recipients, or with a passphrase (scrypt). An age header
/// holds nothing else: no grease stanzas, no key identifiers, no comment (formats/encryption.md).
public struct AgeEncryption: Sendable {
    enum Mode: Sendable {
        case recipients([X25519Recipient])
        case passphrase([UInt8], workFactor: Int)
    }

    /// log2 of scrypt's N, as the age tool uses by default.
    public static let defaultWorkFactor = 18
    let mode: Mode

    public init(recipients: [X25519Recipient]) throws {
        var unique: [X25519Recipient] = []
        for r in recipients where !unique.contains(r) { unique.append(r) }
        guard !unique.isEmpty else { throw DataPortError(.usage, "no age recipient given") }
        mode = .recipients(unique)
    }

    public init(passphrase: [UInt8], workFactor: Int = AgeEncryption.defaultWorkFactor) throws {
        guard !passphrase.isEmpty else { throw DataPortError(.usage, "the passphrase is empty") }
        guard (1...AgeDecryption.defaultMaxWorkFactor).contains(workFactor) else {
            throw DataPortError(.usage, "the scrypt work factor must be between 1 and \(AgeDecryption.defaultMaxWorkFactor)")
        }
        mode = .passphrase(passphrase, workFactor: workFactor)
    }

    /// The encrypted file's name: `output` with `.age` appended unless it already ends so.
    public static func fileName(for output: String) -> String { output.hasSuffix(".age") ? output : output + ".age" }

    func header(fileKey: [UInt8]) throws -> AgeHeader {
        let zero = [UInt8](repeating: 0, count: 12)
        var stanzas: [AgeStanza] = []
        switch mode {
        case .recipients(let recipients):
            for r in recipients {
                let ephemeral = try Primitives.random(32)
                guard let share = Primitives.x25519(ephemeral), let shared = Primitives.x25519(ephemeral, r.publicKey) else {
                    throw DataPortError(.usage, "an age recipient is not a usable X25519 public key")
                }
                let key = try Primitives.hkdf(shared, salt: share + r.publicKey, info: "age-encryption.org/v1/X25519")
                stanzas.append(AgeStanza(type: "X25519", arguments: [String(decoding: Base64.encode(share), as: UTF8.self)],
                                         body: Primitives.seal(key: key, nonce: zero, fileKey)))
            }
        case .passphrase(let passphrase, let workFactor):
            let salt = try Primitives.random(16)
            let key = try Primitives.scrypt(passphrase: passphrase, salt: Array("age-encryption.org/v1/scrypt".utf8) + salt, log2N: workFactor)
            stanzas.append(AgeStanza(type: "scrypt", arguments: [String(decoding: Base64.encode(salt), as: UTF8.self), String(workFactor)],
                                     body: Primitives.seal(key: key, nonce: zero, fileKey)))
        }
        var header = AgeHeader(stanzas: stanzas, mac: [])
        header.mac = try AgeHeader.mac(header, fileKey: fileKey)
        return header
    }

    /// A sink that encrypts everything written to it into `next` (call `finish()` at the end).
    public func sink(over next: any ByteSink) throws -> AgeEncryptingSink { try AgeEncryptingSink(next, encryption: self) }
}

/// The keys a bundle may be opened with.
public struct AgeDecryption: Sendable {
    /// The largest scrypt work factor (log2 N) read by default: 2^20 * 1 KiB = 1 GiB of memory,
    /// about 4 s. age writes 18; a larger one in a file received is refused (limit exceeded).
    public static let defaultMaxWorkFactor = 20

    public var identities: [X25519Identity]
    public var passphrase: [UInt8]?
    public var maxWorkFactor: Int

    public init(identities: [X25519Identity] = [], passphrase: [UInt8]? = nil, maxWorkFactor: Int = AgeDecryption.defaultMaxWorkFactor) {
        self.identities = identities; self.passphrase = passphrase; self.maxWorkFactor = maxWorkFactor
    }

    /// Unwraps the file key from a stanza meant for these keys and checks the header's MAC with it.
    public func fileKey(from header: AgeHeader, name: String) throws -> [UInt8] {
        func bad(_ why: String) -> DataPortError { DataPortError(.invalidBundle, "not a valid age header: \(why)", at: name) }
        let zero = [UInt8](repeating: 0, count: 12)
        var fileKey: [UInt8]?
        if header.stanzas.contains(where: { $0.type == "scrypt" }) {
            guard header.stanzas.count == 1 else { throw bad("an scrypt stanza must be the only stanza") }
            let s = header.stanzas[0]
            guard s.arguments.count == 2, let salt = Base64.decode(s.arguments[0].utf8), salt.count == 16 else { throw bad("malformed scrypt stanza") }
            let digits = Array(s.arguments[1].utf8)
            guard digits.count <= 2, digits.first.map({ $0 >= 49 && $0 <= 57 }) == true, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let workFactor = Int(s.arguments[1]) else { throw bad("malformed scrypt work factor") }
            guard s.body.count == 32 else { throw bad("malformed scrypt stanza body") }
            guard let passphrase else {
                throw DataPortError(.cannotDecrypt, "the bundle is encrypted with a passphrase; give --passphrase-file FILE", at: name, code: .noKey)
            }
            guard workFactor <= maxWorkFactor else {
                throw DataPortError(.limitExceeded, "the scrypt work factor 2^\(workFactor) is above the limit 2^\(maxWorkFactor)", at: name)
            }
            let key = try Primitives.scrypt(passphrase: passphrase, salt: Array("age-encryption.org/v1/scrypt".utf8) + salt, log2N: workFactor)
            guard let k = Primitives.open(key: key, nonce: zero, s.body) else {
                throw DataPortError(.cannotDecrypt, "wrong passphrase: it does not open this bundle", at: name, code: .wrongKey)
            }
            fileKey = k
        } else {
            for s in header.stanzas where s.type == "X25519" {
                guard s.arguments.count == 1, let share = Base64.decode(s.arguments[0].utf8), share.count == 32, s.body.count == 32 else {
                    throw bad("malformed X25519 stanza")
                }
                for identity in identities {
                    guard let shared = Primitives.x25519(identity.secret, share) else { throw bad("an X25519 share is a low-order point") }
                    let key = try Primitives.hkdf(shared, salt: share + identity.recipient.publicKey, info: "age-encryption.org/v1/X25519")
                    if let k = Primitives.open(key: key, nonce: zero, s.body) { fileKey = k; break }
                }
                if fileKey != nil { break }
            }
        }
        guard let fileKey else {
            if identities.isEmpty {
                throw DataPortError(.cannotDecrypt, "the bundle is encrypted to age recipients; give --identity FILE", at: name, code: .noKey)
            }
            throw DataPortError(.cannotDecrypt, "no identity given opens this bundle (it is encrypted to other recipients)", at: name, code: .wrongKey)
        }
        guard fileKey.count == 16 else { throw bad("the wrapped file key is not 16 bytes") }
        let expected = try AgeHeader.mac(header, fileKey: fileKey)
        guard zip(expected, header.mac).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw DataPortError(.tamperedBundle, "the age header does not match its MAC (damaged or modified)", at: name, code: .checksumMismatch)
        }
        return fileKey
    }
}

extension AgeHeader {
    static func mac(_ header: AgeHeader, fileKey: [UInt8]) throws -> [UInt8] {
        try Primitives.hmacSHA256(key: Primitives.hkdf(fileKey, salt: [], info: "header"), header.macInput())
    }
}

/// age's STREAM: 64 KiB chunks of plaintext, each sealed with the chunk counter and a last-chunk flag.
enum AgeStream {
    static let chunkSize = 64 << 10
    static let sealedChunkSize = chunkSize + 16

    static func nonce(_ counter: UInt64, last: Bool) -> [UInt8] {
        [0, 0, 0] + (0..<8).map { UInt8(truncatingIfNeeded: counter >> (8 * (7 - UInt64($0)))) } + [last ? 1 : 0]
    }

    static func payloadKey(fileKey: [UInt8], nonce: [UInt8]) throws -> [UInt8] {
        try Primitives.hkdf(fileKey, salt: nonce, info: "payload")
    }
}

/// Encrypts what is written into an age file on `next`: the header at once, then one sealed chunk
/// per 64 KiB; `finish()` seals the last one. Memory: one chunk.
public final class AgeEncryptingSink: SinkLayer {
    private let next: any ByteSink
    private let key: [UInt8]
    private var buffer: [UInt8] = []
    private var counter: UInt64 = 0
    private var finished = false

    init(_ next: any ByteSink, encryption: AgeEncryption) throws {
        self.next = next
        let fileKey = try Primitives.random(16)
        let header = try encryption.header(fileKey: fileKey)
        let nonce = try Primitives.random(16)
        key = try AgeStream.payloadKey(fileKey: fileKey, nonce: nonce)
        buffer.reserveCapacity(AgeStream.chunkSize)
        try next.write(header.serialized() + nonce)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            // A full chunk is sealed only when more follows: the last chunk carries the flag.
            if buffer.count == AgeStream.chunkSize { try seal(last: false) }
            let n = min(AgeStream.chunkSize - buffer.count, bytes.count - offset)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
            offset += n
        }
    }

    public func finish() throws {
        guard !finished else { return }
        try seal(last: true)
        finished = true
    }

    private func seal(last: Bool) throws {
        precondition(!finished, "write after finish")
        try next.write(Primitives.seal(key: key, nonce: AgeStream.nonce(counter, last: last), buffer))
        buffer.removeAll(keepingCapacity: true)
        counter += 1
    }
}

/// Decrypts an age file read from `source`: the header is read and its MAC checked at `init`, then
/// each chunk is authenticated before any of its bytes are returned. An end without a valid last
/// chunk (truncation) or a chunk that does not authenticate is a tampered bundle.
public final class AgeDecryptingSource: ByteSource {
    private let source: any ByteSource
    private let name: String
    private let key: [UInt8]
    private var sealed: [UInt8]
    private var sourceEnded = false
    private var plain: [UInt8] = []
    private var plainOffset = 0
    private var counter: UInt64 = 0
    private var done = false

    public init(_ source: any ByteSource, decryption: AgeDecryption, name: String) throws {
        self.source = source
        self.name = name
        let (header, rest) = try AgeHeader.read(from: source, name: name)
        let fileKey = try decryption.fileKey(from: header, name: name)
        sealed = rest
        try Self.fill(&sealed, from: source, to: 16, ended: &sourceEnded)
        guard sealed.count >= 16 else { throw DataPortError(.tamperedBundle, "the encrypted bundle is truncated (no payload)", at: name, code: .truncated) }
        key = try AgeStream.payloadKey(fileKey: fileKey, nonce: Array(sealed[0..<16]))
        sealed.removeFirst(16)
    }

    private static func fill(_ buffer: inout [UInt8], from source: any ByteSource, to count: Int, ended: inout Bool) throws {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while buffer.count < count, !ended {
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<min($0.count, count - buffer.count)])) }
            if n == 0 { ended = true } else { buffer += chunk[0..<n] }
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while plainOffset == plain.count {
            if done { return 0 }
            try openChunk()
        }
        let n = min(buffer.count, plain.count - plainOffset)
        plain.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[plainOffset..<plainOffset + n])) }
        plainOffset += n
        return n
    }

    private func openChunk() throws {
        // One byte past a full chunk tells whether it is the last.
        try Self.fill(&sealed, from: source, to: AgeStream.sealedChunkSize + 1, ended: &sourceEnded)
        let last = sealed.count <= AgeStream.sealedChunkSize
        let size = last ? sealed.count : AgeStream.sealedChunkSize
        guard let opened = sealed.withUnsafeBytes({ Primitives.open(key: key, nonce: AgeStream.nonce(counter, last: last), UnsafeRawBufferPointer(rebasing: $0[0..<size])) }) else {
            throw DataPortError(.tamperedBundle, "the encrypted bundle is damaged, truncated or modified (chunk \(counter + 1) does not authenticate)", at: name, code: .checksumMismatch)
        }
        if last, opened.isEmpty, counter > 0 {
            throw DataPortError(.tamperedBundle, "the encrypted bundle ends with an empty chunk (not canonical age)", at: name)
        }
        sealed.removeFirst(size)
        plain = opened
        plainOffset = 0
        counter += 1
        done = last
    }
}

/// What an encrypted bundle says about itself without a key: its stanzas, counted by type.
public struct AgeSummary: Sendable, Equatable {
    public var x25519 = 0
    public var scrypt = 0
    public var other = 0
    public var recipients: Int { x25519 + scrypt + other }
}

/// Recognising and describing age files.
public enum AgeFile {
    /// Whether the file at `path` starts as an age file does (`age-encryption.org/`).
    public static func isAge(path: String) -> Bool {
        guard let source = try? FileSource(path: path) else { return false }
        var head = [UInt8](repeating: 0, count: AgeHeader.magic.count)
        var got = 0
        while got < head.count {
            guard let n = try? head.withUnsafeMutableBytes({ try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }), n > 0 else { break }
            got += n
        }
        return got == head.count && head == AgeHeader.magic
    }

    /// The header's stanzas counted by type (the header is parsed in full, nothing is decrypted).
    public static func summary(path: String) throws -> AgeSummary {
        let (header, _) = try AgeHeader.read(from: FileSource(path: path), name: path)
        var s = AgeSummary()
        for stanza in header.stanzas {
            switch stanza.type {
            case "X25519": s.x25519 += 1
            case "scrypt": s.scrypt += 1
            default: s.other += 1
            }
        }
        return s
    }
}
