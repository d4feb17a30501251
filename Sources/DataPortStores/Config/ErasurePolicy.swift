import DataPortIO
import DataPortModel
import Foundation

/// The grounds of Art. 17(3) GDPR on which a controller may keep data a person asked to erase.
public enum ErasureGround: String, Sendable, Hashable, CaseIterable {
    /// (a) exercising the right of freedom of expression and information.
    case freedomOfExpression = "freedom-of-expression"
    /// (b) a legal obligation (tax, social security), a task in the public interest or official authority.
    case legalObligation = "legal-obligation"
    /// (c) public interest in the area of public health.
    case publicHealth = "public-health"
    /// (d) archiving in the public interest, scientific or historical research, statistics.
    case archivingResearch = "archiving-research"
    /// (e) the establishment, exercise or defence of legal claims.
    case legalClaims = "legal-claims"
}

/// An ISO 8601 duration of whole calendar units (`P10Y`, `P6M`, `P1Y6M`, `P30D`, `P2W`, `PT12H`).
public struct ISODuration: Sendable, Hashable, CustomStringConvertible {
    public var years = 0, months = 0, days = 0, seconds = 0
    public let text: String
    public var description: String { text }

    public init?(_ text: String) {
        self.text = text
        var rest = Substring(text)
        guard rest.first == "P", rest.count > 1 else { return nil }
        rest = rest.dropFirst()
        var inTime = false, any = false
        while !rest.isEmpty {
            if rest.first == "T" {
                guard !inTime else { return nil }
                inTime = true; rest = rest.dropFirst()
                guard !rest.isEmpty else { return nil }
                continue
            }
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 6, let n = Int(digits), let unit = rest.dropFirst(digits.count).first else { return nil }
            rest = rest.dropFirst(digits.count + 1)
            any = true
            switch (unit, inTime) {
            case ("Y", false): years += n
            case ("M", false): months += n
            case ("W", false): days += 7 * n
            case ("D", false): days += n
            case ("H", true): seconds += 3600 * n
            case ("M", true): seconds += 60 * n
            case ("S", true): seconds += n
            default: return nil
            }
        }
        guard any else { return nil }
    }

    private static let calendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    /// `value` (a date or a timestamp) plus this duration, as seconds since 1970 UTC; `nil` for a
    /// value of another type or NULL.
    public func end(after value: Value) -> Int64? {
        let start: Date
        switch value {
        case .timestamp(let t): start = Date(timeIntervalSince1970: TimeInterval(t.seconds))
        case .date(let d):
            guard let s = Self.calendar.date(from: DateComponents(year: d.year, month: d.month, day: d.day)) else { return nil }
            start = s
        default: return nil
        }
        let c = DateComponents(year: years, month: months, day: days, second: seconds)
        return Self.calendar.date(byAdding: c, to: start).map { Int64($0.timeIntervalSince1970) }
    }
}

/// What `dataport erase` does with one dataset (`erasure` in the stores config).
public struct ErasurePolicy: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable, CaseIterable { case delete, anonymize, retain }

    /// One field an anonymisation overwrites, and the value it writes (`.null` for `"null"`).
    public struct Mask: Sendable, Hashable {
        public var field: String
        public var value: Value
        public init(field: String, value: Value) { self.field = field; self.value = value }
    }

    /// How long retained rows are kept: until `field` plus `plus`.
    public struct Until: Sendable, Hashable {
        public var field: String
        public var plus: ISODuration
    }

    public var action: Action
    /// `anonymize`: the fields overwritten, in config order.
    public var masks: [Mask] = []
    /// `retain`: the Art. 17(3) ground, the reason in words, and optionally when the hold ends.
    public var ground: ErasureGround?
    /// The reason, as one text or by language (`{"en": "...", "lt": "..."}`), for the receipt's page.
    public var reason: LocalizedText?
    public var until: Until?

    /// Parses `erasure` of a dataset whose configured fields are `fields`; every error names the
    /// dataset and the member, never a value.
    static func parse(_ e: JSONObjectReader, dataset: String, fields: [FieldConfig], key: String?,
                      matchFields: Set<String>, source: SourceObject, connector: String) throws -> ErasurePolicy {
        let at = "dataset \(dataset): erasure"
        var policy = ErasurePolicy(action: try e.enumeration("action", Action.self))
        switch policy.action {
        case .delete: break
        case .anonymize:
            guard case .object(let members)? = e.value("fields"), !members.isEmpty else {
                throw e.error("\(at).fields must be an object naming at least one field to overwrite")
            }
            for m in members {
                guard let f = fields.first(where: { $0.name == m.key }) else { throw e.error("\(at).fields names unknown field \(m.key)") }
                guard f.name != key else { throw e.error("\(at).fields: the key \(f.name) identifies the row and cannot be overwritten") }
                policy.masks.append(Mask(field: f.name, value: try maskValue(m.value, field: f, at: "\(at).fields.\(f.name)", e)))
            }
            // An anonymised row must no longer link to the person: every field it matches on goes.
            if let kept = matchFields.sorted().first(where: { f in !policy.masks.contains { $0.field == f } }) {
                throw e.error("\(at): anonymize must overwrite every field the dataset matches on or yields; \(kept) is not overwritten")
            }
        case .retain:
            policy.ground = try e.enumeration("ground", ErasureGround.self)
            guard let reason = try StoresConfig.localized(e, "reason", in: at) else { throw e.error("\(at).reason is required") }
            policy.reason = reason
            if let u = try e.optionalObject("until") {
                let field = try u.string("field")
                guard let f = fields.first(where: { $0.name == field }), !f.secret, f.type == .date || f.type == .timestamp else {
                    throw e.error("\(at).until.field must name a date or timestamp field of the dataset")
                }
                guard let plus = ISODuration(try u.string("plus")) else {
                    throw e.error("\(at).until.plus must be an ISO 8601 duration such as P10Y, P6M or P30D")
                }
                try u.finish()
                policy.until = Until(field: field, plus: plus)
            }
        }
        try e.finish()
        // Rows are changed by their key in a SQL table, never by a condition that could reach further.
        let changes = policy.action != .retain || policy.until != nil
        if changes, ["sqlite", "postgresql", "mysql"].contains(connector) {
            guard case .table = source else { throw e.error("\(at): a dataset read through a query cannot be erased; give table") }
            guard key != nil else { throw e.error("\(at): erasing rows of a SQL table needs the dataset's key") }
        }
        return policy
    }

    /// A masking value typed by its field: `"null"`, or `{"set": VALUE}` with a JSON value of the
    /// field's type (strings for decimal, date, timestamp and binary in their canonical text).
    static func maskValue(_ raw: JSONValue, field f: FieldConfig, at: String, _ e: JSONObjectReader) throws -> Value {
        if raw == .string("null") { return .null }
        guard case .object(let members) = raw, members.count == 1, members[0].key == "set" else {
            throw e.error("\(at) must be \"null\" or {\"set\": VALUE}")
        }
        guard let v = typedValue(members[0].value, as: f.type) else { throw e.error("\(at).set is not a valid \(f.type.rawValue)") }
        return v
    }

    /// A JSON value as a value of `type`: `null`; a string for `string`, or the canonical text of
    /// a decimal, date, timestamp or binary; a number for `integer` and `decimal`; `true`/`false`
    /// for `boolean`. `nil` when it does not fit.
    public static func typedValue(_ json: JSONValue, as type: FieldType) -> Value? {
        switch (json, type) {
        case (.null, _): .null
        case (.string(let s), .string): .string(s)
        case (.string(let s), .decimal), (.string(let s), .date), (.string(let s), .timestamp), (.string(let s), .binary):
            Value.parse(canonical: s, as: type)
        case (.number(let n), .integer), (.number(let n), .decimal): Value.parse(canonical: n, as: type)
        case (.bool(let b), .boolean): .boolean(b)
        default: nil
        }
    }

    /// When a row of this policy stops being retained (seconds since 1970 UTC), given the row's
    /// value of `until.field`; `nil` when it is kept without an end (no `until`, or no value).
    public func retainedUntil(_ value: Value?) -> Int64? {
        guard let until, let value else { return nil }
        return until.plus.end(after: value)
    }
}

