import DataPortIO
import DataPortModel
import Foundation

/// A sink that hands its bytes, in chunks, to a stage running on another thread, so that encoding
/// (on the caller's thread) and checksumming and compression (on the other) use both cores.
/// Order is kept; at most `depth` chunks are on their way or in the stage, so memory stays bounded.
/// The output is exactly what running the stage inline would give. What the stage uses is lent to
/// its thread (see `WorkerThread`): the owner reads it (a checksum, a size) only after `finish()`.
package final class PipelinedSink: ByteSink {
    private let stage: (UnsafeRawBufferPointer) throws -> Void
    @exclusivity(unchecked) private var chunk: [UInt8] = []
    private let chunkSize: Int
    private let depth: Int
    /// The chunks on their way and the thread running the stage, from the first full chunk on: a
    /// small file that never fills one is done inline.
    private var running: (chunks: HandOff<[UInt8]>, stage: WorkerThread<Void>)?

    /// - Parameters:
    ///   - stage: runs on the background thread, once per chunk, in order.
    package init(chunkSize: Int = 1 << 18, depth: Int = 4, stage: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.stage = stage
        self.chunkSize = chunkSize
        self.depth = depth
    }

    /// Dropped without `finish()` (the entry failed): the stage stops, and is over before the
    /// owner goes on to free what it uses.
    deinit {
        guard let running else { return }
        running.chunks.cancel()
        _ = try? running.stage.join()
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, chunkSize - chunk.count)
            chunk.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if chunk.count == chunkSize { try submit() }
        }
    }

    /// Hands the chunk to the stage; throws the stage's error once it failed.
    private func submit() throws {
        let full = chunk
        chunk = []
        chunk.reserveCapacity(chunkSize)
        try (running?.chunks ?? start()).send(full)
    }

    private func start() -> HandOff<[UInt8]> {
        // One chunk is in the stage beside those waiting: `depth` in all.
        let chunks = HandOff<[UInt8]>(capacity: max(1, depth - 1))
        let stage = stage
        running = (chunks, WorkerThread("dataport.pipeline", lending: {
            while let c = try chunks.receive() {
                do { try c.withUnsafeBytes { try stage($0) } } catch {
                    chunks.cancel(throwing: error)
                    throw error
                }
            }
        }))
        return chunks
    }

    /// Sends what is left and waits for the stage to finish everything; rethrows its error.
    package func finish() throws {
        guard let running else {
            // Nothing is running on the other thread: the stage runs here, on the same bytes in the same order.
            guard !chunk.isEmpty else { return }
            let last = chunk
            chunk = []
            return try last.withUnsafeBytes { try stage($0) }
        }
        if !chunk.isEmpty { try submit() }
        running.chunks.finish()
        try running.stage.join()
    }
}

/// A source that reads ahead on another thread: the stages below it (inflate, CRC-32, SHA-256)
/// run there while the caller parses. Chunks arrive in order; at most `depth` wait. Dropping the
/// source stops the thread and waits for it, also when the caller gave up half-way (the thread
/// holds the inner source and the hand-off, never this source itself).
package final class ReadAheadSource: ByteSource {
    /// Lent to the reading thread once it starts.
    private let inner: any ByteSource
    private let depth: Int
    private let chunkSize: Int
    private var reading: (chunks: HandOff<[UInt8]>, reader: WorkerThread<Void>)?
    @exclusivity(unchecked) private var current: [UInt8] = []
    @exclusivity(unchecked) private var position = 0

    package init(_ inner: any ByteSource, chunkSize: Int = 1 << 18, depth: Int = 4) {
        self.inner = inner
        self.depth = depth
        self.chunkSize = chunkSize
    }

    deinit {
        guard let reading else { return }
        reading.chunks.cancel()
        _ = try? reading.reader.join()
    }

    private func start() -> HandOff<[UInt8]> {
        let chunks = HandOff<[UInt8]>(capacity: depth)
        let (inner, chunkSize) = (inner, chunkSize)
        reading = (chunks, WorkerThread("dataport.read-ahead", lending: {
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            do {
                while true {
                    let n = try buffer.withUnsafeMutableBytes { try inner.read(into: $0) }
                    if n == 0 { break }
                    try chunks.send(Array(buffer[0..<n]))
                }
                chunks.finish()
            } catch {
                // A read error reaches the caller after the bytes before it (after a cancel: no one).
                chunks.finish(throwing: error)
            }
        }))
        return chunks
    }

    package func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        if position == current.count {
            guard let next = try (reading?.chunks ?? start()).receive() else { return 0 }
            current = next
            position = 0
        }
        let n = min(out.count, current.count - position)
        current.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[position..<position + n])) }
        position += n
        return n
    }
}
