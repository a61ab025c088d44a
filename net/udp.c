/* UDP (RFC 768): bind a port with a receive handler (run on the binding core), send datagrams. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "net/internal.h"

struct udp_pcb {
    struct udp_sock sock; /* first: the application's handle */
    struct net_stack *s;
    udp_recv_fn fn;
    void *arg;
    unsigned core;
    _Atomic bool closed;
    struct udp_pcb *next;
};

struct udp_delivery {
    struct udp_pcb *pcb;
    ip4_t src;
    uint16_t sport;
    struct iobuf *data;
};

static void deliver_here(void *arg)
{
    struct udp_delivery *d = arg;
    if (atomic_load(&d->pcb->closed))
        iobuf_free(d->data);
    else
        d->pcb->fn(d->pcb->arg, &d->pcb->sock, d->src, d->sport, d->data);
    free(d);
}

void udp_input(struct net_stack *s, ip4_t src, ip4_t dst, struct iobuf *pkt)
{
    const uint8_t *h = pkt->data;
    if (pkt->len < UDP_HLEN) {
        NET_STAT(s, udp_bad);
        goto drop;
    }
    size_t ulen = rd16(h + 4);
    if (ulen < UDP_HLEN || ulen > pkt->len) {
        NET_STAT(s, udp_bad);
        goto drop;
    }
    iobuf_retreat(pkt, pkt->len - ulen);
    if (rd16(h + 6) != 0 && !rx_csum_trusted(s, pkt) &&
        csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_UDP, (uint16_t)ulen), h, ulen)) != 0) {
        NET_STAT(s, udp_bad_checksum);
        goto drop;
    }
    uint16_t sport = rd16(h), dport = rd16(h + 2);
    spin_lock(&s->udp_lock);
    struct udp_pcb *p = s->udp;
    while (p && p->sock.port != dport)
        p = p->next;
    spin_unlock(&s->udp_lock);
    if (!p) {
        NET_STAT(s, udp_no_port);
        goto drop;
    }
    iobuf_advance(pkt, UDP_HLEN);
    if (p->core == ebb_core()) {
        p->fn(p->arg, &p->sock, src, sport, pkt);
        return;
    }
    struct udp_delivery *d = malloc(sizeof *d);
    if (!d)
        goto drop;
    *d = (struct udp_delivery){p, src, sport, pkt};
    ebb_spawn_on(p->core, deliver_here, d);
    return;
drop:
    iobuf_free(pkt);
}

int udp_output(struct net_stack *s, ip4_t src, uint16_t sport, ip4_t dst, uint16_t dport,
               struct iobuf *data)
{
    size_t len = iobuf_chain_len(data) + UDP_HLEN;
    if (len + IP_HLEN > s->mtu) {
        iobuf_free(data);
        return -EMSGSIZE;
    }
    struct iobuf *pkt;
    if (data && !iobuf_is_shared(data) && iobuf_headroom(data) >= UDP_HLEN + IP_HLEN + ETH_HLEN) {
        pkt = data;
        iobuf_prepend(pkt, UDP_HLEN);
    } else {
        pkt = iobuf_alloc(NET_HEADROOM + UDP_HLEN, NET_HEADROOM);
        if (!pkt) {
            iobuf_free(data);
            return -ENOMEM;
        }
        iobuf_append(pkt, UDP_HLEN);
        pkt = iobuf_chain_append(pkt, data);
    }
    pkt->offload = (struct iobuf_offload){0}; /* data may be a received buffer, with its flags */
    uint8_t *h = pkt->data;
    ip4_t from = src ? src : stack_ip(s);
    wr16(h, sport);
    wr16(h + 2, dport);
    wr16(h + 4, (uint16_t)len);
    uint32_t pseudo = csum_pseudo(from, dst, IP_PROTO_UDP, (uint16_t)len);
    if (s->features & NETIF_F_TX_CSUM) {
        /* The netif sums the rest (netif.h), as for TCP. (A sum of 0 then goes out as 0, "no
         * checksum", where we would send 0xffff: receivers take either.) */
        wr16(h + 6, (uint16_t)~csum_fold(pseudo));
        pkt->offload = (struct iobuf_offload){
            .flags = IOBUF_CSUM_PARTIAL, .csum_start = ETH_HLEN + IP_HLEN, .csum_offset = 6,
        };
    } else {
        wr16(h + 6, 0);
        uint16_t c = csum_fold(csum_add_chain(pseudo, pkt, 0));
        wr16(h + 6, c ? c : 0xffff);
    }
    return ip_output(s, from, dst, IP_PROTO_UDP, pkt);
}

static int pcb_send(struct udp_sock *sock, ip4_t dst, uint16_t dport, struct iobuf *data)
{
    struct udp_pcb *p = (struct udp_pcb *)sock;
    return udp_output(p->s, 0, sock->port, dst, dport, data);
}

static void free_pcb(void *arg) { free(arg); }

static void pcb_close(struct udp_sock *sock)
{
    struct udp_pcb *p = (struct udp_pcb *)sock;
    struct net_stack *s = p->s;
    spin_lock(&s->udp_lock);
    for (struct udp_pcb **pp = &s->udp; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    spin_unlock(&s->udp_lock);
    atomic_store(&p->closed, true);
    ebb_rcu_defer(free_pcb, p);
}

static const struct udp_sock_ops pcb_ops = {.send = pcb_send, .close = pcb_close};

static bool port_used(struct net_stack *s, uint16_t port)
{
    for (struct udp_pcb *p = s->udp; p; p = p->next)
        if (p->sock.port == port)
            return true;
    return false;
}

struct udp_sock *stack_udp_bind(struct net *n, uint16_t port, udp_recv_fn fn, void *arg)
{
    struct net_stack *s = stack_of(n);
    struct udp_pcb *p = calloc(1, sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    p->sock.ops = &pcb_ops;
    p->s = s;
    p->fn = fn;
    p->arg = arg;
    p->core = ebb_core();
    spin_lock(&s->udp_lock);
    if (port == 0) {
        for (unsigned tries = 0; tries < 16384 && port == 0; tries++) {
            uint16_t cand = s->udp_next_port;
            s->udp_next_port = cand == 65535 ? 49152 : (uint16_t)(cand + 1);
            if (!port_used(s, cand))
                port = cand;
        }
    } else if (port_used(s, port)) {
        port = 0;
    }
    if (port == 0) {
        spin_unlock(&s->udp_lock);
        free(p);
        errno = EADDRINUSE;
        return NULL;
    }
    p->sock.port = port;
    p->next = s->udp;
    s->udp = p;
    spin_unlock(&s->udp_lock);
    return &p->sock;
}
