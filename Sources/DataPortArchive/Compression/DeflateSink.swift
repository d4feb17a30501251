import DataPortIO
import DataPortModel
import Dispatch
import Foundation

/// How many threads compress one deflate stream: `DATAPORT_DEFLATE_THREADS` (1-64, for tests and
/// measurements) or the number of active cores. The output does not depend on it.
public enum DeflateThreads {
    public static let count: Int = {
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
public final class DeflateSink: ByteSink {
    /// One block on its way through a worker.
    private final class Job: @unchecked Sendable {
        let input: [UInt8]
        /// The previous block's input, whose last 32 KiB prime the window (empty for the first).
        let previous: [UInt8]
        let last: Bool
        var output: [UInt8] = []
        var crc: UInt32 = 0
        var failure: (any Error)?
        let done = DispatchSemaphore(value: 0)

        init(input: [UInt8], previous: [UInt8], last: Bool) {
            self.input = input; self.previous = previous; self.last = last
        }

        func run(level: Int32) {
            let compressor = CompressorPool.shared.take(level: level)
            defer { CompressorPool.shared.give(compressor) }
            do {
                output.reserveCapacity(input.count / 4 + 64)
                try input.withUnsafeBytes { block in
                    try previous.withUnsafeBytes { prev in
                        let dictionary = UnsafeRawBufferPointer(rebasing: prev[max(0, prev.count - DeflateSink.window)...])
                        try compressor.compress(block, dictionary: dictionary, last: last, into: &output)
                    }
                    crc = crc32(0, block)
                }
            } catch { failure = error }
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
    private var inFlight: [Job] = []
    private var started = false
    private var finished = false
    /// CRC-32 and length of the input so far (of the blocks written out).
    public private(set) var crc: UInt32 = 0
    public private(set) var count: Int64 = 0

    /// - Parameter level: ISA-L's level, 0-3 (see `ISALBlockCompressor`).
    public init(_ next: any ByteSink, level: Int32 = 1, framing: DeflateFraming = .raw,
                threads: Int = DeflateThreads.count, blockSize: Int = 1 << 18) {
        precondition(blockSize >= DeflateSink.window, "a block must hold a whole window")
        self.next = next
        self.level = level
        self.framing = framing
        self.threads = max(1, threads)
        self.blockSize = blockSize
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, blockSize - block.count)
            block.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if block.count == blockSize { try submit(last: false) }
        }
    }

    /// Compresses the last block, writes everything out (and the gzip trailer).
    public func finish() throws {
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
            job.run(level: level)
            try emit(job)
            return
        }
        while inFlight.count >= 2 * threads { try drainOne() }
        inFlight.append(job)
        let level = level
        DeflateWorkers.shared.run { job.run(level: level); job.done.signal() }
    }

    private func drainOne() throws {
        let job = inFlight.removeFirst()
        job.done.wait()
        try emit(job)
    }

    private func emit(_ job: Job) throws {
        if let failure = job.failure { throw failure }
        crc = count == 0 ? job.crc : crc32Combine(crc, job.crc, job.input.count)
        count += Int64(job.input.count)
        try job.output.withUnsafeBytes { try next.write($0) }
    }

    deinit {
        // Blocks still running own their inputs; wait so that no work outlives the sink.
        for job in inFlight { job.done.wait() }
    }
}

/// The threads that compress blocks, shared by every stream: a fixed number (`DeflateThreads`),
/// running nothing but compression, so a caller waiting for its blocks never holds up another's
/// (which Dispatch's pool, sized to the cores, could when every thread waits).
final class DeflateWorkers: @unchecked Sendable {
    static let shared = DeflateWorkers(threads: DeflateThreads.count)
    private let condition = NSCondition()
    /// Waiting work only: a block's buffers are released as soon as it is taken.
    private var queue: [@Sendable () -> Void] = []

    private init(threads: Int) {
        for _ in 0..<threads {
            let thread = Thread { [unowned self] in
                while true { take()() }
            }
            thread.name = "dataport.deflate"
            thread.start()
        }
    }

    func run(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        queue.append(work)
        condition.signal()
        condition.unlock()
    }

    private func take() -> @Sendable () -> Void {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty { condition.wait() }
        // At most a few blocks per stream wait, so removing the first is cheap.
        return queue.removeFirst()
    }
}

/// Compressors kept for reuse across blocks and entries: setting one up costs more than a small
/// entry's compression.
final class CompressorPool: @unchecked Sendable {
    static let shared = CompressorPool()
    private let lock = NSLock()
    private var idle: [ISALBlockCompressor] = []

    func take(level: Int32) -> ISALBlockCompressor {
        lock.lock()
        defer { lock.unlock() }
        if let i = idle.lastIndex(where: { $0.level == level }) { return idle.remove(at: i) }
        return ISALBlockCompressor(level: level)
    }

    func give(_ compressor: ISALBlockCompressor) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < 16 { idle.append(compressor) }
    }
}
