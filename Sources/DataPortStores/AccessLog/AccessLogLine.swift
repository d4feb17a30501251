import DataPortModel
import Foundation

// The parser of one access-log line (combined or common format), used by `AccessLogConnector`.

/// One parsed log line.
///
/// Lines in the Common Log Format (no referrer and user agent) are accepted; their referrer and user
/// agent are NULL. Anything after the cookie field is ignored. Quoted fields may use the servers'
/// escapes (`\"`, `\\`, `\xHH`); a field whose escapes decode to bytes that are not UTF-8 is
/// kept as logged (escapes undecoded).
struct LogEntry {
    let line: Int
    /// Where the line lies in the file, line end included (for erasure).
    var range: Range<Int64> = 0..<0
    var ip = "", ident: String?, user: String?, time = "", request: String?
    var method: String?, path: String?, `protocol`: String?
    var status: Int64 = 0, bytes: Int64?
    var referrer: String?, userAgent: String?, cookieID: String?

    /// Parses a combined-format line; `nil` if it is malformed.
    init?(_ bytes: [UInt8], number: Int) {
        line = number
        var p = LineParser(bytes: bytes)
        guard let ip = p.token(), !ip.isEmpty, p.skipSpace(),
              let ident = p.token(), !ident.isEmpty, p.skipSpace(),
              let user = p.until(" ["), !user.isEmpty, p.skipSpace(),
              let time = p.time(), p.skipSpace(),
              let request = p.quoted(), p.skipSpace(),
              let status = p.token().flatMap(Self.integer), p.skipSpace(),
              let size = p.token(), size == "-" || Self.integer(size) != nil else { return nil }
        self.ip = ip
        self.ident = Self.dashIsNull(ident)
        self.user = Self.dashIsNull(user)
        self.time = time
        self.status = status
        self.bytes = Self.integer(size)
        self.request = Self.dashIsNull(request)
        if let request = self.request { (method, path, `protocol`) = Self.split(request: request) }
        guard !p.atEnd else { return }
        // Combined: referrer and user agent, then the optional cookie field.
        guard p.skipSpace(), let referrer = p.quoted(), p.skipSpace(), let agent = p.quoted() else { return nil }
        self.referrer = Self.dashIsNull(referrer)
        self.userAgent = Self.dashIsNull(agent)
        guard !p.atEnd else { return }
        guard p.skipSpace() else { return nil }
        let cookie = p.peekIsQuote ? p.quoted() : p.token()
        guard let cookie, p.restIsUTF8 else { return nil }
        cookieID = Self.dashIsNull(cookie)
    }

    static func dashIsNull(_ s: String) -> String? { s == "-" ? nil : s }

    static func integer(_ s: String) -> Int64? {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(s)
    }

    /// `GET /a?b HTTP/1.1` → method, target, protocol. A line that is not of that shape (a TLS
    /// handshake sent to the HTTP port, say) keeps only `request`.
    static func split(request: String) -> (String?, String?, String?) {
        let parts = request.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-" || $0 == "_") }) else { return (nil, nil, nil) }
        if parts.count == 2 { return (String(parts[0]), String(parts[1]), nil) }
        guard parts.last!.hasPrefix("HTTP/") else { return (nil, nil, nil) }
        return (String(parts[0]), parts[1..<(parts.count - 1)].joined(separator: " "), String(parts.last!))
    }

    func text(_ field: AccessLogConnector.LogField) -> String? {
        switch field {
        case .ip: ip
        case .ident: ident
        case .user: user
        case .time: time
        case .method: method
        case .path: path
        case .protocol: `protocol`
        case .request: request
        case .status: String(status)
        case .bytes: bytes.map { String($0) }
        case .referrer: referrer
        case .userAgent: userAgent
        case .cookieID: cookieID
        }
    }

    func cell(_ field: AccessLogConnector.LogField) -> StoreCell {
        switch field {
        case .status: .integer(status)
        case .bytes: bytes.map(StoreCell.integer) ?? .null
        default: text(field).map(StoreCell.text) ?? .null
        }
    }
}

/// A cursor over one line's bytes.
private struct LineParser {
    let bytes: [UInt8]
    var i = 0

