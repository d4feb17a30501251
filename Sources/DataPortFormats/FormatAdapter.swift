import DataPortIO
import DataPortModel

/// Writes the records of one dataset as one file, streaming: each record is encoded as it arrives.
public protocol RecordWriter: AnyObject {
    func write(_ record: Record) throws
    /// Completes the file (closing brackets, final flush). Call once, after the last record.
    func finish() throws
}

/// Reads the records of one dataset's file, streaming. `next()` returns `nil` at the end.
public protocol RecordReader: AnyObject {
    func next() throws -> Record?
}

/// A published file a format ships with its files (a JSON Schema, an XSD), copied into `schemas/` of each bundle.
public struct SchemaFile: Sendable {
    public var name: String
    public var contents: String
    public init(name: String, contents: String) { self.name = name; self.contents = contents }
}

/// A file format for datasets: the seam every adapter plugs into.
///
/// To add a format, write one file with a type conforming to this protocol and add it to
/// `FormatRegistry.standard`; the conformance suite in the tests then runs on it.
/// See `formats/adding-a-format.md`.
public protocol FormatAdapter: Sendable {
    /// The short name used on the command line and in manifests (`json`).
    var name: String { get }
    /// The file extension without a dot (`json`).
    var fileExtension: String { get }
    /// The IANA media type (`application/json`).
    var mediaType: String { get }
    /// One line for `dataport formats`.
    var summary: String { get }
    /// Facts about how values were encoded that a reader must know, recorded per file in the manifest
    /// (e.g. CSV's neutralised formula triggers). Empty for most formats.
    var encodingNotes: [String: String] { get }
    /// Schema files that describe this format's files.
    var schemaFiles: [SchemaFile] { get }
    /// Whether a file shows where it ends (a closing bracket, an end tag, a zip's directory), so
    /// that its reader refuses a file cut anywhere, also just after a record, and an empty file.
    /// `true` unless a format cannot (CSV has no end mark: cut after a record's line end, a file
    /// reads as fewer records, and only the manifest's size, SHA-256 and record count catch it).
    /// The conformance suite holds each adapter to what it says here.
    var isSelfDelimiting: Bool { get }
    /// A schema made for one dataset's file (its fields, in order, with their types), written into
    /// the bundle's `schemas/` beside the published ones; `nil` when the published ones say it all.
    func schemaFile(for dataset: Dataset) -> SchemaFile?

    /// A writer for `dataset`'s records into `sink`.
    func makeWriter(for dataset: Dataset, to sink: any ByteSink) throws -> any RecordWriter
    /// The adapter that reads a file whose manifest entry records `notes` (its `encodingNotes` when
    /// written): the same format, set as the writer was. Throws `invalidBundle` for notes it cannot honour.
    func reading(encoding notes: [String: String]) throws -> any FormatAdapter
    /// A reader for `dataset`'s records from `source`; `dataset` (from the manifest) gives names and types.
    /// Malformed input throws `DataPortError` of kind `invalidBundle` with the position.
    func makeReader(for dataset: Dataset, from source: any ByteSource) throws -> any RecordReader
}

extension FormatAdapter {
    public var encodingNotes: [String: String] { [:] }
    public var schemaFiles: [SchemaFile] { [] }
    public var isSelfDelimiting: Bool { true }
    public func schemaFile(for dataset: Dataset) -> SchemaFile? { nil }
    public func reading(encoding notes: [String: String]) throws -> any FormatAdapter { self }
}

/// The list of format adapters a run knows.
public struct FormatRegistry: Sendable {
    public var adapters: [any FormatAdapter]

    public init(adapters: [any FormatAdapter]) { self.adapters = adapters }

    /// The built-in formats. Registering a format is one line here.
    public static let standard = FormatRegistry(adapters: [
        JSONFormat(),
        CSVFormat(),
        XMLFormat(),
        XLSXFormat(),
    ])

    public func adapter(named name: String) -> (any FormatAdapter)? {
        adapters.first { $0.name == name }
    }

    /// The adapter that reads a data file of format `name` written with encoding `notes` (see
    /// `FormatAdapter.reading(encoding:)`); `nil` for an unknown format.
    public func reader(named name: String, encoding notes: [String: String]) throws -> (any FormatAdapter)? {
        try adapter(named: name)?.reading(encoding: notes)
    }

    /// Adapters for a comma-separated list such as `json,csv`; throws a usage error naming an unknown one.
    public func adapters(forList list: String) throws -> [any FormatAdapter] {
        var result: [any FormatAdapter] = []
        for (i, raw) in list.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
            guard let a = adapter(named: name) else {
                // The unknown name is not printed: a mistyped command line may have put anything there.
                throw DataPortError(.usage, "item \(i + 1) of the format list is not a known format; known formats: \(adapters.map(\.name).joined(separator: ", "))")
            }
            if !result.contains(where: { $0.name == a.name }) { result.append(a) }
        }
        return result
    }
}

import Foundation
