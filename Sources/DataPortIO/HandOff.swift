import DataPortModel
import Dispatch
import Foundation
import Synchronization

/// A bounded, ordered queue between threads: DataPort's one concurrency primitive. Read-ahead
/// (bundle files, import records), pipelined sinks (deflate and checksums beside encoding) and
/// format lanes are each a `WorkerThread` at one end of a `HandOff`.
///
/// At most `capacity` elements wait, so memory stays bounded: `send` blocks while the queue is
/// full, `receive` while it is empty. Any number of threads may send and receive (a pool of
/// workers pulling blocks from one queue is fine); elements come out in the order they went in.
/// Either end can stop it:
/// - `finish(throwing:)` (the sending side is done): receivers get every element sent, then `nil`,
///   or the error given (a read that failed half-way), again on every later `receive`.
/// - `cancel(throwing:)` (either side gives up, e.g. a stage failed or the reader was dropped):
///   waiting elements are dropped and every `send` and `receive` from then on throws that error
///   (`Cancelled` when none is given), so a producer blocked on a full queue wakes and stops.
/// The first of the two wins; later calls of either are ignored.
package final class HandOff<Element: Sendable>: Sendable {
    /// What `send` and `receive` throw after `cancel()` without an error of its own.
    package struct Cancelled: Error {}

    private struct State {
        var queue: [Element] = []
        var finished = false
        var failure: (any Error)?
        var cancelled: (any Error)?
    }

    private let state = Mutex(State())
    // Blocking is done with two counting semaphores, the state's changes under the mutex. `items`
    // holds a token per queued element, `slots` one per free place; the end (`finish`, `cancel`)
    // adds one wake-up token, which each woken thread passes on to the next waiter.
    // Both start at 0 (libdispatch refuses to free a semaphore below its initial value).
    private let items = DispatchSemaphore(value: 0)
    private let slots = DispatchSemaphore(value: 0)
    package let capacity: Int

    package init(capacity: Int) {
        precondition(capacity >= 1, "a hand-off holds at least one element")
        self.capacity = capacity
        for _ in 0..<capacity { slots.signal() }
    }

    /// Queues `element`, waiting while the queue is full. Throws the cancelling error instead once
    /// the hand-off is cancelled; sending after `finish` is a bug, refused as an internal error.
    package func send(_ element: Element) throws {
        slots.wait()
        let refused: (any Error)? = state.withLock { s in
            if let e = s.cancelled { return e }
            if s.finished { return DataPortError(.internal, "a value was handed on after the end of its queue") }
            s.queue.append(element)
            return nil
        }
        if let refused {
            slots.signal()
            throw refused
        }
        items.signal()
    }

    /// The next element, waiting while the queue is empty; `nil` once it is finished and drained.
    /// Throws the finishing error after the last element, or the cancelling error.
    package func receive() throws -> Element? {
        items.wait()
        return try take()
    }

    /// What `receive(waitingAtMost:)` came to.
    package enum Receipt {
        case element(Element)
        case end
        case timedOut
    }

    /// `receive()`, waiting at most `seconds` for an element (or the end).
    package func receive(waitingAtMost seconds: Double) throws -> Receipt {
        guard items.wait(timeout: .now() + seconds) == .success else { return .timedOut }
        return try take().map(Receipt.element) ?? .end
    }

    /// Takes the next element after `items` was waited for.
    private func take() throws -> Element? {
        let taken: Result<Element?, any Error> = state.withLock { s in
            if let e = s.cancelled { return .failure(e) }
            if !s.queue.isEmpty { return .success(s.queue.removeFirst()) }
            // Woken with nothing queued: only the end's token does that.
            assert(s.finished)
            return s.failure.map { .failure($0) } ?? .success(nil)
        }
        if case .success(.some) = taken { slots.signal() } else { items.signal() }
        return try taken.get()
    }

    /// No more elements: receivers drain the queue, then get `nil`, or `error` thrown.
    package func finish(throwing error: (any Error)? = nil) {
        let first = state.withLock { s in
            guard !s.finished, s.cancelled == nil else { return false }
            s.finished = true
            s.failure = error
            return true
        }
        if first { items.signal() }
    }

    /// Gives up: drops what waits; every `send` and `receive` from now on throws `error`.
    package func cancel(throwing error: any Error = Cancelled()) {
        let dropped: [Element]? = state.withLock { s in
            guard s.cancelled == nil else { return nil }
            s.cancelled = error
            defer { s.queue = [] }
            return s.queue
        }
        guard dropped != nil else { return }
        slots.signal()
        items.signal()
    }
}

/// What consumers are done with, handed back so that the thread that made it frees it. glibc
/// returns memory freed on another thread to the arena it came from, under that arena's lock: the
/// lanes dropping each chunk of records they had written made malloc and free about a tenth of a
/// 1M-row export's CPU, the reader's allocations and the lanes' frees contending for one arena.
package final class ReturnQueue<Element: Sendable>: Sendable {
    private let returned = Mutex<[Element]>([])

    package init() {}

    /// Hands `element` back (a consumer's thread); it is freed at the next `drain`.
    package func giveBack(_ element: Element) {
        returned.withLock { $0.append(element) }
    }

    /// Frees, on the calling thread, what was handed back (the producer, between two sends).
    package func drain() {
        var taken: [Element] = []
        returned.withLock { swap(&$0, &taken) }
        _ = consume taken
    }
}

/// Work running on a thread of its own until someone `join`s it for its outcome: the other end of
/// a `HandOff` (the stage a pipelined sink feeds, the reader a read-ahead drains).
package final class WorkerThread<Outcome: Sendable>: Sendable {
    private let outcome = HandOff<Result<Outcome, any Error>>(capacity: 1)
    private let joined = Mutex<Result<Outcome, any Error>?>(nil)

    /// Starts `body` on another thread (from libdispatch's pool: a worker per zip entry costs no
    /// thread creation). `body` may use what is not `Sendable`, such as a sink, a reader or a
    /// format writer: the caller lends it and does not touch it again until `join()` has returned.
    /// That is the contract the compiler cannot check, and the only one DataPort relies on.
    package init(_ label: String, lending body: @escaping () throws -> Outcome) {
        let lent = Lent(body)
        let outcome = outcome
        DispatchQueue(label: label).async {
            let result = Result { try lent.value() }
            try? outcome.send(result)
            outcome.finish()
        }
    }

    /// Waits for `body` to return; its result, or rethrows what it threw. May be called again,
    /// from any thread: the same outcome.
    @discardableResult
    package func join() throws -> Outcome {
        try joined.withLock { j in
            if j == nil {
                // The body's thread always sends exactly one outcome, and nothing cancels `outcome`.
                j = (try? outcome.receive()) ?? .failure(HandOff<Outcome>.Cancelled())
            }
            return j!
        }.get()
    }
}

/// The body a `WorkerThread` runs, handed to its thread. Unchecked, because what a body captures is lent
/// (see `WorkerThread.init`): the one place in DataPort where the compiler takes that on trust.
private struct Lent<Body>: @unchecked Sendable {
    let value: Body
    init(_ value: Body) { self.value = value }
}

/// A value behind a `Mutex`, in a class, so that escaping closures (a batch's jobs) can share it.
package final class Locked<Value>: Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: sending Value) { mutex = Mutex(value) }

    package func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        try mutex.withLock(body)
    }
}
