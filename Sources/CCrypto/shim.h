#include <openssl/evp.h>

/* SHA256_Init/Update/Final on a stack context: no allocation per message, which matters when
   hashing a million small records. OpenSSL 3 deprecates the low-level API but keeps it; the
   deprecation is silenced here only. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <stdint.h>

/* The first 8 bytes of SHA-256(bytes), as a big-endian integer. */
static inline uint64_t dataport_sha256_prefix64(const void *bytes, size_t count) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, bytes, count);
    SHA256_Final(digest, &context);
    uint64_t out = 0;
    for (int i = 0; i < 8; i++) out = (out << 8) | digest[i];
    return out;
}
