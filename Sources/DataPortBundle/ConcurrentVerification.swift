import DataPortFormats
import DataPortIO
import DataPortModel
import Dispatch
import Foundation
import Synchronization

/// How many threads check a zip bundle's files: `DATAPORT_VERIFY_THREADS` (1-64, for tests and
/// measurements) or the number of active cores; with 1 the files are checked one after the other.
enum VerifyThreads {
    static let count: Int = {
        if let text = ProcessInfo.processInfo.environment["DATAPORT_VERIFY_THREADS"], let n = Int(text), (1...64).contains(n) { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
}

/// `verify` of a zip bundle on several threads, with the outcome of checking the files one by one.
///
/// `threads` workers take the files as whole checks (reading a page to its end, parsing a CSV
/// file), then the segments of the JSON data files (`JSONSegmentation`), which one more thread
/// inflates, checksums and cuts, at most `2 * threads` segments ahead. The calling thread takes the
/// outcomes in the order of the checks and reports progress: the first check that failed decides
/// the error, as it does one by one. A check's own failure is that error; a cut file that does
/// not check out (a segment fails, its bytes fail their checksum, the counts disagree) stops the
/// threads, and it and every check after it not yet done are run again here, one by one, so the
/// error is the one the plain reading gives, whatever the timing.
final class ConcurrentVerification {
    private struct Status: Sendable {
        var records: Int64 = 0
        var segmentsSent = 0
        var segmentsCounted = 0
        /// A whole check returned, or every segment of a cut file was sent.
        var finished = false
        var failure: (any Error)?
        var complete: Bool { failure != nil || (finished && segmentsCounted == segmentsSent) }
    }

    private let bundle: BundleReader
    private let checks: [FileCheck]
    /// Per check: how its file is cut, for a JSON data file; `nil` for a whole check.
    private let cuts: [JSONSegmentation?]
    private let threadCount: Int
    private let status: Locked<[Status]>
    /// Signalled at every change of `status`.
    private let changed = DispatchSemaphore(value: 0)
    private let segments: HandOff<(check: Int, segment: JSONSegment)>
    private let nextWhole = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private var threads: [WorkerThread<Void>] = []

    init(bundle: BundleReader, checks: [FileCheck], threads: Int) {
        self.bundle = bundle
        self.checks = checks
        cuts = checks.map { check in
            guard case .parse(let adapter) = check.kind, let d = check.dataset else { return nil }
            return JSONSegmentation(adapter: adapter, dataset: d.dataset)
        }
        threadCount = threads
        status = Locked(Array(repeating: Status(), count: checks.count))
        segments = HandOff(capacity: 2 * threads)
    }

    /// Checks every file; adds them to `report`, or throws the first failure in the checks' order.
    func run(counter: ProgressCounter, into report: inout VerificationReport) throws {
        start()
        defer { stop() }
        for k in checks.indices {
            let check = checks[k]
            if check.dataset != nil { counter.begin(check.file.path) }
            defer { if check.dataset != nil { counter.fileDone(bytes: check.file.size) } }
            let (outcome, reported) = wait(for: k, counter: counter)
            if let failure = outcome.failure, cuts[k] == nil { throw failure }
            if outcome.failure == nil, cuts[k] == nil || outcome.records == check.dataset?.recordCount {
                counter.record(count: outcome.records - reported)
                report.add(check, records: outcome.records)
                continue
            }
            stop()
            let records = try bundle.run(check, counter: nil)
            counter.record(count: max(0, records - reported))
            report.add(check, records: records)
            return try settleRest(after: k, counter: counter, into: &report)
        }
    }

    /// After the threads stopped: the checks after `k`, taken as done where they are, else run here.
    private func settleRest(after k: Int, counter: ProgressCounter, into report: inout VerificationReport) throws {
        for j in checks.indices where j > k {
            let check = checks[j]
            let outcome = status.withLock { $0[j] }
            if cuts[j] == nil, outcome.complete {
                if let failure = outcome.failure { throw failure }
                if check.dataset != nil {
                    counter.begin(check.file.path)
                    counter.record(count: outcome.records)
                    counter.fileDone(bytes: check.file.size)
                }
                report.add(check, records: outcome.records)
            } else {
                report.add(check, records: try bundle.run(check, counter: counter))
            }
        }
    }

    /// Waits until check `k` is complete, telling `counter` of the records of its segments as they are counted.
    private func wait(for k: Int, counter: ProgressCounter) -> (Status, reported: Int64) {
        var reported: Int64 = 0
        while true {
            let s = status.withLock { $0[k] }
            if cuts[k] != nil, s.failure == nil, s.records > reported {
                counter.record(count: s.records - reported)
                reported = s.records
            }
            if s.complete { return (s, reported) }
            changed.wait()
        }
    }

    private func update(_ k: Int, _ body: (inout Status) -> Void) {
        status.withLock { body(&$0[k]) }
        changed.signal()
    }

    private func start() {
        let whole = checks.indices.filter { cuts[$0] == nil }
        let cut = checks.indices.filter { cuts[$0] != nil }
        for _ in 0..<threadCount {
            threads.append(WorkerThread("dataport.verify", lending: { self.work(whole: whole) }))
        }
        if cut.isEmpty { segments.finish() } else {
            threads.append(WorkerThread("dataport.verify.cut", lending: { self.produce(cut) }))
        }
    }

    /// Stops the threads (each finishes the check in its hands) and waits for them.
    private func stop() {
        guard !threads.isEmpty else { return }
        stopped.store(true, ordering: .relaxed)
        segments.cancel()
        for t in threads { _ = try? t.join() }
        threads = []
    }

    /// A worker: whole checks while there are any, then segments until there are no more.
    private func work(whole: [Int]) {
        while !stopped.load(ordering: .relaxed) {
            let i = nextWhole.wrappingAdd(1, ordering: .relaxed).oldValue
            guard i < whole.count else { break }
            let k = whole[i]
            let result = Result { try wholeCheck(checks[k]) }
            update(k) { s in
                switch result {
                case .success(let n): s.records = n; s.finished = true
                case .failure(let e): s.failure = e
                }
            }
        }
        while let item = (try? segments.receive()) ?? nil {
            let (k, segment) = item
            guard case .parse(let adapter) = checks[k].kind, let d = checks[k].dataset, let cut = cuts[k] else { continue }
            let result = Result { try cut.count(segment, adapter: adapter, dataset: d.dataset) }
            update(k) { s in
                switch result {
                case .success(let n): s.records += n; s.segmentsCounted += 1
                case .failure(let e): if s.failure == nil { s.failure = e }
                }
            }
        }
    }

    /// A check whole, on a worker: a file only read needs no read-ahead thread of its own.
    private func wholeCheck(_ check: FileCheck) throws -> Int64 {
        guard case .read = check.kind else { return try bundle.run(check, counter: nil) }
        _ = try drain(try bundle.openChecked(check.file))
        return 0
    }

    /// The cutting thread: reads each cut file in turn and hands on its segments.
    private func produce(_ cut: [Int]) {
        for k in cut where !stopped.load(ordering: .relaxed) {
            do {
                try JSONSegmentation.cut(try bundle.openChecked(checks[k].file)) { segment in
                    update(k) { $0.segmentsSent += 1 }
                    try segments.send((k, segment))
                }
                update(k) { $0.finished = true }
            } catch {
                update(k) { s in if s.failure == nil { s.failure = error } }
            }
        }
        segments.finish()
    }
}
