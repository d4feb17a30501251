extension String {
    /// Calls `body` with the string's UTF-8 bytes: in place for a native string (every string
    /// DataPort makes), without the retain and possible copy of `withUTF8`, which needs a `var`;
    /// a bridged or lazily decoded string is made contiguous first. The bytes are valid only inside `body`.
    @inlinable
    public func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let r = try utf8.withContiguousStorageIfAvailable(body) { return r }
        var s = self
        return try s.withUTF8(body)
    }
}
