// Whether ISA-L's deflate gives the same bytes wherever its stream structure lies in memory
// (README, Performance, "Deflate level 1 again"). Compresses a fixed corpus of 100 JSON-like inputs
// (20 B to 16 KB, one call each, no dictionary, ended like DataPort's single-block entries) with
// the `isal_zstream` placed at COUNT addresses 128 KiB apart (the structure is 82 KB), and prints
// how many give other bytes than the first. ISA-L 2.30 (Debian 12), AMD EPYC with AVX-512:
// level 1 and 2 about 1 address in 100, levels 0 and 3 none in 4,096. With `fixed`, only addresses
// whose bits 16-47 hash (CRC-32C, mask 8191) to 0 are used, as DataPort places its streams
// (Sources/CISAL/shim.h): then none differ at level 1 either.
//
//   cc -O2 -msse4.2 -o /tmp/isal-determinism scripts/isal-determinism.c -lisal
//   /tmp/isal-determinism LEVEL [COUNT [fixed]]
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>

static const char *words[] = {"id,", "visit", "_id", ",viewed_at", "path\r\n", "\"name\": ", "2026-01-31T12:00:00Z",
                              "<td>", "</td>\n", "ana@example.org", ", ", "{", "}\n"};
static unsigned char levelBuffer[ISAL_DEF_LVL3_DEFAULT], in[1 << 15], out[1 << 16];

static unsigned corpusHash(struct isal_zstream *s, int level) {
    unsigned hash = 2166136261u;
    srand(7);
    for (int q = 0; q < 100; q++) {
        int n = 20 + rand() % 16000;
        for (int i = 0; i < n;) {
            const char *w = words[rand() % 13];
            for (size_t j = 0; w[j] && i < n; j++) in[i++] = (unsigned char)w[j];
        }
        isal_deflate_init(s);
        s->level = level;
        if (level) {
            s->level_buf = levelBuffer;
            s->level_buf_size = level == 1 ? ISAL_DEF_LVL1_DEFAULT : level == 2 ? ISAL_DEF_LVL2_DEFAULT : ISAL_DEF_LVL3_DEFAULT;
        }
        s->gzip_flag = IGZIP_DEFLATE;
        s->flush = SYNC_FLUSH;
        s->end_of_stream = 1;
        s->next_in = in;
        s->avail_in = (uint32_t)n;
        s->next_out = out;
        s->avail_out = sizeof out;
        if (isal_deflate(s) != COMP_OK) { fprintf(stderr, "isal_deflate failed\n"); exit(2); }
        for (uint32_t i = 0; i < s->total_out; i++) hash = (hash ^ out[i]) * 16777619u;
    }
    return hash;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s LEVEL [COUNT]\n", argv[0]); return 2; }
    int level = atoi(argv[1]), count = argc > 2 ? atoi(argv[2]) : 4096;
    int fixed = argc > 3 && strcmp(argv[3], "fixed") == 0;
    size_t step = 1 << 17, size = (sizeof(struct isal_zstream) + 4095) & ~(size_t)4095;
    unsigned char *region = fixed ? NULL : mmap(NULL, step * (size_t)count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED) { perror("mmap"); return 2; }
    unsigned first = 0;
    int differ = 0;
    uint64_t slot = (32ULL << 40) >> 16;
    for (int i = 0; i < count; i++) {
        struct isal_zstream *s = (struct isal_zstream *)(region + (size_t)i * step);
        if (fixed) {
            while (__builtin_ia32_crc32si(0, (uint32_t)slot) & 8191) slot++;
            s = mmap((void *)(slot++ << 16), size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (s == MAP_FAILED) { perror("mmap"); return 2; }
        }
        unsigned h = corpusHash(s, level);
        if (i == 0) first = h;
        else if (h != first) differ++;
    }
    printf("level %d: %d of %d stream addresses give other bytes\n", level, differ, count);
    return differ != 0;
}
