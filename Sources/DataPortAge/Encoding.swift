/// Bech32 (BIP 173) as age uses it for keys: no 90-character limit, one case throughout. Written
/// here because neither Foundation nor libcrypto has it.
enum Bech32 {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let values: [Int8] = {
        var v = [Int8](repeating: -1, count: 128)
        for (i, c) in charset.enumerated() { v[Int(c)] = Int8(i) }
        return v
    }()

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var chk: UInt32 = 1
        for v in values {
            let top = chk >> 25
            chk = (chk & 0x1ff_ffff) << 5 ^ UInt32(v)
            for i in 0..<5 where (top >> i) & 1 == 1 { chk ^= generator[i] }
        }
        return chk
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] { hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 } }

    /// Regroups bits; `pad` adds zero bits at the end (encoding), else leftover bits must be zero padding.
    private static func regroup(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var acc = 0, bits = 0
        var out: [UInt8] = []
        let maxv = (1 << to) - 1
        for v in data {
            acc = (acc << from) | Int(v)
            bits += from
            while bits >= to { bits -= to; out.append(UInt8((acc >> bits) & maxv)) }
        }
        if pad {
            if bits > 0 { out.append(UInt8((acc << (to - bits)) & maxv)) }
        } else if bits >= from || (acc << (to - bits)) & maxv != 0 {
            return nil
        }
        return out
    }

    /// Lower-case Bech32 of `data` with the (lower-case) human-readable part `hrp`.
    static func encode(hrp: String, _ data: [UInt8]) -> String {
        let h = Array(hrp.lowercased().utf8)
        let five = regroup(data, from: 8, to: 5, pad: true)!
        let mod = polymod(expand(h) + five + [0, 0, 0, 0, 0, 0]) ^ 1
        let check = (0..<6).map { UInt8((mod >> (5 * (5 - UInt32($0)))) & 31) }
        return String(decoding: h + [UInt8(ascii: "1")] + (five + check).map { charset[Int($0)] }, as: UTF8.self)
    }

    /// The lower-case human-readable part and the data, or nil if `text` is not valid Bech32.
    static func decode(_ text: String) -> (hrp: String, data: [UInt8])? {
        let bytes = Array(text.utf8)
        guard bytes.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { return nil }
        let lower = bytes.contains { $0 >= 97 && $0 <= 122 }, upper = bytes.contains { $0 >= 65 && $0 <= 90 }
        guard !(lower && upper) else { return nil }
        let folded = bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        guard let sep = folded.lastIndex(of: UInt8(ascii: "1")), sep >= 1, folded.count - sep - 1 >= 6 else { return nil }
        let hrp = Array(folded[..<sep])
        var five: [UInt8] = []
        for c in folded[(sep + 1)...] {
            guard c < 128, values[Int(c)] >= 0 else { return nil }
            five.append(UInt8(values[Int(c)]))
        }
        guard polymod(expand(hrp) + five) == 1, let data = regroup(Array(five.dropLast(6)), from: 5, to: 8, pad: false) else { return nil }
        return (String(decoding: hrp, as: UTF8.self), data)
    }
}

/// Standard base64 without padding, canonical only (RFC 4648 3.5), as the age header uses it.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [Int8] = {
        var v = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { v[Int(c)] = Int8(i) }
        return v
    }()

    static func encode(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((data.count * 4 + 2) / 3)
        var i = 0
        while i < data.count {
            let n = min(3, data.count - i)
            let b0 = Int(data[i]), b1 = n > 1 ? Int(data[i + 1]) : 0, b2 = n > 2 ? Int(data[i + 2]) : 0
            out.append(alphabet[b0 >> 2])
            out.append(alphabet[(b0 & 3) << 4 | b1 >> 4])
            if n > 1 { out.append(alphabet[(b1 & 15) << 2 | b2 >> 6]) }
            if n > 2 { out.append(alphabet[b2 & 63]) }
            i += 3
        }
        return out
    }

    /// The bytes, or nil for anything but canonical unpadded base64.
    static func decode<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var acc = 0, bits = 0
        for c in text {
            let v = values[Int(c)]
            guard v >= 0 else { return nil }
            acc = (acc << 6 | Int(v)) & 0xFFFF
            bits += 6
            if bits >= 8 { bits -= 8; out.append(UInt8((acc >> bits) & 0xFF)) }
        }
        // Canonical: the bits left over after the last whole byte are zero.
        guard acc & ((1 << bits) - 1) == 0 else { return nil }
        return out
    }
}
