// libFuzzer target: the JSON data-file reader (header checked against the manifest's dataset, typed records).
import DataPortFormats
import DataPortIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONDataFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    fuzzDataFile(data, size) { try JSONFormat().makeReader(for: $0, from: MemorySource($1)) }
    return 0
}
