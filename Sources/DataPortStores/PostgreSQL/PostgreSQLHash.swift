/// PostgreSQL's 64-bit hash of a text value with a seed, `hashtextextended(text, seed)` under a
/// deterministic collation: Bob Jenkins' lookup3 over the text's bytes, as a little-endian server
/// computes it (hash partitioning keeps it stable across versions, 11 and later). A big-endian
/// server computes other values, which the session finds by asking once (`PostgreSQLSession.hashesAlike`).
enum PostgreSQLHash {
    static func hash(_ key: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
        var a: UInt32 = 0x9e37_79b9 &+ UInt32(truncatingIfNeeded: key.count) &+ 3_923_095
        var b = a, c = a
        if seed != 0 {
            a &+= UInt32(truncatingIfNeeded: seed >> 32)
            b &+= UInt32(truncatingIfNeeded: seed)
            mix(&a, &b, &c)
        }
        var i = 0, left = key.count
        /// Up to 4 bytes from `at` (of the `n` left), the first one lowest.
        func word(_ at: Int, _ n: Int) -> UInt32 {
            if n >= 4 { return UInt32(littleEndian: UnsafeRawPointer(key.baseAddress! + at).loadUnaligned(as: UInt32.self)) }
            var w: UInt32 = 0
            for j in 0..<n { w |= UInt32(key[at + j]) << (8 * UInt32(j)) }
            return w
        }
        while left >= 12 {
            a &+= word(i, 4); b &+= word(i + 4, 4); c &+= word(i + 8, 4)
            mix(&a, &b, &c)
            i += 12; left -= 12
        }
        // The last 11 bytes at most: the lowest byte of c stays for the length (which went in first).
        if left > 0 { a &+= word(i, left) }
        if left > 4 { b &+= word(i + 4, left - 4) }
        if left > 8 { c &+= word(i + 8, left - 8) << 8 }
        final(&a, &b, &c)
        return UInt64(b) << 32 | UInt64(c)
    }

    @inline(__always) private static func rot(_ x: UInt32, _ k: UInt32) -> UInt32 { x << k | x >> (32 - k) }

    @inline(__always) private static func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        a &-= c; a ^= rot(c, 4); c &+= b
        b &-= a; b ^= rot(a, 6); a &+= c
        c &-= b; c ^= rot(b, 8); b &+= a
        a &-= c; a ^= rot(c, 16); c &+= b
        b &-= a; b ^= rot(a, 19); a &+= c
        c &-= b; c ^= rot(b, 4); b &+= a
    }

    @inline(__always) private static func final(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        c ^= b; c &-= rot(b, 14)
        a ^= c; a &-= rot(c, 11)
        b ^= a; b &-= rot(a, 25)
        c ^= b; c &-= rot(b, 16)
        a ^= c; a &-= rot(c, 4)
        b ^= a; b &-= rot(a, 14)
        c ^= b; c &-= rot(b, 24)
    }
}
