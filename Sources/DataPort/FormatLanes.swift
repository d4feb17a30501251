import DataPortArchive
import DataPortBundle
import DataPortFormats
import DataPortIO
import DataPortModel
import Foundation

/// Encodes and compresses one dataset in several formats at once: the records are read once, and
/// each format runs on its own thread into a compressed spool, so a multi-format export uses every
/// core. The spools are then copied into the archive in order, giving the same bytes as one
/// format after another.
final class FormatLanes {
    /// One format: its writer on a thread of its own, fed chunks of records; the writer's bytes go
    /// on through a pipelined sink (checksums and deflate on a second thread) into the spool.
    final class Lane {
        let format: any FormatAdapter
        /// Lent to the lane's thread: read only after `finish()`.
        private let spool: CompressedSpool
        private let chunks: HandOff<[Record]>
        private let worker: WorkerThread<Void>

        init(format: any FormatAdapter, dataset: Dataset, done: ReturnQueue<[Record]>) throws {
            self.format = format
            let spool = try CompressedSpool()
            self.spool = spool
            let pipeline = PipelinedSink { try spool.sink.write($0) }
            let writer = try format.makeWriter(for: dataset, to: pipeline)
            // Deep enough that the fast formats run ahead while the slowest (XML) catches up.
            let chunks = HandOff<[Record]>(capacity: 31)
            self.chunks = chunks
            worker = WorkerThread("dataport.format.\(format.name)", lending: {
                do {
                    while let chunk = try chunks.receive() {
                        for r in chunk { try writer.write(r) }
                        done.giveBack(chunk)
                    }
                    try writer.finish()
                    try pipeline.finish()
                    try spool.finish()
                } catch {
                    // The next `submit` throws it: the read stops.
                    chunks.cancel(throwing: error)
                    throw error
                }
            })
        }

        /// Stops the lane's thread if the read ended early (another lane or the store failed).
        deinit {
            chunks.cancel()
            _ = try? worker.join()
        }

        func submit(_ chunk: [Record]) throws { try chunks.send(chunk) }

        /// Waits for the format to be written and compressed; its spool.
        func finish() throws -> CompressedSpool {
            chunks.finish()
            try worker.join()
            return spool
        }
    }

    private let lanes: [Lane]
    private var chunk: [Record] = []
    /// The chunks the lanes wrote, freed here on the reading thread (see `ReturnQueue`).
    private let done = ReturnQueue<[Record]>()
    private static let chunkSize = 512

    init(formats: [any FormatAdapter], dataset: Dataset) throws {
        let done = done
        lanes = try formats.map { try Lane(format: $0, dataset: dataset, done: done) }
        chunk.reserveCapacity(Self.chunkSize)
    }

    func write(_ record: Record) throws {
        chunk.append(record)
        if chunk.count == Self.chunkSize { try flush() }
    }

    private func flush() throws {
        guard !chunk.isEmpty else { return }
        for lane in lanes { try lane.submit(chunk) }
        chunk.removeAll(keepingCapacity: true)
        done.drain()
    }

    /// Sends the last records and waits for every format to finish: each format's spool, in order.
    func finish() throws -> [(format: any FormatAdapter, spool: CompressedSpool)] {
        try flush()
        var spools: [(format: any FormatAdapter, spool: CompressedSpool)] = []
        var firstError: (any Error)?
        for lane in lanes {
            do { spools.append((lane.format, try lane.finish())) } catch { if firstError == nil { firstError = error } }
        }
        if let firstError { throw firstError }
        return spools
    }
}
