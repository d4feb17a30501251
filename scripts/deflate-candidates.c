// Measures the deflate candidates of issue 18 side by side on one file (the benchmark's data:
// `sqlite3 -json store-1000000.db "SELECT ..."`), interleaved in the same run so that the noise of
// a shared machine hits them all alike. Every output is inflated once and compared with the input.
//
//   cc -O2 -o /tmp/deflate-candidates scripts/deflate-candidates.c -lz -lisal -ldeflate -lpthread
//   /tmp/deflate-candidates FILE [ROUNDS]
//
// Candidates: zlib as one stream (what DataPort did), pigz-style zlib (independent blocks primed
// with the previous 32 KiB, sync-flushed, one standard stream; CRC-32 per block, crc32_combine) on
// 1 and 2 threads, ISA-L streaming (levels 1-3) and ISA-L in the same pigz-style blocks, libdeflate
// (whole buffer only, so unbounded memory). Times are relative to zlib -6 as one stream in the
// same round; `gzip -6` on the file is run in each round too.
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static unsigned char *in; static size_t inLen;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

typedef struct { unsigned char *p; size_t n; } Buf;
typedef struct { int kind, level; size_t block; int threads, t; Buf *outs; size_t nblocks; uLong *crcs; } Job;

enum { ZLIB, ISAL };

