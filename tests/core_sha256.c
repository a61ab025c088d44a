/* SHA-256 and HMAC-SHA-256 (core/sha256.c) against OpenSSL's libcrypto: the FIPS/RFC 4231
 * vectors, then random lengths and keys (every block-boundary case), fed whole and in pieces;
 * SipHash-2-4 (core/siphash.c) against its reference vectors. */
#include "core/sha256.h"
#include "core/siphash.h"
#include "tap.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint8_t rnd8(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint8_t)rng;
}

static int hexeq(const uint8_t *d, const char *hex)
{
    char s[2 * SHA256_LEN + 1];
    for (int i = 0; i < SHA256_LEN; i++)
        snprintf(s + 2 * i, 3, "%02x", d[i]);
    return strcmp(s, hex) == 0;
}

int main(void)
{
    tap_plan(11);
    uint8_t d[SHA256_LEN], o[SHA256_LEN];
    sha256("abc", 3, d);
    ok(hexeq(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
       "FIPS 180-4 vector \"abc\"");
    sha256("", 0, d);
    ok(hexeq(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
       "the empty message");
    /* RFC 4231 test case 2 */
    hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    ok(hexeq(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
       "RFC 4231 case 2");

    static uint8_t msg[4096], key[200];
    int bad_hash = 0, bad_pieces = 0, bad_hmac = 0, bad_hmac_pieces = 0;
    for (int t = 0; t < 600; t++) {
        size_t n = t < 300 ? (size_t)t : (size_t)(rnd8() | rnd8() << 8) % sizeof msg;
        size_t kl = (size_t)t % sizeof key; /* short, one block, longer than a block */
        for (size_t i = 0; i < n; i++)
            msg[i] = rnd8();
        for (size_t i = 0; i < kl; i++)
            key[i] = rnd8();
        unsigned ol = 0;
        EVP_Digest(msg, n, o, &ol, EVP_sha256(), NULL);
        sha256(msg, n, d);
        bad_hash += memcmp(d, o, SHA256_LEN) != 0;
        struct sha256 s;
        sha256_init(&s);
        for (size_t off = 0; off < n;) {
            size_t k = 1 + rnd8() % 97;
            k = k < n - off ? k : n - off;
            sha256_update(&s, msg + off, k);
            off += k;
        }
        sha256_final(&s, d);
        bad_pieces += memcmp(d, o, SHA256_LEN) != 0;

        HMAC(EVP_sha256(), key, (int)kl, msg, n, o, &ol);
        hmac_sha256(key, kl, msg, n, d);
        bad_hmac += memcmp(d, o, SHA256_LEN) != 0;
        struct hmac_sha256 m;
        hmac_sha256_init(&m, key, kl);
        size_t half = n / 3;
        hmac_sha256_update(&m, msg, half);
        hmac_sha256_update(&m, msg + half, n - half);
        hmac_sha256_final(&m, d);
        bad_hmac_pieces += memcmp(d, o, SHA256_LEN) != 0;
    }
    is(bad_hash, 0, "SHA-256 equals OpenSSL's for 600 messages of 0..4095 bytes");
    is(bad_pieces, 0, "the same fed in random pieces");
    is(bad_hmac, 0, "HMAC-SHA-256 equals OpenSSL's, keys of 0..199 bytes");
    is(bad_hmac_pieces, 0, "the same fed in pieces");

    uint8_t a[40] = {0}, b[40] = {0};
    ok(ebb_mem_equal_ct(a, b, sizeof a), "equal buffers compare equal");
    b[39] = 1;
    ok(!ebb_mem_equal_ct(a, b, sizeof a), "a difference in the last byte is seen");

    /* SipHash-2-4 reference vectors: key 00..0f, messages 00..(n-1). */
    uint64_t sk[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    uint8_t m[64];
    for (int i = 0; i < 64; i++)
        m[i] = (uint8_t)i;
    is(ebb_siphash(sk, m, 0), 0x726fdb47dd0e0e31ull, "SipHash-2-4 of the empty message");
    is(ebb_siphash(sk, m, 15), 0xa129ca6149be45e5ull, "SipHash-2-4 of 15 bytes");
    return tap_done(1);
}
