/* The Internet checksum (RFC 1071) over bytes and IOBuf chains, and the IPv4 pseudo-header.
 * Sums are kept as 32-bit one's-complement accumulators of 16-bit big-endian words; a buffer of
 * odd length shifts the byte order of what follows, tracked by `odd`. */
#include "net/internal.h"

static uint32_t csum_bytes(uint32_t sum, const uint8_t *p, size_t n, bool *odd)
{
    uint64_t acc = sum;
    if (*odd && n) {
        acc += *p++;
        n--;
        *odd = false;
    }
    while (n >= 2) {
        acc += (uint32_t)(p[0] << 8 | p[1]);
        p += 2;
        n -= 2;
    }
    if (n) {
        acc += (uint32_t)p[0] << 8;
        *odd = true;
    }
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return (uint32_t)acc;
}

static uint32_t fold32(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

uint32_t csum_add(uint32_t sum, const void *p, size_t n)
{
    bool odd = false;
    return fold32(csum_bytes(sum, p, n, &odd));
}

uint32_t csum_add_chain(uint32_t sum, const struct iobuf *chain, size_t skip_first)
{
    bool odd = false;
    if (!chain)
        return sum;
    const struct iobuf *b = chain;
    do {
        size_t skip = b == chain ? skip_first : 0;
        if (skip < b->len)
            sum = fold32(csum_bytes(sum, b->data + skip, b->len - skip, &odd));
        b = b->next;
    } while (b != chain);
    return sum;
}

uint16_t csum_fold(uint32_t sum) { return (uint16_t)~fold32(sum); }

uint32_t csum_pseudo(ip4_t src, ip4_t dst, uint8_t proto, uint16_t len)
{
    uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
    return fold32((uint32_t)((s & 0xffffffffu) + (s >> 32)));
}
