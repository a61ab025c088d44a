/* SipHash-2-4 (core/siphash.h), from the reference description; the reference vectors are in
 * tests/core_sha256.c. */
#include "core/siphash.h"
#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                \
    do {                                                                                        \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                               \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                  \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                  \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                               \
    } while (0)

uint64_t ebb_siphash(const uint64_t key[2], const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t v0 = 0x736f6d6570736575ull ^ key[0], v1 = 0x646f72616e646f6dull ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ull ^ key[0], v3 = 0x7465646279746573ull ^ key[1];
    uint64_t b = (uint64_t)n << 56, m;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&m, p, 8); /* little-endian host (the project's only kind) */
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t i = 0; i < n; i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