    var atEnd: Bool { i >= bytes.count }
    /// Whether the ignored rest of the line is valid UTF-8 (a line is never half valid).
    var restIsUTF8: Bool { String(exactly: bytes[min(i, bytes.count)...]) != nil }
    var peekIsQuote: Bool { !atEnd && bytes[i] == UInt8(ascii: "\"") }

    mutating func skipSpace() -> Bool {
        guard !atEnd, bytes[i] == 32 else { return false }
        i += 1
        return true
    }

    /// Bytes up to the next space or the end.
    mutating func token() -> String? {
        let s = i
        while i < bytes.count, bytes[i] != 32 { i += 1 }
        return String(exactly: bytes[s..<i])
    }

    /// Bytes up to (not including) the first occurrence of `marker`, which must exist.
    mutating func until(_ marker: String) -> String? {
        let m = Array(marker.utf8)
        var j = i
        while j + m.count <= bytes.count {
            if bytes[j..<(j + m.count)].elementsEqual(m) {
                guard let s = String(exactly: bytes[i..<j]) else { return nil }
                i = j
                return s
            }
            j += 1
        }
        return nil
    }

    /// A double-quoted field with Apache/nginx escapes. The closing quote is the first unescaped
    /// quote followed by a space or the end of the line (old servers did not escape quotes).
    ///
    /// Escapes that decode to bytes that are not UTF-8 (nginx logs a TLS handshake sent to the HTTP
    /// port as `\x16\x03...\xfc...`) leave the field as logged, escapes and all: the logged text is
    /// the server's own faithful form, and no byte is ever replaced. Raw bytes that are not UTF-8 make
    /// the line malformed.
    mutating func quoted() -> String? {
        guard peekIsQuote else { return nil }
        i += 1
        let start = i
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") && (i + 1 == bytes.count || bytes[i + 1] == 32) {
                defer { i += 1 }
                return String(exactly: out[...]) ?? String(exactly: bytes[start..<i])
            }
            if b == UInt8(ascii: "\\"), i + 1 < bytes.count {
                let e = bytes[i + 1]
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e); i += 2; continue
                case UInt8(ascii: "n"): out.append(10); i += 2; continue
                case UInt8(ascii: "r"): out.append(13); i += 2; continue
                case UInt8(ascii: "t"): out.append(9); i += 2; continue
                case UInt8(ascii: "b"): out.append(8); i += 2; continue
                case UInt8(ascii: "v"): out.append(11); i += 2; continue
                case UInt8(ascii: "x"):
                    if i + 3 < bytes.count, let h = Self.hex(bytes[i + 2]), let l = Self.hex(bytes[i + 3]) {
                        out.append(h << 4 | l); i += 4; continue
                    }
                default: break
                }
            }
            out.append(b)
            i += 1
        }
        return nil
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 97...102: b - 87
        case 65...70: b - 55
        default: nil
        }
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `[10/Oct/2000:13:55:36 -0700]` as UTC ISO 8601 text (`2000-10-10T20:55:36Z`).
    mutating func time() -> String? {
        // [dd/Mon/yyyy:HH:MM:SS +hhmm] is exactly 28 bytes.
        guard i + 28 <= bytes.count, bytes[i] == UInt8(ascii: "["), bytes[i + 27] == UInt8(ascii: "]") else { return nil }
        let t = bytes[(i + 1)..<(i + 27)].map { Character(UnicodeScalar($0)) }
        func digits(_ r: Range<Int>) -> String? {
            let s = String(t[r])
            return s.allSatisfy({ $0.isASCII && $0.isNumber }) ? s : nil
        }
        guard let day = digits(0..<2), t[2] == "/", let month = Self.months.firstIndex(of: String(t[3..<6])), t[6] == "/",
              let year = digits(7..<11), t[11] == ":", let hh = digits(12..<14), t[14] == ":", let mm = digits(15..<17), t[17] == ":",
              let ss = digits(18..<20), t[20] == " ", t[21] == "+" || t[21] == "-", let zh = digits(22..<24), let zm = digits(24..<26),
              let stamp = Timestamp("\(year)-\(pad(month + 1))-\(day)T\(hh):\(mm):\(ss)\(t[21])\(zh):\(zm)") else { return nil }
        i += 28
        return stamp.text
    }

    private func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

