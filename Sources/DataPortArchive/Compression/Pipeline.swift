import DataPortIO
import DataPortModel
import Dispatch
import Foundation

/// A sink that hands its bytes, in chunks, to a stage running on another thread, so that encoding
/// (on the caller's thread) and checksumming and compression (on the other) use both cores.
/// Order is kept; at most `depth` chunks wait, so memory stays bounded. The output is exactly what
/// running the stage inline would give.
public final class PipelinedSink: ByteSink, @unchecked Sendable {
    private let stage: (UnsafeRawBufferPointer) throws -> Void
    private let queue = DispatchQueue(label: "dataport.pipeline")
    private let slots: DispatchSemaphore
    private let lock = NSLock()
    private var failure: (any Error)?
    @exclusivity(unchecked) private var chunk: [UInt8] = []
    private let chunkSize: Int

    /// - Parameters:
    ///   - stage: runs on the background thread, once per chunk, in order.
    public init(chunkSize: Int = 1 << 18, depth: Int = 4, stage: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.stage = stage
        self.chunkSize = chunkSize
        slots = DispatchSemaphore(value: depth)
    }

    private func checkFailure() throws {
        lock.lock()
        let f = failure
        lock.unlock()
        if let f { throw f }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, chunkSize - chunk.count)
            chunk.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if chunk.count == chunkSize { try submit() }
        }
    }

    /// Whether a chunk went to the other thread: a small file that never fills one is done inline.
    private var submitted = false

    private func submit() throws {
        submitted = true
        try checkFailure()
        let full = chunk
        chunk = []
        chunk.reserveCapacity(chunkSize)
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            lock.lock()
            let failed = failure != nil
            lock.unlock()
            guard !failed else { return }
            do { try full.withUnsafeBytes { try stage($0) } } catch {
                lock.lock()
                failure = error
                lock.unlock()
            }
        }
    }

    /// Sends what is left and waits for the stage to finish everything; rethrows its error.
    public func finish() throws {
        if !submitted {
            // Nothing is running on the other thread: the stage runs here, on the same bytes in the same order.
            guard !chunk.isEmpty else { return }
            let last = chunk
            chunk = []
            return try last.withUnsafeBytes { try stage($0) }
        }
        if !chunk.isEmpty { try submit() }
        queue.sync {}
        try checkFailure()
    }
}

/// A source that reads ahead on another thread: the stages below it (inflate, CRC-32, SHA-256)
/// run there while the caller parses. Chunks arrive in order; at most `depth` wait. Dropping the
/// source stops the thread, also when the caller gave up half-way (the thread holds only the
/// shared state, never the source itself).
public final class ReadAheadSource: ByteSource, @unchecked Sendable {
    /// What the reading thread and the caller share, under `lock`.
    private final class State: @unchecked Sendable {
        let inner: any ByteSource
        let lock = NSCondition()
        var ready: [[UInt8]] = []
        var finished = false
        var failure: (any Error)?
        var stopped = false
        init(_ inner: any ByteSource) { self.inner = inner }
    }

    private let state: State
    @exclusivity(unchecked) private var current: [UInt8] = []
    @exclusivity(unchecked) private var position = 0
    private let depth: Int
    private let chunkSize: Int
    private var started = false

    public init(_ inner: any ByteSource, chunkSize: Int = 1 << 18, depth: Int = 4) {
        state = State(inner)
        self.depth = depth
        self.chunkSize = chunkSize
    }

    deinit {
        let s = state
        s.lock.lock()
        s.stopped = true
        s.lock.broadcast()
        while started && !s.finished { s.lock.wait() }
        s.lock.unlock()
    }

    private func start() {
        started = true
        let (s, depth, chunkSize) = (state, depth, chunkSize)
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            while true {
                s.lock.lock()
                while s.ready.count >= depth && !s.stopped { s.lock.wait() }
                let stop = s.stopped
                s.lock.unlock()
                if stop { break }
                do {
                    let n = try buffer.withUnsafeMutableBytes { try s.inner.read(into: $0) }
                    s.lock.lock()
                    if n == 0 { s.lock.unlock(); break }
                    s.ready.append(Array(buffer[0..<n]))
                    s.lock.broadcast()
                    s.lock.unlock()
                } catch {
                    s.lock.lock()
                    s.failure = error
                    s.lock.unlock()
                    break
                }
            }
            s.lock.lock()
            s.finished = true
            s.lock.broadcast()
            s.lock.unlock()
        }
    }

    public func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        if position == current.count {
            if !started { start() }
            let s = state
            s.lock.lock()
            while s.ready.isEmpty && !s.finished && s.failure == nil { s.lock.wait() }
            if s.ready.isEmpty {
                let f = s.failure
                s.lock.unlock()
                if let f { throw f }
                return 0
            }
            current = s.ready.removeFirst()
            position = 0
            s.lock.broadcast()
            s.lock.unlock()
        }
        let n = min(out.count, current.count - position)
        current.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[position..<position + n])) }
        position += n
        return n
    }
}
