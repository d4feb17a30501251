import DataPortIO
import DataPortModel

/// One recipient stanza: `-> TYPE ARGS...` and a base64 body wrapping the file key.
public struct AgeStanza: Sendable, Equatable {
    public var type: String
    public var arguments: [String]
    public var body: [UInt8]

    public init(type: String, arguments: [String], body: [UInt8]) {
        self.type = type; self.arguments = arguments; self.body = body
    }
}

/// The textual header of an age v1 file (C2SP age, "Header"): stanzas and the MAC over them.
public struct AgeHeader: Sendable, Equatable {
    public static let versionLine = "age-encryption.org/v1"
    /// What every age file starts with, whatever its version.
    public static let magic = Array("age-encryption.org/".utf8)
    /// A header larger than this is refused (age sets no limit; one X25519 stanza is ~100 bytes).
    public static let maxSize = 1 << 20

    public var stanzas: [AgeStanza]
    public var mac: [UInt8]

    /// The header's bytes up to and including `---`: what the MAC covers.
    public func macInput() -> [UInt8] {
        var out = Array("\(Self.versionLine)\n".utf8)
        for s in stanzas {
            out += Array((["->", s.type] + s.arguments).joined(separator: " ").utf8) + [10]
            let text = Base64.encode(s.body)
            var i = 0
            // Full 64-column lines, then a shorter final line (empty when the body fills its lines).
            while true {
                let n = min(64, text.count - i)
                out += text[i..<i + n] + [10]
                i += n
                if n < 64 { break }
            }
        }
        return out + Array("---".utf8)
    }

    /// The header as written: `macInput()`, a space, the MAC, a newline.
    public func serialized() -> [UInt8] { macInput() + [32] + Base64.encode(mac) + [10] }

    /// Parses a header from the start of `source`: the header, and the payload bytes read past it.
    /// Strict: canonical base64, exact line structure; anything else is an invalid bundle.
    public static func read(from source: any ByteSource, name: String) throws -> (header: AgeHeader, rest: [UInt8]) {
        var reader = LineReader(source: source, name: name)
        func bad(_ why: String) -> DataPortError {
            DataPortError(.invalidBundle, "not a valid age header: \(why) (line \(reader.lineNumber))", at: name)
        }
        guard let first = try reader.line() else { throw DataPortError(.invalidBundle, "not an age file (empty)", at: name) }
        guard first.starts(with: magic) else { throw DataPortError(.invalidBundle, "not an age file", at: name) }
        guard first.elementsEqual(versionLine.utf8) else {
            throw DataPortError(.invalidBundle, "unsupported age version (only age-encryption.org/v1 is read)", at: name, code: .unknownVersion)
        }
        var stanzas: [AgeStanza] = []
        while true {
            guard let line = try reader.line() else { throw bad("the header ends before its MAC line") }
            if line.starts(with: Array("---".utf8)) {
                guard stanzas.count > 0 else { throw bad("no recipient stanza") }
                guard line.count == 4 + 43, line[3] == 32, let mac = Base64.decode(line[4...]), mac.count == 32 else {
                    throw bad("malformed MAC line")
                }
                let header = AgeHeader(stanzas: stanzas, mac: mac)
                return (header, reader.remaining())
            }
            guard line.starts(with: Array("-> ".utf8)) else { throw bad("expected a stanza (->) or the MAC line (---)") }
            let parts = line.dropFirst(3).split(separator: 32, omittingEmptySubsequences: false)
            guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= 33 && $0 <= 126 } }) else {
                throw bad("a stanza argument is empty or not printable ASCII")
            }
            var text: [UInt8] = []
            while true {
                guard let bodyLine = try reader.line() else { throw bad("a stanza body is not terminated") }
                guard bodyLine.count <= 64 else { throw bad("a stanza body line is longer than 64 columns") }
                text += bodyLine
                if bodyLine.count < 64 { break }
            }
            guard let body = Base64.decode(text) else { throw bad("a stanza body is not canonical unpadded base64") }
            let strings = parts.map { String(decoding: $0, as: UTF8.self) }
            stanzas.append(AgeStanza(type: strings[0], arguments: Array(strings.dropFirst()), body: body))
        }
    }

    /// Parses a whole header held in memory (the fuzz target's entry).
    public static func parse(_ bytes: [UInt8]) throws -> (header: AgeHeader, rest: [UInt8]) {
        try read(from: MemorySource(bytes), name: "age header")
    }
}

/// Reads LF-terminated lines from a source, keeping what it read past the last line.
private struct LineReader {
    let source: any ByteSource
    let name: String
    var buffer: [UInt8] = []
    var position = 0
    var ended = false
    private(set) var lineNumber = 0

    init(source: any ByteSource, name: String) { self.source = source; self.name = name }

    /// The next line without its LF, or nil at the end of the input (a last line without LF is nil too).
    mutating func line() throws -> [UInt8]? {
        var scanned = position
        while true {
            if let lf = buffer[scanned...].firstIndex(of: 10) {
                let line = Array(buffer[position..<lf])
                position = lf + 1
                lineNumber += 1
                return line
            }
            scanned = buffer.count
            guard !ended else { return nil }
            guard buffer.count < AgeHeader.maxSize else {
                throw DataPortError(.limitExceeded, "age header larger than \(AgeHeader.maxSize) bytes", at: name)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { ended = true } else { buffer += chunk[0..<n] }
        }
    }

    func remaining() -> [UInt8] { Array(buffer[position...]) }
}
