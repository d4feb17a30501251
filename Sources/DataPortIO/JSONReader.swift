import DataPortModel

/// Limits that keep hostile JSON from exhausting memory or the stack.
public struct JSONLimits: Sendable {
    /// Deepest nesting of arrays and objects.
    public var maxDepth: Int
    /// Longest string, in bytes.
    public var maxStringBytes: Int
    /// Longest number, in characters.
    public var maxNumberLength: Int
    /// Refuse objects with the same key twice. On for every DataPort file; RFC 8259 only says keys SHOULD be unique.
    public var rejectDuplicateKeys = true

    public init(maxDepth: Int = 64, maxStringBytes: Int = ValueLimits.maxValueBytes, maxNumberLength: Int = 4096) {
        self.maxDepth = maxDepth; self.maxStringBytes = maxStringBytes; self.maxNumberLength = maxNumberLength
    }
    public static let `default` = JSONLimits()
}

/// One step of a JSON document, as read by `JSONReader`.
public enum JSONEvent: Equatable, Sendable {
    case beginObject, endObject, beginArray, endArray
    case key(String)
    case string(String)
    /// A number, as its exact text (never rounded through a binary float).
    case number(String)
    case bool(Bool)
    case null
    /// The document ended (after the single top-level value).
    case end
}

/// A strict, streaming RFC 8259 pull parser.
///
/// Rejects invalid UTF-8, lone surrogates, duplicate keys, trailing commas, a byte-order mark,
/// control characters in strings, leading zeros, and anything after the top-level value.
/// Errors are `DataPortError` of the kind given at creation, with line and column.
public final class JSONReader {
    private enum State { case objectStart, objectNeedsValue, objectAfterValue, arrayStart, arrayAfterValue }
    private struct Frame {
        var state: State
        init(state: State) { self.state = state }
    }
    /// The keys of the object open at each depth: a short list searched linearly, moved into a set
    /// once it grows. Kept per depth and reused, so reading a million records allocates no key list.
    private struct Keys {
        var list: [String] = []
        var set: Set<String>? = nil
    }

    private let input: InputBuffer
    private let limits: JSONLimits
    private let errorKind: DataPortError.Kind
    private let name: String
    @exclusivity(unchecked) private var stack: [Frame] = []
    @exclusivity(unchecked) private var keys: [Keys] = []
    @exclusivity(unchecked) private var started = false
    @exclusivity(unchecked) private var finished = false
    @exclusivity(unchecked) private var scratch: [UInt8] = []
    @exclusivity(unchecked) private var values = 0
    /// Most values (scalars, arrays and objects) this document may hold. A document read whole into a
    /// `JSONValue` costs tens of bytes per value, so a small, well-compressed one could otherwise take gigabytes.
    @exclusivity(unchecked) public var maxValues = Int.max

    /// - Parameters:
    ///   - name: the file name used in error locations.
    ///   - errorKind: the kind of error thrown for malformed input.
    public init(_ input: InputBuffer, name: String, limits: JSONLimits = .default, errorKind: DataPortError.Kind = .invalidBundle) {
        self.input = input; self.name = name; self.limits = limits; self.errorKind = errorKind
    }

    /// The current nesting depth.
    public var depth: Int { stack.count }

    public func fail(_ message: String) -> DataPortError {
        DataPortError(errorKind, "malformed JSON: \(message)", at: "\(name), \(input.position)")
    }

    private func skipWhitespace() throws {
        while let b = try input.peek(), b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { _ = try input.next() }
    }

    private func expect(_ byte: UInt8, _ what: String) throws {
        guard let b = try input.next() else { throw fail("unexpected end of input, expected \(what)") }
        guard b == byte else { throw fail("expected \(what)") }
    }

