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
    public func serialized(pretty: Bool = true) -> String { String(decoding: serializedBytes(pretty: pretty), as: UTF8.self) }

    /// `serialized(pretty:)` as UTF-8 bytes, written straight into one buffer (a bundle's manifest
    /// and Data Package descriptor are serialised for every subject of a batch; issue 18).
    public func serializedBytes(pretty: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(to: &out, indent: pretty ? 0 : -1)
        if pretty { out.append(0x0A) }
        return out
    }

    private func write(to out: inout [UInt8], indent: Int) {
        let pretty = indent >= 0
        func newline(_ level: Int) {
            guard pretty else { return }
            out.append(0x0A)
            for _ in 0..<level { out.append(0x20); out.append(0x20) }
        }
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .array(let items):
            if items.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                item.write(to: &out, indent: pretty ? indent + 1 : -1)
            }
            newline(indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (i, m) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                JSONText.appendQuoted(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(0x20) }
                m.value.write(to: &out, indent: pretty ? indent + 1 : -1)
            }
            newline(indent)
            out.append(UInt8(ascii: "}"))
        }
    }
}

/// JSON string escaping, shared by every JSON writer.
public enum JSONText {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends `s` as a quoted JSON string: `"` `\` and control characters escaped, everything else as UTF-8.
    @inlinable public static func appendQuoted(_ s: String, to out: OutputBuffer) throws {
        try s.withUTF8Bytes { utf8 in
            try out.byte(UInt8(ascii: "\""))
            try scan(utf8, run: { try out.bytes($0) }, escape: { try appendEscape($0, to: out) })
            try out.byte(UInt8(ascii: "\""))
        }
    }

    /// Calls `run` with each stretch of `utf8` that needs no escape and `escape` with each byte that does, in order.
    @inlinable static func scan(_ utf8: UnsafeBufferPointer<UInt8>, run: (UnsafeBufferPointer<UInt8>) throws -> Void,
                                escape: (UInt8) throws -> Void) rethrows {
        var runStart = 0
        for i in 0..<utf8.count {
            let b = utf8[i]
            if b >= 0x20 && b != 0x22 && b != 0x5C { continue }
            if runStart < i { try run(UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
            try escape(b)
            runStart = i + 1
        }
        if runStart < utf8.count { try run(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count])) }
    }

    @usableFromInline static func appendEscape(_ b: UInt8, to out: OutputBuffer) throws { try out.bytes(escapes[Int(b)]) }

    /// The escape of each byte that needs one (`"`, `\`, control characters); empty for the others.
    @usableFromInline static let escapes: [[UInt8]] = (0..<256).map { b in
        switch b {
        case 0x22: Array("\\\"".utf8)
        case 0x5C: Array("\\\\".utf8)
        case 0x0A: Array("\\n".utf8)
        case 0x0D: Array("\\r".utf8)
        case 0x09: Array("\\t".utf8)
        case 0x08: Array("\\b".utf8)
        case 0x0C: Array("\\f".utf8)
        case 0..<0x20: Array("\\u00".utf8) + [hexDigits[b >> 4], hexDigits[b & 15]]
        default: []
        }
    }

    /// Appends `s` as a quoted JSON string to `out` (what `appendQuoted(_:to:)` writes to a buffer).
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        s.withUTF8Bytes { utf8 in
            out.append(UInt8(ascii: "\""))
            scan(utf8, run: { out.append(contentsOf: $0) }, escape: { out.append(contentsOf: escapes[Int($0)]) })
            out.append(UInt8(ascii: "\""))
        }
    }

    /// `s` as a quoted JSON string.
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

}
