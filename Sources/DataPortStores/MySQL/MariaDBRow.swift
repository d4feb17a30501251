import CMariaDB
import DataPortModel
import Foundation

// The result side of the MariaDB Connector/C wrapper (`MariaDB.swift`): with it, the only code
// that touches the C API.

/// One row of an unbuffered result, valid only inside the `run` callback.
///
/// Integers and floating-point columns are fetched as numbers, everything else (DECIMAL, dates
/// and times, strings, ENUM/SET, JSON, BLOB) in the text or bytes the server sends: columns of the
/// `binary` character set (BLOB, BINARY, VARBINARY, BIT, geometry) become bytes.
final class MySQLRow: SQLRow {
    /// `dateTime`: DATETIME and TIMESTAMP fetched as their parts (`MYSQL_TIME`) and written as the
    /// library would write them as text, without its `sprintf` per value; `dateTimeText`: other
    /// date-time types, fetched as the library's text.
    private enum Kind { case integer, unsigned, float, double, text, bytes, dateTime, dateTimeText }
    private let stmt: UnsafeMutablePointer<MYSQL_STMT>
    private var binds: [MYSQL_BIND]
    // Per column, allocated once for the result: read for every cell, so plain memory rather than
    // arrays in class properties (whose every access is an exclusivity check and a bounds check).
    private let kinds: UnsafeMutableBufferPointer<Kind>
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<my_bool>
    private let buffers: UnsafeMutableBufferPointer<UnsafeMutableRawPointer>
    private let capacities: UnsafeMutableBufferPointer<Int>
    /// Each column's fraction digits (DATETIME(3): 3).
    private let decimals: UnsafeMutableBufferPointer<UInt32>
    /// How DATETIME and TIMESTAMP text is turned into an instant (the connector's `timeZone`).
    private let dateTimes: MySQLDateTimes
    let columnCount: Int

    init(stmt: UnsafeMutablePointer<MYSQL_STMT>, fields: UnsafeMutablePointer<MYSQL_FIELD>?, count: Int, dateTimes: MySQLDateTimes) {
        self.stmt = stmt
        self.dateTimes = dateTimes
        columnCount = count
        let slots = max(count, 1)
        binds = [MYSQL_BIND](repeating: MYSQL_BIND(), count: count)
        lengths = .allocate(capacity: slots); lengths.initialize(repeating: 0, count: slots)
        nulls = .allocate(capacity: slots); nulls.initialize(repeating: 0, count: slots)
        kinds = .allocate(capacity: slots); kinds.initialize(repeating: .text)
        buffers = .allocate(capacity: slots)
        capacities = .allocate(capacity: slots); capacities.initialize(repeating: 0)
        decimals = .allocate(capacity: slots); decimals.initialize(repeating: 0)
        for i in 0..<count {
            let f = fields![i]
            let unsigned = f.flags & UInt32(UNSIGNED_FLAG) != 0
            let kind: Kind
            switch f.type {
            case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_INT24, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_YEAR:
                kind = unsigned ? .unsigned : .integer
            case MYSQL_TYPE_FLOAT: kind = .float
            case MYSQL_TYPE_DOUBLE: kind = .double
            case MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP: kind = .dateTime
            case MYSQL_TYPE_DATETIME2, MYSQL_TYPE_TIMESTAMP2: kind = .dateTimeText
            case MYSQL_TYPE_BIT, MYSQL_TYPE_GEOMETRY: kind = .bytes
            case MYSQL_TYPE_STRING, MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_VARCHAR, MYSQL_TYPE_BLOB,
                 MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB:
                kind = f.charsetnr == 63 ? .bytes : .text
            default: kind = .text
            }
            kinds[i] = kind
            decimals[i] = f.decimals
            let size: Int
            switch kind {
            case .integer, .unsigned, .double: size = 8; binds[i].buffer_type = kind == .double ? MYSQL_TYPE_DOUBLE : MYSQL_TYPE_LONGLONG
            case .float: size = 4; binds[i].buffer_type = MYSQL_TYPE_FLOAT
            case .dateTime: size = MemoryLayout<MYSQL_TIME>.size; binds[i].buffer_type = MYSQL_TYPE_DATETIME
            case .text, .dateTimeText: size = 64; binds[i].buffer_type = MYSQL_TYPE_STRING
            case .bytes: size = 64; binds[i].buffer_type = MYSQL_TYPE_BLOB
            }
            let b = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            buffers.initializeElement(at: i, to: b)
            capacities[i] = size
            binds[i].buffer = b
            binds[i].buffer_length = UInt(size)
            binds[i].is_unsigned = kind == .unsigned ? 1 : 0
            binds[i].length = lengths + i
            binds[i].is_null = nulls + i
        }
    }

    func bind() -> Bool {
        columnCount == 0 || binds.withUnsafeMutableBufferPointer { mysql_stmt_bind_result(stmt, $0.baseAddress) } == 0
    }

    /// Fetches the columns that did not fit their buffers (long strings), growing the buffers.
    func complete() -> Bool {
        var grown = false
        for i in 0..<columnCount where nulls[i] == 0 && (kinds[i] == .text || kinds[i] == .bytes || kinds[i] == .dateTimeText) {
            let n = Int(lengths[i])
            guard n > capacities[i] else { continue }
            buffers[i].deallocate()
            let size = max(n, capacities[i] * 2)
            buffers[i] = .allocate(byteCount: size, alignment: 8)
            capacities[i] = size
            binds[i].buffer = buffers[i]
            binds[i].buffer_length = UInt(size)
            let ok = withUnsafeMutablePointer(to: &binds[i]) { mysql_stmt_fetch_column(stmt, $0, UInt32(i), 0) } == 0
            guard ok else { return false }
            grown = true
        }
        // The grown buffers serve the next rows too.
        return !grown || bind()
    }

