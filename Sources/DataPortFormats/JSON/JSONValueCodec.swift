import DataPortIO
import DataPortModel
import Foundation

/// Canonical values in JSON, the one mapping every JSON-family format uses (formats/json.md), so
/// a new one (JSON Lines, say) reuses it instead of copying it: `null`; a string as a JSON string;
/// an integer as a JSON number; a boolean as `true` or `false`; a decimal, timestamp, date or
/// binary value as its canonical text (`Value.canonicalText`, base64 for binary) in a JSON string,
/// so that no JSON parser's floating point ever touches a decimal.
public enum JSONValueCodec {
    /// Writes `value` as JSON. Returns `false`, having written nothing, when a string or binary
    /// value is larger than readers accept (`ValueLimits.maxValueBytes`): the caller refuses it,
    /// naming dataset and field.
    public static func write(_ value: Value, to out: OutputBuffer) throws -> Bool {
        switch value {
        case .null: try out.bytes("null")
        case .string(let s):
            if s.utf8.count > ValueLimits.maxValueBytes { return false }
            try JSONText.appendQuoted(s, to: out)
        case .integer(let n): try out.integer(n)
        case .boolean(let b): try out.bytes(b ? "true" : "false")
        case .binary(let b) where (b.count + 2) / 3 * 4 > ValueLimits.maxValueBytes: return false
        case .timestamp(let t):
            try out.byte(UInt8(ascii: "\""))
            try t.withCanonicalBytes { try out.bytes($0) }
            try out.byte(UInt8(ascii: "\""))
        case .decimal, .date, .binary:
            try out.byte(UInt8(ascii: "\""))
            try out.text(value.canonicalText!)
            try out.byte(UInt8(ascii: "\""))
        }
        return true
    }

    /// `value` as a JSON value, for documents built whole (reports, receipts); the same mapping as `write`.
    public static func json(_ value: Value) -> JSONValue {
        switch value {
        case .null: .null
        case .integer(let i): .number(String(i))
        case .boolean(let b): .bool(b)
        default: value.canonicalText.map(JSONValue.string) ?? .null
        }
    }

    /// The value of `field` that the JSON scalar `event` holds, read by `reader`; a value that does
    /// not fit the field's type is refused at the reader's position, naming the field, never the value.
    public static func value(of field: Field, from event: JSONEvent, reader: JSONReader) throws -> Value {
        switch (field.type, event) {
        case (_, .null): return .null
        case (.string, .string(let s)): return .string(s)
        case (.integer, .number(let n)):
            guard let i = Int64(n) else { throw reader.fail("\(field.name) must be a 64-bit integer") }
            return .integer(i)
        case (.boolean, .bool(let b)): return .boolean(b)
        case (.decimal, .string(let s)), (.timestamp, .string(let s)), (.date, .string(let s)), (.binary, .string(let s)):
            guard let v = Value.parse(canonical: s, as: field.type) else { throw reader.fail("\(field.name) is not a valid \(field.type.rawValue)") }
            return v
        default:
            throw reader.fail("\(field.name) must be a \(field.type.rawValue)")
        }
    }
}
