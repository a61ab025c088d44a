/* ARP (RFC 826): a small cache with timeouts, requests retried, and a bounded queue of IP
 * packets per unresolved address that goes out when the reply comes (dropped, counted, when it
 * never does).
 *
 * What is learnt: only the answer to a request of ours. An entry is created when we ask
 * (arp_output) and filled by the first reply sent to our address and MAC while it is still
 * unresolved; a resolved entry is not changed until it expires and is asked for again. Requests
 * (a peer asking for us, or probing whether our address is free: answered, not learnt),
 * gratuitous ARP and unsolicited replies change nothing and are counted in arp_ignored: any host
 * on the link could otherwise take over the gateway's address.
 *
 * A new address (a DHCP lease) is announced (RFC 5227, 2.3): a peer may hold a neighbour entry
 * for it made before we had it, e.g. from the DHCP server's ping check; its requests, sent while
 * we had no address, went unanswered, and it would not ask again before that entry fails. */
#include <string.h>
#include "net/internal.h"

#define ARP_LEN 28
#define ARP_VALID_NS (60ull * 1000000000)
#define ARP_RETRY_NS (1ull * 1000000000)
#define ARP_TRIES 3
#define ARP_TICK_NS (250ull * 1000000)
#define ANNOUNCE_NUM 2
#define ANNOUNCE_INTERVAL_NS (2ull * 1000000000)

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void arp_send(struct net_stack *s, uint16_t op, const uint8_t tha[6], ip4_t tpa,
                     const uint8_t eth_dst[6])
{
    struct iobuf *b = iobuf_alloc(NET_HEADROOM + ARP_LEN, NET_HEADROOM);
    if (!b)
        return;
    uint8_t *p = iobuf_append(b, ARP_LEN);
    wr16(p, 1);
    wr16(p + 2, ETH_P_IP);
    p[4] = 6;
    p[5] = 4;
    wr16(p + 6, op);
    memcpy(p + 8, s->mac, 6);
    wr32(p + 14, stack_ip(s));
    memcpy(p + 18, tha, 6);
    wr32(p + 24, tpa);
    if (op == 1 && tpa == stack_ip(s))
        NET_STAT(s, arp_announces);
    else if (op == 1)
        NET_STAT(s, arp_requests);
    else
        NET_STAT(s, arp_replies);
    eth_output(s, eth_dst, ETH_P_ARP, b);
}

static struct arp_entry *find(struct net_stack *s, ip4_t ip)
{
    for (unsigned i = 0; i < ARP_SLOTS; i++)
        if (s->arp[i].ip == ip)
            return &s->arp[i];
    return NULL;
}

static void clear_entry(struct net_stack *s, struct arp_entry *e, bool count)
{
    for (unsigned i = 0; i < e->nqueue; i++) {
        iobuf_free(e->queue[i]);
        if (count)
            NET_STAT(s, arp_queue_drops);
    }
    memset(e, 0, sizeof *e);
}

/* A free slot, or the one that expires first. Called with the lock held. */
static struct arp_entry *slot(struct net_stack *s)
{
    struct arp_entry *victim = &s->arp[0];
    for (unsigned i = 0; i < ARP_SLOTS; i++) {
        if (s->arp[i].ip == 0)
            return &s->arp[i];
        if (s->arp[i].expires_ns < victim->expires_ns)
            victim = &s->arp[i];
    }
    clear_entry(s, victim, true);
    return victim;
}

/* Fills the entry we are resolving for ip; returns the packets that were waiting for it (sent by
 * the caller), or -1 if there is no such entry (nothing asked, or already answered). */
static int learn(struct net_stack *s, ip4_t ip, const uint8_t mac[6], struct iobuf **out)
{
    int n = -1;
    spin_lock(&s->arp_lock);
    struct arp_entry *e = find(s, ip);
    if (e && !e->valid) {
        memcpy(e->mac, mac, 6);
        e->valid = true;
        e->tries = 0;
        e->expires_ns = ebb_now_ns() + ARP_VALID_NS;
        n = (int)e->nqueue;
        memcpy(out, e->queue, e->nqueue * sizeof *out);
        e->nqueue = 0;
    }
    spin_unlock(&s->arp_lock);
    return n;
}

