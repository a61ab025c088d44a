/* SYN cookies: when a listener holds limits.backlog half-open connections, a SYN is answered
 * with a SYN-ACK whose ISN encodes what the connection needs, and no state is kept; the ACK that
 * answers it proves the peer received our SYN-ACK (a spoofed source cannot), and the connection
 * is made from it. The ISN: 5 bits of time (64-second steps), 3 bits naming the MSS, 24 bits of
 * HMAC-SHA-256 (the stack's random secret) over the addresses, ports, the peer's ISN, time and
 * MSS. An answer is good for two time steps. The window scale and SACK are not remembered:
 * such connections run without them. */
#include "net/tcp_var.h"

static const uint16_t mss_table[8] = {216, 536, 1024, 1220, 1360, 1400, 1440, 1460};
#define COOKIE_STEP_S 64

static uint32_t mac24(struct net_stack *s, const struct seg *g, uint32_t irs, uint32_t t,
                      uint32_t mi)
{
    uint8_t in[24], out[SHA256_LEN];
    wr32(in, g->src);
    wr32(in + 4, g->dst);
    wr16(in + 8, g->sport);
    wr16(in + 10, g->dport);
    wr32(in + 12, irs);
    wr32(in + 16, t);
    wr32(in + 20, mi);
    struct hmac_sha256 m = s->cookie_mac; /* keyed once; each cookie costs two blocks */
    hmac_sha256_update(&m, in, sizeof in);
    hmac_sha256_final(&m, out);
    return (uint32_t)out[0] << 16 | (uint32_t)out[1] << 8 | out[2];
}

static uint32_t now_step(void) { return (uint32_t)(ebb_now_ns() / 1000000000u / COOKIE_STEP_S); }

uint32_t tcp_cookie_make(struct net_stack *s, const struct seg *g, uint16_t *mss)
{
    uint32_t want = g->mss >= 0 ? (uint32_t)g->mss : 536, mi = 0;
    for (uint32_t i = 0; i < 8; i++)
        if (mss_table[i] <= want)
            mi = i;
    *mss = mss_table[mi];
    uint32_t t = now_step() & 31;
    return t << 27 | mi << 24 | mac24(s, g, g->seq, t, mi);
}

int tcp_cookie_check(struct net_stack *s, const struct seg *g, uint16_t *mss)
{
    uint32_t c = g->ack - 1, t = c >> 27, mi = (c >> 24) & 7;
    if (((now_step() - t) & 31) > 1)
        return -1;
    uint32_t want = mac24(s, g, g->seq - 1, t, mi);
    if ((c & 0xffffff) != want)
        return -1;
    *mss = mss_table[mi];
    return 0;
}
