/* DHCP client (RFC 2131): DISCOVER, OFFER, REQUEST, ACK; renews at T1 (the server's option 58,
 * else half the lease), and starts over on a NAK to its renewal. Runs on the stack's home
 * core. Replies are asked for by broadcast (the flag), so they arrive before we have an address.
 * A new address is announced by ARP (net/arp.c). */
#include <stdlib.h>
#include <string.h>
#include "net/internal.h"

#define DHCP_CLIENT 68
#define DHCP_SERVER 67
#define DHCP_FIXED 236
#define DHCP_MAGIC 0x63825363u
#define DISCOVER 1
#define OFFER 2
#define REQUEST 3
#define ACK 5
#define NAK 6

enum dhcp_state { SELECTING, REQUESTING, BOUND, RENEWING };

struct dhcp {
    struct net_stack *s;
    struct udp_sock *sock;
    enum dhcp_state state;
    uint32_t xid;
    ip4_t offered, server;
    unsigned tries;
    struct ebb_timer timer;
};

static void dhcp_send(struct dhcp *d)
{
    struct net_stack *s = d->s;
    struct iobuf *b = iobuf_alloc(NET_HEADROOM + 548, NET_HEADROOM);
    if (!b)
        return;
    uint8_t *p = iobuf_append(b, 548);
    memset(p, 0, 548);
    p[0] = 1;
    p[1] = 1;
    p[2] = 6;
    wr32(p + 4, d->xid);
    wr16(p + 8, (uint16_t)(d->tries > 60 ? 60 : d->tries));
    wr16(p + 10, 0x8000); /* replies by broadcast */
    if (d->state == RENEWING)
        wr32(p + 12, stack_ip(s));
    memcpy(p + 28, s->mac, 6);
    wr32(p + DHCP_FIXED, DHCP_MAGIC);
    uint8_t *o = p + DHCP_FIXED + 4;
    *o++ = 53;
    *o++ = 1;
    *o++ = d->state == SELECTING ? DISCOVER : REQUEST;
    if (d->state == REQUESTING) {
        *o++ = 50; *o++ = 4; wr32(o, d->offered); o += 4;
        *o++ = 54; *o++ = 4; wr32(o, d->server); o += 4;
    }
    *o++ = 55; *o++ = 3; *o++ = 1; *o++ = 3; *o++ = 51;
    *o++ = 255;
    udp_output(s, d->state == RENEWING ? stack_ip(s) : 0, DHCP_CLIENT, 0xffffffffu, DHCP_SERVER, b);
}

static void dhcp_timer(void *arg)
{
    struct dhcp *d = arg;
    if (d->state == BOUND) { /* T1: renew */
        d->state = RENEWING;
        d->tries = 0;
        d->xid = (uint32_t)net_random(d->s);
    }
    d->tries++;
    if (d->state == REQUESTING && d->tries > 4) { /* the server went quiet: start over */
        d->state = SELECTING;
        d->tries = 1;
    }
    dhcp_send(d);
    uint64_t delay = (d->tries < 3 ? 1u << d->tries : 8) * 1000000000ull;
    ebb_timer_start(&d->timer, delay, dhcp_timer, d);
}

static void dhcp_recv(void *arg, struct udp_sock *sock, ip4_t src, uint16_t sport, struct iobuf *data)
{
    (void)sock;
    (void)src;
    struct dhcp *d = arg;
    struct net_stack *s = d->s;
    const uint8_t *p = data->data;
    size_t len = data->len;
    if (sport != DHCP_SERVER || len < DHCP_FIXED + 4 || p[0] != 2 || rd32(p + 4) != d->xid ||
        memcmp(p + 28, s->mac, 6) != 0 || rd32(p + DHCP_FIXED) != DHCP_MAGIC) {
        NET_STAT(s, dhcp_bad);
        iobuf_free(data);
        return;
    }
    int type = -1;
    ip4_t server = 0, mask = 0, router = 0, yiaddr = rd32(p + 16);
    uint32_t lease = 3600, t1_s = 0;
    for (size_t i = DHCP_FIXED + 4; i < len;) {
        uint8_t code = p[i];
        if (code == 255)
            break;
        if (code == 0) {
            i++;
            continue;
        }
        if (i + 1 >= len || i + 2 + p[i + 1] > len) {
            NET_STAT(s, dhcp_bad);
            iobuf_free(data);
            return;
        }
        uint8_t olen = p[i + 1];
        const uint8_t *v = p + i + 2;
        if (code == 53 && olen == 1)
            type = v[0];
        else if (code == 54 && olen == 4)
            server = rd32(v);
        else if (code == 1 && olen == 4)
            mask = rd32(v);
        else if (code == 3 && olen >= 4)
            router = rd32(v);
        else if (code == 51 && olen == 4)
            lease = rd32(v);
        else if (code == 58 && olen == 4)
            t1_s = rd32(v);
        i += 2 + (size_t)olen;
    }
    iobuf_free(data);
    if (type == OFFER && d->state == SELECTING && yiaddr && server) {
        d->offered = yiaddr;
        d->server = server;
        d->state = REQUESTING;
        d->tries = 0;
        ebb_timer_cancel(&d->timer);
        dhcp_timer(d);
    } else if (type == ACK && (d->state == REQUESTING || d->state == RENEWING) && yiaddr) {
        d->state = BOUND;
        ebb_timer_cancel(&d->timer);
        if (!mask)
            mask = 0xffffff00u;
        bool fresh = yiaddr != stack_ip(s);
        net_stack_set_addr(s, yiaddr, mask, router);
        if (fresh) /* peers may have asked for it before it was ours (net/arp.c) */
            arp_announce(s);
        if (!t1_s || t1_s >= lease)
            t1_s = lease < 20 ? 10 : lease / 2;
        uint64_t t1 = (uint64_t)t1_s * 1000000000ull;
        ebb_timer_start(&d->timer, t1, dhcp_timer, d);
    } else if (type == NAK && d->state != BOUND) {
        d->state = SELECTING;
        d->tries = 0;
        d->xid = (uint32_t)net_random(s);
        ebb_timer_cancel(&d->timer);
        dhcp_timer(d);
    }
}

static void dhcp_start_here(void *arg)
{
    struct net_stack *s = arg;
    struct dhcp *d = calloc(1, sizeof *d);
    if (!d)
        ebb_panic("dhcp: out of memory");
    d->s = s;
    d->xid = (uint32_t)net_random(s);
    d->state = SELECTING;
    d->sock = stack_udp_bind(&s->net, DHCP_CLIENT, dhcp_recv, d);
    if (!d->sock)
        ebb_panic("dhcp: port 68 is taken");
    s->dhcp = d;
    dhcp_timer(d);
}

void dhcp_start(struct net_stack *s) { ebb_spawn_on(s->home_core, dhcp_start_here, s); }
