// libFuzzer target: the CSV data-file reader.
import DataPortFormats
import DataPortIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    fuzzDataFile(data, size) { try CSVFormat().makeReader(for: $0, from: MemorySource($1)) }
    return 0
}