    /// Ends the result (discarding rows still on the way) before the buffers bound to it go.
    func release() {
        mysql_stmt_free_result(stmt)
        for i in 0..<columnCount { buffers[i].deallocate() }
        buffers.deallocate()
        lengths.deallocate()
        nulls.deallocate()
        kinds.deallocate()
        capacities.deallocate()
        decimals.deallocate()
    }

    private func bytes(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffers[i], count: Int(lengths[i]))
    }

    /// A column as a raw cell. Text that is not UTF-8 comes as bytes (a `string` field refuses it).
    func cell(_ i: Int) -> StoreCell {
        guard nulls[i] == 0 else { return .null }
        switch kinds[i] {
        case .integer: return .integer(buffers[i].load(as: Int64.self))
        case .unsigned:
            let u = buffers[i].load(as: UInt64.self)
            // Beyond Int64 (BIGINT UNSIGNED): exact text, which a `decimal` or `string` field takes.
            return u <= UInt64(Int64.max) ? .integer(Int64(u)) : .text(String(u))
        case .double: return .real(buffers[i].load(as: Double.self))
        case .float:
            // The float's shortest text, not the longer expansion of its double.
            let f = buffers[i].load(as: Float.self)
            return .real(Double(String(f)) ?? Double(f))
        case .bytes: return .blob(Array(bytes(i)))
        case .text:
            return StoreCell(text: UnsafeBufferPointer(start: buffers[i].assumingMemoryBound(to: UInt8.self), count: Int(lengths[i])))
        case .dateTime:
            return .text(dateTimes.instantText(Self.text(of: buffers[i].load(as: MYSQL_TIME.self), decimals: decimals[i])))
        case .dateTimeText:
            return .text(dateTimes.instantText(String(decoding: bytes(i), as: UTF8.self)))
        }
    }

    /// A column as a value of `type`: a DATETIME or TIMESTAMP read as a `timestamp` in UTC (the
    /// default `timeZone`) straight from its parts, without writing its text and parsing it again;
    /// everything else, and any part out of range, through `cell(_:)` (the same value or `nil`).
    func value(_ i: Int, as type: FieldType) -> Value? {
        if kinds[i] == .dateTime, type == .timestamp, nulls[i] == 0, dateTimes.zone == nil,
           let t = Self.instant(of: buffers[i].load(as: MYSQL_TIME.self), decimals: decimals[i]) {
            return .timestamp(t)
        }
        return cell(i).value(as: type)
    }

    /// The instant `Timestamp(text(of: t, decimals:))` reads in UTC, built from the parts; `nil`
    /// for parts that text would not carry in its fixed widths (then the caller goes through it).
    static func instant(of t: MYSQL_TIME, decimals: UInt32) -> Timestamp? {
        guard t.neg == 0, t.second_part < 1_000_000 else { return nil }
        var fraction = ""
        if decimals >= 1 && decimals <= 6 {
            // The first `decimals` of the six digits of the microseconds, without trailing zeros.
            var n = Int(decimals)
            var v = UInt(t.second_part)
            for _ in n..<6 { v /= 10 }
            while n > 0 && v % 10 == 0 { v /= 10; n -= 1 }
            if n > 0 {
                fraction = String(unsafeUninitializedCapacity: n) { out in
                    for k in stride(from: n - 1, through: 0, by: -1) { out[k] = UInt8(48 + v % 10); v /= 10 }
                    return n
                }
            }
        }
        return Timestamp(year: Int(t.year), month: Int(t.month), day: Int(t.day), hour: Int(t.hour),
                         minute: Int(t.minute), second: Int(t.second), fraction: fraction)
    }

    /// The text Connector/C writes for a DATETIME or TIMESTAMP fetched as a string:
    /// `YYYY-MM-DD HH:MM:SS`, then `.` and the fraction cut to the column's 1 to 6 decimals.
    static func text(of t: MYSQL_TIME, decimals: UInt32) -> String {
        let fraction = decimals >= 1 && decimals <= 6
        guard t.year <= 9999, t.month <= 99, t.day <= 99, t.hour <= 99, t.minute <= 99, t.second <= 99, t.second_part < 1_000_000 else {
            // Out of the fixed widths (never from a server): the library's own format.
            let text = String(format: "%04u-%02u-%02u %02u:%02u:%02u", t.year, t.month, t.day, t.hour, t.minute, t.second)
            return fraction ? text + String(String(format: ".%06lu", t.second_part).prefix(Int(decimals) + 1)) : text
        }
        let count = 19 + (fraction ? 1 + Int(decimals) : 0)
        return String(unsafeUninitializedCapacity: count) { out in
            func digits(_ v: UInt, _ width: Int, at i: Int) {
                var v = v
                for k in stride(from: width - 1, through: 0, by: -1) { out[i + k] = UInt8(48 + v % 10); v /= 10 }
            }
            digits(UInt(t.year), 4, at: 0); out[4] = UInt8(ascii: "-"); digits(UInt(t.month), 2, at: 5); out[7] = UInt8(ascii: "-")
            digits(UInt(t.day), 2, at: 8); out[10] = UInt8(ascii: " "); digits(UInt(t.hour), 2, at: 11); out[13] = UInt8(ascii: ":")
            digits(UInt(t.minute), 2, at: 14); out[16] = UInt8(ascii: ":"); digits(UInt(t.second), 2, at: 17)
            if fraction {
                out[19] = UInt8(ascii: ".")
                // The first `decimals` of the six digits of the microseconds.
                var unit: UInt = 100_000
                for k in 0..<Int(decimals) { out[20 + k] = UInt8(48 + UInt(t.second_part) / unit % 10); unit /= 10 }
            }
            return count
        }
    }
}
