import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation

/// Records read ahead, with each one's reconciliation digest over the imported fields.
struct RecordChunk {
    var records: [Record] = []
    var digests: [UInt64] = []
}

/// Reads records on a second thread, in chunks, while the caller writes them to the store: parsing
/// and inserting use both cores. Order is kept; at most `depth` chunks wait, so memory stays bounded.
final class ReadAheadRecords {
    typealias Checksums = (full: RecordChecksum, imported: RecordChecksum)

    /// Lent to the reading thread once it starts.
    private let reader: any RecordReader
    private let chunkSize: Int
    private let depth: Int
    /// The fields (by position, in bundle order) that are imported: each record's digest covers these.
    private let importedFields: [Int]
    /// Whether every field is imported: the full digest is then the imported one, computed once.
    private let whole: Bool
    private var reading: (chunks: HandOff<RecordChunk>, reader: WorkerThread<Checksums>)?
    /// The chunk `nextChunk()` returned last: handed back when the next is asked for (the caller is
    /// done with it), so that the reading thread, which made its records, frees them (`ReturnQueue`).
    private var lent: RecordChunk?
    private let done = ReturnQueue<RecordChunk>()

    /// - Parameter importedFields: positions of the fields that are imported, in bundle order; of
    ///   `fieldCount` in all. The checksums of the records read are computed on the reading thread too.
    init(_ reader: any RecordReader, fieldCount: Int, importedFields: [Int], chunkSize: Int = 512, depth: Int = 4) {
        self.reader = reader
        self.importedFields = importedFields
        whole = importedFields == Array(0..<fieldCount)
        self.chunkSize = chunkSize
        self.depth = depth
    }

    /// Once `nextChunk()` has returned `nil`: the checksum of every record read over all its fields
    /// (the bundle's), and over the imported fields only (what the target can agree with). Asked
    /// earlier, reading stops there, and these cover the records read so far.
    var checksums: Checksums {
        stop()
        return (try? reading?.reader.join()) ?? (RecordChecksum(), RecordChecksum())
    }

    deinit { stop() }

    /// Stops the reading thread and waits for it.
    func stop() {
        guard let reading else { return }
        reading.chunks.cancel()
        _ = try? reading.reader.join()
    }

    private func start() -> HandOff<RecordChunk> {
        let chunks = HandOff<RecordChunk>(capacity: depth)
        let (reader, importedFields, whole, chunkSize, done) = (reader, importedFields, whole, chunkSize, done)
        reading = (chunks, WorkerThread("dataport.import.read-ahead", lending: {
            var sums: Checksums = (RecordChecksum(), RecordChecksum())
            var digester = RecordDigester()
            var failure: (any Error)?
            var full = false
            repeat {
                done.drain()
                var chunk = RecordChunk()
                chunk.records.reserveCapacity(chunkSize)
                chunk.digests.reserveCapacity(chunkSize)
                do {
                    while chunk.records.count < chunkSize, let r = try reader.next() {
                        let d = whole ? digester.digest(r.values) : digester.digest(importedFields.lazy.map { r.values[$0] })
                        sums.imported.add(digest: d)
                        sums.full.add(digest: whole ? d : digester.digest(r.values))
                        chunk.records.append(r)
                        chunk.digests.append(d)
                    }
                } catch {
                    failure = error
                }
                full = chunk.records.count == chunkSize
                // The records read before a failure are delivered before it. Cancelled: no one listens.
                if !chunk.records.isEmpty {
                    do { try chunks.send(chunk) } catch { return sums }
                }
            } while full && failure == nil
            chunks.finish(throwing: failure)
            return sums
        }))
        return chunks
    }

    /// The next chunk of records, or `nil` at the end; rethrows the reader's error in order.
    func nextChunk() throws -> RecordChunk? {
        if let previous = lent.take() { done.giveBack(previous) }
        lent = try (reading?.chunks ?? start()).receive()
        return lent
    }
}
