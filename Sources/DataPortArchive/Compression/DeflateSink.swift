import DataPortIO
import DataPortModel
import Dispatch
import Foundation

/// How many threads compress one deflate stream: `DATAPORT_DEFLATE_THREADS` (1-64, for tests and
/// measurements) or the number of active cores. The output does not depend on it.
package enum DeflateThreads {
    package static let count: Int = {
        if let text = ProcessInfo.processInfo.environment["DATAPORT_DEFLATE_THREADS"], let n = Int(text), (1...64).contains(n) { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
}

/// Compresses what is written to it into `next`, pigz-style: the input is cut into blocks of
/// `blockSize` bytes, each compressed on its own (on up to `threads` threads at once) with the
/// previous block's last 32 KiB as dictionary and ended with a sync flush, the last one ending the
/// stream. Joined in order they are one standard deflate stream (raw, or gzip with its header and
/// trailer). Block boundaries depend only on the byte count, so the bytes are the same whatever
/// the thread count and timing; at most `2 * threads` blocks are in flight, so memory is bounded.
/// The CRC-32 of the input is computed per block and combined. Call `finish()` after the last
/// write; use from one thread at a time.
package final class DeflateSink: ByteSink {
    /// One block to compress.
    private struct Job: Sendable {
        let input: [UInt8]
        /// The previous block's input, whose last 32 KiB prime the window (empty for the first).
        let previous: [UInt8]
        let last: Bool

        /// The compressed bytes and the input's CRC-32.
        func compress(level: Int32) throws -> (output: [UInt8], crc: UInt32) {
            let compressor = try CompressorPool.shared.take(level: level)
            defer { CompressorPool.shared.give(compressor) }
            var output: [UInt8] = []
            output.reserveCapacity(input.count / 4 + 64)
            var crc: UInt32 = 0
            try input.withUnsafeBytes { block in
                try previous.withUnsafeBytes { prev in
                    let dictionary = UnsafeRawBufferPointer(rebasing: prev[max(0, prev.count - DeflateSink.window)...])
                    try compressor.compress(block, dictionary: dictionary, last: last, into: &output)
                }
                crc = crc32(0, block)
            }
            return (output, crc)
        }
    }

    /// A block on its way through a worker; its result comes back through `done`. Only blocks
    /// handed to a worker pay for the hand-off (a small entry, compressed in place, makes none).
    private struct Running: Sendable {
        let job: Job
        /// The compressed bytes and the input's CRC-32, or the failure (one slot).
        let done = HandOff<Result<(output: [UInt8], crc: UInt32), any Error>>(capacity: 1)

        func run(level: Int32) {
            // A slot of one, sent once: never blocks, never refused.
            try? done.send(Result { try job.compress(level: level) })
            done.finish()
        }

        /// The result, waiting for the worker.
        func wait() throws -> (output: [UInt8], crc: UInt32) {
            guard let result = try done.receive() else { throw DataPortError(.internal, "a deflate block ended without a result") }
            return try result.get()
        }
    }

    /// The deflate window: how much of the previous block a block may refer to.
    static let window = 1 << 15

    private let next: any ByteSink
    private let level: Int32
    private let framing: DeflateFraming
    private let threads: Int
    private let blockSize: Int
    private var block: [UInt8] = []
    private var previous: [UInt8] = []
    private var inFlight: [Running] = []
    private var started = false
    private var finished = false
    /// CRC-32 and length of the input so far (of the blocks written out).
    package private(set) var crc: UInt32 = 0
    package private(set) var count: Int64 = 0

    /// - Parameter level: ISA-L's level, 0-3 (see `ISALBlockCompressor`).
    package init(_ next: any ByteSink, level: Int32 = DeflateLevel.standard, framing: DeflateFraming = .raw,
                threads: Int = DeflateThreads.count, blockSize: Int = 1 << 18) {
        precondition(blockSize >= DeflateSink.window, "a block must hold a whole window")
        self.next = next
        self.level = level
        self.framing = framing
        self.threads = max(1, threads)
        self.blockSize = blockSize
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, blockSize - block.count)
            block.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if block.count == blockSize { try submit(last: false) }
        }
    }

    /// Compresses the last block, writes everything out (and the gzip trailer).
    package func finish() throws {
        guard !finished else { return }
        finished = true
        try submit(last: true)
        while !inFlight.isEmpty { try drainOne() }
        if framing == .gzip {
            var trailer: [UInt8] = []
            for i in 0..<4 { trailer.append(UInt8(crc >> (8 * UInt32(i)) & 0xFF)) }
            for i in 0..<4 { trailer.append(UInt8(UInt64(count) >> (8 * UInt64(i)) & 0xFF)) }
            try next.write(trailer)
        }
    }

    private func submit(last: Bool) throws {
        if !started {
            started = true
            // gzip header: no name, no time (deterministic), OS Unix; as zlib writes it.
            if framing == .gzip { try next.write([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]) }
        }
        let job = Job(input: block, previous: previous, last: last)
        previous = block
        block = []
        // A stream that filled one block is large: take the next block's room at once. A small
        // entry (most of a batch's) grows its one block as it goes instead of taking 256 KiB.
        if !last { block.reserveCapacity(blockSize) }
        // One thread, or an entry that fits in one block (most of them): no hand-over.
        if threads == 1 || (last && inFlight.isEmpty) {
            try emit(job, try job.compress(level: level))
            return
        }
        while inFlight.count >= 2 * threads { try drainOne() }
        let running = Running(job: job)
        inFlight.append(running)
        let level = level
        try DeflateWorkers.shared.run { running.run(level: level) }
    }

    private func drainOne() throws {
        let running = inFlight.removeFirst()
        try emit(running.job, try running.wait())
    }

    private func emit(_ job: Job, _ block: (output: [UInt8], crc: UInt32)) throws {
        crc = count == 0 ? block.crc : crc32Combine(crc, block.crc, job.input.count)
        count += Int64(job.input.count)
        try block.output.withUnsafeBytes { try next.write($0) }
    }

    deinit {
        // Blocks still running own their inputs; wait so that no work outlives the sink.
        for running in inFlight { _ = try? running.wait() }
    }
}

