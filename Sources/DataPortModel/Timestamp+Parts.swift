extension Timestamp {
    /// The instant of a UTC wall-clock time given as its parts, or `nil` where
    /// `Timestamp("YYYY-MM-DD HH:MM:SS[.fraction]")` of the same parts is `nil` (no such date,
    /// hour 24 and later, minute or second 60 and later, a fraction of more than 9 digits or not
    /// digits). A store whose client library hands dates over as numbers (MySQL's `MYSQL_TIME`)
    /// then skips writing the text and parsing it again, once per row.
    public init?(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, fraction: String = "") {
        guard CalendarDate(year: year, month: month, day: day) != nil, (0..<24).contains(hour), (0..<60).contains(minute),
              (0..<60).contains(second) else { return nil }
        let local = Int64(daysFromCivil(year, month, day)) * 86400 + Int64(hour * 3600 + minute * 60 + second)
        // Trailing zeros go before the 9-digit limit, as in the parse.
        var f = fraction
        while f.hasSuffix("0") { f.removeLast() }
        self.init(seconds: local, fraction: f)
    }
}