/// What an objection to one purpose writes into one dataset (`objections.PURPOSE[]` in the
/// stores config): field values typed by the field, `"$now"` for the time of the request.
public struct ObjectionRule: Sendable, Hashable {
    public var dataset: String
    public var set: [ErasurePolicy.Mask]
    /// The fields set to the request's time (`"$now"`): a timestamp, or its day for a date.
    public var now: [String]
    /// Whether the config declares the dataset. A config cut down from a fuller one (fewer
    /// stores) still loads; `dataport object` refuses a purpose whose rules name a missing dataset.
    public var declared = true

    /// Parses `objections`; a field set must be neither the dataset's key nor
    /// one it matches on or yields (an objection stops processing, it does not unlink the row).
    static func parse(_ o: JSONObjectReader, datasets: [DatasetConfig]) throws -> [String: [ObjectionRule]] {
        var out: [String: [ObjectionRule]] = [:]
        for purpose in o.keys {
            guard Dataset.isValidName(purpose) else { throw o.error("objections: purpose '\(purpose)' must match [a-z][a-z0-9_]*") }
            var rules: [ObjectionRule] = []
            for r in try o.objects(purpose) {
                let name = try r.string("dataset")
                let at = "objections.\(purpose): dataset \(name)"
                guard let d = datasets.first(where: { $0.name == name }) else {
                    _ = r.value("set")
                    try r.finish()
                    rules.append(ObjectionRule(dataset: name, set: [], now: [], declared: false))
                    continue
                }
                guard case .object(let members)? = r.value("set"), !members.isEmpty else { throw r.error("\(at): set must name at least one field") }
                var rule = ObjectionRule(dataset: name, set: [], now: [])
                for m in members {
                    guard let f = d.field(named: m.key) else { throw r.error("\(at): set names unknown field \(m.key)") }
                    let linked = d.matches.map(\.field) + d.yields.map { $0.field } + [d.key].compactMap { $0 }
                    guard !linked.contains(f.name) else { throw r.error("\(at): \(f.name) is the key or links the row to the person; an objection cannot set it") }
                    if m.value == .string("$now") {
                        guard f.type == .timestamp || f.type == .date else { throw r.error("\(at): $now needs a timestamp or date field, not \(f.name)") }
                        rule.now.append(f.name)
                    } else {
                        rule.set.append(ErasurePolicy.Mask(field: f.name, value: try ErasurePolicy.maskValue(.object([.init("set", m.value)]), field: f, at: "\(at).set.\(f.name)", r)))
                    }
                }
                if ["sqlite", "postgresql", "mysql"].contains(d.metadata.source.connector) {
                    guard case .table = d.source, d.key != nil else { throw r.error("\(at): changing rows of a SQL store needs a table and the dataset's key") }
                }
                try r.finish()
                rules.append(rule)
            }
            out[purpose] = rules
        }
        try o.finish()
        return out
    }

    /// The values to write at `time`.
    public func masks(at time: Timestamp, fields: [FieldConfig]) -> [ErasurePolicy.Mask] {
        set + now.map { name in
            let isDate = fields.first { $0.name == name }?.type == .date
            return ErasurePolicy.Mask(field: name, value: isDate ? CalendarDate(String(time.text.prefix(10))).map(Value.date) ?? .null : .timestamp(time))
        }
    }
}
