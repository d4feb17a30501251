import DataPortModel

/// Reads the members of a JSON object into typed values, and refuses members nobody asked for.
///
/// Used by the stores config and the manifest: every error names the member's path.
public final class JSONObjectReader {
    public let path: String
    private let members: [JSONValue.Member]
    private var used: Set<String> = []
    private let errorKind: DataPortError.Kind
    private let file: String

    public init(_ value: JSONValue, path: String, file: String, errorKind: DataPortError.Kind) throws {
        self.path = path; self.file = file; self.errorKind = errorKind
        guard case .object(let m) = value else {
            throw DataPortError(errorKind, "\(path.isEmpty ? "the document" : path) must be an object", at: file)
        }
        members = m
    }

    public func error(_ message: String, code: DataPortError.Code? = nil) -> DataPortError { DataPortError(errorKind, message, at: file, code: code) }

    /// The member names, in document order (for objects keyed by name).
    public var keys: [String] { members.map(\.key) }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func value(_ key: String) -> JSONValue? {
        used.insert(key)
        return members.first { $0.key == key }?.value
    }

    public func string(_ key: String) throws -> String {
        guard let v = try optionalString(key) else { throw error("\(child(key)) is required") }
        return v
    }

    public func optionalString(_ key: String) throws -> String? {
        guard let v = value(key), v != .null else { return nil }
        guard case .string(let s) = v else { throw error("\(child(key)) must be a string") }
        return s
    }

    public func strings(_ key: String) throws -> [String] {
        guard let v = value(key), v != .null else { return [] }
        if case .string(let s) = v { return [s] }
        guard case .array(let items) = v else { throw error("\(child(key)) must be a list of strings") }
        return try items.map {
            guard case .string(let s) = $0 else { throw error("\(child(key)) must be a list of strings") }
            return s
        }
    }

    public func bool(_ key: String, default def: Bool) throws -> Bool {
        guard let v = value(key), v != .null else { return def }
        guard case .bool(let b) = v else { throw error("\(child(key)) must be true or false") }
        return b
    }

    public func integer(_ key: String) throws -> Int64 {
        guard let v = try optionalInteger(key) else { throw error("\(child(key)) is required") }
        return v
    }

    public func optionalInteger(_ key: String) throws -> Int64? {
        guard let v = value(key), v != .null else { return nil }
        guard case .number(let n) = v, let i = Int64(n) else { throw error("\(child(key)) must be an integer") }
        return i
    }

    /// An enumeration member given by its raw string value.
    public func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E where E.RawValue == String {
        let s = try string(key)
        guard let e = E(rawValue: s) else {
            throw error("\(child(key)) must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return e
    }

    public func object(_ key: String) throws -> JSONObjectReader {
        guard let v = value(key) else { throw error("\(child(key)) is required") }
        return try JSONObjectReader(v, path: child(key), file: file, errorKind: errorKind)
    }

    public func optionalObject(_ key: String) throws -> JSONObjectReader? {
        guard let v = value(key), v != .null else { return nil }
        return try JSONObjectReader(v, path: child(key), file: file, errorKind: errorKind)
    }

    /// The objects of a list member (empty when absent).
    public func objects(_ key: String) throws -> [JSONObjectReader] {
        guard let v = value(key), v != .null else { return [] }
        guard case .array(let items) = v else { throw error("\(child(key)) must be a list") }
        return try items.enumerated().map { try JSONObjectReader($1, path: "\(child(key))[\($0)]", file: file, errorKind: errorKind) }
    }

    /// Throws if the object has members that were never read (a typo in a config, an unknown manifest field).
    public func finish() throws {
        if let unknown = members.first(where: { !used.contains($0.key) }) {
            throw error("unknown key \(child(unknown.key))", code: errorKind == .invalidConfig ? .unknownKey : nil)
        }
    }
}
