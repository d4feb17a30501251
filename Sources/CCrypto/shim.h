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

/* The first 8 bytes of MD5(bytes), as a big-endian integer: the row digest of a direct SQL load
   (Sources/DataPortStores/SQL/RowDigest.swift), which the servers compute with their md5(). */
#include <openssl/md5.h>
static inline uint64_t dataport_md5_prefix64(const void *bytes, size_t count) {
    unsigned char digest[MD5_DIGEST_LENGTH];
    MD5_CTX context;
    MD5_Init(&context);
    MD5_Update(&context, bytes, count);
    MD5_Final(digest, &context);
    uint64_t out = 0;
    for (int i = 0; i < 8; i++) out = (out << 8) | digest[i];
    return out;
}

/* ---- age (formats/encryption.md): thin one-call wrappers over OpenSSL 3's EVP API, so the Swift
   side (Sources/DataPortAge/Primitives.swift) passes buffers and gets 1 (success) or 0 back. ---- */
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <string.h>

static inline int dataport_random(unsigned char *out, size_t count) {
    return RAND_bytes(out, (int)count) == 1;
}

/* X25519(scalar, point) into out[32]; point NULL means the base point. Fails on an all-zero
   result (a low-order point), as age requires. */
static inline int dataport_x25519(const unsigned char scalar[32], const unsigned char *point, unsigned char out[32]) {
    int ok = 0;
    EVP_PKEY *own = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, scalar, 32);
    if (own == NULL) return 0;
    if (point == NULL) {
        size_t length = 32;
        ok = EVP_PKEY_get_raw_public_key(own, out, &length) == 1 && length == 32;
        EVP_PKEY_free(own);
        return ok;
    }
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, point, 32);
    EVP_PKEY_CTX *ctx = peer ? EVP_PKEY_CTX_new(own, NULL) : NULL;
    size_t length = 32;
    if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1
        && EVP_PKEY_derive(ctx, out, &length) == 1 && length == 32) {
        unsigned char any = 0;
        for (int i = 0; i < 32; i++) any |= out[i];
        ok = any != 0;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(own);
    return ok;
}

/* HKDF-SHA-256 (extract then expand) into out[32]. */
static inline int dataport_hkdf_sha256(const unsigned char *ikm, size_t ikm_len, const unsigned char *salt, size_t salt_len,
                                       const unsigned char *info, size_t info_len, unsigned char out[32]) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t length = 32;
    int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1
        && EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, (int)salt_len) == 1 && EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)ikm_len) == 1
        && EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)info_len) == 1 && EVP_PKEY_derive(ctx, out, &length) == 1 && length == 32;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* HMAC-SHA-256 into out[32]. */
static inline int dataport_hmac_sha256(const unsigned char *key, size_t key_len, const unsigned char *data, size_t data_len, unsigned char out[32]) {
    unsigned int length = 32;
    return HMAC(EVP_sha256(), key, (int)key_len, data, data_len, out, &length) != NULL && length == 32;
}

/* scrypt(N = 2^log2n, r, p) into out[32]; maxmem is sized for exactly these parameters. */
static inline int dataport_scrypt(const unsigned char *pass, size_t pass_len, const unsigned char *salt, size_t salt_len,
                                  unsigned log2n, unsigned r, unsigned p, unsigned char out[32]) {
    uint64_t n = (uint64_t)1 << log2n;
    uint64_t maxmem = 128 * (uint64_t)r * (n + (uint64_t)p + 2) + (1 << 20);
    return EVP_PBE_scrypt((const char *)pass, pass_len, salt, salt_len, n, r, p, maxmem, out, 32) == 1;
}

/* ChaCha20-Poly1305 (RFC 7539) with empty associated data. Sealing writes count bytes and then the
   16-byte tag to out (count + 16 bytes); opening reads count bytes of ciphertext followed by the
   tag and writes count - 16 bytes, or fails without a usable result. */
static inline int dataport_chacha20poly1305(int seal, const unsigned char key[32], const unsigned char nonce[12],
                                            const unsigned char *in, size_t count, unsigned char *out) {
    if (!seal && count < 16) return 0;
    size_t body = seal ? count : count - 16;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int length = 0, ok = ctx && EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL, seal) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1
        && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, seal) == 1;
    if (ok && !seal) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(in + body)) == 1;
    if (ok && body > 0) ok = EVP_CipherUpdate(ctx, out, &length, in, (int)body) == 1 && (size_t)length == body;
    if (ok) ok = EVP_CipherFinal_ex(ctx, out + body, &length) == 1;
    if (ok && seal) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + body) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok && !seal && body > 0) memset(out, 0, body);
    return ok;
}
