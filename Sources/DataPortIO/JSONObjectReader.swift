import DataPortModel

/// Problems a reader collects instead of throwing the first (the stores config reports every
/// missing required member in one error).
package final class ProblemList {
    package private(set) var messages: [String] = []
    /// Each problem's code, where it has a specific one.
    package private(set) var codes: [DataPortError.Code?] = []
    package init() {}
    package func add(_ message: String, code: DataPortError.Code? = nil) { messages.append(message); codes.append(code) }
    /// The code of the error that reports them all: the problems' own when they share one.
    package var sharedCode: DataPortError.Code? { ConfigProblemCode.shared(codes) }
}

/// The one code of an error that reports several problems.
package enum ConfigProblemCode {
    /// Their common code when every problem has the same specific one, else none (the kind's).
    package static func shared(_ codes: [DataPortError.Code?]) -> DataPortError.Code? {
        guard let first = codes.first, let code = first, codes.allSatisfy({ $0 == code }) else { return nil }
        return code
    }
}

/// Reads the members of a JSON object into typed values, and refuses members nobody asked for.
///
/// Used by the stores config and the manifest: every error names the member's path.
package final class JSONObjectReader {
    package let path: String
    private let members: [JSONValue.Member]
    private var used: Set<String> = []
    private let errorKind: DataPortError.Kind
    private let file: String
    /// Where a missing required member is recorded (a placeholder returned) instead of thrown.
    private let collected: ProblemList?

    package init(_ value: JSONValue, path: String, file: String, errorKind: DataPortError.Kind, collecting: ProblemList? = nil) throws {
        self.path = path; self.file = file; self.errorKind = errorKind; collected = collecting
        guard case .object(let m) = value else {
            throw DataPortError(errorKind, "\(path.isEmpty ? "the document" : path) must be an object", at: file)
        }
        members = m
    }

    package func error(_ message: String, code: DataPortError.Code? = nil) -> DataPortError { DataPortError(errorKind, message, at: file, code: code) }

    /// The member names, in document order (for objects keyed by name).
    package var keys: [String] { members.map(\.key) }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func reader(_ value: JSONValue, _ path: String, collecting: ProblemList?) throws -> JSONObjectReader {
        try JSONObjectReader(value, path: path, file: file, errorKind: errorKind, collecting: collecting)
    }

    /// A required member is absent: recorded when collecting (the caller returns a placeholder), else thrown.
    private func missing(_ key: String) throws {
        guard let collected else { throw error("\(child(key)) is required") }
        collected.add("\(child(key)) is required")
    }

    /// Whether the member is absent or `null` (a required one then read as a placeholder while collecting).
    package func isAbsent(_ key: String) -> Bool {
        guard let v = value(key) else { return true }
        return v == .null
    }

    package func value(_ key: String) -> JSONValue? {
        used.insert(key)
        return members.first { $0.key == key }?.value
    }

    package func string(_ key: String) throws -> String {
        guard let v = try optionalString(key) else { try missing(key); return "" }
        return v
    }

    package func optionalString(_ key: String) throws -> String? {
        guard let v = value(key), v != .null else { return nil }
        guard case .string(let s) = v else { throw error("\(child(key)) must be a string") }
        return s
    }

    package func strings(_ key: String) throws -> [String] {
        guard let v = value(key), v != .null else { return [] }
        if case .string(let s) = v { return [s] }
        guard case .array(let items) = v else { throw error("\(child(key)) must be a list of strings") }
        return try items.map {
            guard case .string(let s) = $0 else { throw error("\(child(key)) must be a list of strings") }
            return s
        }
    }

    package func bool(_ key: String, default def: Bool) throws -> Bool {
        guard let v = value(key), v != .null else { return def }
        guard case .bool(let b) = v else { throw error("\(child(key)) must be true or false") }
        return b
    }

    package func integer(_ key: String) throws -> Int64 {
        guard let v = try optionalInteger(key) else { try missing(key); return 0 }
        return v
    }

    package func optionalInteger(_ key: String) throws -> Int64? {
        guard let v = value(key), v != .null else { return nil }
        guard case .number(let n) = v, let i = Int64(n) else { throw error("\(child(key)) must be an integer") }
        return i
    }

    /// An enumeration member given by its raw string value.
    package func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E where E.RawValue == String {
        guard let s = try optionalString(key) else {
            try missing(key)
            guard let placeholder = E.allCases.first else { throw error("\(child(key)) is required") }
            return placeholder
        }
        guard let e = E(rawValue: s) else {
            throw error("\(child(key)) must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return e
    }

    package func object(_ key: String) throws -> JSONObjectReader {
        guard let v = value(key) else {
            try missing(key)
            // Its own members are not reported: the object is.
            return try reader(.object([]), child(key), collecting: ProblemList())
        }
        return try reader(v, child(key), collecting: collected)
    }

    package func optionalObject(_ key: String) throws -> JSONObjectReader? {
        guard let v = value(key), v != .null else { return nil }
        return try reader(v, child(key), collecting: collected)
    }

    /// The objects of a list member (empty when absent).
    package func objects(_ key: String) throws -> [JSONObjectReader] {
        guard let v = value(key), v != .null else { return [] }
        guard case .array(let items) = v else { throw error("\(child(key)) must be a list") }
        return try items.enumerated().map { try reader($1, "\(child(key))[\($0)]", collecting: collected) }
    }

    /// Throws if the object has members that were never read (a typo in a config, an unknown manifest field).
    package func finish() throws {
        if let unknown = members.first(where: { !used.contains($0.key) }) {
            // Every key the reader asked for is known: a near one is the likely meaning.
            let hint = Spelling.nearest(to: unknown.key, among: used.sorted()).map { " (did you mean \($0)?)" } ?? ""
            throw error("unknown key \(child(unknown.key))\(hint)", code: errorKind == .invalidConfig ? .unknownKey : nil)
        }
    }
}
