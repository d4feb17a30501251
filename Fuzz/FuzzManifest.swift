// libFuzzer target: the manifest parser (strict JSON, then every member checked).
import DataPortBundle

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let manifest = try? Manifest.parse(bytes, name: "manifest.json") {
        // What parses must serialize and parse back to the same manifest.
        guard let again = try? Manifest.parse(manifest.serialized(), name: "manifest.json"), again == manifest else {
            fatalError("manifest does not round-trip")
        }
    }
    return 0
}
