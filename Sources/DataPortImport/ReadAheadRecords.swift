import DataPortFormats
import DataPortModel
import Foundation

/// Records read ahead, with each one's reconciliation digest over the imported fields.
struct RecordChunk {
    var records: [Record] = []
    var digests: [UInt64] = []
}

/// Reads records on a second thread, in chunks, while the caller writes them to the store: parsing
/// and inserting use both cores. Order is kept; at most `depth` chunks wait, so memory stays bounded.
final class ReadAheadRecords: @unchecked Sendable {
    private let reader: any RecordReader
    private let lock = NSCondition()
    private var ready: [RecordChunk] = []
    private var done = false
    private var failure: (any Error)?
    private var stopped = false
    private var running = false
    private let chunkSize: Int
    private let depth: Int
    /// The fields (by position, in bundle order) that are imported: each record's digest covers these.
    private let importedFields: [Int]
    /// Whether every field is imported: the full digest is then the imported one, computed once.
    private let whole: Bool
    private var fullDigest = RecordChecksum()
    private var importedDigest = RecordChecksum()

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
    /// (the bundle's), and over the imported fields only (what the target can agree with).
    var checksums: (full: RecordChecksum, imported: RecordChecksum) {
        lock.lock()
        defer { lock.unlock() }
        return (fullDigest, importedDigest)
    }

    deinit { stop() }

    /// Stops the reading thread and waits for it.
    func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        while running { lock.wait() }
        lock.unlock()
    }

    private func start() {
        running = true
        Thread.detachNewThread { [self] in
            var chunk = RecordChunk()
            var finished = false
            var local = RecordChecksum(), localFull = RecordChecksum()
            var digester = RecordDigester()
            while !finished {
                do {
                    chunk.records.reserveCapacity(chunkSize)
                    chunk.digests.reserveCapacity(chunkSize)
                    while chunk.records.count < chunkSize, let r = try reader.next() {
                        let d = digester.digest(importedFields.lazy.map { r.values[$0] })
                        local.add(digest: d)
                        localFull.add(digest: whole ? d : digester.digest(r.values))
                        chunk.records.append(r)
                        chunk.digests.append(d)
                    }
                    finished = chunk.records.count < chunkSize
                } catch {
                    lock.lock()
                    failure = error
                    lock.unlock()
                    finished = true
                }
                lock.lock()
                while ready.count >= depth && !stopped { lock.wait() }
                if stopped { lock.unlock(); break }
                if !chunk.records.isEmpty { ready.append(chunk) }
                lock.broadcast()
                lock.unlock()
                chunk = RecordChunk()
            }
            lock.lock()
            importedDigest = local
            fullDigest = localFull
            done = true
            running = false
            lock.broadcast()
            lock.unlock()
        }
    }

    /// The next chunk of records, or `nil` at the end; rethrows the reader's error in order.
    func nextChunk() throws -> RecordChunk? {
        lock.lock()
        defer { lock.unlock() }
        if !running && !done { start() }
        while ready.isEmpty && !done { lock.wait() }
        if !ready.isEmpty {
            let c = ready.removeFirst()
            lock.broadcast()
            return c
        }
        if let f = failure { throw f }
        return nil
    }
}
