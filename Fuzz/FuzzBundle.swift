// libFuzzer target: a whole bundle read and verified (zip or tar.gz, manifest, checksums, JSON data files).
import DataPortBundle
import DataPortIO
#if canImport(Glibc)
import Glibc
#endif

let scratchPath = "/tmp/dataport-fuzz-bundle-\(getpid()).zip"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBundle(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return 0 }
    _ = write(fd, data, size)
    close(fd)
    guard let bundle = try? BundleReader(path: scratchPath) else { return 0 }
    _ = try? bundle.verify()
    return 0
}
