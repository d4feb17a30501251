#include <isa-l/igzip_lib.h>
#include <isa-l/crc.h>

/* The level buffer sizes are macros over struct sizes, which Swift cannot import. */
static inline uint32_t dataport_isal_level_buf_size(int level) {
    switch (level) {
    case 0: return ISAL_DEF_LVL0_DEFAULT;
    case 1: return ISAL_DEF_LVL1_DEFAULT;
    case 2: return ISAL_DEF_LVL2_DEFAULT;
    default: return ISAL_DEF_LVL3_DEFAULT;
    }
}

/* Whether the stream has written its end (after end_of_stream). */
static inline int dataport_isal_ended(const struct isal_zstream *s) { return s->internal_state.state == ZSTATE_END; }

/*
 * A stream for levels 1 and 2 that gives the same bytes wherever it is made.
 *
 * ISA-L's level 1 and 2 match finder (isal_deflate_icf_body_hash_hist_*, from
 * igzip_icf_body_h1_gr_bt.asm, 2.30 to at least 2.32.1) hashes the third byte of a stream that
 * has no history yet from a register that still holds the stream's address: `.write_first_byte`
 * does `shr tmp2, 16; compute_hash hash2, tmp2`, and tmp2 (rcx) was never loaded with the data.
 * That position is filed under a hash of address bits 16-47 instead of its own, so a few matches
 * are found or missed depending on where the stream lies. The output stays valid deflate, but
 * the same input gives other bytes in another process (README, Performance).
 *
 * The hash is CRC-32C of those 32 bits, cut by a mask of at most 8191 at level 1. A stream whose
 * address hashes to 0 under that mask (and so under every smaller one) files the byte where every
 * other such stream does. This maps each stream at such an address: one 64 KiB slot in 8,192
 * qualifies, and the slots are tried in a fixed order above 32 TiB, where nothing else is mapped
 * (MAP_FIXED_NOREPLACE, Linux 4.17; an older kernel may place it elsewhere, and the next slot is
 * tried). Returns NULL if no slot could be mapped.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

static inline size_t dataport_isal_stream_size(void) {
    return (sizeof(struct isal_zstream) + 4095) & ~(size_t)4095;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static inline uint32_t dataport_isal_address_hash(uint64_t slot) {
    return __builtin_ia32_crc32si(0, (uint32_t)slot) & 8191;
}
#endif

static inline struct isal_zstream *dataport_isal_stream_allocate(void) {
    size_t size = dataport_isal_stream_size();
#if defined(__x86_64__)
    for (uint64_t slot = (32ULL << 40) >> 16; slot < (64ULL << 40) >> 16; slot++) {
        if (dataport_isal_address_hash(slot) != 0) continue;
        void *want = (void *)(uintptr_t)(slot << 16);
        void *got = mmap(want, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (got == want) return (struct isal_zstream *)got;
        if (got != MAP_FAILED) munmap(got, size);
    }
    return NULL;
#else
    /* Elsewhere ISA-L runs other code (C or NEON), which was not examined here. */
    void *got = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return got == MAP_FAILED ? NULL : (struct isal_zstream *)got;
#endif
}

static inline void dataport_isal_stream_free(struct isal_zstream *stream) {
    munmap(stream, dataport_isal_stream_size());
}
