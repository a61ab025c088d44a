/* SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104): the one MAC of the project (the Messenger's
 * cluster-key handshake, SYN cookies). Platform-independent, no allocation; checked against
 * OpenSSL in tests/core_sha256.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

struct sha256 {
    uint32_t h[8];
    uint64_t bytes;              /* total fed so far */
    uint8_t buf[SHA256_BLOCK];   /* a partial block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);
void sha256(const void *data, size_t n, uint8_t out[SHA256_LEN]);

struct hmac_sha256 {
    struct sha256 inner, outer;
};

/* Keys longer than a block are hashed first (RFC 2104). */
void hmac_sha256_init(struct hmac_sha256 *m, const void *key, size_t klen);
void hmac_sha256_update(struct hmac_sha256 *m, const void *data, size_t n);
void hmac_sha256_final(struct hmac_sha256 *m, uint8_t out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t klen, const void *data, size_t n,
                 uint8_t out[SHA256_LEN]);

/* Compares n bytes in time that does not depend on where they differ (MAC checks). */
bool ebb_mem_equal_ct(const void *a, const void *b, size_t n);
