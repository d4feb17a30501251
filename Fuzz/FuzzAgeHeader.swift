// libFuzzer target: the age header parser, the stanza unwrapping and the STREAM decryption of
// encrypted bundles (formats/encryption.md).
import DataPortAge
import DataPortIO

/// The C2SP age specification's example identity; the seeds are encrypted to its recipient, so
/// mutations reach the MAC check and the payload, not only the parser.
nonisolated(unsafe) let identity = try! X25519Identity("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgeHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let (header, rest) = try? AgeHeader.parse(bytes) else { return 0 }
    // The parser is strict, so what it accepts is canonical: it serializes to the bytes it read.
    let serialized = header.serialized()
    guard bytes.starts(with: serialized), bytes[serialized.count...].starts(with: rest) else { fatalError("age header does not round-trip") }
    // A small scrypt cap keeps each input fast; the limit path is exercised by larger factors.
    let keys = AgeDecryption(identities: [identity], passphrase: Array("fuzz".utf8), maxWorkFactor: 4)
    guard let source = try? AgeDecryptingSource(MemorySource(bytes), decryption: keys, name: "fuzz") else { return 0 }
    var buffer = [UInt8](repeating: 0, count: 4096)
    while let n = try? buffer.withUnsafeMutableBytes({ try source.read(into: $0) }), n > 0 {}
    return 0
}
