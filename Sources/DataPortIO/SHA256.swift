import CCrypto

/// SHA-256 over streamed bytes (OpenSSL's libcrypto); also a sink.
public final class SHA256: ByteSink {
    private let context: OpaquePointer
    public private(set) var count: Int64 = 0

    public init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        count += Int64(bytes.count)
        EVP_DigestUpdate(context, bytes.baseAddress, bytes.count)
    }

    /// The first 8 bytes of the SHA-256 of `bytes`, as a big-endian integer: for hashing many small
    /// messages (one per record) without allocating a context each time.
    public static func prefix64(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        dataport_sha256_prefix64(bytes.baseAddress, bytes.count)
    }

    /// The digest as lower-case hex. Call once.
    public func finalizeHex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return DataPortIO.hex(digest)
    }

    public static func hex(of bytes: [UInt8]) -> String {
        let h = SHA256()
        bytes.withUnsafeBytes { h.write($0) }
        return h.finalizeHex()
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// Lower-case hex of bytes.
public func hex(_ bytes: [UInt8]) -> String {
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes { out.append(hexDigits[Int(b >> 4)]); out.append(hexDigits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

/// MD5 (libcrypto), only as far as a SQL direct load's row digest needs it: both servers have
/// `md5()` built in. Not for anything that must resist an adversary.
package enum MD5 {
    /// The first 8 bytes of MD5(`message`), as a big-endian integer.
    package static func prefix64(_ message: UnsafeBufferPointer<UInt8>) -> UInt64 {
        dataport_md5_prefix64(message.baseAddress, message.count)
    }
}
