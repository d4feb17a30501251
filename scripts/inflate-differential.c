// Whether ISA-L's inflate (isal_inflate) could replace zlib's when bundles are read: damages a raw
// deflate stream at random (1-3 bytes or bits, half the time in its first 400 bytes, where the
// block headers and Huffman tables are) and inflates each copy with both, counting where they differ.
//
//   cc -O2 -o /tmp/inflate-differential scripts/inflate-differential.c -lz -lisal
//   /tmp/inflate-differential RAW_DEFLATE_FILE SEED MAX_BYTES ITERATIONS
//
// A raw stream is a zip entry's data (Python: read `compress_size` bytes after its local header).
// Outcome on 2026-12-02, seeds 1-5, 20,000 copies each of a dataset page (315,456 bytes): written
// by ISA-L (as DataPort writes), both accept the same copies with the same output, but in about 64%
// of the refused copies (6,328 of 9,790 for seed 1) ISA-L gives out more bytes before it refuses
// than zlib does (zlib refuses a bad table when its block starts, ISA-L when a bad code is met).
// Written by zlib -6, the same (6,851 of 10,974), and ISA-L accepts 2 copies in 100,000 that zlib
// refuses (seed 4). So with ISA-L, `verify` would accept streams it refuses now, and for damaged
// ones the bytes handed on (and so the first error: a size, a parse error, corrupt data) would
// differ: not wired, though it inflates
// the benchmark's 290 MB JSON entry in 0.16 s against zlib's 0.36 s.
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CAP (8 << 20)
static unsigned char zo[CAP], io[CAP];

// Inflates with zlib in 4 KiB steps: 1 when the stream ends properly; *len is the output.
static int with_zlib(const unsigned char *in, long n, long *len) {
    z_stream s = {0};
    inflateInit2(&s, -15);
    s.next_in = (unsigned char *)in;
    s.avail_in = n;
    long total = 0;
    int rc = Z_OK;
    while (rc == Z_OK && total < CAP) {
        s.next_out = zo + total;
        s.avail_out = CAP - total < 4096 ? CAP - total : 4096;
        long before = s.avail_out;
        rc = inflate(&s, Z_NO_FLUSH);
        total += before - s.avail_out;
    }
    inflateEnd(&s);
    *len = total;
    return rc == Z_STREAM_END;
}

// The same with ISA-L.
static int with_isal(const unsigned char *in, long n, long *len) {
    struct inflate_state st;
    isal_inflate_init(&st);
    st.crc_flag = ISAL_DEFLATE;
    st.next_in = (unsigned char *)in;
    st.avail_in = n;
    long total = 0;
    int rc = ISAL_DECOMP_OK;
    while (rc == ISAL_DECOMP_OK && total < CAP) {
        st.next_out = io + total;
        st.avail_out = CAP - total < 4096 ? CAP - total : 4096;
        long before = st.avail_out;
        rc = isal_inflate(&st);
        total += before - st.avail_out;
        if (st.block_state == ISAL_BLOCK_FINISH) { *len = total; return 1; }
        if (rc == ISAL_DECOMP_OK && st.avail_in == 0 && before == st.avail_out) break;
    }
    *len = total;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s RAW_DEFLATE_FILE SEED MAX_BYTES ITERATIONS\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    if (n > atol(argv[3])) n = atol(argv[3]);
    unsigned char *original = malloc(n), *copy = malloc(n);
    if (fread(original, 1, n, f) != (size_t)n) return 2;
    srand(atoi(argv[2]));
    long both_ok = 0, both_refused = 0, only_zlib_refuses = 0, only_isal_refuses = 0, outputs_differ = 0, isal_further = 0, prefixes_differ = 0;
    for (long t = 0; t < atol(argv[4]); t++) {
        memcpy(copy, original, n);
        long span = rand() % 2 ? (n < 400 ? n : 400) : n;
        for (int k = 1 + rand() % 3; k > 0; k--) {
            long p = rand() % span;
            if (rand() % 2) copy[p] ^= 1 << (rand() % 8); else copy[p] = rand();
        }
        long zn, in;
        int z = with_zlib(copy, n, &zn), i = with_isal(copy, n, &in);
        if (z && i) {
            both_ok++;
            if (zn != in || memcmp(zo, io, zn)) outputs_differ++;
        } else if (!z && !i) {
            both_refused++;
            if (memcmp(zo, io, zn < in ? zn : in)) prefixes_differ++; else if (in > zn) isal_further++;
        } else if (i) {
            only_zlib_refuses++;
        } else {
            only_isal_refuses++;
        }
    }
    printf("both accept %ld (outputs differ %ld); both refuse %ld (ISA-L gives out more first %ld, other bytes %ld); "
           "only zlib refuses %ld; only ISA-L refuses %ld\n",
           both_ok, outputs_differ, both_refused, isal_further, prefixes_differ, only_zlib_refuses, only_isal_refuses);
    return 0;
}