static void zblock(int level, size_t b, size_t block, Buf *o, size_t nblocks) {
    size_t start = b * block, len = start + block > inLen ? inLen - start : block;
    z_stream s; memset(&s, 0, sizeof s);
    deflateInit2(&s, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    if (b > 0) deflateSetDictionary(&s, in + start - 32768, 32768);
    size_t cap = deflateBound(&s, len) + 16;
    o->p = malloc(cap);
    s.next_in = in + start; s.avail_in = len; s.next_out = o->p; s.avail_out = cap;
    deflate(&s, b == nblocks - 1 ? Z_FINISH : Z_SYNC_FLUSH);
    o->n = cap - s.avail_out;
    deflateEnd(&s);
}

static void iblock(int level, size_t b, size_t block, Buf *o, size_t nblocks) {
    static const uint32_t sizes[] = { ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT };
    size_t start = b * block, len = start + block > inLen ? inLen - start : block;
    struct isal_zstream s; isal_deflate_init(&s);
    uint8_t *lb = malloc(sizes[level]);
    s.level = level; s.level_buf = lb; s.level_buf_size = sizes[level];
    if (b > 0) isal_deflate_set_dict(&s, in + start - 32768, 32768);
    size_t cap = len + len / 8 + 1024;
    o->p = malloc(cap);
    s.next_in = in + start; s.avail_in = len; s.next_out = o->p; s.avail_out = cap;
    s.end_of_stream = b == nblocks - 1; s.flush = SYNC_FLUSH;
    if (isal_deflate(&s) != COMP_OK || s.avail_in) { fprintf(stderr, "isal failed\n"); exit(1); }
    o->n = cap - s.avail_out;
    free(lb);
}

static void *worker(void *arg) {
    Job *j = arg;
    for (size_t b = j->t; b < j->nblocks; b += j->threads) {
        size_t start = b * j->block, len = start + j->block > inLen ? inLen - start : j->block;
        if (j->kind == ZLIB) zblock(j->level, b, j->block, &j->outs[b], j->nblocks);
        else iblock(j->level, b, j->block, &j->outs[b], j->nblocks);
        j->crcs[b] = crc32(0, in + start, len);
    }
    return NULL;
}

/// pigz-style blocks; returns the compressed size, fills *joined when asked.
static size_t blocks(int kind, int level, size_t block, int threads, Buf *joined) {
    size_t nblocks = (inLen + block - 1) / block;
    Buf *outs = calloc(nblocks, sizeof(Buf)); uLong *crcs = calloc(nblocks, sizeof(uLong));
    pthread_t th[8]; Job jobs[8];
    for (int t = 0; t < threads; t++) {
        jobs[t] = (Job){ kind, level, block, threads, t, outs, nblocks, crcs };
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    size_t total = 0; uLong crc = 0;
    for (size_t b = 0; b < nblocks; b++) {
        size_t len = (b + 1) * block > inLen ? inLen - b * block : block;
        total += outs[b].n; crc = crc32_combine(crc, crcs[b], len);
    }
    if (crc != crc32(0, in, inLen)) { fprintf(stderr, "crc32_combine mismatch\n"); exit(1); }
    if (joined) {
        joined->p = malloc(total); joined->n = 0;
        for (size_t b = 0; b < nblocks; b++) { memcpy(joined->p + joined->n, outs[b].p, outs[b].n); joined->n += outs[b].n; }
    }
    for (size_t b = 0; b < nblocks; b++) free(outs[b].p);
    free(outs); free(crcs);
    return total;
}

/// zlib as one stream, fed 256 KiB at a time (as DeflateSink is).
static size_t zstream(int level, Buf *joined) {
    z_stream s; memset(&s, 0, sizeof s);
    deflateInit2(&s, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&s, inLen); unsigned char *o = malloc(cap);
    s.next_out = o; s.avail_out = cap;
    for (size_t off = 0; off < inLen; off += 262144) {
        s.next_in = in + off; s.avail_in = off + 262144 > inLen ? inLen - off : 262144;
        deflate(&s, Z_NO_FLUSH);
    }
    deflate(&s, Z_FINISH);
    size_t n = cap - s.avail_out; deflateEnd(&s);
    if (joined) { joined->p = o; joined->n = n; } else free(o);
    return n;
}

static size_t istream(int level, Buf *joined) {
    static const uint32_t sizes[] = { ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT };
    struct isal_zstream s; isal_deflate_init(&s);
    uint8_t *lb = malloc(sizes[level]);
    s.level = level; s.level_buf = lb; s.level_buf_size = sizes[level];
    size_t cap = inLen + inLen / 8 + 1024; unsigned char *o = malloc(cap);
    s.next_out = o; s.avail_out = cap;
    for (size_t off = 0; off < inLen; off += 262144) {
        s.next_in = in + off; s.avail_in = off + 262144 > inLen ? inLen - off : 262144;
        s.end_of_stream = off + 262144 >= inLen;
        if (isal_deflate(&s) != COMP_OK) { fprintf(stderr, "isal failed\n"); exit(1); }
    }
    size_t n = cap - s.avail_out; free(lb);
    if (joined) { joined->p = o; joined->n = n; } else free(o);
    return n;
}

static size_t ldeflate(int level, Buf *joined) {
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    size_t cap = libdeflate_deflate_compress_bound(c, inLen); unsigned char *o = malloc(cap);
    size_t n = libdeflate_deflate_compress(c, in, inLen, o, cap);
    libdeflate_free_compressor(c);
    if (joined) { joined->p = o; joined->n = n; } else free(o);
    return n;
}

static void check(const char *name, Buf b) {
    z_stream s; memset(&s, 0, sizeof s); inflateInit2(&s, -15);
    unsigned char *o = malloc(inLen + 1);
    s.next_in = b.p; s.avail_in = b.n; s.next_out = o; s.avail_out = inLen + 1;
    int rc = inflate(&s, Z_FINISH);
    if (rc != Z_STREAM_END || s.total_out != inLen || memcmp(o, in, inLen)) { fprintf(stderr, "%s: does not inflate to the input\n", name); exit(1); }
    inflateEnd(&s); free(o); free(b.p);
}

typedef struct { const char *name; int kind, level; size_t block; int threads, lib; } Cand;
static size_t run(Cand c, Buf *j) {
    switch (c.lib) {
    case 0: return zstream(c.level, j);
    case 1: return blocks(c.kind, c.level, c.block, c.threads, j);
    case 2: return istream(c.level, j);
    default: return ldeflate(c.level, j);
    }
}

static int cmpd(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: deflate-candidates FILE [ROUNDS]\n"); return 2; }
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    FILE *f = fopen(argv[1], "rb"); fseek(f, 0, SEEK_END); inLen = ftell(f); fseek(f, 0, SEEK_SET);
    in = malloc(inLen); if (fread(in, 1, inLen, f) != inLen) return 1; fclose(f);
    Cand cs[] = {
        { "zlib -6, one stream (now)", ZLIB, 6, 0, 1, 0 },
        { "zlib -6, 256 KiB blocks, 1 thread", ZLIB, 6, 256 << 10, 1, 1 },
        { "zlib -6, 128 KiB blocks, 2 threads", ZLIB, 6, 128 << 10, 2, 1 },
        { "zlib -6, 256 KiB blocks, 2 threads", ZLIB, 6, 256 << 10, 2, 1 },
        { "zlib -6, 1 MiB blocks, 2 threads", ZLIB, 6, 1 << 20, 2, 1 },
        { "zlib -1, 256 KiB blocks, 2 threads", ZLIB, 1, 256 << 10, 2, 1 },
        { "zlib -9, 256 KiB blocks, 2 threads", ZLIB, 9, 256 << 10, 2, 1 },
        { "ISA-L 1, one stream", ISAL, 1, 0, 1, 2 },
        { "ISA-L 2, one stream", ISAL, 2, 0, 1, 2 },
        { "ISA-L 3, one stream", ISAL, 3, 0, 1, 2 },
        { "ISA-L 3, 256 KiB blocks, 2 threads", ISAL, 3, 256 << 10, 2, 1 },
        { "ISA-L 1, 256 KiB blocks, 1 thread (chosen)", ISAL, 1, 256 << 10, 1, 1 },
        { "ISA-L 1, 256 KiB blocks, 2 threads (chosen)", ISAL, 1, 256 << 10, 2, 1 },
        { "libdeflate 1, whole buffer", 0, 1, 0, 1, 3 },
        { "libdeflate 6, whole buffer", 0, 6, 0, 1, 3 },
        { "libdeflate 9, whole buffer", 0, 9, 0, 1, 3 },
    };
    int n = sizeof cs / sizeof cs[0];
    double ratio[32][16]; size_t sizes[32]; double secs[32][16], gz[16]; size_t gzSize = 0;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "gzip -6 -c '%s' > /tmp/deflate-candidates.gz", argv[1]);
    for (int r = 0; r < rounds; r++) {
        double t0 = now(); if (system(cmd) != 0) return 1; gz[r] = now() - t0;
        f = fopen("/tmp/deflate-candidates.gz", "rb"); fseek(f, 0, SEEK_END); gzSize = ftell(f) - 18; fclose(f);  // minus gzip header+trailer
        for (int i = 0; i < n; i++) {
            Buf j = {0};
            double t = now(); sizes[i] = run(cs[i], r == 0 ? &j : NULL); secs[i][r] = now() - t;
            if (r == 0) check(cs[i].name, j);
        }
        for (int i = 0; i < n; i++) ratio[i][r] = secs[i][r] / secs[0][r];
        fprintf(stderr, "round %d done\n", r + 1);
    }
    qsort(gz, rounds, sizeof(double), cmpd);
    printf("%zu bytes in; gzip -6: %zu bytes, median %.2f s (%.0f MB/s)\n", inLen, gzSize, gz[rounds / 2], inLen / 1048576.0 / gz[rounds / 2]);
    printf("| candidate | size / gzip -6 | MB/s (median) | time / zlib one stream, per round |\n| --- | ---: | ---: | --- |\n");
    for (int i = 0; i < n; i++) {
        double s[16]; memcpy(s, secs[i], sizeof s); qsort(s, rounds, sizeof(double), cmpd);
        printf("| %s | %.3f | %.0f |", cs[i].name, (double)sizes[i] / gzSize, inLen / 1048576.0 / s[rounds / 2]);
        for (int r = 0; r < rounds; r++) printf(" %.2f", ratio[i][r]);
        printf(" |\n");
    }
    return 0;
}
