/// What the connector knows about server error numbers (see MySQL's and MariaDB's error references):
/// which messages can quote values, and which errors are the config's fault.
enum MySQLErrors {
    /// Errors whose message names only objects (database, table, column, user, host), never values.
    static let namesOnly: Set<UInt32> = [
        1044, 1045, 1046, 1049, 1051, 1054, 1064, 1109, 1142, 1143, 1146, 1149, 1205, 1213, 1227, 1449, 1792, 1048,
    ]
    /// Errors whose message quotes values: a fixed text instead.
    static let description: [UInt32: String] = [
        1062: "a row with the same unique key exists",
        1586: "a row with the same unique key exists",
        1264: "a value is out of range for its column",
        1265: "a value was truncated for its column",
        1292: "a value is not a valid date, time or number for its column",
        1366: "a value is not valid for its column",
        1406: "a value is too long for its column",
        1451: "a row is referenced by another table (foreign key)",
        1452: "a referenced row does not exist (foreign key)",
        3140: "a value is not valid JSON",
        4025: "a value violates a CHECK constraint",
        3819: "a value violates a CHECK constraint",
    ]
    /// Reading: the config names a table, column or privilege the server does not have.
    static let configWhenReading: Set<UInt32> = [1049, 1054, 1064, 1109, 1142, 1143, 1146, 1149]
    /// Writing: only a missing table or column is the config's fault.
    static let configWhenWriting: Set<UInt32> = [1054, 1146]
}

