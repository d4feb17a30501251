import DataPortModel
import Foundation

/// An open log file and the length to read it to (its length when opened).
final class LogFile {
    let fd: Int32
    let length: Int64
    let name: String
    let location: String

    /// Takes over `fd` (closed with the file).
    init(fd: Int32, name: String, location: String) throws {
        self.name = name
        self.location = location
        self.fd = fd
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw DataPortError(.store, "cannot read log file: \(message)", at: "\(location): \(name)")
        }
        length = Int64(info.st_size)
    }

    deinit { Glibc.close(fd) }
}

/// Reads a `LogFile` line by line from its start to its snapshot length, with one reused buffer.
struct LogLines {
    private let file: LogFile
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0, end = 0
    private var offset: Int64 = 0
    /// The 1-based number of the line last returned.
    private(set) var number = 0

    init(_ file: LogFile) { self.file = file }

    /// Fills `line` with the next line (without its `\n` or `\r\n`); false at the end.
    /// Where the line last returned lies in the file, line end included.
    private(set) var range: Range<Int64> = 0..<0

    mutating func next(into line: inout [UInt8]) throws -> Bool {
        line.removeAll(keepingCapacity: true)
        let first = offset - Int64(end - start)
        defer { range = first..<(offset - Int64(end - start)) }
        var sawAny = false
        while true {
            if start == end {
                guard try fill() else {
                    guard sawAny else { return false }
                    break
                }
            }
            sawAny = true
            if let nl = buffer[start..<end].firstIndex(of: 10) {
                // Past the length cap the bytes are not kept: the line is reported malformed anyway.
                if line.count <= AccessLogConnector.maxLineLength { line.append(contentsOf: buffer[start..<nl]) }
                start = nl + 1
                break
            }
            if line.count <= AccessLogConnector.maxLineLength { line.append(contentsOf: buffer[start..<end]) }
            start = end
        }
        if line.last == 13 { line.removeLast() }
        number += 1
        return true
    }

    private mutating func fill() throws -> Bool {
        let remaining = file.length - offset
        guard remaining > 0 else { return false }
        let want = Int(min(Int64(buffer.count), remaining))
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, want, off_t(offset)) }
            if n > 0 {
                start = 0; end = n; offset += Int64(n)
                return true
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            throw DataPortError(.store, "cannot read log file: \(String(cString: strerror(errno)))", at: "\(file.location): \(file.name)")
        }
    }
}

