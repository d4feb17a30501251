import Foundation

/// The type of a field: what kind of `Value` its records hold (besides `null`).
public enum FieldType: String, Sendable, Hashable, CaseIterable, Codable {
    case string, integer, decimal, boolean, timestamp, date, binary
}

/// One typed cell of a record.
///
/// Every format writes and reads each case losslessly; `canonicalText` is the one textual form
/// shared by the text-based formats, the stores and the checksums.
public enum Value: Sendable, Hashable {
    case null
    case string(String)
    case integer(Int64)
    /// An exact decimal (money): never binary floating point.
    case decimal(ExactDecimal)
    case boolean(Bool)
    /// An instant in UTC.
    case timestamp(Timestamp)
    /// A calendar date without time or zone.
    case date(CalendarDate)
    case binary([UInt8])

    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The type of a non-null value; `nil` for `null`.
    public var type: FieldType? {
        switch self {
        case .null: nil
        case .string: .string
        case .integer: .integer
        case .decimal: .decimal
        case .boolean: .boolean
        case .timestamp: .timestamp
        case .date: .date
        case .binary: .binary
        }
    }

    /// The canonical text of a non-null value (base64 for binary); `nil` for `null`.
    public var canonicalText: String? {
        switch self {
        case .null: nil
        case .string(let s): s
        case .integer(let i): String(i)
        case .decimal(let d): d.text
        case .boolean(let b): b ? "true" : "false"
        case .timestamp(let t): t.text
        case .date(let d): d.text
        case .binary(let b): Data(b).base64EncodedString()
        }
    }

    /// Parses the canonical text of a value of `type`. Returns `nil` when the text is not valid for it.
    public static func parse(canonical text: String, as type: FieldType) -> Value? {
        switch type {
        case .string: return .string(text)
        case .integer:
            guard let i = Int64(text), String(i) == text else { return nil }
            return .integer(i)
        case .decimal: return ExactDecimal(text).map(Value.decimal)
        case .boolean:
            switch text {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: return nil
            }
        case .timestamp: return Timestamp(text).map(Value.timestamp)
        case .date: return CalendarDate(text).map(Value.date)
        case .binary:
            guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
            return .binary([UInt8](data))
        }
    }
}
