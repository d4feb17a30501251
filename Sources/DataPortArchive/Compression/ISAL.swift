import CISAL
import DataPortModel

/// CRC-32 as zip and gzip use it (ISA-L's `crc32_gzip_refl`: the same values as zlib's `crc32`, also
/// chained from any earlier value, in about a fifth of its time with carry-less multiplication).
package func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
    return crc32_gzip_refl(crc, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
}

/// The ISA-L level every archive is written with.
///
/// Level 1: ISA-L's fastest level that keeps data files within 1.15x the size of `gzip -6`.
/// Its match finder gives bytes that depend on the stream's address (a stale register in ISA-L,
/// see `dataport_isal_stream_allocate` in CISAL's shim.h); every stream is therefore mapped at an
/// address where that dependence gives the same result, so the same input gives the same bytes in
/// every process and thread (README, Performance).
package enum DeflateLevel {
    package static let standard: Int32 = 1
}

/// Intel ISA-L's deflate (`isal_deflate`) for one block of a stream cut into blocks (see
/// `DeflateSink`): the window is primed with the previous block's last 32 KiB, and the output ends
/// on a byte boundary (sync flush) or, for the last block, ends the stream. Chosen over zlib for
/// doing the same work in a fraction of the CPU time (README, Performance). The same inputs give
/// the same bytes in every process at every level (measured on this project's machines, AMD EPYC
/// with AVX-512; ISA-L runs other code on other CPUs, whose bytes were not compared). One stream,
/// reset between blocks; use from one thread at a time.
final class ISALBlockCompressor: @unchecked Sendable {
    let level: Int32
    private let stream: UnsafeMutablePointer<isal_zstream>
    private let levelBuffer: UnsafeMutableRawBufferPointer
    /// Where ISA-L writes a block before it is appended to the output (kept between blocks).
    private var scratch: [UInt8] = []

    /// - Parameter level: ISA-L's level, 0-3.
    init(level: Int32) throws {
        self.level = min(max(level, 0), 3)
        guard let stream = dataport_isal_stream_allocate() else {
            throw DataPortError(.internal, "deflate failed (no memory for a stream)")
        }
        self.stream = stream
        levelBuffer = .allocate(byteCount: Int(dataport_isal_level_buf_size(self.level)), alignment: 64)
    }

    deinit {
        dataport_isal_stream_free(stream)
        levelBuffer.deallocate()
    }

    /// Appends the compressed `block` to `out` (raw deflate, no header).
    func compress(_ block: UnsafeRawBufferPointer, dictionary: UnsafeRawBufferPointer, last: Bool, into out: inout [UInt8]) throws {
        isal_deflate_init(stream)
        stream.pointee.level = UInt32(level)
        stream.pointee.level_buf = levelBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.level_buf_size = UInt32(levelBuffer.count)
        stream.pointee.gzip_flag = UInt16(IGZIP_DEFLATE)
        stream.pointee.flush = UInt16(SYNC_FLUSH)
        stream.pointee.end_of_stream = last ? 1 : 0
        if let base = dictionary.baseAddress, dictionary.count > 0 {
            guard isal_deflate_set_dict(stream, UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self)), UInt32(dictionary.count)) == COMP_OK else {
                throw DataPortError(.internal, "deflate failed (dictionary)")
            }
        }
        stream.pointee.next_in = block.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: UInt8.self)) }
        stream.pointee.avail_in = UInt32(block.count)
        // Stored blocks bound the output: 5 bytes per 64 KiB; should it not fit, go on in more rounds.
        let room = block.count + block.count / 16 + 1024
        if scratch.count < room { scratch = [UInt8](repeating: 0, count: room) }
        while true {
            let rc: Int32 = scratch.withUnsafeMutableBytes { buf in
                stream.pointee.next_out = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(buf.count)
                return isal_deflate(stream)
            }
            guard rc == COMP_OK else { throw DataPortError(.internal, "deflate failed (\(rc))") }
            let left = Int(stream.pointee.avail_out)
            scratch.withUnsafeBytes { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<($0.count - left)])) }
            // Flushed once input is used up and room is left over (ISA-L's documented test).
            if stream.pointee.avail_in == 0 && left > 0 && (!last || dataport_isal_ended(stream) != 0) { return }
        }
    }
}