    /// The next event.
    public func next() throws -> JSONEvent {
        if finished { return .end }
        try skipWhitespace()
        guard let top = stack.indices.last else {
            if started {
                guard try input.peek() == nil else { throw fail("unexpected data after the top-level value") }
                finished = true
                return .end
            }
            started = true
            if try input.peek() == 0xEF { throw fail("byte-order mark is not allowed") }
            return try value()
        }
        switch stack[top].state {
        case .objectStart:
            if try input.peek() == UInt8(ascii: "}") { _ = try input.next(); stack.removeLast(); return .endObject }
            return try key(top)
        case .objectNeedsValue:
            stack[top].state = .objectAfterValue
            return try value()
        case .objectAfterValue:
            guard let b = try input.next() else { throw fail("unexpected end of input in an object") }
            if b == UInt8(ascii: "}") { stack.removeLast(); return .endObject }
            guard b == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
            try skipWhitespace()
            return try key(top)
        case .arrayStart:
            if try input.peek() == UInt8(ascii: "]") { _ = try input.next(); stack.removeLast(); return .endArray }
            stack[top].state = .arrayAfterValue
            return try value()
        case .arrayAfterValue:
            guard let b = try input.next() else { throw fail("unexpected end of input in an array") }
            if b == UInt8(ascii: "]") { stack.removeLast(); return .endArray }
            guard b == UInt8(ascii: ",") else { throw fail("expected ',' or ']'") }
            try skipWhitespace()
            return try value()
        }
    }

    private func key(_ top: Int) throws -> JSONEvent {
        guard try input.next() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
        let k = try string()
        try checkDuplicate(k, top)
        try skipWhitespace()
        try expect(UInt8(ascii: ":"), "':'")
        stack[top].state = .objectNeedsValue
        return .key(k)
    }

    private func checkDuplicate(_ k: String, _ top: Int) throws {
        guard limits.rejectDuplicateKeys else { return }
        // Objects in DataPort files are small: a linear search beats hashing every key.
        if keys[top].set != nil {
            guard keys[top].set!.insert(k).inserted else { throw fail("duplicate key") }
        } else {
            guard !keys[top].list.contains(k) else { throw fail("duplicate key") }
            keys[top].list.append(k)
            if keys[top].list.count > 32 { keys[top].set = Set(keys[top].list); keys[top].list.removeAll() }
        }
    }

    private func push(_ state: State) throws {
        guard stack.count < limits.maxDepth else {
            throw DataPortError(.limitExceeded, "JSON nesting deeper than \(limits.maxDepth)", at: "\(name), \(input.position)")
        }
        stack.append(Frame(state: state))
        if state == .objectStart {
            let depth = stack.count - 1
            while keys.count <= depth { keys.append(Keys()) }
            keys[depth].list.removeAll(keepingCapacity: true)
            keys[depth].set = nil
        }
    }

    private func value() throws -> JSONEvent {
        values += 1
        guard values <= maxValues else {
            throw DataPortError(.limitExceeded, "JSON document holds more than \(maxValues) values", at: "\(name), \(input.position)")
        }
        guard let b = try input.next() else { throw fail("unexpected end of input, expected a value") }
        switch b {
        case UInt8(ascii: "{"): try push(.objectStart); return .beginObject
        case UInt8(ascii: "["): try push(.arrayStart); return .beginArray
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("rue"); return .bool(true)
        case UInt8(ascii: "f"): try literal("alse"); return .bool(false)
        case UInt8(ascii: "n"): try literal("ull"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number(first: b))
        default: throw fail("unexpected character")
        }
    }

    private func literal(_ rest: StaticString) throws {
        for i in 0..<rest.utf8CodeUnitCount {
            guard try input.next() == rest.utf8Start[i] else { throw fail("invalid literal") }
        }
        if let b = try input.peek(), isIdentifierByte(b) { throw fail("invalid literal") }
    }

