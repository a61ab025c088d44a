/* A network interface for tests that play the peer by hand: it keeps the frames the stack sends
 * (up to CAP_KEEP, each copied into one buffer), and helpers build the peer's frames with valid
 * checksums (Ethernet, IPv4, ARP, TCP) and inject them. One stack per test program. */
#pragma once
#include <stdio.h>
#include <string.h>
#include "net/internal.h"

#define CAP_KEEP 64
struct capture {
    const struct netif *ops;
    struct iobuf *sent[CAP_KEEP];
    unsigned nsent;
    uint64_t total;        /* frames sent since the start */
};
static struct capture cap;
static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 2}, peer_mac[6] = {0x02, 0, 0, 0, 0, 1};

static void cap_attach(void *rep, struct net_stack *s) { (void)rep, (void)s; }
static int cap_lock; /* any core may send */
static int cap_send(void *rep, struct iobuf *f)
{
    struct capture *c = rep;
    spin_lock(&cap_lock);
    c->total++;
    if (c->nsent < CAP_KEEP)
        c->sent[c->nsent++] = iobuf_coalesce_copy(f, 0);
    spin_unlock(&cap_lock);
    iobuf_free(f);
    return 0;
}
static void cap_mac(void *rep, uint8_t *out) { (void)rep; memcpy(out, our_mac, 6); }
static unsigned cap_mtu(void *rep) { (void)rep; return 1500; }
static unsigned cap_features(void *rep) { (void)rep; return 0; }
static const struct netif cap_ops = {cap_attach, cap_send, cap_mac, cap_mtu, cap_features};
static void *cap_rep(struct ebb_root *r, unsigned core) { (void)core; return r->arg; }
static struct ebb_root cap_root = {.name = "capture", .iface = NETIF_IFACE, .kind = EBB_SHARED,
                                   .create_rep = cap_rep, .arg = &cap};

static void cap_clear(void)
{
    spin_lock(&cap_lock);
    for (unsigned i = 0; i < cap.nsent; i++)
        iobuf_free(cap.sent[i]);
    cap.nsent = 0;
    spin_unlock(&cap_lock);
}

static struct net_stack *cap_stack(ip4_t me, ip4_t gw, const struct net_limits *lim)
{
    cap.ops = &cap_ops;
    ebb_id_t id = ebb_id_alloc();
    ebb_bind(id, &cap_root);
    struct net_stack_config cfg = {.ip = me, .prefix = 24, .gw = gw, .time_wait_ms = 500};
    if (lim)
        cfg.limits = *lim;
    return net_stack_new(id, &cfg);
}

static uint64_t cap_stat(struct net_stack *s, const char *name)
{
    struct net_stats st;
    net_stack_stats(s, &st);
#define CAP_GET(f) if (strcmp(name, #f) == 0) return st.f;
    NET_STATS(CAP_GET)
#undef CAP_GET
    printf("# no counter named %s\n", name);
    return 0;
}

/* Injects a frame as a NIC would: in a buffer of `room` bytes (0: just enough). */
static void cap_inject(struct net_stack *s, const uint8_t *f, size_t len, size_t room)
{
    struct iobuf *b = iobuf_alloc((room > len ? room : len) + 16, 16);
    memcpy(iobuf_append(b, len), f, len);
    net_stack_input(s, b);
}

static size_t cap_eth(uint8_t *f, uint16_t type)
{
    memcpy(f, our_mac, 6);
    memcpy(f + 6, peer_mac, 6);
    wr16(f + 12, type);
    return ETH_HLEN;
}

static size_t cap_ipv4(uint8_t *f, uint8_t proto, ip4_t src, ip4_t dst, const uint8_t *payload,
                       size_t plen)
{
    size_t o = cap_eth(f, ETH_P_IP);
    uint8_t *h = f + o;
    memset(h, 0, IP_HLEN);
    h[0] = 0x45;
    wr16(h + 2, (uint16_t)(IP_HLEN + plen));
    h[8] = 64;
    h[9] = proto;
    wr32(h + 12, src);
    wr32(h + 16, dst);
    wr16(h + 10, csum_fold(csum_add(0, h, IP_HLEN)));
    memcpy(h + IP_HLEN, payload, plen);
    return o + IP_HLEN + plen;
}

static void cap_arp(uint8_t *f, uint16_t op, const uint8_t sha[6], ip4_t spa, const uint8_t tha[6],
                    ip4_t tpa)
{
    uint8_t *a = f + cap_eth(f, ETH_P_ARP);
    wr16(a, 1); wr16(a + 2, ETH_P_IP); a[4] = 6; a[5] = 4; wr16(a + 6, op);
    memcpy(a + 8, sha, 6); wr32(a + 14, spa); memcpy(a + 18, tha, 6); wr32(a + 24, tpa);
}

/* A TCP segment from src:sport to dst:dport carrying plen bytes of 'p'. */
static size_t cap_tcp(uint8_t *f, ip4_t src, ip4_t dst, uint16_t sport, uint16_t dport,
                      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts,
                      size_t optlen, size_t plen)
{
    uint8_t t[60 + 1460] = {0};
    size_t hl = TCP_HLEN + optlen;
    wr16(t, sport);
    wr16(t + 2, dport);
    wr32(t + 4, seq);
    wr32(t + 8, ack);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = flags;
    wr16(t + 14, wnd);
    if (optlen)
        memcpy(t + TCP_HLEN, opts, optlen);
    memset(t + hl, 'p', plen);
    wr16(t + 16, csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_TCP, (uint16_t)(hl + plen)), t,
                                    hl + plen)));
    return cap_ipv4(f, IP_PROTO_TCP, src, dst, t, hl + plen);
}

/* The TCP header of captured frame i (NULL if it is not TCP). */
static const uint8_t *cap_tcp_hdr(unsigned i)
{
    if (i >= cap.nsent)
        return NULL;
    const uint8_t *d = cap.sent[i]->data;
    if (cap.sent[i]->len < ETH_HLEN + IP_HLEN + TCP_HLEN || rd16(d + 12) != ETH_P_IP ||
        d[ETH_HLEN + 9] != IP_PROTO_TCP)
        return NULL;
    return d + ETH_HLEN + IP_HLEN;
}
