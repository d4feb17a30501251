/// How a PostgreSQL error reaches a person: by its shape (SQLSTATE, condition name, the names of
/// the objects involved), never by the server's text where that text can carry a row's value.
///
/// The server quotes values freely: `invalid input syntax for type integer: "<a name>"` (class 22),
/// a trigger's `RAISE EXCEPTION 'refusing %', NEW.email` (P0001), a unique violation's DETAIL
/// `Key (email)=(...)` (class 23), even an undefined-table error once a row's value is cast
/// (`name::regclass` gives 42P01 `relation "<a name>" does not exist`). Parameter scrubbing cannot
/// catch those (the value is a row's, not ours), so the server's text is kept only
/// - while a statement is parsed and planned (`Phase.prepare`: no row has been read, the message
///   quotes the SQL and the schema), for SQLSTATEs on `valueFree`, or
/// - while it runs, for the few SQLSTATEs on `valueFreeRunning` (a cancelled query, a lost
///   connection, a serialization failure), whose messages hold no data;
/// and never when the error was raised by PL/pgSQL code (a function can raise any SQLSTATE with any
/// text). Everything else shows its condition name. DETAIL, HINT and CONTEXT are never shown.
enum ServerErrors {
    /// When the error happened.
    enum Phase { case prepare, run }

    /// The parts of a server error the description is made from.
    struct Fields {
        var sqlstate: String?
        var message: String?
        /// The server function that raised it (`exec_stmt_raise` for PL/pgSQL `RAISE`).
        var sourceFunction: String?
        /// Whether the error came from inside a function (it has a CONTEXT).
        var hasContext = false
        var schema: String?
        var table: String?
        var column: String?
        var constraint: String?
        var datatype: String?
    }

    /// `PostgreSQL: <message or condition> (<names>) [SQLSTATE xxxxx]`.
    static func describe(_ f: Fields, phase: Phase, scrubbing parameters: [String]) -> String {
        let state = f.sqlstate
        let condition = state.map(conditionName) ?? "error"
        let raisedByCode = f.sourceFunction == "exec_stmt_raise" || f.hasContext
        var text: String
        if let state, let message = f.message, !raisedByCode,
           phase == .prepare ? valueFree.contains(state) : valueFreeRunning.contains(state) {
            text = PostgreSQLConnection.scrub(message, parameters)
        } else {
            text = condition.replacingOccurrences(of: "_", with: " ")
        }
        var names: [String] = []
        if let t = f.table { names.append("table \(f.schema.map { "\($0)." } ?? "")\(t)") }
        if let c = f.column { names.append("column \(c)") }
        if let c = f.constraint { names.append("constraint \(c)") }
        if let d = f.datatype { names.append("type \(d)") }
        if !names.isEmpty { text += " (\(names.joined(separator: ", ")))" }
        if let state { text += " [SQLSTATE \(state) \(condition)]" }
        return "PostgreSQL: " + text
    }

    /// The condition name of a SQLSTATE (PostgreSQL's Appendix A), else its class's name.
    static func conditionName(_ state: String) -> String {
        if let name = conditions[state] { return name }
        return classes[String(state.prefix(2))] ?? "unknown_error"
    }

    /// SQLSTATEs whose primary message quotes only names from the SQL and the schema.
    static let valueFree: Set<String> = [
        "08000", "08003", "08006", "08001", "08004", "08P01",
        "0A000", "25001", "25006", "25P02", "28000", "28P01", "2BP01", "3D000", "3F000",
        "40001", "40P01", "42501", "42601", "42602", "42622", "42702", "42703", "42704", "42710", "42723",
        "42725", "42803", "42804", "42809", "42830", "42846", "42883", "42P01", "42P02", "42P07", "42P10",
        "42P18", "53000", "53100", "53200", "53300", "54000", "54001", "55000", "55006", "55P03",
        "57014", "57P01", "57P02", "57P03", "58030",
    ]

    /// SQLSTATEs whose message holds no data even while a statement runs.
    static let valueFreeRunning: Set<String> = [
        "08000", "08003", "08006", "08P01", "25006", "25P02", "40001", "40P01",
        "53000", "53100", "53200", "53300", "55P03", "57014", "57P01", "57P02", "57P03",
    ]