    private func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b >= 0x80
    }

    private func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }

    private func number(first: UInt8) throws -> String {
        if let n = bufferedInteger(first: first) { return n }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(first)
        func take() throws { scratch.append(try input.next()!); if scratch.count > limits.maxNumberLength { throw DataPortError(.limitExceeded, "JSON number longer than \(limits.maxNumberLength) characters", at: "\(name), \(input.position)") } }
        var lead = first
        if first == UInt8(ascii: "-") {
            guard let b = try input.peek(), isDigit(b) else { throw fail("invalid number") }
            try take(); lead = b
        }
        if lead == UInt8(ascii: "0") {
            if isDigit(try input.peek()) { throw fail("leading zero in a number") }
        } else {
            while isDigit(try input.peek()) { try take() }
        }
        if try input.peek() == UInt8(ascii: ".") {
            try take()
            guard isDigit(try input.peek()) else { throw fail("invalid number") }
            while isDigit(try input.peek()) { try take() }
        }
        if let e = try input.peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            try take()
            if let s = try input.peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { try take() }
            guard isDigit(try input.peek()) else { throw fail("invalid number") }
            while isDigit(try input.peek()) { try take() }
        }
        if let b = try input.peek(), isIdentifierByte(b) || b == UInt8(ascii: ".") { throw fail("invalid number") }
        return String(decoding: scratch, as: UTF8.self)
    }

    /// The number begun by `first` when it is an integer whose digits and the byte after them are
    /// all buffered, made straight from the buffer; `nil` (nothing consumed) for anything else,
    /// which `number` reads and checks the slow way.
    private func bufferedInteger(first: UInt8) -> String? {
        let maxLength = limits.maxNumberLength
        return input.withBuffered { b in
            var i = 0
            var lead = first
            if first == UInt8(ascii: "-") {
                guard !b.isEmpty, isDigit(b[0]) else { return (0, nil) }
                lead = b[0]; i = 1
            }
            if lead != UInt8(ascii: "0") { while i < b.count, isDigit(b[i]) { i += 1 } }
            // A fraction, an exponent, a leading zero or a bad byte after it: the slow way decides.
            guard i < b.count, i < maxLength else { return (0, nil) }
            let after = b[i]
            guard !isDigit(after), !isIdentifierByte(after), after != UInt8(ascii: ".") else { return (0, nil) }
            let text = String(unsafeUninitializedCapacity: i + 1) { out in
                out[0] = first
                for k in 0..<i { out[k + 1] = b[k] }
                return i + 1
            }
            return (i, text)
        }
    }

    private func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let b = try input.next() else { throw fail("unexpected end of input in an escape") }
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x41...0x46: d = b - 0x41 + 10
            case 0x61...0x66: d = b - 0x61 + 10
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    private func appendScalar(_ v: UInt32) {
        if v < 0x80 { scratch.append(UInt8(v)) }
        else if v < 0x800 { scratch.append(UInt8(0xC0 | v >> 6)); scratch.append(UInt8(0x80 | v & 0x3F)) }
        else if v < 0x10000 {
            scratch.append(UInt8(0xE0 | v >> 12)); scratch.append(UInt8(0x80 | v >> 6 & 0x3F)); scratch.append(UInt8(0x80 | v & 0x3F))
        } else {
            scratch.append(UInt8(0xF0 | v >> 18)); scratch.append(UInt8(0x80 | v >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F)); scratch.append(UInt8(0x80 | v & 0x3F))
        }
    }

    /// Reads a string body after its opening quote.
    private func string() throws -> String {
        if let s = bufferedString() { return s }
        if try stringBytes() { return String(decoding: scratch, as: UTF8.self) }
        guard let s = String(validating: scratch, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
        return s
    }

    /// The string body when the buffer holds all of it and its closing quote, without an escape
    /// or a control character, and it is valid UTF-8: made straight from the buffer, without the
    /// copy through `scratch`. `nil` (nothing consumed): `stringBytes` reads it, or reports it.
    private func bufferedString() -> String? {
        let maxBytes = limits.maxStringBytes
        return input.withBuffered { b in
            guard let base = b.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return (0, nil) }
            var i = 0, high: UInt8 = 0
            while i < b.count {
                let c = b[i]
                if c == 0x22 || c == 0x5C || c < 0x20 { break }
                high |= c; i += 1
            }
            guard i < b.count, b[i] == 0x22, i <= maxBytes else { return (0, nil) }
            let body = UnsafeBufferPointer(start: base, count: i)
            if high < 0x80 { return (i + 1, String(decoding: body, as: UTF8.self)) }
            guard let s = String(validating: body, as: UTF8.self) else { return (0, nil) }
            return (i + 1, s)
        }
    }

    /// Reads a string body after its opening quote into `scratch`, escapes resolved; returns
    /// whether it is all ASCII (else the caller validates the UTF-8).
    private func stringBytes() throws -> Bool {
        scratch.removeAll(keepingCapacity: true)
        var ascii = true
        while true {
            // Copy plain bytes in bulk; stop at a quote, a backslash, a control character or non-ASCII.
            _ = try input.copy(into: &scratch) { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 || $0 >= 0x80 }
            if scratch.count > limits.maxStringBytes {
                throw DataPortError(.limitExceeded, "JSON string longer than \(limits.maxStringBytes) bytes", at: "\(name), \(input.position)")
            }
            guard let b = try input.next() else { throw fail("unterminated string") }
            if b == UInt8(ascii: "\"") { break }
            if b < 0x20 { throw fail("control character in a string") }
            if b == UInt8(ascii: "\\") {
                guard let e = try input.next() else { throw fail("unterminated string") }
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(e)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if v >= 0xD800 && v < 0xDC00 {
                        guard try input.next() == UInt8(ascii: "\\"), try input.next() == UInt8(ascii: "u") else { throw fail("lone surrogate in a \\u escape") }
                        let low = try hex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw fail("lone surrogate in a \\u escape") }
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    } else if v >= 0xDC00 && v < 0xE000 {
                        throw fail("lone surrogate in a \\u escape")
                    }
                    if v >= 0x80 { ascii = false }
                    appendScalar(v)
                default: throw fail("invalid escape")
                }
            } else {
                if b >= 0x80 { ascii = false }
                scratch.append(b)
            }
            if scratch.count > limits.maxStringBytes {
                throw DataPortError(.limitExceeded, "JSON string longer than \(limits.maxStringBytes) bytes", at: "\(name), \(input.position)")
            }
        }
        return ascii
    }

    /// What `nextKey` read: the end of the object, or a member's key (its index, `nil` if unknown).
    public enum KeyStep: Equatable { case endOfObject, key(Int?) }

    /// `next()` inside an object whose keys the caller knows (a record's fields), without making a
    /// `String` per key: `lookup` maps the key's UTF-8 (escapes resolved, only called for ASCII keys)
    /// to its index, and refuses a duplicate itself (`fail("duplicate key")`: the position is the
    /// key's end, as `next()` has it). A key it does not know is checked for duplicates here, as
    /// `next()` does. The ':' is consumed; the member's value is the next `next()` event.
    /// `likely`: the key expected here (a field name, no escape, quote or newline in it), matched
    /// in the buffer without reading the key into `scratch`; `lookup` is then given `likely` itself.
    public func nextKey(likely: [UInt8]? = nil, _ lookup: ([UInt8]) throws -> Int?) throws -> KeyStep {
        try skipWhitespace()
        guard let top = stack.indices.last else { preconditionFailure("nextKey outside an object") }
        switch stack[top].state {
        case .objectStart:
            if try input.peek() == UInt8(ascii: "}") { _ = try input.next(); stack.removeLast(); return .endOfObject }
        case .objectAfterValue:
            guard let b = try input.next() else { throw fail("unexpected end of input in an object") }
            if b == UInt8(ascii: "}") { stack.removeLast(); return .endOfObject }
            guard b == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
            try skipWhitespace()
        case .objectNeedsValue, .arrayStart, .arrayAfterValue:
            preconditionFailure("nextKey outside an object")
        }
        guard try input.next() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
        let index: Int?
        if let likely, input.skip(likely, then: UInt8(ascii: "\"")) {
            index = try lookup(likely)
            if index == nil { scratch = likely }
        } else if try stringBytes() {
            index = try lookup(scratch)
        } else {
            guard String(validating: scratch, as: UTF8.self) != nil else { throw fail("invalid UTF-8 in a string") }
            index = nil
        }
        if index == nil { try checkDuplicate(String(decoding: scratch, as: UTF8.self), top) }
        try skipWhitespace()
        try expect(UInt8(ascii: ":"), "':'")
        stack[top].state = .objectNeedsValue
        return .key(index)
    }

    /// Skips the value whose first event was `first` (for unknown members).
    public func skipValue(startingWith first: JSONEvent) throws {
        guard first == .beginObject || first == .beginArray else { return }
        let base = stack.count - 1
        while stack.count > base {
            let e = try next()
            if e == .end { throw fail("unexpected end of input") }
        }
    }
}
