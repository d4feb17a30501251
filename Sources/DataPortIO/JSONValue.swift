import DataPortModel

/// A JSON document held in memory, for small documents (configs, manifests). Object member order
/// is kept, so writing is deterministic; numbers are kept as their exact text.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) { self.key = key; self.value = value }
    }

    public static func integer(_ i: Int64) -> JSONValue { .number(String(i)) }
    public static func integer(_ i: Int) -> JSONValue { .number(String(i)) }

    /// An object from members, leaving out those whose value is `nil`.
    public static func object(_ pairs: KeyValuePairs<String, JSONValue?>) -> JSONValue {
        .object(pairs.compactMap { k, v in v.map { Member(k, $0) } })
    }

    /// Parses one document strictly (see `JSONReader`).
    public static func parse(_ bytes: [UInt8], name: String, limits: JSONLimits = .default,
                             errorKind: DataPortError.Kind = .invalidBundle) throws -> JSONValue {
        let reader = JSONReader(InputBuffer(MemorySource(bytes)), name: name, limits: limits, errorKind: errorKind)
        let value = try parse(reader, first: try reader.next())
        guard try reader.next() == .end else { throw reader.fail("unexpected data after the top-level value") }
        return value
    }

    /// Reads one whole value from a reader positioned before it.
    public static func parse(reader: JSONReader) throws -> JSONValue {
        try parse(reader, first: try reader.next())
    }

    /// Reads one whole value whose first event was already taken.
    public static func parse(_ reader: JSONReader, first: JSONEvent) throws -> JSONValue {
        switch first {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return .number(n)
        case .string(let s): return .string(s)
        case .beginArray:
            var items: [JSONValue] = []
            while true {
                let e = try reader.next()
                if e == .endArray { return .array(items) }
                items.append(try parse(reader, first: e))
            }
        case .beginObject:
            var members: [Member] = []
            while true {
                let e = try reader.next()
                if e == .endObject { return .object(members) }
                guard case .key(let k) = e else { throw reader.fail("expected a key") }
                members.append(Member(k, try parse(reader, first: try reader.next())))
            }
        case .endArray, .endObject, .key, .end:
            throw reader.fail("unexpected token")
        }
    }

    /// The member `key` of an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }

    /// The document as UTF-8 text: pretty-printed with two-space indents, or compact; ends with a newline when pretty.
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(to: &out, indent: pretty ? 0 : -1)
        if pretty { out += "\n" }
        return out
    }

    private func write(to out: inout String, indent: Int) {
        let pretty = indent >= 0
        func newline(_ level: Int) { if pretty { out += "\n" + String(repeating: "  ", count: level) } }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): out += JSONText.quoted(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                newline(indent + 1)
                item.write(to: &out, indent: pretty ? indent + 1 : -1)
            }
            newline(indent)
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                newline(indent + 1)
                out += JSONText.quoted(m.key)
                out += pretty ? ": " : ":"
                m.value.write(to: &out, indent: pretty ? indent + 1 : -1)
            }
            newline(indent)
            out += "}"
        }
    }
}

/// JSON string escaping, shared by every JSON writer.
public enum JSONText {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends `s` as a quoted JSON string: `"` `\` and control characters escaped, everything else as UTF-8.
    @inlinable public static func appendQuoted(_ s: String, to out: OutputBuffer) throws {
        var s = s
        try s.withUTF8 { utf8 in
            try out.byte(UInt8(ascii: "\""))
            var runStart = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                if b >= 0x20 && b != 0x22 && b != 0x5C { continue }
                if runStart < i { try out.bytes(UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                try appendEscape(b, to: out)
                runStart = i + 1
            }
            if runStart < utf8.count { try out.bytes(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count])) }
            try out.byte(UInt8(ascii: "\""))
        }
    }

    @usableFromInline static func appendEscape(_ b: UInt8, to out: OutputBuffer) throws {
        switch b {
        case 0x22: try out.bytes("\\\"")
        case 0x5C: try out.bytes("\\\\")
        case 0x0A: try out.bytes("\\n")
        case 0x0D: try out.bytes("\\r")
        case 0x09: try out.bytes("\\t")
        case 0x08: try out.bytes("\\b")
        case 0x0C: try out.bytes("\\f")
        default:
            try out.bytes("\\u00")
            try out.byte(hexDigits[Int(b >> 4)])
            try out.byte(hexDigits[Int(b & 15)])
        }
    }

    /// `s` as a quoted JSON string.
    public static func quoted(_ s: String) -> String {
        // Most keys and values need no escape: no buffer to set up for them (a manifest has hundreds).
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { return "\"" + s + "\"" }
        let sink = MemorySink()
        let out = OutputBuffer(sink, capacity: 256)
        try! appendQuoted(s, to: out)
        try! out.flush()
        return String(decoding: sink.bytes, as: UTF8.self)
    }
}
