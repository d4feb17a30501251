// libFuzzer target: the strict streaming JSON parser, event by event and as a document.
import DataPortIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let reader = JSONReader(InputBuffer(MemorySource(bytes), capacity: 7), name: "fuzz.json")
    var events = 0
    while events < 1_000_000, let e = try? reader.next(), e != .end { events += 1 }
    if let value = try? JSONValue.parse(bytes, name: "fuzz.json") {
        // What parses must serialize and parse back to the same value.
        for pretty in [true, false] {
            guard let again = try? JSONValue.parse(Array(value.serialized(pretty: pretty).utf8), name: "again.json"), again == value else {
                fatalError("JSON does not round-trip")
            }
        }
    }
    return 0
}
