import Foundation

/// How far a long operation has come. Carries counts and names of datasets, never personal data.
public struct ProgressEvent: Sendable {
    /// `export`, `import`, `verify`, `convert`.
    public var phase: String
    /// The dataset (and format) being worked on, if any.
    public var dataset: String?
    /// Records done so far in this phase.
    public var records: Int64
    /// Bytes done so far in this phase (uncompressed data).
    public var bytes: Int64
    /// Records expected in this phase, where known (from the manifest).
    public var totalRecords: Int64?
    /// Seconds since the phase began.
    public var elapsed: Double
    /// The last event of the phase.
    public var finished: Bool
}

/// Receives progress events; the CLI draws them on a terminal or prints them as JSON lines.
public protocol ProgressObserver: AnyObject {
    func report(_ event: ProgressEvent)
}

/// Counts records and bytes of one phase and tells an observer, at most every `interval` records.
public final class ProgressCounter {
    private let observer: (any ProgressObserver)?
    private let phase: String
    private let start = Date()
    private let totalRecords: Int64?
    public private(set) var records: Int64 = 0
    public private(set) var bytes: Int64 = 0
    private var dataset: String?
    private var sinceLast = 0
    private static let interval = 16_384

    public init(phase: String, totalRecords: Int64? = nil, observer: (any ProgressObserver)?) {
        self.phase = phase; self.totalRecords = totalRecords; self.observer = observer
    }

    private func emit(finished: Bool = false) {
        observer?.report(ProgressEvent(phase: phase, dataset: dataset, records: records, bytes: bytes, totalRecords: totalRecords,
                                       elapsed: Date().timeIntervalSince(start), finished: finished))
    }

    /// A new dataset (or file) begins.
    public func begin(_ dataset: String) {
        self.dataset = dataset
        emit()
    }

    /// One more record.
    @inline(__always) public func record() {
        records += 1
        sinceLast += 1
        if sinceLast >= Self.interval, observer != nil { sinceLast = 0; emit() }
    }

    /// `count` more records at once (counted elsewhere, such as on other threads).
    public func record(count: Int64) {
        records += count
        sinceLast += Int(count)
        if sinceLast >= Self.interval, observer != nil { sinceLast = 0; emit() }
    }

    /// A file of `size` bytes is complete.
    public func fileDone(bytes size: Int64) {
        bytes += size
        emit()
    }

    /// The phase is over.
    public func finish() {
        dataset = nil
        emit(finished: true)
    }
}
