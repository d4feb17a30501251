import CCrypto
import DataPortModel

/// The cryptographic primitives age uses, from OpenSSL's libcrypto (`Sources/CCrypto/shim.h`).
/// The only file of the module that touches C pointers: everything here takes and returns arrays.
enum Primitives {
    static func random(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard out.withUnsafeMutableBytes({ dataport_random($0.baseAddress, count) }) == 1 else {
            throw DataPortError(.internal, "the system's random number generator failed")
        }
        return out
    }

    /// X25519(scalar, point), or of the base point when `point` is nil; nil for a low-order point.
    static func x25519(_ scalar: [UInt8], _ point: [UInt8]? = nil) -> [UInt8]? {
        precondition(scalar.count == 32 && (point?.count ?? 32) == 32)
        var out = [UInt8](repeating: 0, count: 32)
        let ok = scalar.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { o in
                if let point {
                    return point.withUnsafeBytes { dataport_x25519(s.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.baseAddress?.assumingMemoryBound(to: UInt8.self), o.baseAddress?.assumingMemoryBound(to: UInt8.self)) }
                }
                return dataport_x25519(s.baseAddress?.assumingMemoryBound(to: UInt8.self), nil, o.baseAddress?.assumingMemoryBound(to: UInt8.self))
            }
        }
        return ok == 1 ? out : nil
    }

    /// HKDF-SHA-256 with 32 bytes of output.
    static func hkdf(_ ikm: [UInt8], salt: [UInt8], info: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let info = Array(info.utf8)
        let ok = ikm.withUnsafeBufferPointer { k in salt.withUnsafeBufferPointer { s in info.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { dataport_hkdf_sha256(k.baseAddress, k.count, s.baseAddress, s.count, i.baseAddress, i.count, $0.baseAddress) }
        } } }
        guard ok == 1 else { throw DataPortError(.internal, "HKDF-SHA-256 failed in libcrypto") }
        return out
    }

    static func hmacSHA256(key: [UInt8], _ data: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeBufferPointer { k in data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { dataport_hmac_sha256(k.baseAddress, k.count, d.baseAddress, d.count, $0.baseAddress) }
        } }
        guard ok == 1 else { throw DataPortError(.internal, "HMAC-SHA-256 failed in libcrypto") }
        return out
    }

    /// scrypt with r = 8, p = 1 and 32 bytes of output, as age uses it.
    static func scrypt(passphrase: [UInt8], salt: [UInt8], log2N: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = passphrase.withUnsafeBufferPointer { p in salt.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { dataport_scrypt(p.baseAddress, p.count, s.baseAddress, s.count, UInt32(log2N), 8, 1, $0.baseAddress) }
        } }
        guard ok == 1 else { throw DataPortError(.internal, "scrypt failed in libcrypto (out of memory?)") }
        return out
    }

    /// ChaCha20-Poly1305 encryption: the ciphertext followed by the 16-byte tag.
    static func seal(key: [UInt8], nonce: [UInt8], _ plaintext: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        let ok = key.withUnsafeBufferPointer { k in nonce.withUnsafeBufferPointer { n in out.withUnsafeMutableBufferPointer { o in
            dataport_chacha20poly1305(1, k.baseAddress, n.baseAddress, plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), plaintext.count, o.baseAddress)
        } } }
        precondition(ok == 1, "ChaCha20-Poly1305 encryption failed in libcrypto")
        return out
    }

    /// ChaCha20-Poly1305 decryption of ciphertext-and-tag, or nil when it does not authenticate.
    static func open(key: [UInt8], nonce: [UInt8], _ sealed: UnsafeRawBufferPointer) -> [UInt8]? {
        guard sealed.count >= 16 else { return nil }
        // One spare byte so that even an empty plaintext has storage to point at.
        var out = [UInt8](repeating: 0, count: sealed.count - 16 + 1)
        let ok = key.withUnsafeBufferPointer { k in nonce.withUnsafeBufferPointer { n in out.withUnsafeMutableBufferPointer { o in
            dataport_chacha20poly1305(0, k.baseAddress, n.baseAddress, sealed.baseAddress?.assumingMemoryBound(to: UInt8.self), sealed.count, o.baseAddress)
        } } }
        out.removeLast()
        return ok == 1 ? out : nil
    }

    static func seal(key: [UInt8], nonce: [UInt8], _ plaintext: [UInt8]) -> [UInt8] {
        plaintext.withUnsafeBytes { seal(key: key, nonce: nonce, $0) }
    }

    static func open(key: [UInt8], nonce: [UInt8], _ sealed: [UInt8]) -> [UInt8]? {
        sealed.withUnsafeBytes { open(key: key, nonce: nonce, $0) }
    }
}
