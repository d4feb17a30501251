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

    /// Whether `write` reads the records once for every format (a zip, or a single format), not
    /// once per format: the number of passes a progress total counts.
    static func readsOnce(_ formats: [any FormatAdapter], into writer: BundleWriter) -> Bool {
        formats.count == 1 || writer.acceptsSpools
    }

    /// Records held before the formats get threads of their own (as `DatasetPages` does).
    static let laneThreshold = 512

    /// Writes `dataset` in every format (`data/FORMAT/NAME.EXT`) and adds its records to `pages`.
    /// `check` gets the count of each pass as soon as it is known (a store that changed, a bundle
    /// whose manifest disagrees): what it throws ends the write. The files, in format order.
    ///
    /// Into a zip the records are read once: a dataset of more than `laneThreshold` records is
    /// encoded and compressed on a thread per format (`FormatLanes`, into spools copied in order),
    /// beside the reading and the pages, so even one format leaves the reading thread to the store;
    /// a smaller one is written from memory, format after format, with no thread started. Both
    /// give the same bytes. A tar.gz (no spools) reads once per format.
    static func write(_ dataset: Dataset, formats: [any FormatAdapter], to writer: BundleWriter, pages: DatasetPages,
                      counter: ProgressCounter, read: Read, check: (Int) throws -> Void) throws -> [ManifestFile] {
        guard writer.acceptsSpools else {
            return try formats.enumerated().map { i, format in
                try writeOne(dataset, format: format, to: writer, pages: i == 0 ? pages : nil, counter: counter, read: read, check: check)
            }
        }
        counter.begin(formats.count == 1 ? "\(dataset.name).\(formats[0].fileExtension)" : dataset.name)
        var pending: [Record] = []
        var lanes: FormatLanes?
        let n = try read { r in
            try pages.add(r)
            counter.record()
            if let lanes { return try lanes.write(r) }
            pending.append(r)
            if pending.count == laneThreshold {
                let started = try FormatLanes(formats: formats, dataset: dataset)
                for p in pending { try started.write(p) }
                pending = []
                lanes = started
            }
        }
        guard let lanes else {
            try check(n)
            return try formats.map { format in
                let path = self.path(of: dataset, in: format)
                let entry = try writer.addFile(path) { sink in
                    let w = try format.makeWriter(for: dataset, to: sink)
                    for r in pending { try w.write(r) }
                    try w.finish()
                }
                counter.fileDone(bytes: entry.size)
                return file(path, format, entry)
            }
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