/// The threads that compress blocks, shared by every stream: a fixed number (`DeflateThreads`),
/// running nothing but compression, so a caller waiting for its blocks never holds up another's
/// (which Dispatch's pool, sized to the cores, could when every thread waits). They pull work from
/// one `HandOff`; each stream keeps at most `2 * threads` blocks in flight, so it stays short.
final class DeflateWorkers: Sendable {
    static let shared = DeflateWorkers(threads: DeflateThreads.count)
    /// Waiting work only: a block's buffers are released as soon as it is taken.
    private let queue = HandOff<@Sendable () -> Void>(capacity: 1024)

    private init(threads: Int) {
        for _ in 0..<threads {
            let thread = Thread { [queue] in
                // Never finished: the workers live as long as the process.
                while let work = try? queue.receive() { work() }
            }
            thread.name = "dataport.deflate"
            thread.start()
        }
    }

    func run(_ work: @escaping @Sendable () -> Void) throws {
        try queue.send(work)
    }
}

/// Compressors kept for reuse across blocks and entries: setting one up costs more than a small
/// entry's compression.
final class CompressorPool: Sendable {
    static let shared = CompressorPool()
    private let idle = Locked<[ISALBlockCompressor]>([])

    func take(level: Int32) throws -> ISALBlockCompressor {
        let reused = idle.withLock { idle in idle.lastIndex(where: { $0.level == level }).map { idle.remove(at: $0) } }
        return try reused ?? ISALBlockCompressor(level: level)
    }

    func give(_ compressor: ISALBlockCompressor) {
        idle.withLock { idle in if idle.count < 16 { idle.append(compressor) } }
    }
}
