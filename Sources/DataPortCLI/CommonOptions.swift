import DataPort
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Options shared by several commands, parsed in one place.
enum CommonOptions {
    static let json = OptionSpec(name: "json", value: nil, help: "Print the result as one JSON document on stdout (formats/cli-output.md).")
    static let quiet = OptionSpec(name: "quiet", value: nil, help: "Print nothing but errors (a --json document is still printed).")
    static let progress = OptionSpec(name: "progress", value: "MODE", help: "auto (one updating line when stderr is a terminal; default), json (JSON lines on stderr), none.",
                                     choices: ["auto", "json", "none"])
    static let limits = [
        OptionSpec(name: "max-entries", value: "N", help: "Refuse archives with more entries (default \(ArchiveLimits.default.maxEntries))."),
        OptionSpec(name: "max-bytes", value: "N", help: "Refuse archives that decompress to more bytes (default \(ArchiveLimits.default.maxTotalBytes))."),
        OptionSpec(name: "max-ratio", value: "N", help: "Refuse entries (zip) or streams (tar.gz) over \(ArchiveLimits.default.ratioFloor >> 20) MiB compressed more than N:1 (default \(ArchiveLimits.default.maxRatio))."),
    ]
    static let archive = OptionSpec(name: "archive", value: "KIND", help: "zip (default: opens anywhere) or tar.gz (streams well in scripts).",
                                    choices: ArchiveKind.allCases.map(\.rawValue))

    /// `--config` of the commands that read a stores config.
    static func config(_ help: String = "The stores config (JSON).") -> OptionSpec {
        OptionSpec(name: "config", value: "FILE", help: help, required: true)
    }

    /// `--subject` of the commands that answer one subject's request.
    static func subject(_ help: String, required: Bool = true) -> OptionSpec {
        OptionSpec(name: "subject", value: "KIND=VALUE", help: help, repeatable: true, required: required)
    }

    /// `--format` of the commands that write data files.
    static func format(_ help: String, required: Bool = false) -> OptionSpec {
        OptionSpec(name: "format", value: "LIST", help: help, required: required, choices: FormatRegistry.standard.adapters.map(\.name))
    }

    static let scope = OptionSpec(name: "scope", value: "SCOPE", help: "portability (Art. 20, default) or access (Art. 15, everything held).",
                                  choices: [Scope.portability.rawValue, Scope.access.rawValue])

    /// `--language` of the commands that write pages for the person.
    static func language(_ help: String) -> OptionSpec {
        OptionSpec(name: "language", value: "LANG", help: help, choices: Presentation.languages)
    }

    static let csvFormulaGuard = OptionSpec(name: "csv-formula-guard", value: nil,
        help: "CSV: put a ' before string values that start with = + - @ TAB CR NUL or ' (guards spreadsheets; changes the data for every other tool; recorded in the manifest).")

    static let csvBOM = OptionSpec(name: "csv-bom", value: nil,
        help: "CSV: start each file with a UTF-8 byte-order mark, so Excel opens a double-clicked file as UTF-8 (recorded in the manifest; DataPort's reader skips it).")

    /// The adapters of a `--format` list, set as the format options ask.
    static func formats(_ list: String, _ args: Arguments) throws -> [any FormatAdapter] {
        var formats = try FormatRegistry.standard.adapters(forList: list)
        for flag in ["csv-formula-guard", "csv-bom"] where args.flag(flag) {
            guard formats.contains(where: { $0 is CSVFormat }) else { throw DataPortError(.usage, "--\(flag) needs csv in --format") }
        }
        if let i = formats.firstIndex(where: { $0 is CSVFormat }) {
            formats[i] = CSVFormat(formulaGuard: args.flag("csv-formula-guard"), byteOrderMark: args.flag("csv-bom"))
        }
        return formats
    }

    /// The bundle's output name: `-` stays stdout (encrypted or not); an encrypted file gets ".age".
    static func outputName(_ given: String, encrypted: Bool) -> String {
        given == "-" || !encrypted ? given : AgeEncryption.fileName(for: given)
    }

    /// How a summary names where the bundle went.
    static func shownOutput(_ output: String) -> String { output == "-" ? "standard output" : output }

