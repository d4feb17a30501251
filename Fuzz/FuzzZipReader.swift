// libFuzzer target: the defensive zip reader (central directory, local headers, inflate, CRC-32).
import DataPortBundle
import DataPortIO
#if canImport(Glibc)
import Glibc
#endif

/// ZipReader reads from a path, so each input is written to one scratch file per process.
let scratchPath = "/tmp/dataport-fuzz-zip-\(getpid()).zip"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZipReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return 0 }
    _ = write(fd, data, size)
    close(fd)
    guard let zip = try? ZipReader(path: scratchPath) else { return 0 }
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    for name in zip.entryNames {
        guard let source = try? zip.open(name) else { continue }
        // Read at most 64 MiB per entry: the reader must stop a bomb well before that.
        var total = 0
        while total < 64 << 20, let n = try? buffer.withUnsafeMutableBytes({ try source.read(into: $0) }), n > 0 { total += n }
    }
    return 0
}