void arp_input(struct net_stack *s, struct iobuf *pkt)
{
    const uint8_t *p = pkt->data;
    if (pkt->len < ARP_LEN || rd16(p) != 1 || rd16(p + 2) != ETH_P_IP || p[4] != 6 || p[5] != 4 ||
        (rd16(p + 6) != 1 && rd16(p + 6) != 2)) {
        NET_STAT(s, arp_bad);
        iobuf_free(pkt);
        return;
    }
    uint16_t op = rd16(p + 6);
    uint8_t sha[6];
    memcpy(sha, p + 8, 6);
    bool to_my_mac = memcmp(p + 18, s->mac, 6) == 0;
    ip4_t spa = rd32(p + 14), tpa = rd32(p + 24);
    ip4_t me = stack_ip(s);
    iobuf_free(pkt);
    if (sha[0] & 1) { /* a multicast sender address is never a host */
        NET_STAT(s, arp_bad);
        return;
    }
    /* spa 0: a host probing whether the address is free (RFC 5227): it is not. */
    if (op == 1 && me != 0 && tpa == me && spa != me) {
        arp_send(s, 2, sha, spa, sha);
        return;
    }
    if (op == 1 && tpa != spa && tpa != me) { /* a request for someone else (or we have none yet) */
        NET_STAT(s, arp_other_target);
        return;
    }
    struct iobuf *waiting[ARP_QUEUE_MAX];
    int n = op == 2 && me != 0 && tpa == me && to_my_mac && spa != 0 && spa != me
                ? learn(s, spa, sha, waiting) : -1;
    if (n < 0) {
        NET_STAT(s, arp_ignored);
        return;
    }
    for (int i = 0; i < n; i++)
        eth_output(s, sha, ETH_P_IP, waiting[i]);
}

void arp_output(struct net_stack *s, ip4_t next_hop, struct iobuf *pkt)
{
    if (next_hop == 0xffffffffu || (s->mask && next_hop == (stack_ip(s) | ~s->mask))) {
        eth_output(s, bcast, ETH_P_IP, pkt);
        return;
    }
    uint8_t mac[6];
    bool ask = false;
    spin_lock(&s->arp_lock);
    struct arp_entry *e = find(s, next_hop);
    if (e && e->valid) {
        memcpy(mac, e->mac, 6);
        spin_unlock(&s->arp_lock);
        eth_output(s, mac, ETH_P_IP, pkt);
        return;
    }
    if (!e) {
        e = slot(s);
        e->ip = next_hop;
        e->tries = 1;
        e->expires_ns = ebb_now_ns() + ARP_RETRY_NS;
        ask = true;
    }
    if (e->nqueue == ARP_QUEUE_MAX) {
        iobuf_free(e->queue[0]);
        memmove(e->queue, e->queue + 1, (ARP_QUEUE_MAX - 1) * sizeof e->queue[0]);
        e->nqueue--;
        NET_STAT(s, arp_queue_drops);
    }
    e->queue[e->nqueue++] = pkt;
    spin_unlock(&s->arp_lock);
    if (ask) {
        static const uint8_t zero[6];
        arp_send(s, 1, zero, next_hop, bcast);
    }
}

/* An announcement: a request for our own address, from it, to everyone. A peer holding an
 * entry for the address takes our MAC from it (Linux does, and sends what it had queued). */
static void announce_one(struct net_stack *s, uint64_t now)
{
    static const uint8_t zero[6];
    s->announce_left--;
    s->announce_ns = now + ANNOUNCE_INTERVAL_NS;
    arp_send(s, 1, zero, stack_ip(s), bcast);
}

/* On the home core (with DHCP, which calls it). */
void arp_announce(struct net_stack *s)
{
    if (stack_ip(s) == 0)
        return;
    s->announce_left = ANNOUNCE_NUM;
    announce_one(s, ebb_now_ns());
}

/* Periodic on the home core: retries, give-ups and expiry. */
static void arp_tick(void *arg)
{
    struct net_stack *s = arg;
    uint64_t now = ebb_now_ns();
    ip4_t ask[ARP_SLOTS];
    unsigned nask = 0;
    spin_lock(&s->arp_lock);
    for (unsigned i = 0; i < ARP_SLOTS; i++) {
        struct arp_entry *e = &s->arp[i];
        if (e->ip == 0 || e->expires_ns > now)
            continue;
        if (e->valid || e->tries >= ARP_TRIES) {
            if (!e->valid)
                NET_STAT(s, arp_timeouts);
            clear_entry(s, e, true);
        } else {
            e->tries++;
            e->expires_ns = now + ARP_RETRY_NS;
            ask[nask++] = e->ip;
        }
    }
    spin_unlock(&s->arp_lock);
    static const uint8_t zero[6];
    for (unsigned i = 0; i < nask; i++)
        arp_send(s, 1, zero, ask[i], bcast);
    if (s->announce_left && s->announce_ns <= now)
        announce_one(s, now);
    ebb_timer_start(&s->arp_timer, ARP_TICK_NS, arp_tick, s);
}

static void arp_start_here(void *arg)
{
    struct net_stack *s = arg;
    ebb_timer_start(&s->arp_timer, ARP_TICK_NS, arp_tick, s);
}

void arp_start(struct net_stack *s) { ebb_spawn_on(s->home_core, arp_start_here, s); }
