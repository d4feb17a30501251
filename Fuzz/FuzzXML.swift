// libFuzzer target: the XML data-file reader (libxml2's reader, hardened).
import DataPortFormats
import DataPortIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzXML(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    fuzzDataFile(data, size) { try XMLFormat().makeReader(for: $0, from: MemorySource($1)) }
    return 0
}
