import DataPortBundle
import DataPortFormats
import DataPortModel
import Dispatch
import Foundation

/// Encodes and compresses one dataset in several formats at once: the store is read once, and
/// each format runs on its own thread into a compressed spool, so a multi-format export uses every
/// core. The spools are then copied into the archive in order, giving the same bytes as one
/// format after another.
final class FormatLanes: @unchecked Sendable {
    final class Lane: @unchecked Sendable {
        let format: any FormatAdapter
        let spool: CompressedSpool
        /// Encoding runs on the lane's queue, compression on the pipeline's: two stages per format.
        let pipeline: PipelinedSink
        let writer: any RecordWriter
        let queue: DispatchQueue
        // Deep enough that the fast formats run ahead while the slowest (XML) catches up.
        let slots = DispatchSemaphore(value: 32)
        let lock = NSLock()
        var failure: (any Error)?

        init(format: any FormatAdapter, dataset: Dataset) throws {
            self.format = format
            let spool = try CompressedSpool()
            self.spool = spool
            pipeline = PipelinedSink { try spool.sink.write($0) }
            writer = try format.makeWriter(for: dataset, to: pipeline)
            queue = DispatchQueue(label: "dataport.format.\(format.name)")
        }

        func submit(_ chunk: [Record]) throws {
            lock.lock(); let f = failure; lock.unlock()
            if let f { throw f }
            slots.wait()
            queue.async { [self] in
                defer { slots.signal() }
                lock.lock(); let failed = failure != nil; lock.unlock()
                guard !failed else { return }
                do { for r in chunk { try writer.write(r) } } catch {
                    lock.lock(); failure = error; lock.unlock()
                }
            }
        }

        func finish() throws {
            try queue.sync {
                lock.lock(); let f = failure; lock.unlock()
                if let f { throw f }
                try writer.finish()
                try pipeline.finish()
                try spool.finish()
            }
        }
    }

    let lanes: [Lane]
    private var chunk: [Record] = []
    private static let chunkSize = 512

    init(formats: [any FormatAdapter], dataset: Dataset) throws {
        lanes = try formats.map { try Lane(format: $0, dataset: dataset) }
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
    }

    /// Sends the last records and waits for every format to finish.
    func finish() throws {
        try flush()
        var firstError: (any Error)?
        for lane in lanes {
            do { try lane.finish() } catch { if firstError == nil { firstError = error } }
        }
        if let firstError { throw firstError }
    }
}