    static let classes: [String: String] = [
        "00": "successful_completion", "01": "warning", "02": "no_data", "03": "sql_statement_not_yet_complete",
        "08": "connection_exception", "09": "triggered_action_exception", "0A": "feature_not_supported",
        "0B": "invalid_transaction_initiation", "0F": "locator_exception", "0L": "invalid_grantor",
        "0P": "invalid_role_specification", "0Z": "diagnostics_exception", "20": "case_not_found",
        "21": "cardinality_violation", "22": "data_exception", "23": "integrity_constraint_violation",
        "24": "invalid_cursor_state", "25": "invalid_transaction_state", "26": "invalid_sql_statement_name",
        "27": "triggered_data_change_violation", "28": "invalid_authorization_specification",
        "2B": "dependent_privilege_descriptors_still_exist", "2D": "invalid_transaction_termination",
        "2F": "sql_routine_exception", "34": "invalid_cursor_name", "38": "external_routine_exception",
        "39": "external_routine_invocation_exception", "3B": "savepoint_exception", "3D": "invalid_catalog_name",
        "3F": "invalid_schema_name", "40": "transaction_rollback", "42": "syntax_error_or_access_rule_violation",
        "44": "with_check_option_violation", "53": "insufficient_resources", "54": "program_limit_exceeded",
        "55": "object_not_in_prerequisite_state", "57": "operator_intervention", "58": "system_error",
        "72": "snapshot_too_old", "F0": "config_file_error", "HV": "fdw_error", "P0": "plpgsql_error", "XX": "internal_error",
    ]

    static let conditions: [String: String] = [
        "08000": "connection_exception", "08003": "connection_does_not_exist", "08006": "connection_failure",
        "08001": "sqlclient_unable_to_establish_sqlconnection", "08004": "sqlserver_rejected_establishment_of_sqlconnection",
        "08P01": "protocol_violation", "0A000": "feature_not_supported", "21000": "cardinality_violation",
        "22000": "data_exception", "2202E": "array_subscript_error", "22021": "character_not_in_repertoire",
        "22008": "datetime_field_overflow", "22012": "division_by_zero", "22005": "error_in_assignment",
        "22007": "invalid_datetime_format", "22023": "invalid_parameter_value", "22P02": "invalid_text_representation",
        "22P03": "invalid_binary_representation", "22P05": "untranslatable_character", "2200N": "invalid_xml_content",
        "22001": "string_data_right_truncation", "22003": "numeric_value_out_of_range", "22004": "null_value_not_allowed",
        "22026": "string_data_length_mismatch", "22030": "duplicate_json_object_key_value", "22032": "invalid_json_text",
        "22P04": "bad_copy_file_format", "22024": "unterminated_c_string", "2201B": "invalid_regular_expression",
        "23000": "integrity_constraint_violation", "23001": "restrict_violation", "23502": "not_null_violation",
        "23503": "foreign_key_violation", "23505": "unique_violation", "23514": "check_violation",
        "23P01": "exclusion_violation", "25000": "invalid_transaction_state", "25001": "active_sql_transaction",
        "25006": "read_only_sql_transaction", "25P01": "no_active_sql_transaction", "25P02": "in_failed_sql_transaction",
        "28000": "invalid_authorization_specification", "28P01": "invalid_password",
        "2BP01": "dependent_objects_still_exist", "3D000": "invalid_catalog_name", "3F000": "invalid_schema_name",
        "40000": "transaction_rollback", "40001": "serialization_failure", "40002": "transaction_integrity_constraint_violation",
        "40P01": "deadlock_detected", "42000": "syntax_error_or_access_rule_violation", "42501": "insufficient_privilege",
        "42601": "syntax_error", "42602": "invalid_name", "42622": "name_too_long", "42702": "ambiguous_column",
        "42703": "undefined_column", "42704": "undefined_object", "42710": "duplicate_object", "42723": "duplicate_function",
        "42725": "ambiguous_function", "42803": "grouping_error", "42804": "datatype_mismatch", "42809": "wrong_object_type",
        "42830": "invalid_foreign_key", "42846": "cannot_coerce", "42883": "undefined_function", "42P01": "undefined_table",
        "42P02": "undefined_parameter", "42P07": "duplicate_table", "42P10": "invalid_column_reference",
        "42P18": "indeterminate_datatype", "53000": "insufficient_resources", "53100": "disk_full", "53200": "out_of_memory",
        "53300": "too_many_connections", "54000": "program_limit_exceeded", "54001": "statement_too_complex",
        "55000": "object_not_in_prerequisite_state", "55006": "object_in_use", "55P03": "lock_not_available",
        "57014": "query_canceled", "57P01": "admin_shutdown", "57P02": "crash_shutdown", "57P03": "cannot_connect_now",
        "58030": "io_error", "P0000": "plpgsql_error", "P0001": "raise_exception", "P0002": "no_data_found",
        "P0003": "too_many_rows", "P0004": "assert_failure", "XX000": "internal_error", "XX001": "data_corrupted",
        "XX002": "index_corrupted",
    ]
}