    /// An ISO 8601 time option (`--generated-at`, `--requested-at`); the refusal names the option only.
    static func time(_ args: Arguments, _ name: String) throws -> Timestamp? {
        guard let t = args.value(name) else { return nil }
        guard let ts = Timestamp(t) else { throw DataPortError(.usage, "--\(name) must be an ISO 8601 time such as 2026-01-31T12:00:00Z") }
        return ts
    }

    /// `--language` and `--time-zone`, checked as the config's are; the refusal names the option,
    /// never the value. Each is `nil` when not given.
    static func presentation(_ args: Arguments) throws -> (language: String?, timeZone: String?) {
        guard args.value("language") != nil || args.value("time-zone") != nil else { return (nil, nil) }
        let p = try StoresConfig.parsePresentation(language: args.value("language"), timeZone: args.value("time-zone")) {
            DataPortError(.usage, "--" + $0.replacingOccurrences(of: "timeZone", with: "time-zone"))
        }
        return (args.value("language").map { _ in p.language }, args.value("time-zone").map { _ in p.timeZone })
    }

    static func archiveKind(_ args: Arguments) throws -> ArchiveKind {
        guard let v = args.value("archive") else { return .zip }
        guard let k = ArchiveKind(rawValue: v) else { throw DataPortError(.usage, "--archive must be zip or tar.gz") }
        return k
    }

    /// What long-running commands accept.
    static let longRunning = [json, quiet, progress]

    static func archiveLimits(_ args: Arguments) throws -> ArchiveLimits {
        var l = ArchiveLimits.default
        func number(_ name: String) throws -> Int64? {
            guard let v = args.value(name) else { return nil }
            guard let n = Int64(v), n > 0 else { throw DataPortError(.usage, "--\(name) must be a positive whole number") }
            return n
        }
        if let n = try number("max-entries") { l.maxEntries = Int(n) }
        if let n = try number("max-bytes") { l.maxTotalBytes = n }
        if let n = try number("max-ratio") { l.maxRatio = n }
        return l
    }

    /// The progress observer the options ask for, or `nil`.
    static func progressObserver(_ args: Arguments, console: Console) throws -> ProgressPrinter? {
        let mode = args.value("progress") ?? "auto"
        switch mode {
        case "none": return nil
        case "json": return ProgressPrinter(console: console, json: true)
        case "auto": return args.flag("quiet") || isatty(2) == 0 ? nil : ProgressPrinter(console: console, json: false)
        default: throw DataPortError(.usage, "--progress must be auto, json or none")
        }
    }
}

/// Draws progress: one updating line on a terminal, or JSON lines (formats/cli-output.md).
final class ProgressPrinter: ProgressObserver {
    let console: Console
    let json: Bool
    private var lastDraw = Date.distantPast

    init(console: Console, json: Bool) { self.console = console; self.json = json }

    func report(_ e: ProgressEvent) {
        if json {
            console.err(JSONValue.object([
                "event": .string(e.finished ? "done" : "progress"), "phase": .string(e.phase),
                "dataset": e.dataset.map(JSONValue.string), "records": .integer(e.records), "bytes": .integer(e.bytes),
                "totalRecords": e.totalRecords.map { .integer($0) }, "elapsed": .number(String(format: "%.3f", e.elapsed)),
            ]).serialized(pretty: false))
            return
        }
        let now = Date()
        guard e.finished || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let rate = e.elapsed > 0 ? Double(e.records) / e.elapsed : 0
        var line = "\(e.phase)\(e.dataset.map { " \($0)" } ?? ""): \(counted(e.records, "record")), \(String(format: "%.1f", Double(e.bytes) / 1_048_576)) MB, \(Int(rate)) rec/s, \(String(format: "%.1f", e.elapsed)) s"
        if let total = e.totalRecords, total > 0, rate > 0, !e.finished {
            line += String(format: ", %d%%, about %.0f s left", Int(100 * e.records / total), Double(total - e.records) / rate)
        }
        console.errRaw("\r\u{1B}[K" + line + (e.finished ? "\n" : ""))
    }
}
