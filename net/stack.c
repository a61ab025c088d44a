/* The stack object, Ethernet, checksums and the small utilities the layers share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/platform.h"
#include "net/internal.h"

static ip4_t stack_addr_op(struct net *n) { return stack_ip(stack_of(n)); }

static const struct net_ops stack_net_ops = {
    .listen = stack_tcp_listen,
    .connect = stack_tcp_connect,
    .udp_bind = stack_udp_bind,
    .addr = stack_addr_op,
};

struct net_stack *net_stack_new(ebb_id_t netif, const struct net_stack_config *cfg)
{
    struct net_stack *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->net.ops = &stack_net_ops;
    s->netif = netif;
    s->home_core = cfg->home_core;
    s->rto_min_ms = cfg->rto_min_ms ? cfg->rto_min_ms : 200;
    s->time_wait_ms = cfg->time_wait_ms ? cfg->time_wait_ms : 2000;
    s->sack = cfg->sack;
    atomic_flag_clear(&s->arp_lock);
    atomic_flag_clear(&s->udp_lock);
    atomic_flag_clear(&s->tcp_lock);
    void *rep;
    const struct netif_ops *ops = netif_ops(netif, &rep);
    ops->mac(rep, s->mac);
    s->mtu = ops->mtu(rep);
    s->udp_next_port = (uint16_t)(49152 + net_random(s) % 16384);
    tcp_stack_init(s);
    s->up_future = ebb_promise_new(&s->up_promise);
    s->up_pending = true;
    ops->attach(rep, s);
    arp_start(s);
    if (cfg->ip) {
        ip4_t mask = cfg->prefix ? ~(ip4_t)0 << (32 - cfg->prefix) : 0;
        net_stack_set_addr(s, cfg->ip, mask, cfg->gw);
    }
    return s;
}

ebb_future_t net_stack_up(struct net_stack *s)
{
    ebb_future_t f = s->up_future;
    s->up_future = NULL;
    if (!f)
        return ebb_future_failed(EALREADY);
    if (stack_ip(s) == 0)
        dhcp_start(s);
    return f;
}

void net_stack_set_addr(struct net_stack *s, ip4_t ip, ip4_t mask, ip4_t gw)
{
    s->mask = mask;
    s->gw = gw;
    atomic_store_explicit(&s->ip, ip, memory_order_release);
    if (s->up_pending) {
        s->up_pending = false;
        ebb_promise_set(s->up_promise, (uint64_t)(uintptr_t)&s->net);
    }
}

struct net *net_stack_net(struct net_stack *s) { return &s->net; }

struct net_stack *net_stack_of(struct net *n)
{
    return n && n->ops == &stack_net_ops ? stack_of(n) : NULL;
}

void net_stack_stats(struct net_stack *s, struct net_stats *out)
{
    const uint64_t *src = (const uint64_t *)&s->stats;
    uint64_t *dst = (uint64_t *)out;
    for (size_t i = 0; i < sizeof *out / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

size_t net_stack_format_stats(struct net_stack *s, char *buf, size_t len)
{
    struct net_stats st;
    size_t n = 0;
    if (len)
        buf[0] = 0;
    net_stack_stats(s, &st);
#define FORMAT_STAT(f)                                                                        \
    if (st.f && n < len)                                                                       \
        n += (size_t)snprintf(buf + n, len - n, "%s%s=%llu", n ? " " : "", #f,               \
                              (unsigned long long)st.f);
    NET_STATS(FORMAT_STAT)
#undef FORMAT_STAT
    return n < len ? n : (len ? len - 1 : 0);
}

void net_stack_print_stats(struct net_stack *s, const char *label)
{
    char line[2048];
    size_t n = (size_t)snprintf(line, sizeof line, "%s: ", label);
    n += net_stack_format_stats(s, line + n, sizeof line - n - 1);
    line[n++] = '\n';
    platform_console_write(line, n);
}

uint64_t net_random(struct net_stack *s)
{
    /* ISNs, ephemeral ports and DHCP ids must not be predictable from earlier ones. */
    (void)s;
    return ebb_random_u64();
}

/* Checksums. Sums are kept as 32-bit one's-complement accumulators of 16-bit big-endian words;
 * a buffer of odd length shifts the byte order of what follows, tracked by `odd`. */
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

/* RCU grace period by visiting every core: an event that reaches a core runs after the event
 * that core was running, so once it has been everywhere no reader from before remains. */
struct rcu_hop {
    ebb_fn fn;
    void *arg;
    unsigned start, left;
};

static void rcu_hop(void *arg)
{
    struct rcu_hop *h = arg;
    if (h->left == 0) { /* back home after visiting every other core */
        h->fn(h->arg);
        free(h);
        return;
    }
    h->left--;
    ebb_spawn_on(h->left == 0 ? h->start : (ebb_core() + 1) % ebb_ncores(), rcu_hop, h);
}

void net_rcu_defer(ebb_fn fn, void *arg)
{
    struct rcu_hop *h = malloc(sizeof *h);
    if (!h)
        ebb_panic("net: out of memory for an RCU callback");
    h->fn = fn;
    h->arg = arg;
    h->start = ebb_core();
    unsigned n = ebb_ncores();
    /* n == 1: one later event here is the grace period. Otherwise visit the n-1 others. */
    h->left = n > 1 ? n - 1 : 0;
    ebb_spawn_on(n > 1 ? (h->start + 1) % n : h->start, rcu_hop, h);
}

/* Ethernet. */

static const uint8_t eth_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void net_stack_input(struct net_stack *s, struct iobuf *frame)
{
    NET_STAT(s, rx_frames);
    if (frame->next != frame) {
        /* Parsers read headers in place: give them one contiguous buffer. */
        struct iobuf *one = iobuf_coalesce_copy(frame, 0);
        iobuf_free(frame);
        if (!one)
            return;
        frame = one;
    }
    if (frame->len < ETH_HLEN) {
        NET_STAT(s, eth_short);
        iobuf_free(frame);
        return;
    }
    const uint8_t *h = frame->data;
    if (memcmp(h, s->mac, 6) != 0 && memcmp(h, eth_bcast, 6) != 0) {
        NET_STAT(s, eth_not_for_us);
        iobuf_free(frame);
        return;
    }
    uint16_t type = rd16(h + 12);
    iobuf_advance(frame, ETH_HLEN);
    if (type == ETH_P_IP) {
        ip_input(s, frame);
    } else if (type == ETH_P_ARP) {
        arp_input(s, frame);
    } else {
        NET_STAT(s, eth_other_type);
        iobuf_free(frame);
    }
}

void eth_output(struct net_stack *s, const uint8_t dst[6], uint16_t type, struct iobuf *pkt)
{
    uint8_t *h = iobuf_prepend(pkt, ETH_HLEN);
    memcpy(h, dst, 6);
    memcpy(h + 6, s->mac, 6);
    wr16(h + 12, type);
    void *rep;
    const struct netif_ops *ops = netif_ops(s->netif, &rep);
    NET_STAT(s, tx_frames);
    if (ops->send(rep, pkt) < 0)
        NET_STAT(s, tx_errors);
}
