import DataPortBundle
import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation

/// One dataset's data files in a new bundle, one per format, with its pages fed on the way: what
/// export (records from the stores) and convert (records from a bundle) share.
enum DataFiles {
    /// Streams the dataset's records to its body, in order, and returns how many there were.
    typealias Read = ((Record) throws -> Void) throws -> Int

    /// Whether `write` reads the records once for every format (format lanes into spools), not
    /// once per format: the number of passes a progress total counts.
    static func readsOnce(_ formats: [any FormatAdapter], into writer: BundleWriter) -> Bool {
        formats.count > 1 && writer.acceptsSpools
    }

    /// Writes `dataset` in every format (`data/FORMAT/NAME.EXT`) and adds its records to `pages`.
    /// `check` gets the count of each pass as soon as it is known (a store that changed, a bundle
    /// whose manifest disagrees): what it throws ends the write. The files, in format order.
    static func write(_ dataset: Dataset, formats: [any FormatAdapter], to writer: BundleWriter, pages: DatasetPages,
                      counter: ProgressCounter, read: Read, check: (Int) throws -> Void) throws -> [ManifestFile] {
        guard readsOnce(formats, into: writer) else {
            return try formats.enumerated().map { i, format in
                try writeOne(dataset, format: format, to: writer, pages: i == 0 ? pages : nil, counter: counter, read: read, check: check)
            }
        }
        // Several formats: read once, encode and compress every format in parallel.
        counter.begin(dataset.name)
        let lanes = try FormatLanes(formats: formats, dataset: dataset)
        let n = try read { r in
            try lanes.write(r)
            try pages.add(r)
            counter.record()
        }
        let spools = try lanes.finish()
        try check(n)
        return try spools.map { format, spool in
            let path = self.path(of: dataset, in: format)
            let entry = try writer.addFile(path, spool: spool)
            counter.fileDone(bytes: entry.size)
            return file(path, format, entry)
        }
    }

    /// One format's file, from a pass of its own; the first pass feeds the pages.
    private static func writeOne(_ dataset: Dataset, format: any FormatAdapter, to writer: BundleWriter, pages: DatasetPages?,
                                 counter: ProgressCounter, read: Read, check: (Int) throws -> Void) throws -> ManifestFile {
        let path = path(of: dataset, in: format)
        var n = 0
        counter.begin("\(dataset.name).\(format.fileExtension)")
        let entry = try writer.addFile(path) { sink in
            let w = try format.makeWriter(for: dataset, to: sink)
            n = try read { r in
                try w.write(r)
                counter.record()
                try pages?.add(r)
            }
            try w.finish()
        }
        counter.fileDone(bytes: entry.size)
        try check(n)
        return file(path, format, entry)
    }

    private static func path(of dataset: Dataset, in format: any FormatAdapter) -> String {
        "data/\(format.name)/\(dataset.name).\(format.fileExtension)"
    }

    private static func file(_ path: String, _ format: any FormatAdapter, _ entry: WrittenEntry) -> ManifestFile {
        ManifestFile(path: path, format: format.name, mediaType: format.mediaType, size: entry.size, sha256: entry.sha256,
                     encoding: format.encodingNotes)
    }
}
