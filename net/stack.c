/* The stack object: creation, its address, counters, the random numbers the layers share. */
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
    s->rto_init_ms = cfg->rto_init_ms ? cfg->rto_init_ms : NET_RTO_INIT_MS_DEFAULT;
    s->rto_max_ms = cfg->rto_max_ms ? cfg->rto_max_ms : NET_RTO_MAX_MS_DEFAULT;
    s->time_wait_ms = cfg->time_wait_ms ? cfg->time_wait_ms : 2000;
    s->sack = cfg->sack;
    struct net_limits l = cfg->limits;
#define DFLT(f, v) l.f = l.f ? l.f : (v)
    DFLT(backlog, NET_BACKLOG_DEFAULT);
    DFLT(ooo_max, NET_OOO_MAX_DEFAULT);
    DFLT(ooo_total_max, NET_OOO_TOTAL_MAX_DEFAULT);
    DFLT(persist_max_ms, NET_PERSIST_MAX_MS_DEFAULT);
    DFLT(keepalive_ms, NET_KEEPALIVE_MS_DEFAULT);
    DFLT(keepalive_intvl_ms, NET_KEEPALIVE_INTVL_MS_DEFAULT);
    DFLT(keepalive_probes, NET_KEEPALIVE_PROBES_DEFAULT);
    DFLT(fin_wait2_ms, NET_FIN_WAIT2_MS_DEFAULT);
    DFLT(challenge_acks_per_s, NET_CHALLENGE_ACKS_PER_S_DEFAULT);
#undef DFLT
    s->lim = l;
    ebb_random(s->hash_key, sizeof s->hash_key);
    uint8_t secret[32];
    ebb_random(secret, sizeof secret);
    hmac_sha256_init(&s->cookie_mac, secret, sizeof secret);
    netif_mac(netif, s->mac);
    s->mtu = netif_mtu(netif);
    s->features = netif_features(netif);
    /* TSO is only asked for with a partial checksum (as virtio-net and Linux require). */
    if (!(s->features & NETIF_F_TX_CSUM))
        s->features &= ~NETIF_F_TSO4;
    s->udp_next_port = (uint16_t)(49152 + net_random(s) % 16384);
    s->up_future = ebb_promise_new(&s->up_promise);
    s->up_pending = true;
    netif_attach(netif, s);
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
    if (ebb_log_on(EBB_LOG_INFO)) {
        char a[16], g[16];
        ebb_info("net: address %s/%d, gateway %s", ip4_format(ip, a), mask ? 32 - __builtin_ctz(mask) : 0,
                 gw ? ip4_format(gw, g) : "none");
    }
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
